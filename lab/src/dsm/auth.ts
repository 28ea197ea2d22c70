/**
 * DSM's login: SYNO.API.Auth login/logout for DSM 6 (auth.cgi, v6, `did`) and DSM 7 (v7,
 * `device_id`), 2FA with trusted-device tokens, sessions found by `_sid` or the `id` cookie, and
 * DSM 7's encrypted login: SYNO.API.Auth.UIConfig hands out the NAS's X25519 static key in the
 * `_SSID` cookie, the login carries a Noise IK message 1 as `ik_message`, and DSM answers message 2
 * in the login's `ik_message`. Later requests may carry `X-SYNO-HASH`, a tag made with the session's
 * initiator→responder cipher, which the lab checks.
 */
import { randomBytes } from "node:crypto";
import type { SimResponse } from "../https-base.js";
import { type DsmCtx, type DsmRequest, fail, ok } from "./common.js";
import { IkHandshake, type NoiseTransport, x25519KeyPair } from "./noise.js";

export interface DsmSession {
  account: string;
  expired: boolean;
  /** Set when the login carried an ik_message. */
  noise?: NoiseTransport;
}

export const token86 = () => randomBytes(64).toString("base64url").slice(0, 86);
const b64url = (b: Buffer) => b.toString("base64url");
const fromB64url = (s: string) => Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64");

const cookie = (req: DsmRequest, name: string): string | undefined => {
  const raw = req.headers.cookie;
  for (const part of (Array.isArray(raw) ? raw.join(";") : (raw ?? "")).split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
};

export function createAuth(ctx: DsmCtx, opts: { unauthorized: () => boolean }) {
  const { sc } = ctx;
  const sessions = new Map<string, DsmSession>();
  const deviceTokens = new Map<string, string>(); // token → account
  // The NAS's Noise static key: one per lab, as a NAS keeps one (the login does not send the
  // `_SSID` cookie back, so the key cannot be per-visit).
  const staticKey = x25519KeyPair();
  const stats = { handshakes: 0, hashesVerified: 0, hashesRejected: 0 };

  /**
   * SYNO.API.Auth.UIConfig get. Its data is the login page's list of sign-in UI plugins
   * ([{cssPath, jsPath, texts, version}], typed in NielsKrijnen/synology-api
   * src/services/api/auth/ui-config); none here. The cookie is what clients read:
   * synology-api 0.9.4 (auth.py get_ik_message) base64url-decodes `_SSID` into the responder's
   * static key. Not HttpOnly: DSM's own login page reads it from script.
   */
  const uiConfig = (): SimResponse => ({
    ...ok([]),
    headers: { "Set-Cookie": `_SSID=${b64url(staticKey.publicKey)};path=/` },
  });

  const login = (req: DsmRequest): SimResponse => {
    const p = req.params;
    let ik: IkHandshake | undefined;
    if (p.ik_message && sc.dsm === 7) {
      // synology-api 0.9.4 sends message 1 with the payload {"time": <epoch s>} and an empty prologue.
      ik = new IkHandshake({ initiator: false, s: staticKey });
      try {
        const payload = JSON.parse(ik.readMessage1(fromB64url(p.ik_message)).toString("utf8")) as unknown;
        if (typeof (payload as { time?: unknown })?.time !== "number") throw new Error("no time");
      } catch {
        return fail(101); // not a message for this NAS's key (lab choice: DSM's "invalid parameter")
      }
    }
    const user = sc.users.find((u) => u.account === p.account);
    if (!user || user.password !== p.passwd) return fail(400);
    // Fault "unauthorized": an administrator disabled the account (DSM's login error 401).
    if (opts.unauthorized()) return fail(401);
    if (!user.admin && p.session !== "webui") return fail(402);
    let newToken: string | undefined;
    if (user.otp) {
      const trusted = p.device_id && deviceTokens.get(p.device_id) === user.account;
      if (!trusted) {
        if (!p.otp_code)
          return fail(403, { token: "token", types: [{ type: "authenticator" }, { type: "fido" }, { type: "otp" }] });
        if (p.otp_code !== user.otp) return fail(404);
        if (p.enable_device_token === "yes") {
          newToken = token86();
          deviceTokens.set(newToken, user.account);
        }
      }
    }
    const sid = token86();
    const session: DsmSession = { account: user.account, expired: false };
    const v7 = req.version >= 7;
    const data: Record<string, unknown> = { sid, is_portal_port: false };
    if (v7) Object.assign(data, { account: user.account, ik_message: "" });
    if (ik) {
      const { message, transport } = ik.writeMessage2(Buffer.alloc(0));
      session.noise = transport;
      data.ik_message = b64url(message);
      stats.handshakes++;
    }
    sessions.set(sid, session);
    if (newToken !== undefined) data[v7 ? "device_id" : "did"] = sc.emptyDeviceId ? "" : newToken;
    if (p.enable_syno_token === "yes") data.synotoken = token86().slice(0, 22);
    else if (v7) data.synotoken = "--------"; // DSM 7 capture: no token asked for
    const out = ok(data);
    if (p.format === "cookie") {
      // DSM 7 capture: `Set-Cookie: id=<sid>;expires=<+7 d>;max-age=604800;path=/;HttpOnly`.
      const expires = new Date(ctx.clock.now() + 604_800_000).toUTCString();
      out.headers = { "Set-Cookie": `id=${sid};expires=${expires};max-age=604800;path=/;HttpOnly` };
    }
    return out;
  };

  const handle = (req: DsmRequest): SimResponse => {
    if (req.api === "SYNO.API.Auth.UIConfig") return req.method === "get" ? uiConfig() : fail(103);
    if (req.method === "logout") {
      const sid = req.params._sid ?? cookie(req, "id");
      if (sid) sessions.delete(sid);
      return ok();
    }
    if (req.method !== "login") return fail(103);
    return login(req);
  };

  /**
   * `X-SYNO-HASH` as synology-api 0.9.4 builds it (auth.py _get_request_hash): the first 8 characters
   * of the base64url handshake hash, the base64url tag of encrypting nothing with the initiator's
   * send cipher at nonce n, ".", base64url of n in decimal. Checked, and counted, not refused: what
   * DSM does with a bad one is not known here.
   */
  const checkHash = (session: DsmSession, header: string): boolean => {
    const m = /^(.{8})([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]+)$/.exec(header);
    const noise = session.noise;
    let good = false;
    if (m && noise && b64url(noise.handshakeHash).startsWith(m[1]!)) {
      const n = fromB64url(m[3]!).toString("utf8");
      if (/^\d+$/.test(n)) {
        try {
          noise.receive.decryptAt(BigInt(n), Buffer.alloc(0), fromB64url(m[2]!));
          good = true;
        } catch {
          good = false;
        }
      }
    }
    if (good) stats.hashesVerified++;
    else stats.hashesRejected++;
    return good;
  };

  /** The request's session (`_sid` parameter, else the `id` cookie), or the DSM error to answer. */
  const sessionOf = (req: DsmRequest): { session: DsmSession } | { error: SimResponse } => {
    const sid = req.params._sid ?? cookie(req, "id");
    const session = sid ? sessions.get(sid) : undefined;
    if (!sid || !session) return { error: fail(119) };
    if (session.expired) {
      sessions.delete(sid);
      return { error: fail(106) };
    }
    const h = req.headers["x-syno-hash"];
    if (typeof h === "string" && h) checkHash(session, h);
    return { session };
  };

  return {
    handle,
    sessionOf,
    stats,
    staticPublicKey: staticKey.publicKey,
    clear: () => sessions.clear(),
    expireAll: () => {
      for (const s of sessions.values()) s.expired = true;
    },
    sessionCount: () => [...sessions.values()].filter((s) => !s.expired).length,
    deviceTokens: () => [...deviceTokens.keys()],
  };
}
