/**
 * Evidence: what the sources found, in plain typed objects. Sources produce it, the pure
 * policy consumes it. Times are epoch milliseconds. Identity of a guest is source + VMID.
 */

import type { Phrase } from "./words/phrase.js";
import type { ArchiveSet } from "./archive-set.js";

export type GuestType = "qemu" | "lxc";

export interface GuestInfo {
  /** Name of the Proxmox source (cluster) this guest belongs to. */
  source: string;
  vmid: number;
  name: string;
  type: GuestType;
  node: string;
  tags: string[];
  template: boolean;
  pool?: string;
  /** "backup" while PVE holds a backup lock on it. */
  lock?: string;
}

export interface Archive {
  source: string;
  volid: string;
  storage: string;
  /** The node whose local storage holds it; undefined on shared storages. */
  node?: string;
  vmid: number;
  ctimeMs: number;
  size: number;
  format: string;
  notes?: string;
  protected: boolean;
  /** PBS verification state, when the storage is PBS and a verify ran. */
  verification?: "ok" | "failed";
}

/** One guest's part of one vzdump task. */
export interface BackupAttempt {
  source: string;
  vmid: number;
  upid: string;
  node: string;
  startMs: number;
  /** Undefined while running. */
  endMs?: number;
  result: "running" | "ok" | "warnings" | "failed";
  /** Error text for failed attempts ("ERROR: Backup of VM 102 failed - <this>"). */
  error?: string;
  /** Percent done while running, from the task log's progress lines. */
  progress?: number;
  /**
   * While running: when the bridge last saw a new line in the task's log (a qemu backup prints a
   * progress line about every percent; a container's tar prints none, so any line counts).
   */
  lastLogMs?: number;
  /** While running: the task waits for the node's global vzdump lock (another vzdump runs there). */
  waitingForLock?: boolean;
}

export interface BackupJob {
  source: string;
  id: string;
  enabled: boolean;
  schedule?: string;
  nextRunMs?: number;
  /** Selection: explicit VMIDs, or all (minus exclude), or a pool. */
  vmids?: number[];
  all?: boolean;
  exclude?: number[];
  pool?: string;
  node?: string;
  storage?: string;
  /** vzdump's `mode`, `compress` and `notes-template` as the job sets them (a manual backup of its guest uses them too). */
  mode?: string;
  compress?: string;
  notesTemplate?: string;
  pruneBackups?: Record<string, number>;
  comment?: string;
  /** `repeat-missed`: PVE runs a run missed while the node was down when it is back. */
  repeatMissed?: boolean;
}

export interface SourceHealth {
  name: string;
  kind: "proxmox" | "synology" | "pbs";
  /** Reachable and answering readable data on the last refresh. */
  up: boolean;
  /** Reachable but some answer could not be read (malformed JSON, wrong types). */
  degraded: boolean;
  error?: string;
  lastSuccessMs?: number;
}

/**
 * Why a guest's archives cannot be trusted to be complete on this refresh: a storage listing
 * failed, or the token may not see this guest's backups (PVE answers 200 [] then).
 */
export interface VisibilityProblem {
  source: string;
  /** undefined = applies to every guest of the source. */
  vmid?: number;
  reason: string;
}

export interface Evidence {
  sources: SourceHealth[];
  guests: GuestInfo[];
  /** Read per guest (archive-set.ts); build one from a list with archiveSet(). */
  archives: ArchiveSet;
  attempts: BackupAttempt[];
  jobs: BackupJob[];
  /** false when the job list could not be read (e.g. no Sys.Audit): coverage is then unknown. */
  jobsReadable: Record<string, boolean>;
  /**
   * The retention (`prune-backups`) of PVE storages, by "<source>/<storage>": what a job without its
   * own `prune-backups` keeps on that storage. A storage without an entry has no retention set (PVE
   * then keeps every backup), or the token may not see its configuration (GET /storage lists only
   * storages with Datastore.Audit or Datastore.AllocateSpace); absent when no source read it.
   */
  storagePrune?: Record<string, Record<string, number>>;
  visibility: VisibilityProblem[];
  /** VMIDs PVE itself lists as not covered by any job (/cluster/backup-info/not-backed-up). */
  notBackedUp?: Record<string, number[]>;
  /**
   * The time zone each source's nodes evaluate backup job schedules in (GET /nodes/{node}/time), per
   * source; a source not listed: the config's timezone.
   */
  jobTimeZones?: Record<string, string>;
  /** Nodes Proxmox lists as not online, per source (absent = not known). */
  offlineNodes?: Record<string, string[]>;
  /**
   * Nodes whose other users' tasks the token may not see (no Sys.Audit on /nodes/<node>, pve-manager
   * PVE/API2/Tasks.pm), per source: a scheduled job's run (root@pam) would be invisible there.
   */
  hiddenTaskNodes?: Record<string, string[]>;
  /** Integrity checks the bridge ran itself (over SSH), newest last. Absent = none recorded. */
  verifications?: Verification[];
  /** Sources whose archives the bridge can verify (SSH configured): verify_overdue is judged only there. */
  verifiable?: Record<string, boolean>;
  /** Restore tests the bridge ran, newest last. */
  restoreTests?: RestoreTest[];
  /**
   * What carries PVE backup storages elsewhere (Hyper Backup tasks, PBS sync jobs, off-site PBS).
   * Absent when no Synology or PBS source is configured: the 3-2-1 findings are then not evaluated.
   */
  offsite?: OffsiteEvidence;
  /** PVE storages' mount sources (GET /storage); absent when not read. */
  storageMounts?: StorageMount[];
  /** Guests' disks (included_volumes per job, the config for guests no job selects); absent when not read. */
  guestDisks?: GuestDisks[];
  /** Hyper Backup tasks with what they back up; absent when no Synology source is configured. */
  hyperBackup?: HyperBackupTaskEvidence[];
}

/** One thing that copies a PVE backup storage somewhere else (a Hyper Backup task, a PBS sync job). */
export interface CopyTarget {
  kind: "hyperbackup" | "pbs_sync";
  /** Name of the Synology/PBS source. */
  source: string;
  id: string;
  /** For logs: "Hyper Backup task 'PVE to C2' on nas". */
  label: string;
  /** The same for reasons, as a phrase each language renders ("target.hyperbackup" …). */
  labelPhrase?: Phrase;
  /** PVE storage ids whose archives it carries. */
  storages: string[];
  /** The copy lands at another site. */
  offsite: boolean;
  /** End of its newest successful run (ms); null = never succeeded (as far as the source says). */
  lastSuccessMs: number | null;
  /** false while its source is unreachable or unreadable: whether it holds a copy is unknown. */
  readable: boolean;
}

export interface OffsiteEvidence {
  targets: CopyTarget[];
  /** PVE storage ids that are themselves at another site (a datastore on an off-site PBS). */
  offsiteStorages: string[];
}

/** One integrity check of one archive (zstd -t / vma verify / tar listing over SSH). */
export interface Verification {
  source: string;
  vmid: number;
  volid: string;
  timeMs: number;
  ok: boolean;
  reason?: string;
}

/** One restore of an archive to a scratch guest, checked and destroyed: the same facts as a check. */
export type RestoreTest = Verification;

/**
 * Where a PVE storage mounts from, as storage.cfg holds it (GET /storage; pve-storage NFSPlugin:
 * `server` + `export`, `path` being only PVE's mount point; CIFSPlugin: `server` + `share` + `subdir`).
 * Other types carry only their id and type: they are linked to a Hyper Backup task by config alone.
 */
export interface StorageMount {
  source: string;
  storage: string;
  type: string;
  server?: string;
  /** NFS: the exported path on the server ("/volume1/proxmox"). */
  export?: string;
  /** CIFS: the share name ("proxmox") and the sub-directory inside it ("/pve"), when set. */
  share?: string;
  subdir?: string;
}

/** One disk of a guest as vzdump would back it up (GET /cluster/backup/{id}/included_volumes, or the guest's config). */
export interface GuestDisk {
  /** Config key: "scsi0", "efidisk0", "tpmstate0", "rootfs", "mp0". */
  key: string;
  /** The PVE storage it lies on; undefined for a passthrough disk or a container bind mount. */
  storage?: string;
  /** The volume as PVE names it ("nas-nfs:100/vm-100-disk-0.qcow2", "/dev/disk/by-id/ata-…", "/srv/data"). */
  volume: string;
  /** A physical disk passed through (qemu "/dev/…") or a container bind mount ("/path"): no storage backs it. */
  passthrough?: boolean;
}

/**
 * The disks of one guest that a backup must hold: CD-ROMs, cloud-init drives and disks with
 * `backup=0` already left out; EFI and TPM state disks counted.
 */
export interface GuestDisks {
  source: string;
  vmid: number;
  disks: GuestDisk[];
  /** Where the list came from. */
  from: "included_volumes" | "config";
  /**
   * The guest's configuration as GET /nodes/{node}/{type}/{vmid}/config returns it (digest left out),
   * when read: kept for the report, since a Hyper Backup file copy of the disks holds none.
   */
  config?: Record<string, string | number>;
}

/** A Hyper Backup task as the coverage rules see it (what it backs up, when, and its last success). */
export interface HyperBackupTaskEvidence {
  /** Name of the Synology source. */
  source: string;
  /** The NAS as PVE storages name it: its URL's host and the addresses it resolves to. */
  nasHosts: string[];
  taskId: number;
  name: string;
  /**
   * The shared folders and sub-folders it backs up (DSM 7 SYNO.Backup.Task `source.folder_list`, or
   * `file_list`); null when DSM did not say (DSM 6, or the call was refused): only the config links it then.
   */
  folders: { folderPath: string; fullPath: string; valid: boolean }[] | null;
  /** Paths excluded from it (`source.backup_filter.exclude_list`), as DSM writes them. */
  excludes: string[];
  /** `synology[].tasks.<task>.protects` from the config; null when not configured (then detected). */
  configuredStorages: string[] | null;
  /** Its schedule; null when unknown. `weekDays` 0 = Sunday (DSM `week_name`); `repeatHours` 0 = once a day. */
  schedule: { enabled: boolean; weekDays: number[]; hour: number; minute: number; repeatHours: number } | null;
  /** End of its newest successful run (ms); null = never (as far as DSM says). */
  lastSuccessMs: number | null;
  offsite: boolean;
  /** false while the NAS is unreachable or unreadable. */
  readable: boolean;
  /** Its newest backup integrity check, when the Hyper Backup log says. */
  integrity: { timeMs: number; ok: boolean } | null;
}
