import crypto from "node:crypto";
import fs from "node:fs";
import type { IncomingMessage, RequestOptions } from "node:http";
import https from "node:https";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { z } from "zod";
import type { ProxmoxSourceConfig } from "../../config/load.js";
import { KEEP_WHILE_HASHING_BYTES } from "./memory.js";
import { forEachRow, NotARowListing, rowSplitter } from "./rows.js";

/** The rows of a listing, parsed one at a time (see rows.ts). */
interface Rows {
  /**
   * Calls fn with each row in order and returns the count. If the answer turns out not to be a
   * plain row listing part way, it starts again from index 0 with a full parse: fn must let a
   * later call for an index replace an earlier one. Throws PveError("parse"/"schema").
   */
  forEach(fn: (row: unknown, index: number) => void): number;
}

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
  private readonly agent: https.Agent;
  private readonly auth: string;

  constructor(
    private readonly cfg: Pick<
      ProxmoxSourceConfig,
      "url" | "tokenId" | "tokenSecret" | "fingerprint" | "caFile" | "timeoutMs"
    >,
    private readonly retries = 2,
  ) {
    this.auth = `PVEAPIToken=${cfg.tokenId}=${cfg.tokenSecret}`;
    const pinned = cfg.fingerprint ? normFp(cfg.fingerprint) : undefined;
    const ca = cfg.caFile ? fs.readFileSync(cfg.caFile) : undefined;
    // node:https rather than undici: a home-lab bridge talks to one PVE a few times a minute,
    // and undici alone added ~15-20 MB of RSS to the process (measured for issue 17: 58-67 MB
    // vs 44 MB for the same requests over node:https). No TLS session resumption: a resumed
    // session shows no peer certificate, and a pin must be checked on every connection.
    const options: https.AgentOptions = {
      keepAlive: true,
      timeout: 30_000,
      maxCachedSessions: 0,
      rejectUnauthorized: !pinned,
      ...(ca ? { ca } : {}),
    };
    this.agent = pinned ? new PinnedAgent(options, pinned) : new https.Agent(options);
  }

  get<T>(path: string, schema: z.ZodType<T>, query?: Record<string, string | number | undefined>): Promise<T> {
    return this.retrying(() => this.send("GET", path, (buf) => parseJson("GET", path, buf, schema), query));
  }

  /** Runs a GET again, with backoff, after a network error, a timeout or a 5xx (GETs only: see post). */
  private async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (e) {
        const retryable =
          e instanceof PveError &&
          (e.kind === "network" || e.kind === "timeout" || (e.kind === "http" && (e.status ?? 0) >= 500));
        if (!retryable || n >= this.retries) throw e;
        await new Promise((r) => setTimeout(r, 200 * 2 ** (n + 1)));
      }
    }
  }

  /**
   * GET of a `{"data":[rows]}` listing (storage content: up to hundreds of thousands of rows),
   * handing each row to onRow as it is parsed (rows.ts): the answer is never held as text nor as
   * one object tree. When the answer's bytes are the same as last time (same digest) nothing is
   * parsed and `unchanged` says so: the caller keeps what it had.
   *
   * With a digest to compare, at most KEEP_WHILE_HASHING_BYTES are kept while hashing; a changed
   * listing bigger than that is asked for once more, and parsed as it streams in (memory.ts says
   * what keeping every answer until its digest was known costs; a changed listing — a backup ended
   * on that storage — is rare by comparison).
   * onRow may see index 0 again: then the rows before it are void (see Rows).
   */
  async getRowsIfChanged(
    path: string,
    query: Record<string, string | number | undefined> | undefined,
    previousDigest: string | undefined,
    onRow: (row: unknown, index: number) => void,
  ): Promise<{ unchanged: true; digest: string } | { unchanged: false; digest: string; count: number }> {
    if (previousDigest !== undefined) {
      try {
        const r = await this.getChanged(path, (raw) => raw, query, {
          previous: previousDigest,
          keepLimit: KEEP_WHILE_HASHING_BYTES,
        });
        if (r.unchanged) return r;
        return { unchanged: false, digest: r.digest, count: listingRows(path, r.value).forEach(onRow) };
      } catch (e) {
        if (e !== REFETCH) throw e;
      }
    }
    let split = rowSplitter(onRow);
    try {
      const r = await this.getChanged(path, () => split.end(), query, {
        previous: previousDigest,
        keepLimit: 0,
        begin: () => (split = rowSplitter(onRow)),
        sink: (chunk) => split.push(chunk),
      });
      return r.unchanged ? r : { unchanged: false, digest: r.digest, count: r.value };
    } catch (e) {
      notARowListing(e, path);
    }
    // Not a plain row listing after all: ask once more and parse it whole (which names what is wrong).
    const r = await this.getChanged(path, (raw) => listingRows(path, raw), query, { keepLimit: Infinity });
    if (r.unchanged) return r;
    return { unchanged: false, digest: r.digest, count: r.value.forEach(onRow) };
  }

  /** A GET whose bytes are hashed (see Digest); a retry after rows were streamed to the caller starts again at index 0. */
  private getChanged<T>(
    path: string,
    parse: (buf: Buffer[]) => T,
    query: Record<string, string | number | undefined> | undefined,
    opts: Omit<Digest, "current">,
  ): Promise<{ unchanged: true; digest: string } | { unchanged: false; digest: string; value: T }> {
    return this.retrying(async () => {
      const digest: Digest = { ...opts };
      opts.begin?.();
      try {
        const value = await this.send("GET", path, parse, query, undefined, digest);
        return { unchanged: false as const, digest: digest.current!, value };
      } catch (e) {
        if (e === UNCHANGED) return { unchanged: true as const, digest: opts.previous! };
        throw e;
      }
    });
  }

  /** POSTs are never retried: a vzdump must not start twice. */
  post<T>(path: string, schema: z.ZodType<T>, body: Record<string, string | number>): Promise<T> {
    return this.send("POST", path, (buf) => parseJson("POST", path, buf, schema), undefined, body);
  }

  /** PUT (partial update, e.g. /cluster/backup/{id}); never retried. */
  put<T>(path: string, schema: z.ZodType<T>, body: Record<string, string | number>): Promise<T> {
    return this.send("PUT", path, (buf) => parseJson("PUT", path, buf, schema), undefined, body);
  }

  delete<T>(path: string, schema: z.ZodType<T>): Promise<T> {
    return this.send("DELETE", path, (buf) => parseJson("DELETE", path, buf, schema));
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  private async send<T>(
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    parse: (body: Buffer[]) => T,
    query?: Record<string, string | number | undefined>,
    body?: Record<string, string | number>,
    digest?: Digest,
  ): Promise<T> {
    const qs = query
      ? new URLSearchParams(
          Object.entries(query)
            .filter((e): e is [string, string | number] => e[1] !== undefined)
            .map(([k, v]) => [k, String(v)]),
        ).toString()
      : "";
    const url = `${this.cfg.url}/api2/json${path}${qs ? `?${qs}` : ""}`;
    this.requestCount++;
    const form = body
      ? new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString()
      : undefined;
    let res: IncomingMessage;
    try {
      res = await this.request(method, url, form);
    } catch (e) {
      throw toNetworkError(e);
    }
    const raw: Buffer[] = [];
    try {
      if (digest && res.statusCode === 200) {
        // Hash as the chunks arrive; only a changed answer is parsed (never joined: see rows.ts).
        const hash = crypto.createHash("sha1");
        let kept = 0;
        let dropped = false;
        for await (const chunk of res as AsyncIterable<Buffer>) {
          hash.update(chunk);
          if (digest.sink) digest.sink(chunk);
          if (dropped || digest.sink) continue;
          kept += chunk.length;
          if (kept > digest.keepLimit) {
            raw.length = 0;
            dropped = true;
          } else raw.push(chunk);
        }
        digest.current = hash.digest("base64");
        if (digest.current === digest.previous) throw UNCHANGED;
        if (dropped) throw REFETCH;
      } else for await (const chunk of res as AsyncIterable<Buffer>) raw.push(chunk);
    } catch (e) {
      // What the sink threw (a row that is not JSON, not a row listing, a row of the wrong shape) is not a network error.
      if (e === UNCHANGED || e === REFETCH || e instanceof NotARowListing || e instanceof SyntaxError) throw e;
      throw toNetworkError(e);
    }
    const text = () => Buffer.concat(raw).toString("utf8");
    const status = res.statusCode ?? 0;
    if (status === 401)
      throw new PveError(
        "auth",
        "authentication failure (401): check token_id and token_secret, or whether the token expired",
        401,
      );
    if (status === 403) throw new PveError("permission", `permission denied (403): ${reasonOf(text(), status)}`, 403);
    if (status >= 400) throw new PveError("http", `HTTP ${status}: ${reasonOf(text(), status)}`, status);
    return parse(raw);
  }

  /**
   * One request; resolves with the response once its headers are in. The timeout counts
   * silence on the socket (connect, headers, and each gap in the body), as undici's did.
   */
  private request(method: string, url: string, form: string | undefined): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = https.request(url, {
        method,
        agent: this.agent,
        headers: {
          authorization: this.auth,
          accept: "application/json",
          ...(form !== undefined
            ? { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(form) }
            : {}),
        },
      });
      req.setTimeout(this.cfg.timeoutMs, () =>
        req.destroy(Object.assign(new Error(`no answer within ${this.cfg.timeoutMs} ms`), { code: "ETIMEDOUT" })),
      );
      req.once("error", reject);
      req.once("response", (res) => {
        // A body that stops half way fails the read loop in send (the stream is destroyed with the error).
        req.off("error", reject);
        req.on("error", (e) => res.destroy(e));
        resolve(res);
      });
      req.end(form);
    });
  }
}

/**
 * An https.Agent that accepts exactly one certificate, by its SHA-256 fingerprint (PVE's
 * self-signed default), in place of chain validation. The socket is handed to the request
 * only after the check (createConnection's callback form), so no byte of a request — and
 * not its token — reaches a server that shows another certificate.
 */
class PinnedAgent extends https.Agent {
  constructor(
    options: https.AgentOptions,
    private readonly pinned: string,
  ) {
    super(options);
  }

  override createConnection(
    options: RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    // The options carry the agent's own: chain validation off, since the pin below replaces it.
    const socket = tls.connect(options as tls.ConnectionOptions);
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      socket.off("error", finish);
      if (err) socket.destroy();
      callback?.(err, socket);
    };
    socket.once("error", finish);
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate();
      if (!cert?.fingerprint256 || normFp(cert.fingerprint256) !== this.pinned)
        return finish(
          new PveError(
            "tls",
            `certificate fingerprint ${cert?.fingerprint256 ?? "(none)"} does not match the pinned fingerprint`,
          ),
        );
      finish(null);
    });
    return undefined;
  }
}

/** The `data` of a JSON answer, checked against its schema. */
function parseJson<T>(method: string, path: string, chunks: Buffer[], schema: z.ZodType<T>): T {
  let json: unknown;
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw new PveError("parse", `${method} ${path}: answer is not JSON (${body.length} bytes)`);
  }
  const data = (json as { data?: unknown } | null)?.data;
  const parsed = schema.safeParse(data);
  if (!parsed.success)
    throw new PveError("schema", `${method} ${path}: unexpected answer at data${firstIssue(parsed.error)}`);
  return parsed.data;
}

/** Where and how an answer broke its schema: `[3].volid: Invalid input: expected string, received number`. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}: ${issue.message}`;
}

/** A listing's rows: split from the chunks when the frame is the usual one, else a full parse. */
function listingRows(path: string, chunks: Buffer[]): Rows {
  return {
    forEach: (fn) => {
      try {
        return forEachRow(chunks, fn);
      } catch (e) {
        notARowListing(e, path);
      }
      const list = parseJson("GET", path, chunks, LIST);
      list.forEach(fn);
      return list.length;
    },
  };
}

const LIST = z.custom<unknown[]>((v) => Array.isArray(v), { message: "expected array" });

/** After splitting rows failed: returns when the answer is just not a plain row listing (parse it whole), else throws. */
function notARowListing(e: unknown, path: string): void {
  if (e instanceof SyntaxError) throw new PveError("parse", `GET ${path}: answer is not JSON (a row is malformed)`);
  if (!(e instanceof NotARowListing)) throw e;
}

/** Internal marker: the answer's bytes did not change (getRowsIfChanged). */
const UNCHANGED = Symbol("unchanged");
/** Internal marker: the answer changed but was too big to keep while hashing: ask again. */
const REFETCH = Symbol("refetch");

interface Digest {
  previous?: string;
  current?: string;
  /** Bytes kept while hashing; beyond this a changed answer is fetched again (REFETCH). */
  keepLimit: number;
  /** Given each chunk as it arrives instead of keeping it (then parse gets no bytes). */
  sink?: (chunk: Buffer) => void;
  /** Called before each attempt (a retry starts the sink over). */
  begin?: () => void;
}

function reasonOf(text: string, status: number): string {
  try {
    const j = JSON.parse(text) as { message?: string; errors?: Record<string, string> };
    if (j.errors)
      return Object.entries(j.errors)
        .map(([k, v]) => `${k}: ${String(v).trim()}`)
        .join("; ");
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
  if (code === "ETIMEDOUT") return new PveError("timeout", `timed out: ${err.message}`);
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code) || /certificate/i.test(err.message))
    return new PveError("tls", `TLS verification failed: ${err.message} (set fingerprint or ca_file)`);
  return new PveError("network", `${code || "network error"}: ${err.message}`);
}
