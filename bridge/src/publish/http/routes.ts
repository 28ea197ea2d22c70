/** The JSON API (SPEC §8): health, guests, one guest, back up now; and the Markdown report. */
import express, { type Request, type Response } from "express";
import type { Bridge } from "../../bridge.js";
import type { Outcome } from "../../actions/router.js";
import { renderReport } from "../../report/render.js";
import { pveVersions } from "../../report/snapshot.js";
import { VERSION } from "../../util/version.js";
import { requireBearer } from "./auth.js";
import { jsonBody } from "./limits.js";

/** HTTP status for a refused command. */
export function outcomeStatus(o: Extract<Outcome, { ok: false }>): number {
  if (/unknown guest/.test(o.reason)) return 404;
  if (/malformed|too large/.test(o.reason)) return 400;
  if (/not reachable|Proxmox refused/.test(o.reason)) return 502;
  return 409; // already running, tier forbids manual runs
}

export function apiRoutes(bridge: Bridge, token: string | undefined, postLimit: express.RequestHandler): express.Router {
  const r = express.Router();

  r.get("/healthz", (_req, res) => {
    const sources = bridge.sources.map((s) => ({ name: s.name, up: s.health.up, degraded: s.health.degraded }));
    const healthy = bridge.result !== null && bridge.publisher.connected;
    res.status(healthy ? 200 : 503).json({ status: healthy ? "ok" : "starting", mqtt: bridge.publisher.connected, sources });
  });

  r.get("/api/v1/guests", (_req, res) => {
    res.json({ guests: bridge.result?.guests ?? [] });
  });

  r.get("/api/v1/guests/:id", (req, res) => {
    const g = bridge.guest(req.params.id);
    if (!g) return void res.status(404).json({ error: `unknown guest '${req.params.id}'` });
    res.json(g);
  });

  r.post("/api/v1/guests/:id/backup", postLimit, requireBearer(token), jsonBody, async (req: Request, res: Response) => {
    const extra = typeof req.body === "object" && req.body !== null && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : {};
    // The route decides the action; the body may only add options (storage, mode, request_id).
    const outcome = await bridge.router.handle({ kind: "guest", id: String(req.params.id) }, JSON.stringify({ ...extra, action: "backup", origin: "http" }), "http");
    if (outcome.ok) return void res.status(202).json(outcome);
    res.status(outcomeStatus(outcome)).json({ error: outcome.reason });
  });

  r.get("/report.md", async (_req, res) => {
    const result = bridge.result;
    if (!result) return void res.status(503).type("text/plain").send("the bridge has not read Proxmox yet; try again in a few seconds\n");
    const pve = await pveVersions(bridge.sources);
    const md = renderReport({ cfg: bridge.cfg, result, evidence: bridge.evidence(), now: Date.now(), versions: { bridge: VERSION, node: process.version, pve }, offsiteHealth: bridge.offsite.health().map((h) => h.health) });
    res.type("text/markdown; charset=utf-8").send(md);
  });

  return r;
}
