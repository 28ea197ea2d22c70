import fs from "node:fs";
import type tls from "node:tls";
import { Agent, buildConnector } from "undici";

/** NAS/PBS UIs show fingerprints as AA:BB:…; compare without separators, case-insensitively. */
export const normFingerprint = (fp: string) => fp.replace(/[^A-Fa-f0-9]/g, "").toUpperCase();

export class PinMismatchError extends Error {
  readonly code = "ERR_FINGERPRINT_MISMATCH";
}

/**
 * An undici Agent that verifies TLS against the system CAs, a CA file, or an exact pinned
 * SHA-256 certificate fingerprint (checked before any request byte — and its credentials — is
 * sent). There is no "verify off".
 */
export function verifiedAgent(o: { fingerprint?: string; caFile?: string; timeoutMs: number }): Agent {
  const pinned = o.fingerprint ? normFingerprint(o.fingerprint) : undefined;
  const ca = o.caFile ? fs.readFileSync(o.caFile) : undefined;
  const connector = buildConnector({
    rejectUnauthorized: !pinned,
    ...(ca ? { ca } : {}),
    timeout: o.timeoutMs,
    maxCachedSessions: 0,
  });
  return new Agent({
    keepAliveTimeout: 30_000,
    connect: (opts, cb) => {
      connector(opts, (err, socket) => {
        const done = cb as (e: Error | null, s: unknown) => void;
        if (err || !pinned) return done(err, socket);
        const cert = (socket as tls.TLSSocket).getPeerCertificate();
        if (!cert?.fingerprint256 || normFingerprint(cert.fingerprint256) !== pinned) {
          socket!.destroy();
          return done(
            new PinMismatchError(
              `certificate fingerprint ${cert?.fingerprint256 ?? "(none)"} does not match the pinned fingerprint`,
            ),
            null,
          );
        }
        done(null, socket);
      });
    },
  });
}

/** Classifies a transport failure: timeout, tls or network. */
export function transportKind(e: unknown): { kind: "timeout" | "tls" | "network"; message: string } {
  const err = e as NodeJS.ErrnoException & { code?: string };
  const code = err?.code ?? "";
  if (e instanceof PinMismatchError) return { kind: "tls", message: e.message };
  if (code.includes("TIMEOUT")) return { kind: "timeout", message: `timed out (${code})` };
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code) || /certificate/i.test(err?.message ?? ""))
    return { kind: "tls", message: `TLS verification failed: ${err.message} (set fingerprint or ca_file)` };
  return { kind: "network", message: `${code || "network error"}: ${err?.message ?? String(e)}` };
}
