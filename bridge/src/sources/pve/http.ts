import crypto from "node:crypto";
import fs from "node:fs";
import tls from "node:tls";
import { Agent, buildConnector, request } from "undici";
import type { z } from "zod";
import type { ProxmoxSourceConfig } from "../../config/load.js";

/** Why a request failed: decides whether the source is down (network/http/auth) or degraded (parse/schema). */
export type PveErrorKind = "network" | "timeout" | "tls" | "auth" | "permission" | "http" | "parse" | "schema";

export class PveError extends Error {
  constructor(
    readonly kind: PveErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "PveError";
  }
  /** Malformed answers mean "reachable but unreadable". */
  get degraded(): boolean {
    return this.kind === "parse" || this.kind === "schema";
  }
}

/** PVE shows fingerprints as AA:BB:…; Node gives the same form. Compare case-insensitively. */
const normFp = (fp: string) => fp.replace(/[^A-Fa-f0-9]/g, "").toUpperCase();

/**
 * A small typed client for /api2/json: token auth, TLS verification (CA, or a pinned
 * SHA-256 fingerprint, never "verify off"), timeouts, retry with backoff on GETs,
 * and a request counter so refresh plans can be measured.
 */
export class PveHttp {
  requestCount = 0;
  private readonly agent: Agent;
  private readonly auth: string;

  constructor(
    private readonly cfg: Pick<ProxmoxSourceConfig, "url" | "tokenId" | "tokenSecret" | "fingerprint" | "caFile" | "timeoutMs">,
    private readonly retries = 2,
  ) {
    this.auth = `PVEAPIToken=${cfg.tokenId}=${cfg.tokenSecret}`;
    const pinned = cfg.fingerprint ? normFp(cfg.fingerprint) : undefined;
    const ca = cfg.caFile ? fs.readFileSync(cfg.caFile) : undefined;
    // With a pin, chain validation is replaced by an exact certificate match, checked below
    // before any byte of the request (and its token) is sent. No TLS session resumption: a
    // resumed session shows no peer certificate, and the pin must be checked on every connection.
    const connector = buildConnector({ rejectUnauthorized: !pinned, ...(ca ? { ca } : {}), timeout: cfg.timeoutMs, maxCachedSessions: 0 });
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      connect: (opts, cb) => {
        connector(opts, (err, socket) => {
          if (err || !pinned) return (cb as (e: Error | null, s: unknown) => void)(err, socket);
          const cert = (socket as tls.TLSSocket).getPeerCertificate();
          if (!cert?.fingerprint256 || normFp(cert.fingerprint256) !== pinned) {
            socket!.destroy();
            return (cb as (e: Error | null, s: unknown) => void)(
              new PveError("tls", `certificate fingerprint ${cert?.fingerprint256 ?? "(none)"} does not match the pinned fingerprint`),
              null,
            );
          }
          (cb as (e: Error | null, s: unknown) => void)(null, socket);
        });
      },
    });
  }

  async get<T>(path: string, schema: z.ZodType<T>, query?: Record<string, string | number | undefined>): Promise<T> {
    let attempt = 0;
    for (;;) {
      try {
        return await this.send("GET", path, schema, query);
      } catch (e) {
        const retryable = e instanceof PveError && (e.kind === "network" || e.kind === "timeout" || (e.kind === "http" && (e.status ?? 0) >= 500));
        if (!retryable || attempt >= this.retries) throw e;
        attempt++;
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }

  /**
   * GET for big listings: when the answer's bytes are the same as last time (same digest), it is
   * neither decoded nor parsed — `unchanged` says so and the caller keeps what it had.
   */
  async getIfChanged<T>(path: string, schema: z.ZodType<T>, query: Record<string, string | number | undefined> | undefined, previousDigest: string | undefined): Promise<{ unchanged: true; digest: string } | { unchanged: false; digest: string; value: T }> {
    let attempt = 0;
    for (;;) {
      const digest: { previous?: string; current?: string } = { previous: previousDigest };
      try {
        const value = await this.send("GET", path, schema, query, undefined, digest);
        return digest.current === previousDigest && previousDigest !== undefined ? { unchanged: true, digest: previousDigest } : { unchanged: false, digest: digest.current!, value };
      } catch (e) {
        if (e === UNCHANGED) return { unchanged: true, digest: previousDigest! };
        const retryable = e instanceof PveError && (e.kind === "network" || e.kind === "timeout" || (e.kind === "http" && (e.status ?? 0) >= 500));
        if (!retryable || attempt >= this.retries) throw e;
        attempt++;
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }

  /** POSTs are never retried: a vzdump must not start twice. */
  post<T>(path: string, schema: z.ZodType<T>, body: Record<string, string | number>): Promise<T> {
    return this.send("POST", path, schema, undefined, body);
  }

  /** PUT (partial update, e.g. /cluster/backup/{id}); never retried. */
  put<T>(path: string, schema: z.ZodType<T>, body: Record<string, string | number>): Promise<T> {
    return this.send("PUT", path, schema, undefined, body);
  }

  delete<T>(path: string, schema: z.ZodType<T>): Promise<T> {
    return this.send("DELETE", path, schema);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async send<T>(
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    schema: z.ZodType<T>,
    query?: Record<string, string | number | undefined>,
    body?: Record<string, string | number>,
    digest?: { previous?: string; current?: string },
  ): Promise<T> {
    const qs = query
      ? new URLSearchParams(Object.entries(query).filter((e): e is [string, string | number] => e[1] !== undefined).map(([k, v]) => [k, String(v)])).toString()
      : "";
    const url = `${this.cfg.url}/api2/json${path}${qs ? `?${qs}` : ""}`;
    this.requestCount++;
    let res;
    try {
      res = await request(url, {
        method,
        dispatcher: this.agent,
        headers: {
          authorization: this.auth,
          accept: "application/json",
          ...(body ? { "content-type": "application/x-www-form-urlencoded" } : {}),
        },
        body: body ? new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString() : undefined,
        headersTimeout: this.cfg.timeoutMs,
        bodyTimeout: this.cfg.timeoutMs,
      });
    } catch (e) {
      throw toNetworkError(e);
    }
    let text: string;
    try {
      if (digest && res.statusCode === 200) {
        // Hash as the chunks arrive; only a changed answer is joined, decoded and parsed.
        const hash = crypto.createHash("sha1");
        const chunks: Buffer[] = [];
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          hash.update(chunk);
          chunks.push(chunk);
        }
        digest.current = hash.digest("base64");
        if (digest.current === digest.previous) throw UNCHANGED;
        text = Buffer.concat(chunks).toString("utf8");
      } else text = await res.body.text();
    } catch (e) {
      if (e === UNCHANGED) throw e;
      throw toNetworkError(e);
    }
    if (res.statusCode === 401) throw new PveError("auth", "authentication failure (401): check token_id and token_secret, or whether the token expired", 401);
    if (res.statusCode === 403) throw new PveError("permission", `permission denied (403): ${reasonOf(text, res.statusCode)}`, 403);
    if (res.statusCode >= 400) throw new PveError("http", `HTTP ${res.statusCode}: ${reasonOf(text, res.statusCode)}`, res.statusCode);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new PveError("parse", `${method} ${path}: answer is not JSON (${text.length} bytes)`);
    }
    const data = (json as { data?: unknown } | null)?.data;
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new PveError("schema", `${method} ${path}: unexpected answer at data${issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}: ${issue.message}`);
    }
    return parsed.data;
  }
}

/** Internal marker: the answer's bytes did not change (getIfChanged). */
const UNCHANGED = Symbol("unchanged");

function reasonOf(text: string, status: number): string {
  try {
    const j = JSON.parse(text) as { message?: string; errors?: Record<string, string> };
    if (j.errors) return Object.entries(j.errors).map(([k, v]) => `${k}: ${String(v).trim()}`).join("; ");
    if (j.message) return String(j.message).trim();
  } catch {
    /* plain text */
  }
  return text.trim().slice(0, 200) || `status ${status}`;
}

function toNetworkError(e: unknown): PveError {
  if (e instanceof PveError) return e;
  const err = e as NodeJS.ErrnoException & { code?: string };
  const code = err.code ?? "";
  if (code.includes("TIMEOUT")) return new PveError("timeout", `timed out (${code})`);
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code) || /certificate/i.test(err.message))
    return new PveError("tls", `TLS verification failed: ${err.message} (set fingerprint or ca_file)`);
  return new PveError("network", `${code || "network error"}: ${err.message}`);
}
