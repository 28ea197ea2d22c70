/**
 * API-token authentication the way pve-http-server parses it: the value after `PVEAPIToken`
 * separated by `=` or a space, URI-unescaped, token id and secret split at the LAST `=`.
 */
import type { Token } from "./acl.js";

export type AuthResult = { ok: true; token: Token } | { ok: false; reason: string };

export function extractTokenValue(header: string | undefined): string | null {
  if (!header) return null;
  const m = /(?:^|\s)PVEAPIToken(?:=| )([^;]*)/.exec(header);
  if (!m || m[1] === undefined) return null;
  try {
    return decodeURIComponent(m[1].trim());
  } catch {
    return m[1].trim();
  }
}

export function authenticate(header: string | undefined, tokens: Map<string, Token>, nowMs: number): AuthResult {
  const value = extractTokenValue(header);
  if (value === null) return { ok: false, reason: "no authentication header" };
  const eq = value.lastIndexOf("=");
  if (eq <= 0) return { ok: false, reason: "malformed token" };
  const id = value.slice(0, eq);
  const secret = value.slice(eq + 1);
  const token = tokens.get(id);
  if (!token || token.secret !== secret) return { ok: false, reason: "invalid token value" };
  if (token.expire !== undefined && token.expire > 0 && token.expire * 1000 <= nowMs) {
    return { ok: false, reason: `token '${id}' access expired` };
  }
  return { ok: true, token };
}
