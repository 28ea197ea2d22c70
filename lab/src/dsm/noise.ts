/**
 * Noise_IK_25519_ChaChaPoly_BLAKE2b (https://noiseprotocol.org/noise.html, rev. 34) on node:crypto:
 * X25519 for DH, ChaCha20-Poly1305 (nonce = 4 zero bytes + 64-bit little-endian counter) and
 * BLAKE2b-512 with HMAC for HKDF. DSM 7's login handshake is this exact suite with an empty prologue:
 * synology-api 0.9.4 (synology_api/auth.py get_ik_message) builds it with the `noiseprotocol`
 * library as initiator, the NAS's static key taken from the `_SSID` cookie.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";

export const PROTOCOL_NAME = "Noise_IK_25519_ChaChaPoly_BLAKE2b";
const HASHLEN = 64;
const DHLEN = 32;
const TAGLEN = 16;

// DER wrappers of a raw X25519 key (RFC 8410): node:crypto takes keys as PKCS#8 / SPKI.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

export interface X25519KeyPair {
  privateKey: KeyObject;
  /** The raw 32-byte public key. */
  publicKey: Buffer;
}

const rawPublic = (k: KeyObject): Buffer => k.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);

/** A key pair from 32 raw private bytes, or a fresh one. */
export function x25519KeyPair(privateBytes?: Buffer): X25519KeyPair {
  if (!privateBytes) {
    const { privateKey, publicKey } = generateKeyPairSync("x25519");
    return { privateKey, publicKey: rawPublic(publicKey) };
  }
  if (privateBytes.length !== DHLEN) throw new Error("an X25519 private key is 32 bytes");
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, privateBytes]),
    format: "der",
    type: "pkcs8",
  });
  return { privateKey, publicKey: rawPublic(createPublicKey(privateKey)) };
}

function dh(kp: X25519KeyPair, remotePublic: Buffer): Buffer {
  if (remotePublic.length !== DHLEN) throw new Error("an X25519 public key is 32 bytes");
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, remotePublic]), format: "der", type: "spki" });
  return diffieHellman({ privateKey: kp.privateKey, publicKey });
}

const hash = (data: Buffer): Buffer => createHash("blake2b512").update(data).digest();
const hmac = (key: Buffer, data: Buffer): Buffer => createHmac("blake2b512", key).update(data).digest();

/** Noise's HKDF (section 4.3) with HMAC-BLAKE2b. */
function hkdf(ck: Buffer, ikm: Buffer, outputs: 2 | 3): Buffer[] {
  const temp = hmac(ck, ikm);
  const o1 = hmac(temp, Buffer.from([1]));
  const o2 = hmac(temp, Buffer.concat([o1, Buffer.from([2])]));
  if (outputs === 2) return [o1, o2];
  return [o1, o2, hmac(temp, Buffer.concat([o2, Buffer.from([3])]))];
}

const nonce12 = (n: bigint): Buffer => {
  const b = Buffer.alloc(12);
  b.writeBigUInt64LE(n, 4);
  return b;
};

/** A CipherState (section 5.1). `n` is the next nonce. */
export class CipherState {
  n = 0n;
  constructor(private readonly k: Buffer | null = null) {}

  get hasKey(): boolean {
    return this.k !== null;
  }

  encryptWithAd(ad: Buffer, plaintext: Buffer): Buffer {
    if (!this.k) return plaintext;
    const c = createCipheriv("chacha20-poly1305", this.k, nonce12(this.n), { authTagLength: TAGLEN });
    c.setAAD(ad, { plaintextLength: plaintext.length });
    const out = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
    this.n++;
    return out;
  }

  /** Throws when the tag does not verify (then `n` is unchanged, as the specification says). */
  decryptWithAd(ad: Buffer, ciphertext: Buffer): Buffer {
    if (!this.k) return ciphertext;
    const out = this.decryptAt(this.n, ad, ciphertext);
    this.n++;
    return out;
  }

  /** Decrypts with an explicit nonce, leaving `n` alone (for messages that carry their nonce). */
  decryptAt(n: bigint, ad: Buffer, ciphertext: Buffer): Buffer {
    if (!this.k) throw new Error("no key");
    if (ciphertext.length < TAGLEN) throw new Error("ciphertext shorter than its tag");
    const d = createDecipheriv("chacha20-poly1305", this.k, nonce12(n), { authTagLength: TAGLEN });
    d.setAAD(ad, { plaintextLength: ciphertext.length - TAGLEN });
    d.setAuthTag(ciphertext.subarray(ciphertext.length - TAGLEN));
    return Buffer.concat([d.update(ciphertext.subarray(0, ciphertext.length - TAGLEN)), d.final()]);
  }
}

/** SymmetricState (section 5.2). */
class SymmetricState {
  h: Buffer;
  ck: Buffer;
  cs = new CipherState();

  constructor() {
    const name = Buffer.from(PROTOCOL_NAME, "ascii");
    this.h = name.length <= HASHLEN ? Buffer.concat([name, Buffer.alloc(HASHLEN - name.length)]) : hash(name);
    this.ck = this.h;
  }
  mixKey(ikm: Buffer): void {
    const [ck, k] = hkdf(this.ck, ikm, 2);
    this.ck = ck!;
    this.cs = new CipherState(k!.subarray(0, 32));
  }
  mixHash(data: Buffer): void {
    this.h = hash(Buffer.concat([this.h, data]));
  }
  encryptAndHash(plaintext: Buffer): Buffer {
    const c = this.cs.encryptWithAd(this.h, plaintext);
    this.mixHash(c);
    return c;
  }
  decryptAndHash(ciphertext: Buffer): Buffer {
    const p = this.cs.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return p;
  }
  split(): [CipherState, CipherState] {
    const [k1, k2] = hkdf(this.ck, Buffer.alloc(0), 2);
    return [new CipherState(k1!.subarray(0, 32)), new CipherState(k2!.subarray(0, 32))];
  }
}

/** What a finished handshake leaves: a cipher per direction and the handshake hash. */
export interface NoiseTransport {
  send: CipherState;
  receive: CipherState;
  handshakeHash: Buffer;
  /** The other side's static public key. */
  remoteStatic: Buffer;
}

/**
 * One IK handshake (`<- s ... -> e, es, s, ss  <- e, ee, se`), either side. The initiator knows the
 * responder's static key beforehand; `e` may be given for known-answer tests.
 */
export class IkHandshake {
  private readonly ss = new SymmetricState();
  private e: X25519KeyPair | null;
  private re: Buffer | null = null;
  private rs: Buffer | null;

  constructor(
    private readonly o: {
      initiator: boolean;
      s: X25519KeyPair;
      /** Responder's static public key (initiator only). */
      rs?: Buffer;
      e?: X25519KeyPair;
      prologue?: Buffer;
    },
  ) {
    this.e = o.e ?? null;
    this.rs = o.rs ?? null;
    if (o.initiator && !this.rs) throw new Error("the IK initiator needs the responder's static key");
    this.ss.mixHash(o.prologue ?? Buffer.alloc(0));
    this.ss.mixHash(o.initiator ? this.rs! : o.s.publicKey); // pre-message `<- s`
  }

  /** Initiator: `-> e, es, s, ss` + payload. */
  writeMessage1(payload: Buffer): Buffer {
    this.e ??= x25519KeyPair();
    const e = this.e;
    this.ss.mixHash(e.publicKey);
    this.ss.mixKey(dh(e, this.rs!));
    const s = this.ss.encryptAndHash(this.o.s.publicKey);
    this.ss.mixKey(dh(this.o.s, this.rs!));
    return Buffer.concat([e.publicKey, s, this.ss.encryptAndHash(payload)]);
  }

  /** Responder: reads `-> e, es, s, ss`, returns the payload (throws on a bad tag). */
  readMessage1(msg: Buffer): Buffer {
    if (msg.length < DHLEN + DHLEN + TAGLEN + TAGLEN) throw new Error("IK message 1 too short");
    this.re = msg.subarray(0, DHLEN);
    this.ss.mixHash(this.re);
    this.ss.mixKey(dh(this.o.s, this.re));
    this.rs = this.ss.decryptAndHash(msg.subarray(DHLEN, DHLEN + DHLEN + TAGLEN));
    this.ss.mixKey(dh(this.o.s, this.rs));
    return this.ss.decryptAndHash(msg.subarray(DHLEN + DHLEN + TAGLEN));
  }

  /** Responder: `<- e, ee, se` + payload; the handshake is then done. */
  writeMessage2(payload: Buffer): { message: Buffer; transport: NoiseTransport } {
    if (!this.re || !this.rs) throw new Error("message 1 not read");
    this.e ??= x25519KeyPair();
    const e = this.e;
    this.ss.mixHash(e.publicKey);
    this.ss.mixKey(dh(e, this.re));
    this.ss.mixKey(dh(e, this.rs));
    const message = Buffer.concat([e.publicKey, this.ss.encryptAndHash(payload)]);
    const [c1, c2] = this.ss.split();
    return { message, transport: { send: c2, receive: c1, handshakeHash: this.ss.h, remoteStatic: this.rs } };
  }

  /** Initiator: reads `<- e, ee, se`, returns the payload and the transport. */
  readMessage2(msg: Buffer): { payload: Buffer; transport: NoiseTransport } {
    if (msg.length < DHLEN + TAGLEN) throw new Error("IK message 2 too short");
    this.re = msg.subarray(0, DHLEN);
    this.ss.mixHash(this.re);
    this.ss.mixKey(dh(this.e!, this.re));
    this.ss.mixKey(dh(this.o.s, this.re));
    const payload = this.ss.decryptAndHash(msg.subarray(DHLEN));
    const [c1, c2] = this.ss.split();
    return { payload, transport: { send: c1, receive: c2, handshakeHash: this.ss.h, remoteStatic: this.rs! } };
  }
}
