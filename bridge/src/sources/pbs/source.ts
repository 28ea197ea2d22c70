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
 *
 * This file holds the PbsSource class (polling, health, the log); reading a datastore is in
 * datastore.ts, sync jobs and copy targets in sync-jobs.ts, "Verify now" in verify.ts.
 */
import type { PbsSourceConfig } from "../../config/load.js";
import type { CopyTarget, SourceHealth } from "../../evidence.js";
import type { Logger } from "../../log.js";
import { PbsClient, PbsError } from "./client.js";
import { readDatastore, readOrExplain, type DatastoreReader, type PbsDatastore } from "./datastore.js";
import { PbsPermissions, pbsGrant } from "./permissions.js";
import { Datastores, Permissions, type SyncJob } from "./schemas.js";
import { SyncJobLister, pbsCopyTargets } from "./sync-jobs.js";
import { startVerify, taskStatus, verifyRefusal } from "./verify.js";
export type { JobRun, PbsDatastore } from "./datastore.js";
export { SYNC_DIRECTION_REPROBE_MS } from "./sync-jobs.js";

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
  private readonly syncJobs: SyncJobLister;
  private loggedNoDatastore = false;

  constructor(
    readonly cfg: PbsSourceConfig,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.name = cfg.name;
    this.health = { name: cfg.name, kind: "pbs", up: false, degraded: false, error: "not polled yet" };
    this.client = new PbsClient(cfg);
    this.syncJobs = new SyncJobLister(cfg.name, this.client, log, now);
  }

  get readable(): boolean {
    return this.health.up && !this.health.degraded;
  }

  /** What reading a datastore needs, with the privileges as last read. */
  private get reader(): DatastoreReader {
    return { name: this.name, cfg: this.cfg, client: this.client, perms: this.perms };
  }

  async readDatastore(store: string, syncJobs: SyncJob[], syncUnreadable: string | null = null): Promise<PbsDatastore> {
    return readDatastore(this.reader, store, syncJobs, syncUnreadable);
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
      const syncJobs = await this.syncJobs.read();
      const syncUnreadable = this.cfg.syncOffsite ? (this.perms?.syncAccess() ?? null) : null;
      // Nothing configured and nothing listed: say so once (there is no device to carry it).
      if (!wanted.length && !this.loggedNoDatastore)
        this.log.warn(
          {},
          `PBS '${this.name}' lists no datastore to the API token: ${pbsGrant(this.cfg.tokenId, "Datastore.Audit", "/datastore/<store>", "DatastoreAudit")}`,
        );
      this.loggedNoDatastore = !wanted.length;
      const stores: PbsDatastore[] = [];
      const reader = this.reader;
      for (const store of wanted)
        stores.push(await readOrExplain(reader, store, listed.has(store), syncJobs, syncUnreadable));
      this.logAccess(stores);
      this.datastores = stores;
      if (!this.health.up || this.health.degraded) this.log.info({ datastores: stores.length }, "PBS source reachable");
      this.health = { name: this.name, kind: "pbs", up: true, degraded: false, lastSuccessMs: this.now() };
      this.lastLoggedError = undefined;
    } catch (e) {
      const err = e instanceof PbsError ? e : new PbsError("http", (e as Error).message);
      // PBS restarts when upgraded: ask for sync-direction again on the next poll.
      if (err.kind === "network" || err.kind === "timeout") this.syncJobs.unreachable();
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
    return verifyRefusal(this.perms, store);
  }

  /** Starts a verify of the whole datastore (skipping snapshots already verified); returns the UPID. */
  startVerify(store: string): Promise<string> {
    return startVerify(this.client, this.cfg.tokenId, store);
  }

  taskStatus(upid: string) {
    return taskStatus(this.client, upid);
  }

  copyTargets(): CopyTarget[] {
    return pbsCopyTargets(this.name, this.cfg, this.datastores, this.readable);
  }

  /** PVE storages on an off-site PBS hold off-site copies themselves. */
  offsiteStorages(): string[] {
    return this.cfg.offsite ? this.cfg.datastores.flatMap((d) => d.storages) : [];
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
