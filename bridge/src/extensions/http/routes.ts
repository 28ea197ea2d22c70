/** The JSON API: liveness, health, guests, one guest, back up now; and the Markdown report. */
import express, { type Request, type Response } from "express";
import type { HttpContext } from "./context.js";
import type { View } from "../../core/view.js";
import type { Outcome } from "../../actions/router.js";
import { renderReport } from "../../report/render.js";
import { VERSION } from "../../util/version.js";
import { requireBearer } from "./auth.js";
import { commandBody } from "./limits.js";
import { quoteValue } from "../../util/schemas.js";
import type { SourceHealth } from "../../evidence.js";

/** HTTP status for a refused command. */
export function outcomeStatus(o: Extract<Outcome, { ok: false }>): number {
  if (o.invalid) return 400;
  if (/unknown guest/.test(o.reason)) return 404;
  if (/malformed|too large/.test(o.reason)) return 400;
  if (/not reachable|Proxmox refused/.test(o.reason)) return 502;
  return 409; // already running, tier forbids manual runs
}

const KIND_NAMES: Record<SourceHealth["kind"], string> = { proxmox: "proxmox", synology: "synology", pbs: "pbs" };

/** Why one source cannot be read, as a clause: "proxmox 'pve' is unreachable: connect ECONNREFUSED …". */
function sourceProblem(h: SourceHealth): string {
  const what = `${KIND_NAMES[h.kind]} '${h.name}'`;
  if (!h.up) return `${what} is unreachable${h.error ? `: ${h.error}` : ""}`;
  return `${what} answers but could not be read${h.error ? `: ${h.error}` : ""}`;
}

export interface Health {
  status: "ok" | "starting" | "unhealthy";
  mqtt: boolean;
  sources: { name: string; kind: SourceHealth["kind"]; up: boolean; degraded: boolean; error?: string }[];
  /** Why the bridge is not healthy, in sentences; absent when ok. */
  reason?: string;
}

/**
 * Readiness (GET /healthz): healthy only when MQTT is connected and at least one Proxmox source
 * is readable (up and not degraded) — Hyper Backup and PBS sources are listed but cannot make up
 * for Proxmox, whose guests are the bridge's subject. Read-only view of the bridge's state.
 */
export function healthOf(view: Pick<View, "proxmox" | "offsiteSources" | "mqttConnected" | "result">): Health {
  const pve = view.proxmox.map((s) => s.health);
  const all = [...pve, ...view.offsiteSources.map((s) => s.health)];
  const sources = all.map((h) => ({
    name: h.name,
    kind: h.kind,
    up: h.up,
    degraded: h.degraded,
    ...(h.error && (!h.up || h.degraded) ? { error: h.error } : {}),
  }));
  const mqtt = view.mqttConnected;
  const problems: string[] = [];
  if (!mqtt) problems.push("MQTT broker not connected");
  const readable = pve.some((h) => h.up && !h.degraded);
  if (view.result === null) problems.push("the first reading of the sources has not finished yet");
  else if (!readable)
    problems.push(
      `no ${all.length === pve.length ? "source" : "Proxmox source"} is readable: ${pve.map(sourceProblem).join("; ")}`,
    );
  if (!problems.length) return { status: "ok", mqtt, sources };
  return { status: view.result === null ? "starting" : "unhealthy", mqtt, sources, reason: problems.join("; ") };
}

export function apiRoutes(
  http: HttpContext,
  token: string | undefined,
  postLimit: express.RequestHandler,
): express.Router {
  const r = express.Router();

  // Liveness for container probes: the process runs and answers. Never depends on MQTT or Proxmox
  // (restarting the bridge does not bring either back).
  r.get("/livez", (_req, res) => {
    res.setHeader("Cache-Control", "no-store");
    res.json({ status: "alive" });
  });

  r.get("/healthz", (_req, res) => {
    const h = healthOf(http.view);
    res.setHeader("Cache-Control", "no-store");
    res.status(h.status === "ok" ? 200 : 503).json(h);
  });

  r.get("/api/v1/guests", (_req, res) => {
    res.json({ guests: http.view.result?.guests ?? [] });
  });

  r.get("/api/v1/guests/:id", (req, res) => {
    const g = http.view.guest(req.params.id);
    if (!g) return void res.status(404).json({ error: `unknown guest '${req.params.id}'` });
    res.json(g);
  });

  r.post(
    "/api/v1/guests/:id/backup",
    postLimit,
    requireBearer(token),
    commandBody,
    async (req: Request, res: Response) => {
      const body = req.body as Record<string, unknown>;
      // The route decides the action; the body may only add options (storage, mode, request_id, origin).
      if ("action" in body && body.action !== "backup")
        return void res.status(400).json({
          error: `this route only starts backups: leave 'action' out of the body (got ${quoteValue(body.action)})`,
        });
      const outcome = await http.router.handle(
        { kind: "guest", id: String(req.params.id) },
        JSON.stringify({ ...body, action: "backup", origin: body.origin ?? "http" }),
        "http",
      );
      if (outcome.ok) return void res.status(202).json(outcome);
      res.status(outcomeStatus(outcome)).json({ error: outcome.reason });
    },
  );

  // Approves the fallback backup a guest's tier (fallback: ask) planned and waits to be approved for.
  r.post(
    "/api/v1/guests/:id/fallback/approve",
    postLimit,
    requireBearer(token),
    commandBody,
    async (req: Request, res: Response) => {
      const body = req.body as Record<string, unknown>;
      // The route decides the action; the body may only add request_id and origin.
      if ("action" in body && body.action !== "approve_fallback")
        return void res.status(400).json({
          error: `this route only approves fallbacks: leave 'action' out of the body (got ${quoteValue(body.action)})`,
        });
      const outcome = await http.router.handle(
        { kind: "guest", id: String(req.params.id) },
        JSON.stringify({ ...body, action: "approve_fallback", origin: body.origin ?? "http" }),
        "http",
      );
      if (outcome.ok) return void res.status(202).json(outcome);
      res.status(outcomeStatus(outcome)).json({ error: outcome.reason });
    },
  );

  r.get("/report.md", async (_req, res) => {
    const view = http.view;
    const result = view.result;
    if (!result)
      return void res
        .status(503)
        .type("text/plain")
        .send("the bridge has not read Proxmox yet; try again in a few seconds\n");
    const pve = await view.pveVersions();
    const md = renderReport({
      cfg: view.cfg,
      result,
      evidence: view.evidence(),
      now: http.clock.now(),
      versions: { bridge: VERSION, node: process.version, pve },
      offsiteHealth: view.offsiteSources.map((s) => s.health),
    });
    res.type("text/markdown; charset=utf-8").send(md);
  });

  return r;
}
