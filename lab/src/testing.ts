/**
 * Test helper: real HTTPS requests to a lab, trusting its certificate (no rejectUnauthorized
 * shortcuts), one connection per request so fault switches act immediately.
 */
import https from "node:https";
import type { Lab } from "./index.js";

/** `J` is the type the caller takes the parsed body to have; nothing checks it. */
export interface ApiResponse<J = unknown> {
  status: number;
  statusMessage: string;
  text: string;
  /** Parsed body, or undefined when it is not JSON. */
  json: J | undefined;
}

export interface ApiRequest {
  method?: string;
  /** Full Authorization header; default: the lab's first token. null = none. */
  auth?: string | null;
  /** Token to use (id) instead of the first one. */
  token?: string;
  form?: Record<string, string | number>;
  jsonBody?: unknown;
}

export function tokenHeader(lab: Lab, id?: string): string {
  const t = id ? lab.tokens.find((x) => x.id === id) : lab.tokens[0];
  if (!t) throw new Error(`no token ${id ?? "(first)"}`);
  return `PVEAPIToken=${t.id}=${t.secret}`;
}

/** `path` is relative to /api2/json unless it starts with /api2. */
export function api<J = unknown>(lab: Lab, path: string, req: ApiRequest = {}): Promise<ApiResponse<J>> {
  const url = new URL(path.startsWith("/api2") ? path : `/api2/json${path}`, lab.url);
  const headers: Record<string, string> = {};
  const auth = req.auth === undefined ? tokenHeader(lab, req.token) : req.auth;
  if (auth !== null) headers.Authorization = auth;
  let body: string | undefined;
  if (req.form) {
    body = new URLSearchParams(Object.entries(req.form).map(([k, v]) => [k, String(v)])).toString();
    headers["Content-Type"] = "application/x-www-form-urlencoded";
  } else if (req.jsonBody !== undefined) {
    body = JSON.stringify(req.jsonBody);
    headers["Content-Type"] = "application/json";
  }
  return new Promise((resolve, reject) => {
    const r = https.request(
      url,
      { method: req.method ?? (body ? "POST" : "GET"), headers, ca: lab.certPem, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: J | undefined;
          try {
            json = JSON.parse(text) as J;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? "", text, json });
        });
        res.on("error", reject);
      },
    );
    r.on("error", reject);
    if (body) r.write(body);
    r.end();
  });
}

/** 2026-01-14 12:00:00 UTC, a Wednesday. */
export const T0 = Date.UTC(2026, 0, 14, 12, 0, 0);

export const ADMIN = "root@pam!admin";
export const BRIDGE = "backup2mqtt@pve!bridge";
export const READONLY = "monitor@pve!readonly";

/**
 * Two nodes in different time zones, a node-local and a shared storage, a template, and the
 * three kinds of token the bridge meets (admin, minimal monitoring+backup, read-only).
 */
export function twoNodeScenario(): import("./scenario.js").Scenario {
  return {
    cluster: "testlab",
    backupSeconds: 60,
    nodes: [
      { name: "pve1", timezone: "UTC" },
      { name: "pve2", timezone: "America/New_York" },
    ],
    storages: [
      { id: "local", type: "dir", content: ["backup", "iso"] },
      { id: "nas", type: "nfs", shared: 1, content: "backup" },
    ],
    guests: [
      { vmid: 100, type: "qemu", name: "web", node: "pve1", tags: ["backup-p0", "prod"] },
      { vmid: 101, type: "lxc", name: "dns", node: "pve1", backupSeconds: 30 },
      { vmid: 200, type: "qemu", name: "db", node: "pve2", status: "stopped" },
      { vmid: 300, type: "qemu", name: "tmpl", node: "pve1", template: 1, status: "stopped" },
    ],
    archives: [
      { vmid: 100, storage: "nas", ageSeconds: 3600, notes: "web", protected: 1 },
      { vmid: 200, storage: "local", node: "pve2", age: "2d" },
    ],
    jobs: [
      {
        id: "daily",
        schedule: "02:00",
        enabled: 1,
        vmid: [100, 101],
        storage: "nas",
        compress: "zstd",
        mode: "snapshot",
        "prune-backups": { "keep-daily": 7, "keep-last": 2 },
      },
      { id: "weekly-off", schedule: "sun 03:00", enabled: 0, all: 1, exclude: "101", storage: "local" },
    ],
    tokens: [
      { id: ADMIN, secret: "admin-secret", privsep: 0 },
      {
        id: BRIDGE,
        secret: "11111111-2222-3333-4444-555555555555",
        acl: [
          { path: "/", roles: ["PVEAuditor"] },
          { path: "/storage", roles: ["PVEAuditor"], privs: ["Datastore.AllocateSpace"] },
          { path: "/vms", roles: ["PVEAuditor"], privs: ["VM.Backup"] },
        ],
      },
      { id: READONLY, secret: "readonly-secret", acl: [{ path: "/", roles: ["PVEAuditor"] }] },
    ],
  };
}
