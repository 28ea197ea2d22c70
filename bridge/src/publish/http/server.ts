import crypto from "node:crypto";
import http from "node:http";
import express, { type Request, type Response, type NextFunction } from "express";
import type { Bridge } from "../../bridge.js";
import type { Logger } from "../../log.js";

/** Constant-time bearer check: no early exit that would leak the token's length or prefix. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/.exec(header ?? "")?.[1] ?? "";
  const a = crypto.createHash("sha256").update(given).digest();
  const b = crypto.createHash("sha256").update(token).digest();
  return crypto.timingSafeEqual(a, b) && given.length > 0;
}

/** The HTTP API (SPEC §8). Read routes are open on the bind address; mutating routes need the bearer token. */
export function createHttpApp(bridge: Bridge, token: string | undefined, log: Logger): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.use(express.json({ limit: "16kb" }));
  const requireToken = (req: Request, res: Response, next: NextFunction) => {
    if (!token) return res.status(403).json({ error: "mutating routes are disabled: set http.token in the config" });
    if (!tokenMatches(req.header("authorization"), token)) return res.status(401).json({ error: "missing or wrong bearer token" });
    next();
  };
  app.get("/healthz", (_req, res) => {
    const sources = bridge.sources.map((s) => ({ name: s.name, up: s.health.up, degraded: s.health.degraded }));
    const healthy = bridge.result !== null && bridge.publisher.connected;
    res.status(healthy ? 200 : 503).json({ status: healthy ? "ok" : "starting", mqtt: bridge.publisher.connected, sources });
  });
  app.get("/api/v1/guests", (_req, res) => {
    res.json({ guests: bridge.result?.guests ?? [] });
  });
  app.get("/api/v1/guests/:id", (req, res) => {
    const g = bridge.guest(req.params.id);
    if (!g) return res.status(404).json({ error: `unknown guest '${req.params.id}'` });
    res.json(g);
  });
  app.post("/api/v1/guests/:id/backup", requireToken, async (req, res) => {
    const body = { action: "backup", ...(typeof req.body === "object" && req.body ? req.body : {}) };
    const outcome = await bridge.router.handle({ kind: "guest", id: String(req.params.id) }, JSON.stringify(body), "http");
    if (outcome.ok) return res.status(202).json(outcome);
    const status = /unknown guest/.test(outcome.reason) ? 404 : /malformed/.test(outcome.reason) ? 400 : 409;
    res.status(status).json({ error: outcome.reason });
  });
  app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    log.warn({ err: err.message }, "HTTP request failed");
    res.status(err.status ?? 500).json({ error: err.status && err.status < 500 ? err.message : "internal error" });
  });
  return app;
}

export async function startHttpServer(app: express.Express, host: string, port: number): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as import("node:net").AddressInfo;
  return { server, url: `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}` };
}
