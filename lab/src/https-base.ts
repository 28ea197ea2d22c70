/**
 * A small real HTTPS server for the off-site simulators (DSM, PBS): the lab's certificate, a
 * request log tests can count, connection tracking so "down" is a reset for everyone, and the
 * body read as a form or JSON.
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { labCertificate } from "./server.js";
import { wrongTypes } from "./faults.js";

export interface SimRequest {
  method: string;
  path: string;
  /** Query + form body, merged (body wins). */
  params: Record<string, string>;
  headers: IncomingMessage["headers"];
}
export interface SimResponse {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}
export interface SimRecord {
  method: string;
  path: string;
  status: number;
  /** API or route name for DSM/PBS (e.g. "SYNO.API.Auth login"). */
  what?: string;
}

/** `match`: only requests whose path or API/route name (e.g. "SYNO.Backup.Task", "/snapshots") contains it. */
export type SimFault =
  | { kind: "down" }
  | { kind: "garbage"; match?: string }
  | { kind: "http500"; match?: string }
  | { kind: "slow"; ms: number }
  /** Valid JSON whose `data` has every type wrong (see lab/faults.ts wrongTypes). */
  | { kind: "wrongTypes"; match?: string }
  /** The connection drops in the middle of the answer (headers and half the body sent, then closed). */
  | { kind: "reset"; match?: string }
  /**
   * The credentials were revoked. By default the PBS way: HTTP 401 with a plain-text body. A lab
   * whose API says it differently (DSM: HTTP 200, `success:false`, sessions gone, login refused)
   * handles it itself and passes `ownsUnauthorized`.
   */
  | { kind: "unauthorized" };

export class SimHttpsServer {
  readonly requests: SimRecord[] = [];
  fault: SimFault | null = null;
  port = 0;
  fingerprint = "";
  certPem = "";
  private server: https.Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly handler: (req: SimRequest) => SimResponse & { what?: string },
    private readonly opts: { ownsUnauthorized?: boolean } = {},
  ) {}

  async listen(host: string, port: number): Promise<void> {
    const cert = await labCertificate();
    this.fingerprint = cert.fingerprint;
    this.certPem = cert.cert;
    const server = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => void this.handle(req, res));
    server.on("connection", (sock: Socket) => {
      if (this.fault?.kind === "down") return sock.destroy();
      this.sockets.add(sock);
      sock.on("close", () => this.sockets.delete(sock));
    });
    server.on("tlsClientError", () => {});
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address();
    this.port = typeof addr === "object" && addr ? addr.port : port;
  }

  setFault(fault: SimFault | null): void {
    this.fault = fault;
    if (fault?.kind === "down") for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://sim");
    const method = (req.method ?? "GET").toUpperCase();
    if (this.fault?.kind === "down") return void req.socket.destroy();
    if (this.fault?.kind === "slow") await new Promise((r) => setTimeout(r, (this.fault as { ms: number }).ms));
    const raw = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", () => resolve(""));
    });
    const params: Record<string, string> = {};
    for (const [k, v] of url.searchParams) params[k] = v;
    if (raw) {
      if (String(req.headers["content-type"] ?? "").includes("application/json")) {
        try {
          for (const [k, v] of Object.entries(JSON.parse(raw) as Record<string, unknown>))
            params[k] = typeof v === "string" ? v : JSON.stringify(v);
        } catch {
          /* handler sees no params */
        }
      } else for (const [k, v] of new URLSearchParams(raw)) params[k] = v;
    }
    const f = this.fault;
    let out: SimResponse & { what?: string };
    try {
      // A revoked credential is refused before the request does anything.
      if (f?.kind === "unauthorized" && !this.opts.ownsUnauthorized)
        out = {
          status: 401,
          body: "authentication failed - invalid credentials\n",
          contentType: "application/json;charset=UTF-8",
        };
      else out = this.handler({ method, path: url.pathname, params, headers: req.headers });
    } catch (e) {
      out = { status: 500, body: (e as Error).message, contentType: "text/plain" };
    }
    const applies = (m?: string) => !m || url.pathname.includes(m) || (out.what ?? "").includes(m);
    if (f?.kind === "garbage" && applies(f.match))
      out = { ...out, status: 200, body: '{"success": true, "data": {"task_list": [ {"task_id": 1' };
    if (f?.kind === "http500" && applies(f.match))
      out = { ...out, status: 500, body: "Internal Server Error", contentType: "text/plain" };
    if (f?.kind === "wrongTypes" && applies(f.match) && out.status === 200) {
      try {
        const env = JSON.parse(out.body) as Record<string, unknown>;
        if (env && typeof env === "object" && "data" in env)
          out = { ...out, body: JSON.stringify({ ...env, data: wrongTypes(env.data) }) };
      } catch {
        /* not JSON: left as it is */
      }
    }
    if (res.destroyed) return;
    if (f?.kind === "reset" && applies(f.match)) {
      res.writeHead(200, {
        "Content-Type": out.contentType ?? "application/json; charset=utf-8",
        "Content-Length": Buffer.byteLength(out.body),
      });
      res.write(out.body.slice(0, Math.max(1, Math.floor(out.body.length / 2))), () => req.socket.destroy());
      this.requests.push({ method, path: url.pathname, status: 200, ...(out.what ? { what: out.what } : {}) });
      return;
    }
    res.statusCode = out.status;
    res.setHeader("Content-Type", out.contentType ?? "application/json; charset=utf-8");
    for (const [k, v] of Object.entries(out.headers ?? {})) res.setHeader(k, v);
    res.end(out.body);
    this.requests.push({ method, path: url.pathname, status: out.status, ...(out.what ? { what: out.what } : {}) });
  }
}
