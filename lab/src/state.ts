/**
 * The lab's mutable world: nodes, storages, guests, archives, jobs, tasks, tokens. Routes read
 * it, the task engine (tasks.ts) advances it, LabControl mutates it. Built from a scenario.
 * The inventory's records (nodes, storages, guests) live in inventory-state.ts, jobs' in
 * job-state.ts, archive naming and indexing in archives.ts, task records in workers.ts.
 */
import { splitTokenId, type Token } from "./acl.js";
import {
  archiveFormat,
  archiveKey,
  archiveNames,
  defaultArchiveSize,
  locationKey,
  type ArchiveIndex,
  type ArchiveState,
} from "./archives.js";
import { nextEvent, parseCalendar } from "./calendar.js";
import type { Clock } from "./clock.js";
import {
  guestState,
  nodeStates,
  storageState,
  type GuestInput,
  type GuestState,
  type NodeState,
  type StorageState,
} from "./inventory-state.js";
import { jobReadForm, scheduleDueAgo, type JobState } from "./job-state.js";
import { replicationJob, type ReplicationJob } from "./replication.js";
import { parseDurationSeconds, resolveWhen, type ResolvedScenario } from "./scenario.js";
import { archiveStamp } from "./timezone.js";
import type { TaskState } from "./workers.js";
export type { GuestState, NodeState, StorageState } from "./inventory-state.js";
export { jobReadForm, type JobState } from "./job-state.js";

export class LabState {
  readonly nodes = new Map<string, NodeState>();
  readonly storages = new Map<string, StorageState>();
  readonly guests = new Map<number, GuestState>();
  private archiveList: ArchiveState[] = [];
  private archiveIndex: ArchiveIndex | null = null;
  /** Every archive. Assigning a new array is fine (the index is rebuilt); so is push/splice (length is checked). */
  get archives(): ArchiveState[] {
    return this.archiveList;
  }
  set archives(list: ArchiveState[]) {
    this.archiveList = list;
    this.archiveIndex = null;
  }
  readonly jobs = new Map<string, JobState>();
  readonly tasks: TaskState[] = [];
  readonly tokens = new Map<string, Token>();
  /** Storage replication jobs by id (`<guest>-<jobnum>`). */
  readonly replication = new Map<string, ReplicationJob>();
  readonly cluster: string;
  readonly version: { version: string; release: string; repoid: string };
  readonly defaultBackupSeconds: number;
  fingerprint = "";
  /** One-shot: the next restore task fails with this error (LabControl.failNextRestore). */
  restoreFailNext: string | undefined;
  /** Lab start on its clock: history before it runs at real speed, not taskSpeed. */
  readonly startedMs: number;

  constructor(
    scenario: ResolvedScenario,
    readonly clock: Clock,
    readonly taskSpeed: number,
  ) {
    const now = clock.now();
    this.startedMs = now;
    this.cluster = scenario.cluster;
    this.version = scenario.version;
    this.defaultBackupSeconds = scenario.backupSeconds;
    for (const n of nodeStates(scenario.nodes, now)) this.nodes.set(n.name, n);
    const allNodes = scenario.nodes.map((n) => n.name);
    for (const s of scenario.storages) this.storages.set(s.id, storageState(s, allNodes));
    for (const g of scenario.guests) this.addGuest(g);
    for (const a of scenario.archives) {
      const startMs = resolveWhen(a, now);
      const guest = this.guests.get(a.vmid);
      const subtype = a.subtype ?? guest?.type ?? "qemu";
      const storage = this.storages.get(a.storage);
      if (!storage) continue; // validated already
      const node = storage.shared
        ? null
        : (a.node ?? (guest && storage.nodes.includes(guest.node) ? guest.node : (storage.nodes[0] ?? null)));
      this.addArchive({
        storage: a.storage,
        node,
        vmid: a.vmid,
        subtype,
        startMs,
        format: a.format ?? archiveFormat(subtype, "zstd"),
        size: a.size ?? guest?.archiveSize ?? defaultArchiveSize({ type: subtype, vmid: a.vmid }),
        ...(a.notes !== undefined ? { notes: a.notes } : {}),
        protected: Boolean(a.protected),
        ...(a.verification ? { verification: a.verification } : {}),
        ...(a.corrupt ? { corrupt: true } : {}),
      });
    }
    for (const j of scenario.jobs) {
      const schedule =
        j.dueAge !== undefined ? scheduleDueAgo(now, parseDurationSeconds(j.dueAge), this.tz(j.node)) : j.schedule;
      const job = this.putJob(jobReadForm({ ...j, ...(schedule !== undefined ? { schedule } : {}) }), now);
      if (j.skipRuns) job.skip = j.skipRuns;
    }
    for (const r of scenario.replication)
      this.replication.set(`${r.guest}-${r.jobnum}`, replicationJob(r, now, parseDurationSeconds));
    for (const t of scenario.tokens) {
      const { user, name } = splitTokenId(t.id);
      this.tokens.set(t.id, {
        id: t.id,
        user,
        name,
        secret: t.secret,
        privsep: Boolean(t.privsep),
        acl: t.acl,
        ...(t.expire !== undefined ? { expire: t.expire } : {}),
      });
    }
  }

  tz(node: string | null | undefined): string {
    return (node && this.nodes.get(node)?.timezone) || [...this.nodes.values()][0]?.timezone || "UTC";
  }

  addGuest(g: GuestInput): GuestState {
    const guest = guestState(g);
    this.guests.set(g.vmid, guest);
    return guest;
  }

  /** Add an archive (with its `.log` side file on file storages). */
  addArchive(a: {
    storage: string;
    node: string | null;
    vmid: number;
    subtype: "qemu" | "lxc";
    startMs: number;
    format: string;
    size: number;
    notes?: string;
    protected: boolean;
    verification?: "ok" | "failed";
    log?: string[];
    corrupt?: boolean;
  }): ArchiveState {
    const storage = this.storages.get(a.storage);
    if (!storage) throw new Error(`storage '${a.storage}' does not exist`);
    const names = archiveNames(storage, a.subtype, a.vmid, a.startMs, a.format, this.tz(a.node ?? storage.nodes[0]));
    const archive: ArchiveState = {
      storage: a.storage,
      node: storage.shared ? null : a.node,
      vmid: a.vmid,
      subtype: a.subtype,
      ctime: Math.floor(a.startMs / 1000),
      format: names.format,
      size: a.size,
      protected: a.protected,
      file: names.file,
      volid: names.volid,
      log:
        storage.type === "pbs"
          ? null
          : (a.log ?? [
              `${archiveStamp(a.startMs, this.tz(a.node))} INFO: Starting Backup of VM ${a.vmid} (${a.subtype})`,
            ]),
      ...(a.notes !== undefined ? { notes: a.notes } : {}),
      ...(a.verification ? { verification: a.verification } : {}),
      ...(a.corrupt ? { corrupt: true } : {}),
    };
    // Same name twice (same guest, same second) overwrites, as a file would.
    if (this.index().byName.has(archiveKey(archive)))
      this.archives = this.archives.filter((x) => !(x.volid === archive.volid && x.node === archive.node));
    const index = this.index();
    this.archiveList.push(archive);
    this.indexAdd(index, archive);
    return archive;
  }

  /** Archives visible from a node on a storage (a fresh array). */
  archivesOn(storageId: string, node: string): ArchiveState[] {
    const storage = this.storages.get(storageId);
    if (!storage) return [];
    return [...(this.index().byLocation.get(locationKey(storageId, storage.shared ? null : node))?.all ?? [])];
  }

  /** Archives of one guest visible from a node on a storage (a fresh array). */
  archivesOfGuestOn(storageId: string, node: string, vmid: number): ArchiveState[] {
    const storage = this.storages.get(storageId);
    if (!storage) return [];
    return [
      ...(this.index()
        .byLocation.get(locationKey(storageId, storage.shared ? null : node))
        ?.byVmid.get(vmid) ?? []),
    ];
  }

  /** archivesOn, sorted by `compare`; the order is cached until the archive set changes. */
  archivesOnSorted(
    storageId: string,
    node: string,
    cacheKey: string,
    compare: (a: ArchiveState, b: ArchiveState) => number,
  ): ArchiveState[] {
    const storage = this.storages.get(storageId);
    if (!storage) return [];
    const loc = this.index().byLocation.get(locationKey(storageId, storage.shared ? null : node));
    if (!loc) return [];
    let sorted = loc.sorted.get(cacheKey);
    if (!sorted) {
      sorted = [...loc.all].sort(compare);
      loc.sorted.set(cacheKey, sorted);
    }
    return sorted;
  }

  /** Bytes of the archives on a storage as a node sees it (a node-local storage holds only that node's). */
  archiveBytes(storageId: string, node: string): number {
    const storage = this.storages.get(storageId);
    if (!storage) return 0;
    return this.index().bytes.get(locationKey(storageId, storage.shared ? null : node)) ?? 0;
  }

  /**
   * Archives indexed by location (storage, node for local storages) and VMID, so a lab with
   * hundreds of thousands of archives answers per-storage and per-guest listings without
   * scanning them all. Rebuilt whenever the list was replaced or changed length behind its back.
   */
  private index(): ArchiveIndex {
    if (
      this.archiveIndex &&
      this.archiveIndex.list === this.archiveList &&
      this.archiveIndex.length === this.archiveList.length
    )
      return this.archiveIndex;
    const index: ArchiveIndex = {
      list: this.archiveList,
      length: 0,
      byLocation: new Map(),
      byName: new Set(),
      bytes: new Map(),
    };
    for (const a of this.archiveList) this.indexAdd(index, a);
    this.archiveIndex = index;
    return index;
  }

  private indexAdd(index: ArchiveIndex, a: ArchiveState): void {
    const key = locationKey(a.storage, a.node);
    let loc = index.byLocation.get(key);
    if (!loc) {
      loc = { all: [], byVmid: new Map(), sorted: new Map() };
      index.byLocation.set(key, loc);
    }
    loc.all.push(a);
    const forGuest = loc.byVmid.get(a.vmid);
    if (forGuest) forGuest.push(a);
    else loc.byVmid.set(a.vmid, [a]);
    loc.sorted.clear();
    index.byName.add(archiveKey(a));
    index.bytes.set(key, (index.bytes.get(key) ?? 0) + a.size);
    index.length = this.archiveList.length;
  }

  putJob(config: Record<string, unknown>, nowMs: number): JobState {
    const schedule = typeof config.schedule === "string" ? config.schedule : undefined;
    const job: JobState = { config, event: schedule ? parseCalendar(schedule) : null, checkedMs: nowMs, dueMs: null };
    this.refreshJobDue(job);
    this.jobs.set(String(config.id), job);
    return job;
  }

  jobTz(job: JobState): string {
    return this.tz(typeof job.config.node === "string" ? job.config.node : undefined);
  }

  refreshJobDue(job: JobState): void {
    job.dueMs = job.event ? nextEvent(job.event, job.checkedMs, this.jobTz(job)) : null;
  }

  findTask(upid: string): TaskState | undefined {
    return this.tasks.find((t) => t.upid === upid);
  }

  /** vmid → running vzdump (for `lock: "backup"`). */
  lockedGuests(): Set<number> {
    const out = new Set<number>();
    for (const t of this.tasks) if (t.vz?.current && t.endMs === null) out.add(t.vz.current.guest.vmid);
    return out;
  }
}
