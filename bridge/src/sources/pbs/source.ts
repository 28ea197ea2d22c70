/**
 * A Proxmox Backup Server as a source: per datastore its usage, every namespace's snapshots
 * (verification state absent until a verify ran), groups, GC, verify and sync jobs with their
 * raw `last-run-state`; push sync jobs to a remote become off-site copy targets for the PVE
 * storages that point at the datastore.
 *
 * Least privilege: PBS hides what a token may not see (datastores and sync jobs left out, only
 * the token's own groups with Datastore.Backup alone) or answers 403. The token's privileges
 * (GET /access/permissions) and those 403s make such a datastore `unreadable`, with the missing
 * privilege named: its device shows unknown, never "0 snapshots", and its copies are unknown.
 */
import { z } from "zod";
import type { PbsSourceConfig } from "../../config/load.js";
import type { CopyTarget, SourceHealth } from "../../evidence.js";
import type { Logger } from "../../log.js";
import { pbsRunStateOk } from "../../policy/offsite.js";
import { PbsClient, PbsError } from "./client.js";
import {
  DatastoreStatus,
  Datastores,
  GcJobs,
  Groups,
  Namespaces,
  Permissions,
  Snapshots,
  SyncJobs,
  Upid,
  VerifyJobs,
  type SyncJob,
} from "./schemas.js";
import { PbsPermissions, pbsGrant } from "./permissions.js";

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
  /**
   * Why the token cannot read this datastore's backups, naming the privilege to grant; the
   * numbers above are then empty and mean nothing (unknown). null when it was read in full.
   */
  unreadable: string | null;
  /** Why sync jobs to remotes may be missing from syncJobs (Remote.Audit), or null. */
  syncUnreadable: string | null;
}

/** A namespace or datastore the token may not list in full (thrown inside readDatastore). */
class Unreadable extends Error {}

const ms = (s: number | undefined) => (s === undefined ? null : s * 1000);
const run = (
  id: string,
  j: { "last-run-state"?: string; "last-run-endtime"?: number; "next-run"?: number },
): JobRun => ({
  id,
  state: j["last-run-state"] ?? null,
  ok: pbsRunStateOk(j["last-run-state"]),
  endMs: ms(j["last-run-endtime"]),
  nextMs: ms(j["next-run"]),
});
const newest = (runs: JobRun[]) => runs.filter((r) => r.endMs !== null).sort((a, b) => b.endMs! - a.endMs!)[0] ?? null;

/** How long a PBS that refused `sync-direction` (older than 3.3) is believed before it is asked again (an upgrade). */
export const SYNC_DIRECTION_REPROBE_MS = 3_600_000;
/** PBS < 3.3 refusing the parameter: 400 "parameter verification failed - 'sync-direction': schema does not allow additional properties." */
const refusesSyncDirection = (e: unknown) =>
  e instanceof PbsError && e.kind === "http" && e.status === 400 && /'sync-direction'/.test(e.message);

export class PbsSource {
  readonly name: string;
  readonly client: PbsClient;
  health: SourceHealth;
  datastores: PbsDatastore[] = [];
  lastRefreshRequests = 0;
  private lastLoggedError: string | undefined;
  /** The token's privileges as last read (null: not readable, then only 403s tell). */
  private perms: PbsPermissions | null = null;
  private permsError: string | undefined;
  /** What was last logged per datastore ("" = readable), so each change is logged once. */
  private loggedAccess = new Map<string, string>();
  private loggedSync = "";
  /**
   * GET /admin/sync lists only pull jobs on PBS ≥ 3.3 unless asked for `sync-direction=all`, and
   * PBS < 3.3 refuses that parameter (400; it lists every job without it, and has no push jobs).
   * When PBS last refused it (this.now() ms), else null: asked with it. Asked again after
   * SYNC_DIRECTION_REPROBE_MS or after PBS was unreachable (an upgrade restarts it).
   */
  private syncDirectionRefusedAt: number | null = null;
  /** Whether the last answer about sync-direction was a refusal (logged once per change). */
  private syncDirectionOld = false;
  private loggedNoDatastore = false;

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

  async readDatastore(store: string, syncJobs: SyncJob[], syncUnreadable: string | null = null): Promise<PbsDatastore> {
    const enc = encodeURIComponent(store);
    const c = this.client;
    const status = await c.get(`/admin/datastore/${enc}/status`, DatastoreStatus);
    // Snapshots are listed one namespace per call: walk them all (root is "").
    const namespaces = (await c.get(`/admin/datastore/${enc}/namespace`, Namespaces)).map((n) => n.ns);
    if (!namespaces.includes("")) namespaces.unshift("");
    // Datastore.Backup alone lists only the token's own groups, without an error: not a full count.
    for (const ns of namespaces) {
      const lacking = this.perms?.listingAccess(store, ns);
      if (lacking) throw new Unreadable(lacking);
    }
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
    const verifyJobs = (await c.get("/admin/verify", VerifyJobs, { store }))
      .filter((j) => j.store === store)
      .map((j) => run(j.id, j));
    const syncs = syncJobs
      .filter((j) => j.store === store)
      .map((j) => ({
        ...run(j.id, j),
        remote: j.remote ?? null,
        remoteStore: j["remote-store"],
        direction: j["sync-direction"] ?? ("pull" as const),
      }));
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
      unreadable: null,
      syncUnreadable,
    };
  }

  /** A datastore the token may not read: everything unknown, the reason says what to grant. */
  private unreadableDatastore(store: string, reason: string, syncUnreadable: string | null): PbsDatastore {
    return {
      source: this.name,
      store,
      total: 0,
      used: 0,
      avail: 0,
      namespaces: [],
      groupCount: 0,
      snapshotCount: 0,
      lastBackupMs: null,
      verification: { ok: 0, failed: 0, none: 0 },
      verifyJobs: [],
      syncJobs: [],
      gc: null,
      lastVerify: null,
      lastSync: null,
      storages: this.storagesOf(store),
      offsite: this.cfg.offsite,
      unreadable: reason,
      syncUnreadable,
    };
  }

  /** GET /access/permissions (a token may always read its own); null when PBS does not answer it. */
  private async readPermissions(): Promise<void> {
    try {
      this.perms = new PbsPermissions(await this.client.get("/access/permissions", Permissions), this.cfg.tokenId);
      this.permsError = undefined;
    } catch (e) {
      if (
        !(e instanceof PbsError) ||
        e.kind === "network" ||
        e.kind === "timeout" ||
        e.kind === "tls" ||
        e.kind === "auth"
      )
        throw e;
      if (this.permsError !== e.message)
        this.log.warn(
          { err: e.message },
          "cannot read the PBS token's privileges; only refusals (403) will tell a missing privilege",
        );
      this.perms = null;
      this.permsError = e.message;
    }
  }

  /** Reads one datastore, or says why the token may not. */
  private async readOrExplain(
    store: string,
    listed: boolean,
    syncJobs: SyncJob[],
    syncUnreadable: string | null,
  ): Promise<PbsDatastore> {
    const path = `/datastore/${store}`;
    let reason: string | null;
    if (!listed)
      reason = this.perms?.has("Datastore.Audit", path)
        ? `PBS '${this.name}' has no datastore '${store}' (it is not listed although the token has Datastore.Audit on ${path})`
        : (this.perms?.listingAccess(store) ??
          `PBS does not list datastore '${store}' to the API token (missing, or no Datastore.Audit): ${pbsGrant(this.cfg.tokenId, "Datastore.Audit", path, "DatastoreAudit")}`);
    else reason = this.perms?.listingAccess(store) ?? null;
    if (!reason) {
      try {
        return await this.readDatastore(store, syncJobs, syncUnreadable);
      } catch (e) {
        if (e instanceof Unreadable) reason = e.message;
        // PBS names the path it checked ("… missing Datastore.Audit|Datastore.Backup on /datastore/store1/ns").
        else if (e instanceof PbsError && e.kind === "permission")
          reason = `${e.message}: ${pbsGrant(this.cfg.tokenId, "Datastore.Audit", / on (\/datastore\/\S+)$/.exec(e.message)?.[1] ?? path, "DatastoreAudit")}`;
        else throw e;
      }
    }
    return this.unreadableDatastore(store, reason, syncUnreadable);
  }

  /** Every sync job, pull and push, in one request per poll (two on the poll that finds a PBS older than 3.3). */
  private async readSyncJobs(): Promise<SyncJob[]> {
    const refused = this.syncDirectionRefusedAt;
    if (refused === null || this.now() - refused >= SYNC_DIRECTION_REPROBE_MS) {
      try {
        const jobs = await this.client.get("/admin/sync", SyncJobs, { "sync-direction": "all" });
        if (this.syncDirectionOld)
          this.log.info({}, `PBS '${this.name}' now takes sync-direction (3.3 or newer): push sync jobs are listed`);
        this.syncDirectionOld = false;
        this.syncDirectionRefusedAt = null;
        return jobs;
      } catch (e) {
        if (!refusesSyncDirection(e)) throw e;
        if (!this.syncDirectionOld)
          this.log.info(
            {},
            `PBS '${this.name}' is older than 3.3 (it refuses sync-direction and has no push sync jobs): sync jobs are listed without it`,
          );
        this.syncDirectionOld = true;
        this.syncDirectionRefusedAt = this.now();
      }
    }
    return this.client.get("/admin/sync", SyncJobs);
  }

  /** One log line per datastore whose readability changed (no secret: ids and PBS's own text only). */
  private logAccess(stores: PbsDatastore[]): void {
    for (const d of stores) {
      const now = d.unreadable ?? "";
      const before = this.loggedAccess.get(d.store);
      if (now === (before ?? "")) continue;
      if (now) this.log.warn({ store: d.store }, `PBS datastore '${d.store}' is unknown: ${now}`);
      else if (before) this.log.info({ store: d.store }, `PBS datastore '${d.store}' is readable again`);
      this.loggedAccess.set(d.store, now);
    }
    const sync = stores.find((d) => d.syncUnreadable)?.syncUnreadable ?? "";
    if (sync !== this.loggedSync) {
      if (sync) this.log.warn({}, `PBS sync jobs are unknown: ${sync}`);
      this.loggedSync = sync;
    }
  }

  async refresh(): Promise<void> {
    const before = this.client.requestCount;
    try {
      const all = await this.client.get("/admin/datastore", Datastores);
      await this.readPermissions();
      const listed = new Set(all.map((d) => d.store));
      // Configured datastores are shown even when PBS does not list them (then unknown, with why).
      const wanted = this.cfg.datastores.length ? this.cfg.datastores.map((c) => c.store) : [...listed];
      const syncJobs = await this.readSyncJobs();
      const syncUnreadable = this.cfg.syncOffsite ? (this.perms?.syncAccess() ?? null) : null;
      // Nothing configured and nothing listed: say so once (there is no device to carry it).
      if (!wanted.length && !this.loggedNoDatastore)
        this.log.warn(
          {},
          `PBS '${this.name}' lists no datastore to the API token: ${pbsGrant(this.cfg.tokenId, "Datastore.Audit", "/datastore/<store>", "DatastoreAudit")}`,
        );
      this.loggedNoDatastore = !wanted.length;
      const stores: PbsDatastore[] = [];
      for (const store of wanted)
        stores.push(await this.readOrExplain(store, listed.has(store), syncJobs, syncUnreadable));
      this.logAccess(stores);
      this.datastores = stores;
      if (!this.health.up || this.health.degraded) this.log.info({ datastores: stores.length }, "PBS source reachable");
      this.health = { name: this.name, kind: "pbs", up: true, degraded: false, lastSuccessMs: this.now() };
      this.lastLoggedError = undefined;
    } catch (e) {
      const err = e instanceof PbsError ? e : new PbsError("http", (e as Error).message);
      // PBS restarts when upgraded: ask for sync-direction again on the next poll.
      if (err.kind === "network" || err.kind === "timeout") this.syncDirectionRefusedAt = null;
      const up = err.degraded || err.kind === "permission" || err.kind === "http";
      this.health = {
        name: this.name,
        kind: "pbs",
        up,
        degraded: up,
        error: err.message,
        ...(this.health.lastSuccessMs ? { lastSuccessMs: this.health.lastSuccessMs } : {}),
      };
      if (this.lastLoggedError !== err.message) {
        this.log.warn(
          { err: err.message, kind: err.kind },
          err.degraded ? "PBS source degraded" : "PBS source unreachable",
        );
        this.lastLoggedError = err.message;
      }
    } finally {
      this.lastRefreshRequests = this.client.requestCount - before;
    }
  }

  /**
   * Why "Verify now" would not verify the whole datastore although PBS would accept it: with
   * Datastore.Backup but no Datastore.Verify, PBS verifies only the groups the token owns. Other
   * refusals come from PBS itself (startVerify).
   */
  verifyRefusal(store: string): string | null {
    const p = this.perms;
    return p?.has("Datastore.Backup", `/datastore/${store}`) ? p.verifyAccess(store) : null;
  }

  /** Starts a verify of the whole datastore (skipping snapshots already verified); returns the UPID. */
  async startVerify(store: string): Promise<string> {
    try {
      return await this.client.post(`/admin/datastore/${encodeURIComponent(store)}/verify`, Upid, {
        "ignore-verified": true,
      });
    } catch (e) {
      if (e instanceof PbsError && e.kind === "permission")
        throw new PbsError(
          "permission",
          `${e.message}: ${pbsGrant(this.cfg.tokenId, "Datastore.Verify", `/datastore/${store}`, "DatastoreReader")}`,
          e.status,
        );
      throw e;
    }
  }

  taskStatus(upid: string) {
    return this.client.get(
      `/nodes/localhost/tasks/${encodeURIComponent(upid)}/status`,
      z.looseObject({ status: z.string(), exitstatus: z.string().optional() }),
    );
  }

  copyTargets(): CopyTarget[] {
    if (!this.cfg.syncOffsite) return [];
    const readable = this.readable;
    if (!this.datastores.length && !readable)
      return this.cfg.datastores
        .filter((d) => d.storages.length)
        .map((d) => ({
          kind: "pbs_sync" as const,
          source: this.name,
          id: `${d.store}:*`,
          label: `PBS sync jobs of ${this.name}/${d.store}`,
          storages: d.storages,
          offsite: true,
          lastSuccessMs: null,
          readable: false,
        }));
    return this.datastores.flatMap((d) => {
      if (!d.storages.length) return [];
      const known = d.syncJobs
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
        }));
      // Jobs the token may not see: whether they copy these storages off-site is unknown.
      if (!d.unreadable && !d.syncUnreadable) return known;
      return [
        ...known,
        {
          kind: "pbs_sync" as const,
          source: this.name,
          id: `${d.store}:*`,
          label: `PBS sync jobs of ${this.name}/${d.store}`,
          storages: d.storages,
          offsite: true,
          lastSuccessMs: null,
          readable: false,
        },
      ];
    });
  }

  /** PVE storages on an off-site PBS hold off-site copies themselves. */
  offsiteStorages(): string[] {
    return this.cfg.offsite ? this.cfg.datastores.flatMap((d) => d.storages) : [];
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
