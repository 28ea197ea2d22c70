import type { ProxmoxSourceConfig } from "../../config/load.js";
import type { Archive, BackupJob, GuestInfo, SourceHealth } from "../../evidence.js";
import type { Logger } from "../../log.js";
import { BackupEnds } from "./backup-ends.js";
import { BackupContent } from "./content.js";
import { GuestDiskReads } from "./guest-disk-reads.js";
import { PveError, PveHttp } from "./http.js";
import { onlineNodes, readInventory, type StorageRef } from "./inventory.js";
import { JobsAndPrivileges } from "./jobs-and-privileges.js";
import { ListingPlan, UsageWatch } from "./listing-plan.js";
import { collectAfterContentRead } from "./memory.js";
import { resourcesSchema, stopTaskSchema, vzdumpResultSchema } from "./schemas.js";
import { TaskReads } from "./task-reads.js";
import { TaskFollower, type TaskEvent, type TrackedTask } from "./tasks.js";
import { visibilityProblems } from "./visibility.js";

export type { TaskEvent } from "./tasks.js";
export { contentRowProblem } from "./content.js";

/**
 * Backup jobs, storage retention and the token's privileges change rarely: they are read at start, after a backup
 * task ended, when the Refresh button is pressed, when a listing shrinks unexpectedly (a revoked
 * privilege hides archives) and otherwise on this slower cadence (never in an idle poll).
 */
const META_INTERVAL_FACTOR = 6;
const META_INTERVAL_MIN_MS = 30 * 60_000;

/**
 * Proxmox VE as a source of evidence. Refresh plan (no per-guest requests), change-driven:
 * every poll: /cluster/resources + /cluster/tasks — 2 requests when nothing happened, at any
 * cluster size (without Sys.Audit on /: + /nodes/{n}/tasks per online node; task-reads.ts);
 * on news only: a node's /nodes/{n}/tasks when /cluster/tasks shows a vzdump started or ended
 * there (cluster-tasks.ts), then the status and log of the running ones (the fast loop);
 * listings (once per distinct storage: shared ones once, local ones per node) only for what
 * changed (listing-plan.ts): a backup ended on a node (its local storages + the shared ones), an
 * imgdel/prunebackups task named a storage, a storage's usage moved beyond its threshold, a guest
 * appeared or vanished (all);
 * safety sweep every content_interval, on the Refresh button and the PVE webhook: every node's task
 * list and every listing (what no signal shows: notes or protection edited, a file removed by hand);
 * slower still (see META_INTERVAL_FACTOR; at start, after a task ended, on the Refresh button, when a
 * listing lost every archive of a guest): /cluster/backup, /storage and /access/permissions;
 * with them, but only at start, on the slow cadence itself, on the Refresh button and when a guest
 * appeared or vanished: the guests' disks (guest-disk-reads.ts: one included_volumes per job, the
 * configs of guests no job lists).
 *
 * The parts: inventory.ts (guests and storages), tasks.ts (vzdump tasks), task-reads.ts and
 * cluster-tasks.ts (which task lists to read), listing-plan.ts (which listings), content.ts (archives),
 * backup-ends.ts (a backup's end told in one step: running stops with the new archive listed),
 * jobs-and-privileges.ts, visibility.ts; memory.ts holds the measures that keep a large lab's
 * memory and CPU within the benchmark's targets.
 */
export class PveSource {
  readonly name: string;
  readonly http: PveHttp;
  health: SourceHealth;
  onTask?: (e: TaskEvent) => void;

  private guests = new Map<number, GuestInfo>();
  private storages: StorageRef[] = [];
  private readonly content: BackupContent;
  private readonly meta: JobsAndPrivileges;
  private readonly disks: GuestDiskReads;
  private lastDisksMs = 0;
  private disksDue = true;
  /** The vzdump tasks followed or remembered, by UPID (test/integration/actions.test.ts reads them). */
  private readonly tasks = new Map<string, TrackedTask>();
  private readonly follower: TaskFollower;
  /** Ended backups held as running until their archive is listed, and the locks they held (backup-ends.ts). */
  private readonly ends = new BackupEnds();
  private readonly taskReads: TaskReads;
  private readonly plan = new ListingPlan();
  private readonly usage = new UsageWatch();
  /** Nodes of ended backups whose archive is not listed yet: every listing read includes them. */
  private readonly waitingNodes = new Set<string>();
  private lastSweepMs = 0;
  private lastMetaMs = 0;
  private metaDue = true;
  lastRefreshRequests = 0;
  /** Nodes /cluster/resources lists as not online (the missed-jobs watchdog waits for repeat-missed ones). */
  private offlineNodes: string[] = [];
  private onlineNodes: string[] = [];

  constructor(
    readonly cfg: ProxmoxSourceConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.name = cfg.name;
    this.http = new PveHttp(cfg);
    this.health = { name: cfg.name, kind: "proxmox", up: false, degraded: false, error: "not polled yet" };
    this.content = new BackupContent(cfg.name, this.http);
    this.meta = new JobsAndPrivileges(cfg.name, this.http, log);
    this.disks = new GuestDiskReads(cfg.name, this.http, log, () => this.now());
    this.follower = new TaskFollower(this.tasks, {
      source: cfg.name,
      http: this.http,
      log,
      now: () => this.now(),
      emit: (e) => this.onTask?.(e),
      ended: (kind, node) => {
        this.plan.node(node);
        if (kind === "finished") this.metaDue = true;
      },
      guestEnded: (vmid, upid, startMs, node) => {
        this.ends.ended(vmid, upid, startMs);
        // Read the listings in this same refresh or fast-loop tick, before the next evaluation.
        this.plan.node(node);
        this.waitingNodes.add(node);
      },
    });
    this.taskReads = new TaskReads({
      http: this.http,
      log,
      follower: this.follower,
      plan: this.plan,
      privilegesDoubtful: () => {
        this.metaDue = true;
        this.plan.wholeCluster();
      },
    });
  }

  /** One poll. Never throws: failures become the source's health. */
  async refresh(opts: { content?: boolean } = {}): Promise<void> {
    const before = this.http.requestCount;
    try {
      const readAt = this.ends.step();
      const resources = await this.http.get("/cluster/resources", resourcesSchema);
      const inventory = readInventory(this.name, resources, this.guests);
      // A guest that appeared or vanished: read jobs, privileges and listings again at once (a token
      // whose privileges changed shows exactly this, and an absence is only vouched for with fresh
      // privileges — see confirmsAbsent).
      if (inventory.membershipChanged) {
        this.metaDue = true;
        this.disksDue = true;
        this.plan.wholeCluster();
      }
      this.guests = inventory.guests;
      this.ends.inventoryApplied(readAt, this.guests);
      this.storages = inventory.storages;
      // The privileges first, at start: they decide how tasks are read (Sys.Audit on /).
      const metaAtStart = !this.lastMetaMs;
      const nodes = onlineNodes(resources);
      this.onlineNodes = nodes;
      this.offlineNodes = resources
        .filter((r) => r.type === "node" && r.node && r.status !== "online")
        .map((r) => r.node!);
      if (metaAtStart) await this.readMeta();
      const sweep = opts.content === true || this.now() - this.lastSweepMs >= this.cfg.contentIntervalMs;
      await this.taskReads.read(nodes.length ? nodes : [...new Set([...this.guests.values()].map((g) => g.node))], {
        sweep,
        sysAuditOnRoot: this.meta.perms?.has("Sys.Audit", "/"),
        storages: this.storages,
      });
      for (const key of this.usage.moved(this.storages, (k) => this.content.smallestArchive(k))) this.plan.storage(key);
      if (opts.content && !metaAtStart) this.metaDue = this.disksDue = true;
      if (sweep) {
        this.plan.wholeCluster();
        this.lastSweepMs = this.now();
      }
      if (this.plan.due) await this.readContent();
      this.setHealthy();
    } catch (e) {
      this.setFailed(e);
    } finally {
      this.lastRefreshRequests = this.http.requestCount - before;
    }
  }

  /** Follows the tasks this source knows to be running (fast loop while backups run). */
  async pollRunningTasks(): Promise<void> {
    try {
      await this.follower.pollRunning();
    } catch (e) {
      this.setFailed(e);
      return;
    }
    if (this.plan.due) {
      try {
        await this.readContent();
      } catch (e) {
        this.setFailed(e);
      }
    }
  }

  /** Has this task ended (or been given up)? False while it runs or when it is not followed. */
  taskEnded(upid: string): boolean {
    return this.follower.hasEnded(upid);
  }

  /**
   * Follow a task this bridge started before a restart (ids kept in the store): its end is
   * reported like any task seen running, even if it ended while the bridge was down.
   */
  resumeTask(upid: string, node: string, vmid: number): void {
    this.follower.resume(upid, node, vmid);
  }

  /** Archives of one guest as last listed. */
  archivesOf(vmid: number): Archive[] {
    return this.content.all().of(this.name, vmid);
  }

  /** Tasks run, or a backup ended whose archive no listing showed yet: the fast loop follows this source. */
  hasRunningTasks(): boolean {
    return this.follower.hasRunning() || this.ends.waiting;
  }

  guest(vmid: number): GuestInfo | undefined {
    return this.guests.get(vmid);
  }

  /**
   * A guest missing from a successful read that the token may not see (no VM.Audit on it): hidden,
   * not gone — /cluster/resources silently leaves out guests without VM.Audit.
   */
  mayBeHidden(vmid: number): boolean {
    return this.health.up && !this.health.degraded && !this.guests.has(vmid) && !this.meta.maySeeGuest(vmid);
  }

  /** Does this source vouch that guest `vmid` does not exist? Only after a successful read whose token may see it. */
  confirmsAbsent(vmid: number): boolean {
    if (!this.health.up || this.health.degraded || this.guests.has(vmid)) return false;
    return this.meta.maySeeGuest(vmid);
  }

  /** Starts vzdump for one guest on its current node. Returns the UPID, or null when PVE answered "OK" (nothing to do there). */
  async startBackup(
    vmid: number,
    opts: { storage?: string; mode: string; compress: string; notesTemplate: string; requestId?: string },
  ): Promise<string | null> {
    const guest = this.guests.get(vmid);
    if (!guest) throw new PveError("http", `guest ${vmid} is not known on '${this.name}'`);
    const storage = opts.storage ?? this.defaultBackupStorage(guest);
    const body: Record<string, string | number> = { vmid, mode: opts.mode, compress: opts.compress };
    if (storage) {
      body.storage = storage;
      if (opts.notesTemplate) body["notes-template"] = opts.notesTemplate;
    }
    const res = await this.http.post(`/nodes/${encodeURIComponent(guest.node)}/vzdump`, vzdumpResultSchema, body);
    if (!res.startsWith("UPID:")) return null;
    // A poll that ran while the POST was answered may have found the task already: it announced it.
    this.follower.started(res, guest.node, vmid, opts.requestId);
    return res;
  }

  /** The running vzdump of a guest as followed (the newest, when several), or undefined. */
  runningBackup(vmid: number): { upid: string; node: string; startMs: number } | undefined {
    const a = this.follower
      .attempts()
      .filter((x) => x.vmid === vmid && x.result === "running")
      .sort((x, y) => y.startMs - x.startMs)[0];
    return a ? { upid: a.upid, node: a.node, startMs: a.startMs } : undefined;
  }

  /**
   * Stops a task: DELETE /nodes/{node}/tasks/{upid} (pve-manager PVE/API2/Tasks.pm `stop_task`: the
   * worker gets SIGTERM; vzdump then ends "interrupted by signal"). PVE allows it to the user (or
   * token) that started the task, otherwise only with Sys.Modify on /nodes/{node}. Never retried.
   */
  async stopTask(node: string, upid: string): Promise<void> {
    await this.http.delete(`/nodes/${encodeURIComponent(node)}/tasks/${encodeURIComponent(upid)}`, stopTaskSchema);
  }

  /** The storage a manual backup goes to: the configured one, else the target of a job that selects the guest. */
  defaultBackupStorage(guest: GuestInfo): string | undefined {
    return this.cfg.backup.storage ?? this.guestJob(guest)?.storage ?? this.storages.find((s) => s.available)?.storage;
  }

  /**
   * The backup job that selects a guest (an enabled one first; else a disabled one, kept as the manual
   * fallback): Back up now and the fallback run vzdump with its mode, compress and notes-template.
   * PVE has no "run this job for one guest" (the GUI's Run now backs up all its guests).
   */
  guestJob(guest: GuestInfo): BackupJob | undefined {
    const selecting = this.meta.jobs.filter(
      (j) =>
        (!j.node || j.node === guest.node) &&
        (j.vmids
          ? j.vmids.includes(guest.vmid)
          : j.pool
            ? j.pool === guest.pool
            : !!j.all && !(j.exclude ?? []).includes(guest.vmid)),
    );
    return selecting.find((j) => j.enabled) ?? selecting[0];
  }

  evidence() {
    const archives = this.content.all();
    const archivesOf = (vmid: number) => archives.of(this.name, vmid);
    const attempts = this.ends.attempts(this.follower.attempts(), archivesOf);
    return {
      health: this.health,
      guests: this.ends.guests(this.guests.values()),
      archives,
      attempts,
      jobs: this.meta.jobs,
      jobsReadable: this.meta.jobsReadable,
      offlineNodes: this.offlineNodes,
      ...(this.meta.timeZone ? { jobTimeZone: this.meta.timeZone } : {}),
      hiddenTaskNodes: [...new Set([...[...this.guests.values()].map((g) => g.node), ...this.offlineNodes])]
        .filter((n) => this.meta.perms && !this.meta.perms.has("Sys.Audit", `/nodes/${n}`))
        .sort(),
      storagePrune: this.meta.storagePrune,
      storageMounts: this.meta.storageMounts,
      guestDisks: this.disks.all(),
      visibility: visibilityProblems({
        source: this.name,
        guests: this.guests,
        storages: this.storages,
        content: this.content,
        meta: this.meta,
        backupStorage: this.cfg.backup.storage,
      }),
    };
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private async readMeta(): Promise<void> {
    await this.meta.read(this.onlineNodes);
    this.lastMetaMs = this.now();
    this.metaDue = false;
    // Not after every backup's end (which makes the jobs due): disks change with guests, not backups.
    if (this.disksDue || this.now() - this.lastDisksMs >= this.metaIntervalMs()) {
      const offline = new Set(this.offlineNodes);
      const network = new Set(
        (this.meta.storageMounts ?? []).filter((m) => m.type === "nfs" || m.type === "cifs").map((m) => m.storage),
      );
      await this.disks.read(this.meta.jobs, this.meta.jobsReadable, this.guests, (n) => !offline.has(n), network);
      this.lastDisksMs = this.now();
      this.disksDue = false;
    }
  }

  private metaIntervalMs(): number {
    return Math.max(this.cfg.contentIntervalMs * META_INTERVAL_FACTOR, META_INTERVAL_MIN_MS);
  }

  private async readContent(): Promise<void> {
    if (this.ends.waiting) for (const n of this.waitingNodes) this.plan.node(n);
    else this.waitingNodes.clear();
    const storages = this.plan.take(this.storages);
    const readAt = this.ends.step();
    const metaNow = this.metaDue || !this.lastMetaMs || this.now() - this.lastMetaMs >= this.metaIntervalMs();
    if (metaNow) await this.readMeta();
    const read = await this.content.read(storages, this.guests);
    // Every archive of a guest that still exists vanished from a listing: prune never does that,
    // a revoked privilege does (PVE then answers 200 with fewer rows). Ask for the privileges now,
    // before that listing applies (content.ts holds it back until then).
    if (read.lostAGuest && !metaNow) {
      await this.meta.read(this.onlineNodes);
      this.lastMetaMs = this.now();
    }
    this.content.applyStaged(read);
    collectAfterContentRead(read);
    this.content.keepOnly(this.storages);
    for (const s of storages) this.usage.listed(s);
    for (const p of this.ends.listingApplied(readAt, (vmid) => this.archivesOf(vmid)))
      this.log.info(
        { vmid: p.vmid, upid: p.upid },
        `the backup of guest ${p.vmid} ended well, but no listing read since shows its archive; it is judged from the archives listed`,
      );
    // An ended backup whose archive this listing did not show yet: read its listings again next time.
    if (this.ends.waiting) for (const n of this.waitingNodes) this.plan.node(n);
  }

  private setHealthy(): void {
    if (!this.health.up || this.health.degraded) this.log.info("Proxmox source is reachable");
    this.health = { name: this.name, kind: "proxmox", up: true, degraded: false, lastSuccessMs: this.now() };
  }

  private setFailed(e: unknown): void {
    const err = e instanceof PveError ? e : new PveError("network", (e as Error)?.message ?? String(e));
    const up = err.degraded;
    const changed = this.health.up !== up || this.health.degraded !== err.degraded || this.health.error !== err.message;
    this.health = {
      name: this.name,
      kind: "proxmox",
      up,
      degraded: err.degraded,
      error: err.message,
      ...(this.health.lastSuccessMs ? { lastSuccessMs: this.health.lastSuccessMs } : {}),
    };
    if (changed)
      this.log.warn({ kind: err.kind }, `Proxmox source ${err.degraded ? "degraded" : "unreachable"}: ${err.message}`);
  }
}
