/**
 * A Proxmox Backup Server as a source: per datastore its usage, every namespace's snapshots
 * (verification state absent until a verify ran), groups, GC, verify and sync jobs with their
 * raw `last-run-state`; push sync jobs to a remote become off-site copy targets for the PVE
 * storages that point at the datastore.
 */
import { z } from "zod";
import type { PbsSourceConfig } from "../../config/load.js";
import type { CopyTarget, SourceHealth } from "../../evidence.js";
import type { Logger } from "../../log.js";
import { pbsRunStateOk } from "../../policy/offsite.js";
import { PbsClient, PbsError } from "./client.js";
import { DatastoreStatus, Datastores, GcJobs, Groups, Namespaces, Snapshots, SyncJobs, Upid, VerifyJobs, type SyncJob } from "./schemas.js";

export interface JobRun {
  id: string;
  /** Raw `last-run-state` text ("OK", "WARNINGS: 1", "unknown", or the error message); null if never ran. */
  state: string | null;
  ok: boolean | null;
  endMs: number | null;
  nextMs: number | null;
}

export interface PbsDatastore {
  source: string;
  store: string;
  total: number;
  used: number;
  avail: number;
  namespaces: string[];
  groupCount: number;
  snapshotCount: number;
  lastBackupMs: number | null;
  verification: { ok: number; failed: number; none: number };
  verifyJobs: JobRun[];
  syncJobs: (JobRun & { remote: string | null; remoteStore: string; direction: "pull" | "push" })[];
  gc: JobRun | null;
  /** Newest run of each kind (for the device). */
  lastVerify: JobRun | null;
  lastSync: JobRun | null;
  storages: string[];
  offsite: boolean;
}

const ms = (s: number | undefined) => (s === undefined ? null : s * 1000);
const run = (id: string, j: { "last-run-state"?: string; "last-run-endtime"?: number; "next-run"?: number }): JobRun => ({
  id,
  state: j["last-run-state"] ?? null,
  ok: pbsRunStateOk(j["last-run-state"]),
  endMs: ms(j["last-run-endtime"]),
  nextMs: ms(j["next-run"]),
});
const newest = (runs: JobRun[]) => runs.filter((r) => r.endMs !== null).sort((a, b) => b.endMs! - a.endMs!)[0] ?? null;

export class PbsSource {
  readonly name: string;
  readonly client: PbsClient;
  health: SourceHealth;
  datastores: PbsDatastore[] = [];
  lastRefreshRequests = 0;
  private lastLoggedError: string | undefined;

  constructor(
    readonly cfg: PbsSourceConfig,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.name = cfg.name;
    this.health = { name: cfg.name, kind: "pbs", up: false, degraded: false, error: "not polled yet" };
    this.client = new PbsClient(cfg);
  }

  get readable(): boolean {
    return this.health.up && !this.health.degraded;
  }

  private storagesOf(store: string): string[] {
    return this.cfg.datastores.find((d) => d.store === store)?.storages ?? [];
  }

  async readDatastore(store: string, syncJobs: SyncJob[]): Promise<PbsDatastore> {
    const enc = encodeURIComponent(store);
    const c = this.client;
    const status = await c.get(`/admin/datastore/${enc}/status`, DatastoreStatus);
    // Snapshots are listed one namespace per call: walk them all (root is "").
    const namespaces = (await c.get(`/admin/datastore/${enc}/namespace`, Namespaces)).map((n) => n.ns);
    if (!namespaces.includes("")) namespaces.unshift("");
    let groupCount = 0;
    let snapshotCount = 0;
    let lastBackupMs: number | null = null;
    const verification = { ok: 0, failed: 0, none: 0 };
    for (const ns of namespaces) {
      const q = ns ? { ns } : undefined;
      groupCount += (await c.get(`/admin/datastore/${enc}/groups`, Groups, q)).length;
      for (const s of await c.get(`/admin/datastore/${enc}/snapshots`, Snapshots, q)) {
        snapshotCount++;
        if (lastBackupMs === null || s["backup-time"] * 1000 > lastBackupMs) lastBackupMs = s["backup-time"] * 1000;
        if (!s.verification) verification.none++;
        else if (s.verification.state === "ok") verification.ok++;
        else verification.failed++;
      }
    }
    let gc: JobRun | null = null;
    try {
      const jobs = await c.get("/admin/gc", GcJobs, { store });
      const j = jobs.find((x) => x.store === store);
      if (j) gc = run("gc", j);
    } catch (e) {
      // Before 3.2.2 there is no GC job status: the bare status has no time and no state.
      if (!(e instanceof PbsError && e.kind === "http")) throw e;
    }
    const verifyJobs = (await c.get("/admin/verify", VerifyJobs, { store })).filter((j) => j.store === store).map((j) => run(j.id, j));
    const syncs = syncJobs
      .filter((j) => j.store === store)
      .map((j) => ({ ...run(j.id, j), remote: j.remote ?? null, remoteStore: j["remote-store"], direction: j["sync-direction"] ?? ("pull" as const) }));
    return {
      source: this.name,
      store,
      total: status.total,
      used: status.used,
      avail: status.avail,
      namespaces,
      groupCount,
      snapshotCount,
      lastBackupMs,
      verification,
      verifyJobs,
      syncJobs: syncs,
      gc,
      lastVerify: newest(verifyJobs),
      lastSync: newest(syncs),
      storages: this.storagesOf(store),
      offsite: this.cfg.offsite,
    };
  }

  async refresh(): Promise<void> {
    const before = this.client.requestCount;
    try {
      const all = await this.client.get("/admin/datastore", Datastores);
      const wanted = this.cfg.datastores.length ? all.filter((d) => this.cfg.datastores.some((c) => c.store === d.store)) : all;
      for (const c of this.cfg.datastores) if (!all.some((d) => d.store === c.store)) this.log.warn({ store: c.store }, "configured PBS datastore not visible to the token (missing or no Datastore.Audit)");
      const syncJobs = await this.client.get("/admin/sync", SyncJobs);
      const stores: PbsDatastore[] = [];
      for (const d of wanted) stores.push(await this.readDatastore(d.store, syncJobs));
      this.datastores = stores;
      if (!this.health.up || this.health.degraded) this.log.info({ datastores: stores.length }, "PBS source reachable");
      this.health = { name: this.name, kind: "pbs", up: true, degraded: false, lastSuccessMs: this.now() };
      this.lastLoggedError = undefined;
    } catch (e) {
      const err = e instanceof PbsError ? e : new PbsError("http", (e as Error).message);
      const up = err.degraded || err.kind === "permission" || err.kind === "http";
      this.health = { name: this.name, kind: "pbs", up, degraded: up, error: err.message, ...(this.health.lastSuccessMs ? { lastSuccessMs: this.health.lastSuccessMs } : {}) };
      if (this.lastLoggedError !== err.message) {
        this.log.warn({ err: err.message, kind: err.kind }, err.degraded ? "PBS source degraded" : "PBS source unreachable");
        this.lastLoggedError = err.message;
      }
    } finally {
      this.lastRefreshRequests = this.client.requestCount - before;
    }
  }

  /** Starts a verify of the whole datastore (skipping snapshots already verified); returns the UPID. */
  startVerify(store: string): Promise<string> {
    return this.client.post(`/admin/datastore/${encodeURIComponent(store)}/verify`, Upid, { "ignore-verified": true });
  }

  taskStatus(upid: string) {
    return this.client.get(`/nodes/localhost/tasks/${encodeURIComponent(upid)}/status`, z.looseObject({ status: z.string(), exitstatus: z.string().optional() }));
  }

  copyTargets(): CopyTarget[] {
    if (!this.cfg.syncOffsite) return [];
    const readable = this.readable;
    if (!this.datastores.length && !readable)
      return this.cfg.datastores
        .filter((d) => d.storages.length)
        .map((d) => ({ kind: "pbs_sync" as const, source: this.name, id: `${d.store}:*`, label: `PBS sync jobs of ${this.name}/${d.store}`, storages: d.storages, offsite: true, lastSuccessMs: null, readable: false }));
    return this.datastores.flatMap((d) =>
      d.storages.length
        ? d.syncJobs
            .filter((j) => j.direction === "push")
            .map((j) => ({
              kind: "pbs_sync" as const,
              source: this.name,
              id: j.id,
              label: `PBS sync job '${j.id}' (${this.name}/${d.store} → ${j.remote ?? "local"}/${j.remoteStore})`,
              storages: d.storages,
              offsite: true,
              // Only the last run is known: a failed last run means no known success.
              lastSuccessMs: j.ok ? j.endMs : null,
              readable,
            }))
        : [],
    );
  }

  /** PVE storages on an off-site PBS hold off-site copies themselves. */
  offsiteStorages(): string[] {
    return this.cfg.offsite ? this.cfg.datastores.flatMap((d) => d.storages) : [];
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
