/**
 * The HTTPS front: TLS with a self-signed cert, `/api2/json` envelope, token auth with PVE's
 * delayed 401, routing, fault injection and a request log tests can count.
 */
import { X509Certificate } from "node:crypto";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { generate } from "selfsigned";
import { authenticate } from "./auth.js";
import { faultApplies, GARBAGE_BODY, wrongTypes, type LabFault } from "./faults.js";
import { ApiError, isPaged, type Ctx, type Route } from "./router.js";
import { accessRoutes } from "./routes/access.js";
import { inventoryRoutes } from "./routes/inventory.js";
import { jobRoutes } from "./routes/jobs.js";
import { nodeServiceRoutes } from "./routes/node-services.js";
import { storageRoutes } from "./routes/storage.js";
import { taskRoutes } from "./routes/tasks.js";
import { vzdumpRoutes } from "./routes/vzdump.js";
import { restoreRoutes } from "./routes/restore.js";
import type { LabState } from "./state.js";
import { settle } from "./tasks.js";

const ROUTES: Route[] = [
  ...inventoryRoutes,
  ...storageRoutes,
  ...jobRoutes,
  ...taskRoutes,
  ...vzdumpRoutes,
  ...accessRoutes,
  ...restoreRoutes,
  ...nodeServiceRoutes,
];
const API_PREFIX = "/api2/json";

export interface CertBundle {
  key: string;
  cert: string;
  fingerprint: string;
}

let certPromise: Promise<CertBundle> | null = null;

/** One EC cert per process: generation is the slowest part of starting a lab. */
export function labCertificate(): Promise<CertBundle> {
  certPromise ??= (async () => {
    const now = Date.now();
    const pems = await generate(
      [
        { name: "commonName", value: "127.0.0.1" },
        { name: "organizationName", value: "backup2mqtt simulated PVE" },
      ],
      {
        keyType: "ec",
        curve: "P-256",
        algorithm: "sha256",
        notBeforeDate: new Date(now - 86_400_000),
        notAfterDate: new Date(now + 2 * 365 * 86_400_000),
        extensions: [
          { name: "basicConstraints", cA: false },
          { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
          { name: "extKeyUsage", serverAuth: true },
          {
            name: "subjectAltName",
            altNames: [
              { type: 2, value: "localhost" },
              { type: 7, ip: "127.0.0.1" },
              { type: 7, ip: "::1" },
            ],
          },
        ],
      },
    );
    return {
      key: pems.private,
      cert: pems.cert,
      fingerprint: new X509Certificate(pems.cert).fingerprint256.toUpperCase(),
    };
  })();
  return certPromise;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
}

export interface ServerOptions {
  host: string;
  port: number;
  authFailDelayMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function parseBody(req: IncomingMessage, raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  const type = String(req.headers["content-type"] ?? "");
  if (type.includes("application/json")) {
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      throw new ApiError(400, "Parameter verification failed.", { body: "malformed JSON" });
    }
    if (obj && typeof obj === "object" && !Array.isArray(obj)) {
      for (const [k, v] of Object.entries(obj)) {
        if (v === null || v === undefined) continue;
        out[k] =
          typeof v === "boolean"
            ? v
              ? "1"
              : "0"
            : Array.isArray(v)
              ? v.join(",")
              : typeof v === "object"
                ? JSON.stringify(v)
                : String(v);
      }
    }
    return out;
  }
  for (const [k, v] of new URLSearchParams(raw)) out[k] = out[k] !== undefined ? `${out[k]},${v}` : v;
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > 1_048_576) reject(new ApiError(413, "Request Entity Too Large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Reason phrases must be a single printable line. */
const reason = (msg: string): string =>
  msg
    .replace(/[^\x20-\x7e]/g, " ")
    .trim()
    .slice(0, 200) || "Error";

export class LabServer {
  readonly requests: RequestRecord[] = [];
  fault: LabFault | null = null;
  private readonly sockets = new Set<Socket>();
  private server: https.Server | null = null;
  port = 0;

  constructor(
    private readonly state: LabState,
    private readonly opts: ServerOptions,
  ) {}

  async listen(cert: CertBundle): Promise<void> {
    const server = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
      void this.handle(req, res);
    });
    server.on("connection", (sock: Socket) => {
      if (this.fault?.kind === "down") {
        sock.destroy();
        return;
      }
      this.sockets.add(sock);
      sock.on("close", () => this.sockets.delete(sock));
    });
    server.on("tlsClientError", () => {});
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    const addr = server.address();
    this.port = typeof addr === "object" && addr ? addr.port : this.opts.port;
  }

  setFault(fault: LabFault | null): void {
    this.fault = fault;
    // "down" is a connection reset for everyone, including requests in flight.
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

  private send(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    status: number,
    body: string,
    message?: string,
  ): void {
    if (res.destroyed) return;
    res.statusCode = status;
    if (message !== undefined) res.statusMessage = reason(message);
    res.setHeader("Content-Type", "application/json;charset=UTF-8");
    res.setHeader("Cache-Control", "max-age=0");
    res.setHeader("Pragma", "no-cache");
    res.setHeader("Server", "pve-api-daemon/3.0");
    res.end(body);
    this.requests.push({ method: req.method ?? "GET", path, status });
  }

  private sendError(req: IncomingMessage, res: ServerResponse, path: string, err: ApiError): void {
    const body = err.errors ? { data: null, errors: err.errors } : { data: null, message: `${err.message}\n` };
    this.send(req, res, path, err.status, JSON.stringify(body), err.message);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://lab");
    const fullPath = url.pathname;
    const method = (req.method ?? "GET").toUpperCase();
    try {
      const fault = this.fault;
      if (fault?.kind === "down") {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === "slow" && faultApplies(fault, fullPath.slice(API_PREFIX.length))) await sleep(fault.ms);
      if (!fullPath.startsWith(`${API_PREFIX}/`) && fullPath !== API_PREFIX) throw new ApiError(404, "Not Found");
      const apiPath = fullPath.slice(API_PREFIX.length) || "/";

      const now = this.state.clock.now();
      const auth = authenticate(req.headers.authorization, this.state.tokens, now);
      if (!auth.ok || fault?.kind === "unauthorized") {
        // pve-http-server answers failed logins after a fixed delay.
        await sleep(this.opts.authFailDelayMs);
        const noCreds = !auth.ok && auth.reason === "no authentication header";
        throw new ApiError(401, noCreds ? "No ticket" : "authentication failure");
      }
      if (fault?.kind === "http500" && faultApplies(fault, apiPath)) throw new ApiError(500, "Internal Server Error");

      let matched: { r: Route; m: RegExpExecArray } | null = null;
      for (const r of ROUTES) {
        const m = r.pattern.exec(apiPath);
        if (m && r.method === method) {
          matched = { r, m };
          break;
        }
      }
      if (!matched) throw new ApiError(501, `Method '${method} ${apiPath}' not implemented`);

      const params: Record<string, string> = {};
      matched.r.keys.forEach((k, i) => {
        const raw = matched.m[i + 1] ?? "";
        try {
          params[k] = decodeURIComponent(raw);
        } catch {
          params[k] = raw;
        }
      });
      const args: Record<string, string> = {};
      for (const [k, v] of url.searchParams) args[k] = v;
      if (method !== "GET") Object.assign(args, parseBody(req, await readBody(req)));

      settle(this.state, now);
      const ctx: Ctx = { state: this.state, token: auth.token, params, args, now };
      const result = matched.r.handler(ctx);
      let envelope: Record<string, unknown> = isPaged(result)
        ? { data: result.data, total: result.total }
        : { data: result ?? null };

      if (fault?.kind === "garbage" && faultApplies(fault, apiPath)) {
        this.send(req, res, fullPath, 200, GARBAGE_BODY);
        return;
      }
      if (fault?.kind === "reset" && faultApplies(fault, apiPath)) {
        const body = JSON.stringify(envelope);
        res.writeHead(200, {
          "Content-Type": "application/json;charset=UTF-8",
          "Content-Length": Buffer.byteLength(body),
        });
        res.write(body.slice(0, Math.max(1, Math.floor(body.length / 2))), () => req.socket.destroy());
        return;
      }
      if (fault?.kind === "wrongTypes" && faultApplies(fault, apiPath))
        envelope = { ...envelope, data: wrongTypes(envelope.data) };
      this.send(req, res, fullPath, 200, JSON.stringify(envelope));
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, e instanceof Error ? e.message : String(e));
      this.sendError(req, res, fullPath, err);
    }
  }
}
