/**
 * The simulated Proxmox Backup Server: a real HTTPS server on /api2/json speaking PBS as
 * reference Part B describes it — `PBSAPIToken=id:secret` (or `PBSAPIToken id:secret`), errors as
 * HTTP statuses with plain-text bodies under a JSON content type, kebab-case structs with keys
 * omitted when unset, snapshots per namespace (no recursion), `verification` absent until a verify
 * ran, GC `upid: null` when GC never ran, job `last-run-state` as raw text, and verify tasks.
 */
import type { z } from "zod";
import { PbsScenarioSchema, type PbsScenario, type LastRun, type ResolvedPbs as Resolved } from "./scenario.js";
export { PbsScenarioSchema, type PbsScenario } from "./scenario.js";
import type { Clock } from "../../util/clock.js";
import type { PbsSourceConfig } from "../../config/load.js";
import { SimHttpsServer, type SimFault, type SimRecord, type SimResponse } from "../dsm/https-base.js";

const AGE_UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const ageMs = (t: string) => [...t.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)].reduce((a, m) => a + Number(m[1]) * AGE_UNIT[m[2]!]! * 1000, 0);
const at = (w: { age?: string; time?: string }, start: number) => (w.time ? Date.parse(w.time) : start - ageMs(w.age ?? "0s"));
const sec = (ms: number) => Math.floor(ms / 1000);
const hex = (n: number, w = 8) => n.toString(16).toUpperCase().padStart(w, "0");
/** systemd unit escaping of a worker id, as in UPIDs (`store1:vm/100` → `store1\x3avm-100`). */
const escapeId = (s: string) => s.replace(/[^A-Za-z0-9_./]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`).replace(/\//g, "-");

export interface PbsLab {
  url: string;
  fingerprint: string;
  certPem: string;
  name: string;
  scenario: Resolved;
  requests: SimRecord[];
  tokens: { id: string; secret: string }[];
  control: {
    setFault(f: SimFault | null): void;
    /** Sets a sync job's last run (e.g. after a snapshot). */
    setSyncRun(store: string, id: string, run: { endMs: number; state: string }): void;
  };
  stop(): Promise<void>;
}

export async function startPbsLab(o: { scenario: PbsScenario; clock: Clock; taskSpeed?: number; host?: string; port?: number }): Promise<PbsLab> {
  const sc = PbsScenarioSchema.parse(o.scenario);
  const clock = o.clock;
  const speed = o.taskSpeed ?? 1;
  const start = clock.now();
  let taskCounter = 1;
  const upid = (type: string, id: string, startMs: number, auth = "root@pam") => `UPID:pbs:${hex(1234)}:${hex(6699)}:${hex(taskCounter++)}:${hex(sec(startMs))}:${type}:${escapeId(id)}:${auth}:`;

  interface SnapState { ns: string; type: string; id: string; time: number; size: number; verification?: { upid: string; state: string }; comment?: string; owner: string; encrypted: boolean }
  interface JobState { endMs: number | null; state: string | null; upid: string | null }
  const stores = new Map(
    sc.datastores.map((d) => {
      const snaps: SnapState[] = d.snapshots.map((s) => ({
        ns: s.ns,
        type: s.type,
        id: s.id,
        time: sec(at(s, start)),
        size: s.size,
        owner: s.owner,
        encrypted: s.encrypted,
        ...(s.comment ? { comment: s.comment } : {}),
        ...(s.verification ? { verification: { upid: upid("verificationjob", `${d.name}:v-weekly`, at(s, start) + 3_600_000), state: s.verification } } : {}),
      }));
      const job = (r: z.output<typeof LastRun> | undefined | null, type: string, id: string): JobState =>
        r ? { endMs: at(r, start), state: r.state, upid: upid(type, id, at(r, start) - 60_000) } : { endMs: null, state: null, upid: null };
      return [
        d.name,
        {
          cfg: d,
          snaps,
          gc: job(d.gc, "garbage_collection", d.name),
          verify: new Map(d.verifyJobs.map((j) => [j.id, job(j.lastRun, "verificationjob", `${d.name}:${j.id}`)])),
          sync: new Map(d.syncJobs.map((j) => [j.id, job(j.lastRun, "syncjob", `${j.remote ?? "local"}:${j.remoteStore}:${d.name}:s-${j.id}`)])),
        },
      ] as const;
    }),
  );
  const tasks = new Map<string, { store: string; endMs: number; done: boolean; failed: boolean }>();
  const settle = (now: number) => {
    for (const [id, t] of tasks) {
      if (t.done || now < t.endMs) continue;
      t.done = true;
      const st = stores.get(t.store)!;
      for (const s of st.snaps) {
        if (s.verification) continue; // ignore-verified
        const bad = st.cfg.corrupt.includes(`${s.type}/${s.id}`);
        s.verification = { upid: id, state: bad ? "failed" : "ok" };
        if (bad) t.failed = true;
      }
    }
  };

  const json = (data: unknown, extra: Record<string, unknown> = {}): SimResponse => ({ status: 200, body: JSON.stringify({ data, ...extra }) });
  // PBS: the status code plus a plain-text message, while the Content-Type still says JSON.
  const err = (status: number, text: string): SimResponse => ({ status, body: `${text}\n`, contentType: "application/json;charset=UTF-8" });
  const jobStatus = (j: JobState, next: number | undefined) => ({
    ...(j.state !== null ? { "last-run-state": j.state } : {}),
    ...(j.upid !== null ? { "last-run-upid": j.upid } : {}),
    ...(j.endMs !== null ? { "last-run-endtime": sec(j.endMs) } : {}),
    ...(next !== undefined ? { "next-run": next } : {}),
  });
  const gcStatus = (name: string) => {
    const st = stores.get(name)!;
    return { upid: st.gc.upid, "index-file-count": st.snaps.length, "index-data-bytes": st.snaps.reduce((a, s) => a + s.size, 0), "disk-bytes": Math.floor(st.cfg.used), "disk-chunks": 4096, "removed-bytes": 0, "removed-chunks": 0, "pending-bytes": 0, "pending-chunks": 0, "removed-bad": 0, "still-bad": 0 };
  };

  const handler = (req: { method: string; path: string; params: Record<string, string>; headers: Record<string, string | string[] | undefined> }): SimResponse & { what?: string } => {
    const now = clock.now();
    settle(now);
    if (!req.path.startsWith("/api2/json/")) return { ...err(404, "Path not found."), what: req.path };
    const p = req.path.slice("/api2/json".length);
    const what = `${req.method} ${p}`;
    const r = (x: SimResponse) => ({ ...x, what });
    const auth = String(req.headers.authorization ?? "");
    const m = /^PBSAPIToken[= ]([^:]+):(.+)$/.exec(auth);
    const token = m && sc.tokens.find((t) => t.id === m[1] && t.secret === decodeURIComponent(m[2]!));
    if (!token) return r(err(401, "authentication failed - invalid credentials"));
    const q = req.params;
    const nextDay = sec(now) + 86_400 - (sec(now) % 86_400) + 3 * 3600;

    if (req.method === "GET" && p === "/version") return r(json({ version: sc.version, release: sc.version.split(".").slice(0, 2).join("."), repoid: "4940514b" }));
    if (req.method === "GET" && p === "/admin/datastore") return r(json([...stores.keys()].map((store) => ({ store, comment: null }))));
    const ds = /^\/admin\/datastore\/([^/]+)(\/.*)?$/.exec(p);
    if (ds) {
      const name = decodeURIComponent(ds[1]!);
      const st = stores.get(name);
      if (!st) return r(err(400, `datastore '${name}' does not exist`));
      const sub = ds[2] ?? "";
      const ns = q.ns ?? "";
      if (ns && !st.cfg.namespaces.includes(ns)) return r(err(400, `namespace '${ns}' does not exist`));
      if (req.method === "GET" && sub === "/status")
        return r(json({ total: st.cfg.total, used: st.cfg.used, avail: st.cfg.total - st.cfg.used, "gc-status": gcStatus(name), ...(q.verbose ? { counts: { vm: { groups: 1, snapshots: st.snaps.length }, ct: null, host: null, other: null } } : {}) }));
      if (req.method === "GET" && sub === "/namespace") return r(json([{ ns: "" }, ...st.cfg.namespaces.map((n) => ({ ns: n }))]));
      if (req.method === "GET" && sub === "/snapshots")
        return r(
          json(
            st.snaps
              .filter((s) => s.ns === ns && (!q["backup-type"] || s.type === q["backup-type"]) && (!q["backup-id"] || s.id === q["backup-id"]))
              .map((s) => ({
                "backup-type": s.type,
                "backup-id": s.id,
                "backup-time": s.time,
                ...(s.comment ? { comment: s.comment } : {}),
                ...(s.verification ? { verification: s.verification } : {}),
                ...(s.encrypted ? { fingerprint: "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89" } : {}),
                files: [
                  { filename: "index.json.blob", "crypt-mode": "none", size: 567 },
                  { filename: s.type === "vm" ? "drive-scsi0.img.fidx" : "root.pxar.didx", "crypt-mode": s.encrypted ? "encrypt" : "none", size: s.size - 567 },
                ],
                size: s.size,
                owner: s.owner,
                protected: false,
              })),
          ),
        );
      if (req.method === "GET" && sub === "/groups") {
        const groups = new Map<string, SnapState[]>();
        for (const s of st.snaps.filter((x) => x.ns === ns)) groups.set(`${s.type}/${s.id}`, [...(groups.get(`${s.type}/${s.id}`) ?? []), s]);
        return r(
          json(
            [...groups.values()].map((list) => ({
              "backup-type": list[0]!.type,
              "backup-id": list[0]!.id,
              "last-backup": Math.max(...list.map((s) => s.time)),
              "backup-count": list.length,
              files: ["index.json.blob", list[0]!.type === "vm" ? "drive-scsi0.img.fidx" : "root.pxar.didx"],
              owner: list[0]!.owner,
            })),
          ),
        );
      }
      if (req.method === "GET" && sub === "/gc") return r(json({ store: name, ...gcStatus(name), schedule: st.cfg.gcSchedule, ...jobStatus(st.gc, nextDay) }));
      if (req.method === "POST" && sub === "/verify") {
        const id = upid("verify", name, now, token.id);
        tasks.set(id, { store: name, endMs: now + (sc.verifySeconds * 1000) / speed, done: false, failed: false });
        return r(json(id));
      }
      return r(err(501, `Method '${req.method} ${p}' not implemented`));
    }
    if (req.method === "GET" && p === "/admin/gc") return r(json([...stores.keys()].filter((s) => !q.store || s === q.store).map((s) => ({ store: s, ...gcStatus(s), schedule: stores.get(s)!.cfg.gcSchedule, ...jobStatus(stores.get(s)!.gc, nextDay) }))));
    if (req.method === "GET" && p === "/admin/verify")
      return r(json([...stores.entries()].filter(([s]) => !q.store || s === q.store).flatMap(([s, st]) => st.cfg.verifyJobs.map((j) => ({ id: j.id, store: s, schedule: j.schedule, ...(j["outdated-after"] ? { "outdated-after": j["outdated-after"] } : {}), ...jobStatus(st.verify.get(j.id)!, nextDay) })))));
    if (req.method === "GET" && p === "/admin/sync")
      return r(
        json(
          [...stores.entries()]
            .filter(([s]) => !q.store || s === q.store)
            .flatMap(([s, st]) =>
              st.cfg.syncJobs.map((j) => ({ id: j.id, store: s, ...(j.remote ? { remote: j.remote } : {}), "remote-store": j.remoteStore, ...(j.direction === "push" ? { "sync-direction": "push" } : {}), schedule: j.schedule, ...jobStatus(st.sync.get(j.id)!, sec(now) + 3600) })),
            ),
        ),
      );
    const task = /^\/nodes\/localhost\/tasks\/([^/]+)\/status$/.exec(p);
    if (req.method === "GET" && task) {
      const id = decodeURIComponent(task[1]!);
      const t = tasks.get(id);
      if (!t) return r(err(400, "no such task"));
      return r(json({ upid: id, node: "localhost", type: "verify", status: t.done ? "stopped" : "running", ...(t.done ? { exitstatus: t.failed ? "verification failed - please check the log for details" : "OK" } : {}) }));
    }
    return r(err(404, "Path not found."));
  };

  const server = new SimHttpsServer(handler);
  await server.listen(o.host ?? "127.0.0.1", o.port ?? 0);
  return {
    url: `https://127.0.0.1:${server.port}`,
    fingerprint: server.fingerprint,
    certPem: server.certPem,
    name: sc.name,
    scenario: sc,
    requests: server.requests,
    tokens: sc.tokens,
    control: {
      setFault: (f) => server.setFault(f),
      setSyncRun: (store, id, run) => {
        const j = stores.get(store)?.sync.get(id);
        if (j) Object.assign(j, { endMs: run.endMs, state: run.state, upid: upid("syncjob", id, run.endMs - 60_000) });
      },
    },
    stop: () => server.close(),
  };
}

/** The bridge's `pbs[]` entry for a simulated PBS. */
export function pbsLabSourceConfig(lab: PbsLab, o: { pollMs?: number } = {}): PbsSourceConfig {
  const t = lab.tokens[0]!;
  return {
    name: lab.name,
    url: lab.url,
    tokenId: t.id,
    tokenSecret: t.secret,
    fingerprint: lab.fingerprint,
    timeoutMs: 5_000,
    pollIntervalMs: o.pollMs ?? 5_000,
    offsite: lab.scenario.offsite,
    syncOffsite: true,
    datastores: lab.scenario.datastores.map((d) => ({ store: d.name, storages: d.storages })),
  };
}
