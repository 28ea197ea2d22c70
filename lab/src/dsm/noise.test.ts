import { describe, expect, it } from "vitest";
import { IkHandshake, x25519KeyPair } from "./noise.js";

const hex = (s: string) => Buffer.from(s, "hex");

// The cacophony known-answer vector for this exact suite, as snow ships it
// (https://github.com/mcginty/snow/blob/8ac60f51cfe3e010c84f0a454cc575ad9204fa12/tests/vectors/cacophony.txt).
const V = {
  prologue: "4a6f686e2047616c74",
  initStatic: "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
  initEphemeral: "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
  initRemoteStatic: "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62",
  respStatic: "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
  respEphemeral: "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
  handshakeHash:
    "1c8fa891cb414fedba6daa7c6f4ae0a6d98e5f9768cc9cecd27e805614943ee9c8a1b27fbfb76dc197255c8aa69f6b4285c423840b8bedf45e652ca64f797d81",
  messages: [
    {
      payload: "4c756477696720766f6e204d69736573",
      ciphertext:
        "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944ba83a447b38c83e327ad936929812f624884847b7831e95e197b2f797088efdd2f88f1db7e1fb0e99c64419097af91cee64e470f4b6fcd9298ce0b56fe20f86e13bf70439c538e3602a7127af71a29cc",
    },
    {
      payload: "4d757272617920526f746862617264",
      ciphertext:
        "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088439f069b267a06b3de3ecb1043bcb098e9af91d9c64748d998c7b47890871571",
    },
    { payload: "462e20412e20486179656b", ciphertext: "cd54383060e7a28434cca27fb1cc524cfbabeb18181589df219d07" },
    { payload: "4361726c204d656e676572", ciphertext: "a856d3bf0246bfc476c655009cd1ed677b8dcc5b349ae8ef2a05f2" },
  ],
};

describe("Noise_IK_25519_ChaChaPoly_BLAKE2b", () => {
  it("matches the cacophony known-answer vector byte for byte, both sides", () => {
    const respS = x25519KeyPair(hex(V.respStatic));
    expect(respS.publicKey.toString("hex")).toBe(V.initRemoteStatic);
    const init = new IkHandshake({
      initiator: true,
      s: x25519KeyPair(hex(V.initStatic)),
      e: x25519KeyPair(hex(V.initEphemeral)),
      rs: hex(V.initRemoteStatic),
      prologue: hex(V.prologue),
    });
    const resp = new IkHandshake({
      initiator: false,
      s: respS,
      e: x25519KeyPair(hex(V.respEphemeral)),
      prologue: hex(V.prologue),
    });
    const m1 = init.writeMessage1(hex(V.messages[0]!.payload));
    expect(m1.toString("hex")).toBe(V.messages[0]!.ciphertext);
    expect(resp.readMessage1(m1).toString("hex")).toBe(V.messages[0]!.payload);
    const { message: m2, transport: rt } = resp.writeMessage2(hex(V.messages[1]!.payload));
    expect(m2.toString("hex")).toBe(V.messages[1]!.ciphertext);
    const { payload, transport: it } = init.readMessage2(m2);
    expect(payload.toString("hex")).toBe(V.messages[1]!.payload);
    expect(it.handshakeHash.toString("hex")).toBe(V.handshakeHash);
    expect(rt.handshakeHash.toString("hex")).toBe(V.handshakeHash);
    expect(rt.remoteStatic).toEqual(x25519KeyPair(hex(V.initStatic)).publicKey);
    // Transport messages: initiator → responder, then back.
    const t1 = it.send.encryptWithAd(Buffer.alloc(0), hex(V.messages[2]!.payload));
    expect(t1.toString("hex")).toBe(V.messages[2]!.ciphertext);
    expect(rt.receive.decryptWithAd(Buffer.alloc(0), t1).toString("hex")).toBe(V.messages[2]!.payload);
    const t2 = rt.send.encryptWithAd(Buffer.alloc(0), hex(V.messages[3]!.payload));
    expect(t2.toString("hex")).toBe(V.messages[3]!.ciphertext);
  });

  it("a full handshake with fresh keys and an empty prologue, as DSM's login runs it", () => {
    const server = x25519KeyPair();
    const init = new IkHandshake({ initiator: true, s: x25519KeyPair(), rs: server.publicKey });
    const resp = new IkHandshake({ initiator: false, s: server });
    const m1 = init.writeMessage1(Buffer.from('{"time": 1700000000}'));
    expect(m1.length).toBe(32 + 48 + 20 + 16);
    expect(JSON.parse(resp.readMessage1(m1).toString())).toEqual({ time: 1700000000 });
    const { message, transport: rt } = resp.writeMessage2(Buffer.alloc(0));
    const { payload, transport: it } = init.readMessage2(message);
    expect(payload.length).toBe(0);
    expect(it.handshakeHash).toEqual(rt.handshakeHash);
    const tag = it.send.encryptWithAd(Buffer.alloc(0), Buffer.alloc(0));
    expect(rt.receive.decryptAt(0n, Buffer.alloc(0), tag).length).toBe(0);
    expect(() => rt.receive.decryptAt(1n, Buffer.alloc(0), tag)).toThrow();
  });

  it("refuses a message 1 made for another server key, or changed in one byte", () => {
    const server = x25519KeyPair();
    const other = x25519KeyPair();
    const m1 = new IkHandshake({ initiator: true, s: x25519KeyPair(), rs: other.publicKey }).writeMessage1(
      Buffer.from("{}"),
    );
    expect(() => new IkHandshake({ initiator: false, s: server }).readMessage1(m1)).toThrow();
    const good = new IkHandshake({ initiator: true, s: x25519KeyPair(), rs: server.publicKey }).writeMessage1(
      Buffer.from("{}"),
    );
    const bad = Buffer.from(good);
    bad[bad.length - 1]! ^= 1;
    expect(() => new IkHandshake({ initiator: false, s: server }).readMessage1(bad)).toThrow();
    expect(() => new IkHandshake({ initiator: false, s: server }).readMessage1(good.subarray(0, 40))).toThrow();
  });
});
