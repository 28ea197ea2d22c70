/**
 * The lab's mutable world: nodes, storages, guests, archives, jobs, tasks, tokens. Routes read
 * it, the task engine (tasks.ts) advances it, LabControl mutates it. Built from a scenario.
 * Archive naming and indexing live in archives.ts, task records in workers.ts.
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
import { nextEvent, parseCalendar, type CalendarEvent } from "./calendar.js";
import type { Clock } from "./clock.js";
import { resolveWhen, type ResolvedScenario, type ScenarioJob } from "./scenario.js";
import { archiveStamp } from "./timezone.js";
import type { TaskState } from "./workers.js";

export interface NodeState {
  name: string;
  timezone: string;
  status: "online" | "offline";
  bootMs: number;
  maxcpu: number;
  maxmem: number;
  nextPid: number;
  /** When the vzdump lock was last released (one vzdump per node at a time). */
  lockFreeMs: number;
}

export interface StorageState {
  id: string;
  type: string;
  shared: boolean;
  content: string[];
  nodes: string[];
  path: string;
  total: number;
  used: number;
  enabled: boolean;
  active: boolean;
  pruneBackups?: Record<string, string>;
}

export interface GuestState {
  vmid: number;
  type: "qemu" | "lxc";
  name: string;
  node: string;
  status: "running" | "stopped" | "paused";
  tags: string[];
  template: boolean;
  pool?: string;
  backupSeconds?: number;
  archiveSize?: number;
  warn?: string;
  failReason?: string;
  /** One-shot failure set by LabControl.failNextBackup. */
  failNext?: string;
  cpus: number;
  maxmem: number;
  maxdisk: number;
}

export interface JobState {
  /** In PVE's read form: 0/1 booleans, vmid/exclude comma strings, prune-backups string values. */
  config: Record<string, unknown>;
  event: CalendarEvent | null;
  /** Scheduler bookkeeping: occurrences up to here have been handled. */
  checkedMs: number;
  /** Cached next occurrence after checkedMs (node-local time of the job's node). */
  dueMs: number | null;
}

function toVmidString(v: number[] | string | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v)
    ? v.join(",")
    : v
        .split(",")
        .map((s) => s.trim())
        .join(",");
}

/** A scenario job (or API body) in PVE's read form. */
export function jobReadForm(j: Partial<ScenarioJob> & { id: string }): Record<string, unknown> {
  const out: Record<string, unknown> = { id: j.id, type: "vzdump" };
  for (const [k, v] of Object.entries(j)) {
    if (v === undefined || k === "id") continue;
    if (k === "vmid" || k === "exclude") out[k] = toVmidString(v as number[] | string);
    else if (k === "prune-backups")
      out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([pk, pv]) => [pk, String(pv)]));
    else if (typeof v === "boolean") out[k] = v ? 1 : 0;
    else if (k === "compress") out[k] = String(v);
    else out[k] = v;
  }
  return out;
}

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
    let pidBase = 0x1f000;
    for (const n of scenario.nodes) {
      pidBase += 0x31337;
      this.nodes.set(n.name, {
        name: n.name,
        timezone: n.timezone,
        status: n.status,
        bootMs: now - n.uptimeSeconds * 1000,
        maxcpu: n.maxcpu,
        maxmem: n.maxmem,
        nextPid: pidBase,
        lockFreeMs: -Infinity,
      });
    }
    const allNodes = scenario.nodes.map((n) => n.name);
    for (const s of scenario.storages) {
      const shared = s.shared === undefined ? ["nfs", "cifs", "pbs", "cephfs"].includes(s.type) : Boolean(s.shared);
      this.storages.set(s.id, {
        id: s.id,
        type: s.type,
        shared,
        content: typeof s.content === "string" ? s.content.split(",").map((c) => c.trim()) : s.content,
        nodes: s.nodes ?? allNodes,
        path: s.path ?? (s.type === "dir" ? (s.id === "local" ? "/var/lib/vz" : `/mnt/${s.id}`) : `/mnt/pve/${s.id}`),
        total: s.total,
        used: s.used,
        enabled: Boolean(s.enabled),
        active: Boolean(s.active),
        ...(s["prune-backups"]
          ? { pruneBackups: Object.fromEntries(Object.entries(s["prune-backups"]).map(([k, v]) => [k, String(v)])) }
          : {}),
      });
    }
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
    for (const j of scenario.jobs) this.putJob(jobReadForm(j), now);
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

  addGuest(g: {
    vmid: number;
    type: "qemu" | "lxc";
    name: string;
    node: string;
    status?: GuestState["status"];
    tags?: string[] | string;
    template?: boolean | 0 | 1;
    pool?: string;
    backupSeconds?: number;
    archiveSize?: number;
    warn?: string;
    failReason?: string;
    cpus?: number;
    maxmem?: number;
    maxdisk?: number;
  }): GuestState {
    const guest: GuestState = {
      vmid: g.vmid,
      type: g.type,
      name: g.name,
      node: g.node,
      status: g.status ?? "running",
      tags: typeof g.tags === "string" ? g.tags.split(/[;,\s]+/).filter(Boolean) : (g.tags ?? []),
      template: Boolean(g.template),
      cpus: g.cpus ?? 2,
      maxmem: g.maxmem ?? 4_294_967_296,
      maxdisk: g.maxdisk ?? 34_359_738_368,
      ...(g.pool !== undefined ? { pool: g.pool } : {}),
      ...(g.backupSeconds !== undefined ? { backupSeconds: g.backupSeconds } : {}),
      ...(g.archiveSize !== undefined ? { archiveSize: g.archiveSize } : {}),
      ...(g.warn !== undefined ? { warn: g.warn } : {}),
      ...(g.failReason !== undefined ? { failReason: g.failReason } : {}),
    };
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

  /** Bytes of all archives on a storage (every node). */
  archiveBytes(storageId: string): number {
    return this.index().bytes.get(storageId) ?? 0;
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
    index.bytes.set(a.storage, (index.bytes.get(a.storage) ?? 0) + a.size);
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
