/**
 * Proxmox Backup Server client: `Authorization: PBSAPIToken=user@realm!name:secret` (a colon,
 * where PVE uses `=`), `{"data": …}` envelopes, and errors as HTTP statuses with a plain-text
 * body (even when Content-Type says JSON).
 */
import { request, type Agent } from "undici";
import type { z } from "zod";
import { transportKind, verifiedAgent } from "../dsm/tls.js";

export type PbsErrorKind = "network" | "timeout" | "tls" | "auth" | "permission" | "http" | "parse" | "schema";

export class PbsError extends Error {
  constructor(
    readonly kind: PbsErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "PbsError";
  }
  get degraded(): boolean {
    return this.kind === "parse" || this.kind === "schema";
  }
}

export interface PbsClientOptions {
  url: string;
  tokenId: string;
  tokenSecret: string;
  fingerprint?: string;
  caFile?: string;
  timeoutMs: number;
}

export class PbsClient {
  requestCount = 0;
  private readonly agent: Agent;
  private readonly auth: string;

  constructor(private readonly o: PbsClientOptions) {
    this.auth = `PBSAPIToken=${o.tokenId}:${o.tokenSecret}`;
    this.agent = verifiedAgent(o);
  }

  get<T>(path: string, schema: z.ZodType<T>, query?: Record<string, string | number | undefined>): Promise<T> {
    return this.send("GET", path, schema, query);
  }

  post<T>(path: string, schema: z.ZodType<T>, body: Record<string, string | number | boolean> = {}): Promise<T> {
    return this.send("POST", path, schema, undefined, body);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async send<T>(
    method: "GET" | "POST",
    path: string,
    schema: z.ZodType<T>,
    query?: Record<string, string | number | undefined>,
    body?: Record<string, string | number | boolean>,
  ): Promise<T> {
    const qs = query
      ? new URLSearchParams(
          Object.entries(query)
            .filter((e): e is [string, string | number] => e[1] !== undefined)
            .map(([k, v]) => [k, String(v)]),
        ).toString()
      : "";
    this.requestCount++;
    let res: Awaited<ReturnType<typeof request>>;
    let text: string;
    try {
      res = await request(`${this.o.url}/api2/json${path}${qs ? `?${qs}` : ""}`, {
        method,
        dispatcher: this.agent,
        headers: {
          authorization: this.auth,
          accept: "application/json",
          ...(body ? { "content-type": "application/json" } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        headersTimeout: this.o.timeoutMs,
        bodyTimeout: this.o.timeoutMs,
      });
      text = await res.body.text();
    } catch (e) {
      const t = transportKind(e);
      throw new PbsError(t.kind, `PBS unreachable: ${t.message}`);
    }
    if (res.statusCode >= 400) {
      const msg = plainMessage(text, res.statusCode);
      if (res.statusCode === 401)
        throw new PbsError(
          "auth",
          `authentication failed (401): ${msg} — check token_id (user@realm!name) and token_secret`,
          401,
        );
      // PBS names the missing privilege and path itself ("permission check failed - missing …"); callers add what to grant.
      if (res.statusCode === 403)
        throw new PbsError("permission", `${method} ${path}: permission denied (403): ${msg}`, 403);
      throw new PbsError("http", `${method} ${path}: HTTP ${res.statusCode}: ${msg}`, res.statusCode);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new PbsError("parse", `${method} ${path}: answer is not JSON (${text.length} bytes)`);
    }
    const parsed = schema.safeParse((json as { data?: unknown } | null)?.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new PbsError(
        "schema",
        `${method} ${path}: unexpected answer at data${issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}: ${issue.message}`,
      );
    }
    return parsed.data;
  }
}

/** PBS error bodies are plain text; tolerate a JSON body too. */
function plainMessage(text: string, status: number): string {
  const t = text.trim();
  try {
    const j = JSON.parse(t) as { message?: string };
    if (j && typeof j.message === "string") return j.message.trim();
  } catch {
    /* plain text, as PBS sends */
  }
  return t.slice(0, 300) || `status ${status}`;
}
