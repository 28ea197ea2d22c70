import type { ProxmoxSourceConfig } from "../../config/load.js";
import type { Archive, BackupAttempt, BackupJob, GuestInfo, SourceHealth, VisibilityProblem } from "../../evidence.js";
import type { Logger } from "../../log.js";
import { PveError, PveHttp } from "./http.js";
import { ArchiveColumns, unionOf, type ArchiveSet } from "../../archive-set.js";
import { collectGarbage, collectGarbageIfGrown } from "../../util/gc.js";
import { Permissions } from "./permissions.js";
import { z } from "zod";
import {
  contentItemSchema,
  jobsSchema,
  permissionsSchema,
  resourcesSchema,
  taskLogSchema,
  tasksSchema,
  taskStatusSchema,
  vzdumpResultSchema,
  type Resource,
  type Task,
} from "./schemas.js";
import { isProgressLine, parseTaskLog, type GuestOutcome } from "./tasklog.js";

interface StorageRef {
  storage: string;
  /** A node that can list it (any node for shared storages). */
  node: string;
  shared: boolean;
  available: boolean;
}
const storageKey = (s: { storage: string; node: string; shared: boolean }) => (s.shared ? s.storage : `${s.node}/${s.storage}`);

interface TrackedTask {
  upid: string;
  node: string;
  id: string;
  startMs: number;
  endMs?: number;
  exitstatus?: string;
  /** The log as far as read, with each run of progress lines kept as its newest line only. */
  lines: string[];
  /** Log lines read so far (the offset of the next page). */
  read: number;
  outcomes: GuestOutcome[];
  /** Seen running by this bridge: its end must trigger a content refresh and an event. */
  seenRunning: boolean;
  done: boolean;
  /** Consecutive polls whose status request failed (other than "no such task"), and since when. */
  statusFailures?: number;
  firstStatusFailureMs?: number;
}

export interface TaskEvent {
  source: string;
  upid: string;
  /** The request_id of the command that started it, when this bridge did. */
  requestId?: string;
  node: string;
  /**
   * started / finished as seen; unknown: Proxmox does not know the task (or its status could not
   * be read for a long time) — it is no longer followed and says nothing about the backup, the
   * guest is judged from its archives.
   */
  phase: "started" | "finished" | "unknown";
  outcomes: GuestOutcome[];
  exitstatus?: string;
  /** For phase unknown: why, as a sentence. */
  reason?: string;
}

/**
 * A task status that keeps failing (a proxy's 500, a 403 after a privilege change) is asked again
 * on later polls; after this many consecutive failures spanning at least STATUS_GIVE_UP_MS the task
 * is given up like one Proxmox does not know.
 */
const STATUS_GIVE_UP_FAILURES = 5;
const STATUS_GIVE_UP_MS = 10 * 60_000;

/**
 * PVE's answer for a UPID whose task file does not exist on the node (pve-manager
 * PVE/API2/Tasks.pm read_task_status: `raise_param_exc({ upid => "no such task" })`, HTTP 400
 * "Parameter verification failed."). Some proxies turn it into a 404 or 500 with the same text.
 */
function isNoSuchTask(e: unknown): boolean {
  return e instanceof PveError && e.kind === "http" && [400, 404, 500].includes(e.status ?? 0) && /no such task/i.test(e.message);
}

const DAY = 86_400_000;
/**
 * Backup jobs and the token's privileges change rarely: they are read at start, after a backup
 * task ended, when the Refresh button is pressed, when a listing shrinks unexpectedly (a revoked
 * privilege hides archives) and otherwise on this slower cadence — so a steady-state refresh costs
 * exactly the call floor (resources + tasks per node + one listing per distinct backup storage).
 */
const META_INTERVAL_FACTOR = 6;
const META_INTERVAL_MIN_MS = 30 * 60_000;
/** How far back the first refresh reads task history: longer than the weekly tier's max age. */
const TASK_LOOKBACK_MS = 35 * DAY;

/**
 * Proxmox VE as a source of evidence. Refresh plan (no per-guest requests):
 * every poll: /cluster/resources + /nodes/{n}/tasks per online node (+ the log of new or running vzdump tasks);
 * slower (content_interval, and at once after a vzdump task ended): backup content once per distinct
 * storage (shared storages once, local ones per node);
 * slower still (see META_INTERVAL_FACTOR; at start, after a task ended, on the Refresh button, when a
 * listing lost every archive of a guest): /cluster/backup and /access/permissions.
 */
export class PveSource {
  readonly name: string;
  readonly http: PveHttp;
  health: SourceHealth;
  onTask?: (e: TaskEvent) => void;

  private guests = new Map<number, GuestInfo>();
  private storages: StorageRef[] = [];
  private archives = new Map<string, ArchiveColumns>();
  /** Digest of each storage listing's bytes: an unchanged listing is not parsed again. */
  private contentDigests = new Map<string, string>();
  /** All listings read as one, kept until a listing changes (evidence() is asked on every publish). */
  private allListings: ArchiveSet | null = null;
  private contentErrors = new Map<string, string>();
  private seenArchivesOn = new Set<string>();
  private jobs: BackupJob[] = [];
  private jobsReadable = false;
  private perms: Permissions | null = null;
  private permsError: string | undefined;
  private tasks = new Map<string, TrackedTask>();
  /** Tasks given up as unknown: never followed again (their end in the task list is still history). */
  private givenUp = new Set<string>();
  private lastContentMs = 0;
  private contentDue = true;
  private lastMetaMs = 0;
  private metaDue = true;
  private lastTaskPollMs = 0;
  lastRefreshRequests = 0;

  constructor(
    readonly cfg: ProxmoxSourceConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.name = cfg.name;
    this.http = new PveHttp(cfg);
    this.health = { name: cfg.name, kind: "proxmox", up: false, degraded: false, error: "not polled yet" };
  }

  /** One poll. Never throws: failures become the source's health. */
  async refresh(opts: { content?: boolean } = {}): Promise<void> {
    const before = this.http.requestCount;
    try {
      const resources = await this.http.get("/cluster/resources", resourcesSchema);
      this.readResources(resources);
      const nodes = resources.filter((r) => r.type === "node" && r.status === "online" && r.node).map((r) => r.node!);
      await this.readTasks(nodes.length ? nodes : [...new Set([...this.guests.values()].map((g) => g.node))]);
      if (opts.content) this.metaDue = true;
      if (opts.content || this.contentDue || this.now() - this.lastContentMs >= this.cfg.contentIntervalMs) await this.readContent();
      this.setHealthy();
    } catch (e) {
      this.setFailed(e);
    } finally {
      this.lastRefreshRequests = this.http.requestCount - before;
    }
  }

  /** Follows the tasks this source knows to be running (fast loop while backups run). */
  async pollRunningTasks(): Promise<void> {
    for (const t of [...this.tasks.values()].filter((x) => !x.done)) {
      try {
        const st = await this.http.get(`/nodes/${encodeURIComponent(t.node)}/tasks/${encodeURIComponent(t.upid)}/status`, taskStatusSchema);
        t.statusFailures = undefined;
        t.firstStatusFailureMs = undefined;
        await this.readLog(t);
        if (st.status === "stopped") this.finishTask(t, st.exitstatus ?? "unexpected status", this.now());
        else t.outcomes = parseTaskLog(t.lines, t.id, undefined);
      } catch (e) {
        // A task PVE does not know (state_dir restored onto a rebuilt node, history rotated away)
        // says nothing about the backup: stop following it, judge the guest from its archives.
        if (isNoSuchTask(e)) {
          this.giveUpTask(t, `Proxmox does not know the task ${t.upid} on node '${t.node}' (it may have been restored onto a rebuilt node); the guest is judged from its archives`);
          continue;
        }
        // Other answers about this one task (a proxy's 500, a 403): ask again on later polls, give up
        // after several failures over some minutes. Network trouble is a source problem.
        if (e instanceof PveError && (e.kind === "http" || e.kind === "permission")) {
          const now = this.now();
          t.statusFailures = (t.statusFailures ?? 0) + 1;
          t.firstStatusFailureMs ??= now;
          if (t.statusFailures >= STATUS_GIVE_UP_FAILURES && now - t.firstStatusFailureMs >= STATUS_GIVE_UP_MS) {
            const minutes = Math.round((now - t.firstStatusFailureMs) / 60_000);
            this.giveUpTask(t, `the status of task ${t.upid} could not be read ${t.statusFailures} times in a row over ${minutes} minutes (last answer: ${e.message}); it is no longer followed and the guest is judged from its archives`);
          } else if (t.statusFailures === 1) {
            this.log.warn({ upid: t.upid, err: e.message }, "could not read a task's status; asking again on the next polls");
          }
          continue;
        }
        this.setFailed(e);
        return;
      }
    }
    if (this.contentDue) {
      try {
        await this.readContent();
      } catch (e) {
        this.setFailed(e);
      }
    }
  }

  /** Stops following a task (see TaskEvent phase "unknown"): one log line, one event. */
  private giveUpTask(t: TrackedTask, reason: string): void {
    this.tasks.delete(t.upid);
    this.givenUp.add(t.upid);
    this.contentDue = true;
    this.log.warn({ upid: t.upid, node: t.node }, reason);
    this.onTask?.({ source: this.name, upid: t.upid, node: t.node, phase: "unknown", outcomes: t.outcomes, reason });
  }

  /** Has this task ended (or been given up)? False while it runs or when it is not followed. */
  taskEnded(upid: string): boolean {
    return this.givenUp.has(upid) || this.tasks.get(upid)?.done === true;
  }

  /**
   * Follow a task this bridge started before a restart (ids kept in the store): its end is
   * reported like any task seen running, even if it ended while the bridge was down.
   */
  resumeTask(upid: string, node: string, vmid: number): void {
    if (this.tasks.has(upid)) return;
    const startMs = upidStartMs(upid) ?? this.now();
    const id = /^UPID:[^:]+:[^:]+:[^:]+:[^:]+:[^:]+:([^:]*):/.exec(upid)?.[1] ?? String(vmid);
    this.tasks.set(upid, { upid, node, id, startMs, lines: [], read: 0, outcomes: [{ vmid, result: "running", warnings: 0 }], seenRunning: true, done: false });
  }

  /** Archives of one guest as last listed. */
  archivesOf(vmid: number): Archive[] {
    return this.allArchives().of(this.name, vmid);
  }

  private allArchives(): ArchiveSet {
    this.allListings ??= unionOf([...this.archives.values()]);
    return this.allListings;
  }

  hasRunningTasks(): boolean {
    return [...this.tasks.values()].some((t) => !t.done);
  }

  guest(vmid: number): GuestInfo | undefined {
    return this.guests.get(vmid);
  }

  /**
   * Does this source vouch that guest `vmid` does not exist? Only after a successful read whose
   * token may see it: /cluster/resources silently leaves out guests without VM.Audit, so a guest
   * missing from a token without that privilege may still exist.
   */
  /** A guest missing from a successful read that the token may not see (no VM.Audit on it): hidden, not gone. */
  mayBeHidden(vmid: number): boolean {
    return this.health.up && !this.health.degraded && !this.guests.has(vmid) && !(this.perms?.has("VM.Audit", `/vms/${vmid}`) ?? false);
  }

  confirmsAbsent(vmid: number): boolean {
    if (!this.health.up || this.health.degraded || this.guests.has(vmid)) return false;
    return this.perms?.has("VM.Audit", `/vms/${vmid}`) ?? false;
  }

  /** Starts vzdump for one guest on its current node. Returns the UPID, or null when PVE answered "OK" (nothing to do there). */
  async startBackup(vmid: number, opts: { storage?: string; mode: string; compress: string; notesTemplate: string; requestId?: string }): Promise<string | null> {
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
    if (this.tasks.has(res)) return res;
    const startMs = upidStartMs(res) ?? this.now();
    const t: TrackedTask = { upid: res, node: guest.node, id: String(vmid), startMs, lines: [], read: 0, outcomes: [{ vmid, result: "running", warnings: 0 }], seenRunning: true, done: false };
    this.tasks.set(res, t);
    this.onTask?.({ source: this.name, upid: res, node: guest.node, phase: "started", outcomes: t.outcomes, ...(opts.requestId ? { requestId: opts.requestId } : {}) });
    return res;
  }

  /** The storage a manual backup goes to: the configured one, else the target of a job that selects the guest. */
  defaultBackupStorage(guest: GuestInfo): string | undefined {
    const job = this.jobs.find((j) => j.storage && (j.vmids?.includes(guest.vmid) || (j.all && !(j.exclude ?? []).includes(guest.vmid))));
    return this.cfg.backup.storage ?? job?.storage ?? this.storages.find((s) => s.available)?.storage;
  }

  evidence() {
    const archives = this.allArchives();
    const attempts: BackupAttempt[] = [];
    for (const t of this.tasks.values()) {
      for (const o of t.outcomes) {
        attempts.push({
          source: this.name,
          vmid: o.vmid,
          upid: t.upid,
          node: t.node,
          startMs: t.startMs,
          endMs: t.endMs,
          result: o.result,
          ...(o.error ? { error: o.error } : {}),
          ...(o.progress !== undefined ? { progress: o.progress } : {}),
        });
      }
    }
    return {
      health: this.health,
      guests: [...this.guests.values()],
      archives,
      attempts,
      jobs: this.jobs,
      jobsReadable: this.jobsReadable,
      visibility: this.visibilityProblems(),
    };
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  // --- reading -------------------------------------------------------------------------------

  private readResources(resources: Resource[]): void {
    const next = new Map<number, GuestInfo>();
    for (const r of resources) {
      if ((r.type !== "qemu" && r.type !== "lxc") || r.vmid === undefined || !r.node) continue;
      const prev = this.guests.get(r.vmid);
      next.set(r.vmid, {
        source: this.name,
        vmid: r.vmid,
        // An offline node reports its guests without name/template (no RRD data): keep what we knew.
        name: r.name ?? prev?.name ?? `${r.type === "qemu" ? "VM" : "CT"} ${r.vmid}`,
        type: r.type,
        node: r.node,
        tags: r.tags !== undefined ? r.tags.split(/[;,\s]+/).filter(Boolean) : r.name === undefined ? (prev?.tags ?? []) : [],
        template: r.template !== undefined ? r.template === 1 : (prev?.template ?? false),
        ...(r.pool ? { pool: r.pool } : {}),
        ...(r.lock ? { lock: r.lock } : {}),
      });
    }
    // A guest that appeared or vanished: read jobs, privileges and listings again at once (a token
    // whose privileges changed shows exactly this, and an absence is only vouched for with fresh
    // privileges — see confirmsAbsent).
    if (next.size !== this.guests.size || [...next.keys()].some((v) => !this.guests.has(v))) {
      this.metaDue = true;
      this.contentDue = true;
    }
    this.guests = next;
    const storages = new Map<string, StorageRef>();
    for (const r of resources) {
      if (r.type !== "storage" || !r.storage || !r.node) continue;
      if (!(r.content ?? "").split(",").includes("backup")) continue;
      const ref = { storage: r.storage, node: r.node, shared: r.shared === 1, available: r.status === "available" };
      const k = storageKey(ref);
      const have = storages.get(k);
      // For a shared storage any node that has it available can list it.
      if (!have || (!have.available && ref.available)) storages.set(k, ref);
    }
    this.storages = [...storages.values()];
  }

  private async readTasks(nodes: string[]): Promise<void> {
    const now = this.now();
    const runningStarts = [...this.tasks.values()].filter((t) => !t.done).map((t) => t.startMs);
    const sinceMs = this.lastTaskPollMs ? Math.min(this.lastTaskPollMs - 600_000, ...runningStarts) : now - TASK_LOOKBACK_MS;
    for (const node of nodes) {
      let start = 0;
      for (;;) {
        const page = await this.http.get(`/nodes/${encodeURIComponent(node)}/tasks`, tasksSchema, {
          typefilter: "vzdump",
          source: "all",
          since: Math.floor(sinceMs / 1000),
          start,
          limit: 500,
        });
        for (const task of page) await this.trackTask(task);
        if (page.length < 500) break;
        start += page.length;
      }
    }
    this.lastTaskPollMs = now;
    // Forget old history: only the newest attempt per guest matters, and it is younger than the lookback.
    for (const [upid, t] of this.tasks) if (t.done && now - (t.endMs ?? t.startMs) > TASK_LOOKBACK_MS) this.tasks.delete(upid);
  }

  private async trackTask(task: Task): Promise<void> {
    if (task.type !== "vzdump") return;
    const running = task.endtime === undefined || task.status === undefined || task.status.toUpperCase() === "RUNNING";
    let t = this.tasks.get(task.upid);
    if (t?.done) return;
    // Given up while it ran: its end in the list is history, nothing is announced again.
    if (!t && this.givenUp.has(task.upid) && running) return;
    if (!t) {
      t = { upid: task.upid, node: task.node, id: task.id ?? "", startMs: task.starttime * 1000, lines: [], read: 0, outcomes: [], seenRunning: running, done: false };
      this.tasks.set(task.upid, t);
      if (running) {
        await this.readLog(t);
        t.outcomes = parseTaskLog(t.lines, t.id, undefined);
        this.onTask?.({ source: this.name, upid: t.upid, node: t.node, phase: "started", outcomes: t.outcomes });
        return;
      }
    }
    await this.readLog(t);
    if (running) t.outcomes = parseTaskLog(t.lines, t.id, undefined);
    else this.finishTask(t, task.status!, (task.endtime ?? task.starttime) * 1000);
  }

  private finishTask(t: TrackedTask, exitstatus: string, endMs: number): void {
    if (t.done) return;
    t.done = true;
    t.exitstatus = exitstatus;
    t.endMs = endMs;
    t.outcomes = parseTaskLog(t.lines, t.id, exitstatus);
    t.lines = []; // parsed: the outcome is all we keep
    if (t.seenRunning) {
      this.contentDue = true;
      this.metaDue = true;
      this.onTask?.({ source: this.name, upid: t.upid, node: t.node, phase: "finished", outcomes: t.outcomes, exitstatus });
    }
  }

  /** Reads the log lines not read yet (the log is paged, default 50 lines). */
  private async readLog(t: TrackedTask): Promise<void> {
    for (;;) {
      const page = await this.http.get(`/nodes/${encodeURIComponent(t.node)}/tasks/${encodeURIComponent(t.upid)}/log`, taskLogSchema, { start: t.read, limit: 1000 });
      const fresh = page.filter((l) => l.n > t.read && !(l.n === 1 && l.t === "no content")).sort((a, b) => a.n - b.n);
      for (const l of fresh) {
        // A qemu backup prints a progress line about every percent: only the newest says anything,
        // so a 50-guest job keeps a few hundred lines, not thousands, while it runs.
        if (isProgressLine(l.t) && t.lines.length && isProgressLine(t.lines[t.lines.length - 1]!)) t.lines[t.lines.length - 1] = l.t;
        else t.lines.push(l.t);
        t.read = l.n;
      }
      if (page.length < 1000 || fresh.length === 0) return;
    }
  }

  private async readContent(): Promise<void> {
    this.contentDue = false;
    const metaInterval = Math.max(this.cfg.contentIntervalMs * META_INTERVAL_FACTOR, META_INTERVAL_MIN_MS);
    const metaNow = this.metaDue || !this.lastMetaMs || this.now() - this.lastMetaMs >= metaInterval;
    if (metaNow) {
      await this.readMeta();
      this.lastMetaMs = this.now();
      this.metaDue = false;
    }
    let shrunk = false;
    let dropped = false;
    let rowsRead = 0;
    // A listing that lost a guest takes effect only after the privileges were read again: a publish
    // from the fast loop in between would otherwise judge it with the old privileges and show
    // `missing` for a guest whose backups the token may no longer see. (Others apply at once, so
    // their old columns can be collected as before.)
    const staged: Array<{ k: string; list: ArchiveColumns; digest: string }> = [];
    for (const s of this.storages) {
      const k = storageKey(s);
      if (!s.available) {
        this.contentErrors.set(k, `storage '${s.storage}' is not available on node '${s.node}'`);
        continue;
      }
      try {
        const path = `/nodes/${encodeURIComponent(s.node)}/storage/${encodeURIComponent(s.storage)}/content`;
        const rows = this.listingBuilder(s, path);
        const answer = await this.http.getRowsIfChanged(path, { content: "backup" }, this.archives.has(k) ? this.contentDigests.get(k) : undefined, rows.add);
        if (answer.unchanged) {
          rowsRead += this.archives.get(k)?.size ?? 0;
          this.contentErrors.delete(k);
          continue;
        }
        rowsRead += answer.count;
        const list = rows.list();
        const replaced = this.archives.get(k);
        if ((replaced?.size ?? 0) >= BIG_LISTING_ROWS) dropped = true;
        if (lostAGuest(replaced, list, this.guests)) {
          shrunk = true;
          staged.push({ k, list, digest: answer.digest });
        } else this.applyListing(k, list, answer.digest);
        this.contentErrors.delete(k);
      } catch (e) {
        if (e instanceof PveError && (e.kind === "network" || e.kind === "timeout" || e.degraded)) throw e;
        this.contentErrors.set(k, `storage '${s.storage}' could not be listed: ${(e as Error).message}`);
      }
    }
    // Every archive of a guest that still exists vanished from a listing: prune never does that,
    // a revoked privilege does (PVE then answers 200 with fewer rows). Ask for the privileges now.
    if (shrunk && !metaNow) {
      await this.readMeta();
      this.lastMetaMs = this.now();
    }
    for (const { k, list, digest } of staged.splice(0)) this.applyListing(k, list, digest);
    // A big listing was replaced: its old columns are tens of MB of garbage in the old generation.
    if (dropped) collectGarbage();
    // This cycle read so many rows that their buffers and strings wait for V8's own timing (the
    // bench's peak RSS came from that): a full collection when the process grew by 32 MiB since the
    // last one. Only large labs read this much; a home lab never gets here.
    else if (rowsRead >= BIG_CYCLE_ROWS) collectGarbageIfGrown(32 * 1024 * 1024);
    const keys = new Set(this.storages.map(storageKey));
    for (const k of [...this.archives.keys()]) {
      if (keys.has(k)) continue;
      this.archives.delete(k);
      this.contentDigests.delete(k);
      this.allListings = null;
    }
    this.lastContentMs = this.now();
  }

  private applyListing(k: string, list: ArchiveColumns, digest: string): void {
    this.archives.set(k, list);
    this.contentDigests.set(k, digest);
    this.allListings = null;
    if (list.size) this.seenArchivesOn.add(k);
  }

  /**
   * Content rows → the listing's columns, as they are parsed. Checked field by field as
   * contentItemSchema would (a wrong type makes the listing unreadable; the fuzz suite holds the
   * two equal) but without zod's copy of every row. Rows whose
   * VMID cannot be told (neither the field nor the volid names it) belong to no guest and are left out.
   */
  private listingBuilder(s: StorageRef, path: string): { add(row: unknown, i: number): void; list(): ArchiveColumns } {
    const fresh = () => new ArchiveColumns(this.name, s.storage, s.shared ? undefined : s.node);
    let list = fresh();
    const before = this.archives.get(storageKey(s));
    let cursors = new Map<number, number>();
    const add = (row: unknown, i: number) => {
      // Rows start again from 0 after a retry or a full parse (see Rows): drop what came before.
      if (i === 0 && list.size) {
        list = fresh();
        cursors = new Map();
      }
      const it = row as ContentRow;
      const bad = contentRowProblem(it);
      if (bad) throw new PveError("schema", `GET ${path}: unexpected answer at data[${i}]${bad}`);
      const vmid = it.vmid ?? vmidFromVolid(it.volid);
      if (!(vmid > 0)) return;
      const verification = it.verification && (it.verification.state === "ok" || it.verification.state === "failed") ? it.verification.state : undefined;
      let volid = it.volid;
      if (before) {
        const same = before.sameVolid(vmid, volid, cursors.get(vmid) ?? 0);
        volid = same.volid;
        cursors.set(vmid, same.next);
      }
      list.add({
        volid,
        vmid,
        ctimeMs: it.ctime * 1000,
        size: it.size ?? 0,
        format: it.format,
        ...(it.notes ? { notes: it.notes } : {}),
        protected: it.protected === 1,
        ...(verification ? { verification } : {}),
      });
    };
    return { add, list: () => list.done() };
  }

  /** /cluster/backup and /access/permissions. */
  private async readMeta(): Promise<void> {
    try {
      const jobs = await this.http.get("/cluster/backup", jobsSchema);
      this.jobs = jobs.map((j) => toJob(this.name, j));
      this.jobsReadable = true;
    } catch (e) {
      if (!(e instanceof PveError && e.kind === "permission")) throw e;
      this.jobsReadable = false;
      this.log.warn(`cannot read backup jobs (${e.message}); grant Sys.Audit on / to judge coverage`);
    }
    try {
      this.perms = new Permissions(await this.http.get("/access/permissions", permissionsSchema));
      this.permsError = undefined;
    } catch (e) {
      if (!(e instanceof PveError) || e.kind === "network" || e.kind === "timeout") throw e;
      this.perms = null;
      this.permsError = e.message;
    }
  }

  /** Guests whose archives this refresh cannot vouch for: storage listing failed, or the token may not see them. */
  private visibilityProblems(): VisibilityProblem[] {
    const out: VisibilityProblem[] = [];
    const jobStorages = new Set(this.jobs.map((j) => j.storage).filter((s): s is string => !!s));
    if (this.cfg.backup.storage) jobStorages.add(this.cfg.backup.storage);
    const relevant = this.storages.filter((s) => jobStorages.size === 0 || jobStorages.has(s.storage) || this.seenArchivesOn.has(storageKey(s)));
    for (const s of relevant) {
      const err = this.contentErrors.get(storageKey(s));
      if (!err) continue;
      for (const g of this.guests.values()) if (s.shared || g.node === s.node) out.push({ source: this.name, vmid: g.vmid, reason: err });
    }
    for (const g of this.guests.values()) {
      for (const s of relevant) {
        if (!s.shared && s.node !== g.node) continue;
        if (this.perms) {
          const reason = this.perms.backupVisibility(s.storage, g.vmid);
          if (reason) out.push({ source: this.name, vmid: g.vmid, reason });
        } else if (!this.archives.get(storageKey(s))?.size && (jobStorages.has(s.storage) || this.seenArchivesOn.has(storageKey(s)))) {
          // Cannot ask PVE for the token's privileges: an empty listing where jobs write is not proof of "missing".
          out.push({
            source: this.name,
            vmid: g.vmid,
            reason: `storage '${s.storage}' lists no backups although a job writes there, and the token's privileges cannot be read (${this.permsError}); the token needs Datastore.AllocateSpace on /storage/${s.storage} and VM.Backup on /vms/${g.vmid}`,
          });
        }
      }
    }
    // One reason per guest is enough.
    const seen = new Set<number>();
    return out.filter((p) => (seen.has(p.vmid!) ? false : (seen.add(p.vmid!), true)));
  }

  private setHealthy(): void {
    if (!this.health.up || this.health.degraded) this.log.info("Proxmox source is reachable");
    this.health = { name: this.name, kind: "proxmox", up: true, degraded: false, lastSuccessMs: this.now() };
  }

  private setFailed(e: unknown): void {
    const err = e instanceof PveError ? e : new PveError("network", (e as Error)?.message ?? String(e));
    const up = err.degraded;
    const changed = this.health.up !== up || this.health.degraded !== err.degraded || this.health.error !== err.message;
    this.health = { name: this.name, kind: "proxmox", up, degraded: err.degraded, error: err.message, ...(this.health.lastSuccessMs ? { lastSuccessMs: this.health.lastSuccessMs } : {}) };
    if (changed) this.log.warn({ kind: err.kind }, `Proxmox source ${err.degraded ? "degraded" : "unreachable"}: ${err.message}`);
  }
}

function toJob(source: string, j: import("zod").infer<typeof jobsSchema>[number]): BackupJob {
  const ids = (s?: string) => (s ? s.split(/[,\s]+/).filter(Boolean).map(Number).filter(Number.isFinite) : undefined);
  const prune = j["prune-backups"]
    ? Object.fromEntries(Object.entries(j["prune-backups"]).map(([k, v]) => [k, Number(v)]))
    : undefined;
  return {
    source,
    id: j.id,
    enabled: j.enabled !== 0,
    ...(j.schedule ? { schedule: j.schedule } : {}),
    ...(j["next-run"] ? { nextRunMs: j["next-run"] * 1000 } : {}),
    ...(j.vmid ? { vmids: ids(j.vmid) } : {}),
    ...(j.all === 1 || j.exclude ? { all: true } : {}),
    ...(j.exclude ? { exclude: ids(j.exclude) } : {}),
    ...(j.pool ? { pool: j.pool } : {}),
    ...(j.node ? { node: j.node } : {}),
    ...(j.storage ? { storage: j.storage } : {}),
    ...(prune ? { pruneBackups: prune } : {}),
    ...(j.comment ? { comment: j.comment } : {}),
  };
}

/** A listing this big, once replaced, is worth a full collection (see collectGarbage). */
const BIG_LISTING_ROWS = 50_000;
/** A content cycle that read this many rows (changed or not) ends with a full collection. */
const BIG_CYCLE_ROWS = 100_000;

/** A backup content row as PVE sends it (contentItemSchema's shape). */
type ContentRow = z.infer<typeof contentItemSchema>;

const isInt = (v: unknown): boolean => typeof v === "number" && Number.isSafeInteger(v);

/** Where a content row breaks contentItemSchema (`.field: expected …`), or undefined when it fits. */
export function contentRowProblem(it: unknown): string | undefined {
  if (typeof it !== "object" || it === null || Array.isArray(it)) return ": expected object";
  const r = it as Record<string, unknown>;
  if (typeof r.volid !== "string") return ".volid: expected string";
  if (r.vmid !== undefined && !isInt(r.vmid)) return ".vmid: expected int";
  if (!isInt(r.ctime)) return ".ctime: expected int";
  if (r.size !== undefined && !isInt(r.size)) return ".size: expected int";
  if (typeof r.format !== "string") return ".format: expected string";
  if (r.subtype !== undefined && typeof r.subtype !== "string") return ".subtype: expected string";
  if (r.notes !== undefined && typeof r.notes !== "string") return ".notes: expected string";
  if (r.protected !== undefined && r.protected !== 0 && r.protected !== 1) return ".protected: expected 0 or 1";
  if (r.verification !== undefined) {
    const v = r.verification as Record<string, unknown> | null;
    if (typeof v !== "object" || v === null || Array.isArray(v)) return ".verification: expected object";
    if (typeof v.state !== "string") return ".verification.state: expected string";
    if (v.upid !== undefined && typeof v.upid !== "string") return ".verification.upid: expected string";
  }
  return undefined;
}

/** Did a guest that still exists lose every archive it had in this listing? */
function lostAGuest(before: ArchiveColumns | undefined, after: ArchiveColumns, guests: Map<number, GuestInfo>): boolean {
  if (!before) return false;
  for (const vmid of before.vmidsPresent()) if (!after.hasGuest(vmid) && guests.has(vmid)) return true;
  return false;
}

function vmidFromVolid(volid: string): number {
  const m = /-([1-9][0-9]{2,8})-[^/]+$/.exec(volid) ?? /\/(?:vm|ct)\/([0-9]+)\//.exec(volid);
  return m ? Number(m[1]) : -1;
}

export function upidStartMs(upid: string): number | undefined {
  const m = /^UPID:[^:]+:[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8,9}:([0-9A-Fa-f]{8}):/.exec(upid);
  return m ? parseInt(m[1]!, 16) * 1000 : undefined;
}
