/**
 * Hyper Backup as a guest's own backup, pure: which Hyper Backup tasks copy which guest disks, and
 * what such a copy is worth to a tier.
 *
 * A disk of a guest lies on a PVE storage; a file-based storage keeps it at
 * `<storage path>/images/<vmid>/<file>` (pve-storage PVE/Storage/Plugin.pm `get_subdir` "images" and
 * `filesystem_path`: `$imagedir/$vmid/$name`). An NFS storage mounts `<server>:<export>`, a CIFS
 * storage `//<server>/<share><subdir>` (PVE/Storage/NFSPlugin.pm, CIFSPlugin.pm), so on the NAS the
 * disk file is `<export>/images/<vmid>/<file>` (a full path, "/volume1/proxmox/…") or
 * `/<share><subdir>/images/<vmid>/<file>` (share-relative, as DSM's `folderPath` writes it).
 * A Hyper Backup task copies a disk when one of its valid source folders (DSM 7 SYNO.Backup.Task
 * `source.folder_list[]`: `fullPath` "/volume1/<share>[/sub]", `folderPath` "/<share>[/sub]",
 * `isValidSource`, `missing`) is a prefix of that path, no exclude is, and the storage's server is
 * this NAS. Storages of other kinds (iSCSI, hand-made `dir` mounts) are linked only by the config
 * (`synology[].tasks.<task>.protects`), which wins over detection.
 *
 * Such a copy is a file copy taken while the guest may write: not a point-in-time image unless the
 * guest was stopped, and without the guest's configuration (/etc/pve). It counts as a backup of a
 * guest only when every disk the guest's backup must hold is copied.
 */
import type { GuestDisk, GuestInfo, HyperBackupTaskEvidence, StorageMount } from "../evidence.js";
import type { Tier } from "../config/tiers.js";

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** One task's part in copying one guest. */
export interface DiskCopy {
  disk: GuestDisk;
  /** Tasks that copy this disk. */
  tasks: HyperBackupTaskEvidence[];
}

/** Why a disk is not copied by any task, in parameters for a phrase. */
export interface DiskGap {
  disk: GuestDisk;
  /** "passthrough": nothing on a storage to copy; "not_in_task": on a NAS storage no task includes; "excluded": a task's exclude list leaves it out; "missing": the task's folder is missing on the NAS; "elsewhere": not on a storage of a watched NAS. */
  why: "passthrough" | "not_in_task" | "excluded" | "missing" | "elsewhere";
  /** The NAS that holds the storage, when known. */
  nas?: string;
  /** The folder on the NAS to add to a task (share-relative), when known. */
  folder?: string;
}

export interface GuestHyperBackup {
  /** Every disk copied by some task. */
  covered: boolean;
  copies: DiskCopy[];
  gaps: DiskGap[];
  /**
   * When the guest's disks were last all copied: per disk the newest success among its tasks, the
   * oldest of those (ms); null when a disk was never copied or a task's NAS cannot be read.
   */
  lastCopyMs: number | null;
  /** Tasks that copy every disk of the guest (each is one whole copy of it, for 3-2-1). */
  wholeTasks: HyperBackupTaskEvidence[];
  /** Covered, but a copying task's NAS cannot be read now: when the disks were last copied is unknown. */
  unreadable: boolean;
}

/** Where a storage's root lies on the NAS: as a full path "/volume1/<share>…" (NFS export) and share-relative "/<share>…" (DSM folderPath; CIFS). */
function storageRoot(mount: StorageMount): { full?: string; folder?: string } | null {
  if (mount.type === "nfs" && mount.export) {
    const full = trimSlash(mount.export);
    // DSM exports shared folders as /volumeN/<share>: the share-relative form drops the volume.
    const m = /^\/volume[^/]+(\/.*)$/.exec(full);
    return { full, ...(m ? { folder: m[1] } : {}) };
  }
  if (mount.type === "cifs" && mount.share) {
    const sub = mount.subdir ? `/${trimSlash(mount.subdir).replace(/^\//, "")}` : "";
    return { folder: `/${mount.share}${sub}` };
  }
  return null;
}

/** `root` + `/rel` in both forms. */
function below(root: { full?: string; folder?: string }, rel: string): { full?: string; folder?: string } {
  return {
    ...(root.full ? { full: `${root.full}/${rel}` } : {}),
    ...(root.folder ? { folder: `${root.folder}/${rel}` } : {}),
  };
}

/** Where a disk's file lies on the NAS, both as a full path (NFS export) and share-relative (CIFS). */
export function nasPaths(
  disk: GuestDisk,
  vmid: number,
  mount: StorageMount,
): { full?: string; folder?: string } | null {
  if (!disk.storage || disk.passthrough) return null;
  const root = storageRoot(mount);
  if (!root) return null;
  const volname = disk.volume.slice(disk.volume.indexOf(":") + 1);
  return below(root, `images/${volname.includes("/") ? volname : `${vmid}/${volname}`}`);
}

/** A valid folder of the task holds this path and no exclude takes it out. */
function taskHolds(task: HyperBackupTaskEvidence, at: { full?: string; folder?: string }): "yes" | DiskGap["why"] {
  const matches = (p: string) =>
    p.startsWith("/volume") ? !!at.full && under(at.full, p) : !!at.folder && under(at.folder, p);
  const holding = task.folders?.filter((f) => matches(f.fullPath) || matches(f.folderPath)) ?? [];
  if (!holding.length) return "not_in_task";
  if (!holding.some((f) => f.valid)) return "missing";
  if (task.excludes.some(matches)) return "excluded";
  return "yes";
}

const trimSlash = (p: string) => p.replace(/\/+$/, "");
/** `prefix` is `path` or a parent directory of it. */
const under = (path: string, prefix: string) => {
  const p = trimSlash(prefix);
  return path === p || path.startsWith(`${p}/`);
};

function serverIsNas(mount: StorageMount, task: HyperBackupTaskEvidence): boolean {
  const server = mount.server?.toLowerCase().replace(/^\[|\]$/g, "");
  return !!server && task.nasHosts.some((h) => h.toLowerCase() === server);
}

/** Does this task copy this disk? Why not, when it is on this task's NAS but not copied. */
function taskCopies(
  disk: GuestDisk,
  vmid: number,
  mount: StorageMount | undefined,
  task: HyperBackupTaskEvidence,
): true | DiskGap | null {
  if (task.configuredStorages) return disk.storage && task.configuredStorages.includes(disk.storage) ? true : null;
  if (!mount || !task.folders || !serverIsNas(mount, task)) return null;
  const at = nasPaths(disk, vmid, mount);
  if (!at) return null;
  const held = taskHolds(task, at);
  return held === "yes" ? true : { disk, why: held, nas: task.source, ...(at.folder ? { folder: at.folder } : {}) };
}

/**
 * Which tasks copy which of the guest's disks. `disks` undefined = unknown (nothing can be said).
 * Only readable tasks' facts count for `lastCopyMs`; an unreadable NAS makes it null.
 */
export function guestHyperBackup(
  guest: GuestInfo,
  disks: GuestDisk[] | undefined,
  mounts: StorageMount[],
  tasks: HyperBackupTaskEvidence[],
): GuestHyperBackup | null {
  if (!disks?.length || !tasks.length) return null;
  const mountOf = (storage: string | undefined) =>
    mounts.find((m) => m.source === guest.source && m.storage === storage);
  const copies: DiskCopy[] = [];
  const gaps: DiskGap[] = [];
  for (const disk of disks) {
    if (disk.passthrough) {
      gaps.push({ disk, why: "passthrough" });
      continue;
    }
    const mount = mountOf(disk.storage);
    const by: HyperBackupTaskEvidence[] = [];
    let gap: DiskGap | undefined;
    for (const t of tasks) {
      const r = taskCopies(disk, guest.vmid, mount, t);
      if (r === true) by.push(t);
      else if (r && (!gap || gapRank(r) > gapRank(gap))) gap = r;
    }
    if (by.length) copies.push({ disk, tasks: by });
    else gaps.push(gap ?? { disk, why: "elsewhere" });
  }
  const covered = gaps.length === 0;
  let lastCopyMs: number | null = null;
  if (covered) {
    const perDisk = copies.map((c) =>
      c.tasks.some((t) => !t.readable)
        ? null
        : c.tasks.reduce<number | null>(
            (m, t) => (t.lastSuccessMs !== null && (m === null || t.lastSuccessMs > m) ? t.lastSuccessMs : m),
            null,
          ),
    );
    lastCopyMs = perDisk.includes(null) ? null : Math.min(...(perDisk as number[]));
  }
  const wholeTasks = tasks.filter((t) => copies.length === disks.length && copies.every((c) => c.tasks.includes(t)));
  const unreadable = covered && lastCopyMs === null && copies.some((c) => c.tasks.some((t) => !t.readable));
  return { covered, copies, gaps, lastCopyMs, wholeTasks, unreadable };
}

/** The most telling reason wins when several tasks miss a disk. */
const gapRank = (g: DiskGap) => ({ elsewhere: 0, not_in_task: 1, missing: 2, excluded: 3, passthrough: 4 })[g.why];

/**
 * The longest gap between two runs of a task's schedule (ms); null when it has no enabled schedule.
 * DSM's `week_name` lists the weekdays it runs on (0 = Sunday); `repeat_hour` > 0 repeats it every
 * that many hours on those days (from the start hour to the day's end, SYNO.Backup.Task schedule).
 */
export function taskMaxGapMs(schedule: HyperBackupTaskEvidence["schedule"]): number | null {
  if (!schedule?.enabled || !schedule.weekDays.length) return null;
  const days = [...new Set(schedule.weekDays)].filter((d) => d >= 0 && d <= 6).sort((a, b) => a - b);
  if (!days.length) return null;
  let gapDays = 0;
  for (let i = 0; i < days.length; i++) {
    const next = i + 1 < days.length ? days[i + 1]! : days[0]! + 7;
    gapDays = Math.max(gapDays, next - days[i]!);
  }
  const startMs = schedule.hour * HOUR + schedule.minute * 60_000;
  if (schedule.repeatHours > 0 && gapDays === 1) {
    // Runs every repeatHours from the start until midnight; the night's gap is from the last run to the next start.
    const runs = Math.floor((DAY - 1 - startMs) / (schedule.repeatHours * HOUR));
    const lastRunMs = startMs + runs * schedule.repeatHours * HOUR;
    return Math.max(schedule.repeatHours * HOUR, DAY - lastRunMs + startMs);
  }
  return gapDays * DAY;
}

/** Does a tier take Hyper Backup file copies as backups (tier `accepts`)? */
export const acceptsHyperBackup = (tier: Tier | null) => !!tier && tier.accepts.includes("hyperbackup");
/** Does a tier take vzdump archives (on PVE storages or PBS) as backups? */
export const acceptsVzdump = (tier: Tier | null) => !tier || tier.accepts.includes("vzdump");

/**
 * Whether the tasks that copy the guest run often enough for its tier: every disk has a task with an
 * enabled schedule at least as frequent as the tier's max age. The first too-rare task otherwise.
 */
export function scheduledOftenEnough(
  hb: GuestHyperBackup,
  tier: Tier,
): { ok: true } | { ok: false; task: HyperBackupTaskEvidence; every: number | null } {
  let worst: { task: HyperBackupTaskEvidence; every: number | null } | undefined;
  for (const c of hb.copies) {
    const often = c.tasks.find((t) => {
      if (t.schedule === null) return true; // a schedule DSM did not show is not held against the owner
      const gap = taskMaxGapMs(t.schedule);
      return gap !== null && gap <= tier.maxAgeMs;
    });
    if (often) continue;
    const t = c.tasks[0]!;
    worst ??= { task: t, every: taskMaxGapMs(t.schedule) };
  }
  return worst ? { ok: false, ...worst } : { ok: true };
}

/**
 * The PVE storages whose vzdump archives a task copies (the off-site use of a Hyper Backup task):
 * the config's `protects`, else every NFS/CIFS storage of this NAS whose dump directory
 * (`<export>/dump`, `/<share><subdir>/dump`: pve-storage Plugin.pm `get_subdir` "backup" → "dump")
 * lies in a valid, non-excluded source folder.
 */
export function taskStorages(task: HyperBackupTaskEvidence, mounts: StorageMount[]): string[] {
  if (task.configuredStorages) return task.configuredStorages;
  if (!task.folders) return [];
  const out: string[] = [];
  for (const m of mounts) {
    if (!serverIsNas(m, task)) continue;
    const root = storageRoot(m);
    if (root && taskHolds(task, below(root, "dump")) === "yes") out.push(m.storage);
  }
  return out;
}
