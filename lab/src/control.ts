/**
 * LabControl: how tests and the demo change the world behind the API (guests come and go,
 * archives appear, privileges change, backups fail, the node misbehaves).
 */
import {
  AclEntrySchema,
  ArchiveSchema,
  GuestSchema,
  resolveWhen,
  type AclEntryInput,
  type ScenarioGuest,
} from "./scenario.js";
import type { LabFault } from "./faults.js";
import type { LabServer } from "./server.js";
import { archiveFormat, defaultArchiveSize, logFileName } from "./archives.js";
import type { LabState } from "./state.js";
import { runJobsNow, settle } from "./tasks.js";
import { stopTask } from "./vzdump.js";

export interface AddArchiveInput {
  vmid: number;
  storage: string;
  node?: string;
  /** Seconds before now (lab clock). */
  ageSeconds?: number;
  /** Epoch seconds or ms (values below 1e11 are taken as seconds) or an ISO string. */
  ctime?: number | string;
  size?: number;
  format?: string;
  subtype?: "qemu" | "lxc";
  notes?: string;
  protected?: boolean | 0 | 1;
}

export interface LabControl {
  /** Advance tasks and jobs to the clock's now (requests do this on their own). */
  settle(): void;
  addGuest(guest: ScenarioGuest): void;
  removeGuest(vmid: number): void;
  moveGuest(vmid: number, node: string): void;
  setGuestStatus(vmid: number, status: "running" | "stopped" | "paused"): void;
  /** Returns the new archive's volid. */
  addArchive(input: AddArchiveInput): string;
  removeArchive(volid: string): boolean;
  /** Damage an archive's file: zstd/vma/tar run over the SSH double fail on it. */
  corruptArchive(volid: string): void;
  /** Files in a storage's dump directory (archives plus `.log`/`.notes`/`.protected` side files). */
  listFiles(storage: string, node?: string): string[];
  /** Replace a token's ACL entries. */
  setTokenPrivileges(tokenId: string, acl: AclEntryInput[]): void;
  /** The next backup of this guest fails with `reason` (one-shot). */
  failNextBackup(vmid: number, reason: string): void;
  /** The next backup of this guest hangs: it never ends and prints no progress until its task is stopped (one-shot). */
  hangNextBackup(vmid: number): void;
  /** The job's next `runs` scheduled runs do not happen (as if its node was down then); default 1. */
  skipNextRuns(jobId: string, runs?: number): void;
  /** The next restore (qmrestore/vzrestore) task fails with this error. */
  failNextRestore(reason: string): void;
  setFault(fault: LabFault | null): void;
  /** Start every enabled job now (or the given job, enabled or not); returns the UPIDs. */
  runScheduledJobsNow(jobId?: string): string[];
  setJobEnabled(jobId: string, enabled: boolean): void;
  setNodeStatus(node: string, status: "online" | "offline"): void;
  setStorageActive(storage: string, active: boolean): void;
  /** Stop a running task (as DELETE /nodes/{n}/tasks/{upid}). */
  stopTask(upid: string): void;
  /** Escape hatch for tests that need to look at everything. */
  readonly state: LabState;
}

function must<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`lab: ${what} does not exist`);
  return v;
}

export function createControl(state: LabState, server: LabServer): LabControl {
  const now = (): number => state.clock.now();
  const sync = (): void => settle(state, now());
  return {
    state,
    settle: sync,
    addGuest(guest) {
      const g = GuestSchema.parse(guest);
      must(state.nodes.get(g.node), `node '${g.node}'`);
      sync();
      state.addGuest(g);
    },
    removeGuest(vmid) {
      sync();
      must(state.guests.get(vmid), `guest ${vmid}`);
      state.guests.delete(vmid);
    },
    moveGuest(vmid, node) {
      must(state.nodes.get(node), `node '${node}'`);
      sync();
      must(state.guests.get(vmid), `guest ${vmid}`).node = node;
    },
    setGuestStatus(vmid, status) {
      sync();
      must(state.guests.get(vmid), `guest ${vmid}`).status = status;
    },
    addArchive(input) {
      sync();
      const storage = must(state.storages.get(input.storage), `storage '${input.storage}'`);
      const guest = state.guests.get(input.vmid);
      const subtype = input.subtype ?? guest?.type ?? "qemu";
      let startMs: number;
      if (typeof input.ctime === "string") startMs = Date.parse(input.ctime);
      else if (typeof input.ctime === "number") startMs = input.ctime < 1e11 ? input.ctime * 1000 : input.ctime;
      else startMs = resolveWhen({ ageSeconds: input.ageSeconds ?? 0 }, now());
      // Validate the shape the same way scenario archives are validated.
      ArchiveSchema.parse({
        vmid: input.vmid,
        storage: input.storage,
        ageSeconds: 0,
        subtype,
        ...(input.format ? { format: input.format } : {}),
      });
      const node = storage.shared
        ? null
        : (input.node ?? (guest && storage.nodes.includes(guest.node) ? guest.node : (storage.nodes[0] ?? null)));
      return state.addArchive({
        storage: input.storage,
        node,
        vmid: input.vmid,
        subtype,
        startMs,
        format: input.format ?? archiveFormat(subtype, "zstd"),
        size: input.size ?? guest?.archiveSize ?? defaultArchiveSize({ type: subtype, vmid: input.vmid }),
        protected: Boolean(input.protected),
        ...(input.notes !== undefined ? { notes: input.notes } : {}),
      }).volid;
    },
    removeArchive(volid) {
      const before = state.archives.length;
      state.archives = state.archives.filter((a) => a.volid !== volid);
      return state.archives.length !== before;
    },
    corruptArchive(volid) {
      const hits = state.archives.filter((a) => a.volid === volid);
      if (!hits.length) throw new Error(`no archive ${volid}`);
      for (const a of hits) a.corrupt = true;
    },
    listFiles(storageId, node) {
      sync();
      const storage = must(state.storages.get(storageId), `storage '${storageId}'`);
      const files: string[] = [];
      for (const a of state.archivesOn(storageId, node ?? storage.nodes[0] ?? "")) {
        files.push(a.file);
        if (a.log) files.push(logFileName(a.file));
        if (a.notes !== undefined && storage.type !== "pbs") files.push(`${a.file}.notes`);
        if (a.protected && storage.type !== "pbs") files.push(`${a.file}.protected`);
      }
      return files.sort();
    },
    setTokenPrivileges(tokenId, acl) {
      const token = must(state.tokens.get(tokenId), `token '${tokenId}'`);
      token.acl = acl.map((e) => AclEntrySchema.parse(e));
    },
    failNextRestore(reason) {
      state.restoreFailNext = reason;
    },
    failNextBackup(vmid, reason) {
      sync();
      must(state.guests.get(vmid), `guest ${vmid}`).failNext = reason;
    },
    hangNextBackup(vmid) {
      sync();
      must(state.guests.get(vmid), `guest ${vmid}`).hangNext = true;
    },
    skipNextRuns(jobId, runs = 1) {
      sync();
      const job = must(state.jobs.get(jobId), `job '${jobId}'`);
      job.skip = (job.skip ?? 0) + runs;
    },
    setFault(fault) {
      server.setFault(fault);
    },
    runScheduledJobsNow(jobId) {
      sync();
      if (jobId !== undefined) must(state.jobs.get(jobId), `job '${jobId}'`);
      const upids = runJobsNow(state, now(), jobId).map((t) => t.upid);
      sync();
      return upids;
    },
    setJobEnabled(jobId, enabled) {
      sync();
      const job = must(state.jobs.get(jobId), `job '${jobId}'`);
      job.config.enabled = enabled ? 1 : 0;
      job.checkedMs = now();
      state.refreshJobDue(job);
    },
    setNodeStatus(node, status) {
      sync();
      must(state.nodes.get(node), `node '${node}'`).status = status;
    },
    setStorageActive(storageId, active) {
      must(state.storages.get(storageId), `storage '${storageId}'`).active = active;
    },
    stopTask(upid) {
      sync();
      stopTask(state, must(state.findTask(upid), `task '${upid}'`), now());
    },
  };
}
