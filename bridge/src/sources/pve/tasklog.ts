/**
 * Per-guest outcome of a vzdump task, from its log (the lines pve-manager's PVE/VZDump.pm writes). A job task covers many
 * guests and ends "job errors" when one fails, so the task's exit status alone cannot say
 * which guest failed. Lines carry no timestamps.
 *
 * What a log holds, as real PVE writes it (each fact's source in pve-manager, pve-common,
 * pve-guest-common, pve-storage, qemu-server, pve-container and proxmox-backup):
 * - vzdump's own lines are "INFO: …", "WARN: …" or "ERROR: …"; a message of several lines gets
 *   the prefix on each (pve-guest-common PVE/VZDump/Plugin.pm debugmsg), so an error can go on
 *   in further "ERROR: " lines.
 * - Output of commands run without a log function reaches the log as is: rbd's "/dev/rbd12" and
 *   "Removing snap: 100% complete...done." (pve-storage RBDPlugin.pm run_rbd_command), "trying to
 *   acquire lock...". These say nothing about a guest's result and are skipped, as are empty lines
 *   (some logs have one before the final TASK line).
 * - "INFO: starting new backup job: vzdump <vmids> --opt …" (the job's options, never its id),
 *   then "INFO: skip external VMs: 112, 123" for the selected guests on other nodes: those are
 *   backed up by the same job's task on their own node, not here.
 * - Per guest: "INFO: Starting Backup of VM n (qemu|lxc)" … "INFO: Finished Backup of VM n
 *   (hh:mm:ss)", or "ERROR: Backup of VM n failed - <reason>". A guest can fail before its
 *   "Starting Backup" line (the max backup limit of the target storage is checked first).
 * - Size lines ("archive file size: 1.60GB"; on PBS "backup was done incrementally, reused …",
 *   "transferred …", and a container's "root.pxar: had to backup X of Y (compressed Z) in Ns" —
 *   "had to upload X of Y in Ns, average speed …)." before proxmox-backup-client 1.0.12) belong
 *   to the running guest and do not change its result.
 * - The job's end: "INFO: Backup job finished successfully" / "… with errors", or "ERROR: Backup
 *   job failed - <err>" when an error outside any guest's backup ended it (a hook script, a
 *   signal); then "TASK OK", "TASK WARNINGS: n" or "TASK ERROR: <err>" ("job errors" when any
 *   guest failed, even if others succeeded). A task can also die before its first line (the
 *   target storage cannot be activated): then only its exit status says why.
 */
import { shortenCommand } from "./error-text.js";
export interface GuestOutcome {
  vmid: number;
  result: "running" | "ok" | "warnings" | "failed";
  error?: string;
  warnings: number;
  /** Percent done while running (qemu and PBS backups log "INFO:  45% (14.5 GiB of 32.0 GiB) in 30s, …"). */
  progress?: number;
}

const START = /^INFO: Starting Backup of VM (\d+) \((?:qemu|lxc|openvz)\)/;
const FINISH = /^INFO: Finished Backup of VM (\d+) \((\d{2}:\d{2}:\d{2})\)/;
const FAIL = /^ERROR: Backup of VM (\d+) failed - (.*)$/;
const JOB_FAIL = /^ERROR: Backup job failed - (.*)$/;
const CMDLINE = /^INFO: starting new backup job: vzdump (.*)$/;
const SKIP_EXTERNAL = /^INFO: skip external VMs: ([\d, ]+)$/;
const ERROR_LINE = /^ERROR: (.*)$/;
const PROGRESS = /^INFO:\s+(\d{1,3})% \(/;

/** A qemu/PBS backup status line ("INFO:  45% (14.5 GiB of 32.0 GiB) in 30s, …"). */
export function isProgressLine(line: string): boolean {
  return PROGRESS.test(line);
}

/** True for PVE's success exit statuses: OK and WARNINGS: n, in any case. */
export function isSuccessStatus(exitstatus: string): boolean {
  return /^ok$/i.test(exitstatus.trim()) || /^warnings: \d+$/i.test(exitstatus.trim());
}

/**
 * VMIDs this task backs up by name: those on the vzdump command line ("vzdump 100 101 --storage
 * x") minus the ones its "skip external VMs" line says live on other nodes. Empty for `--all 1`
 * and `--pool` jobs, whose selection the log does not spell out.
 */
export function cmdlineVmids(lines: string[]): number[] {
  const external = new Set<number>();
  for (const l of lines) {
    const m = SKIP_EXTERNAL.exec(l);
    if (m) for (const id of m[1]!.split(/[,\s]+/)) if (id) external.add(Number(id));
  }
  return namedVmids(lines).filter((id) => !external.has(id));
}

function namedVmids(lines: string[]): number[] {
  for (const l of lines) {
    const m = CMDLINE.exec(l);
    if (m) {
      const ids: number[] = [];
      for (const tok of m[1]!.split(/\s+/)) {
        if (tok.startsWith("--")) break;
        if (/^\d+$/.test(tok)) ids.push(Number(tok));
      }
      return ids;
    }
  }
  return [];
}

/**
 * @param lines   the task log lines in order
 * @param taskId  the UPID id field (the vmid when exactly one guest was backed up, else "")
 * @param exitstatus undefined while the task runs
 */
export function parseTaskLog(
  lines: string[],
  taskId: string | undefined,
  exitstatus: string | undefined,
): GuestOutcome[] {
  const out = new Map<number, GuestOutcome>();
  let current: GuestOutcome | undefined;
  let jobError: string | undefined;
  /** The error whose further "ERROR: " lines (a message of several lines) are being read. */
  let continued: { guest?: GuestOutcome } | undefined;
  const guest = (vmid: number) => out.get(vmid) ?? { vmid, result: "running" as const, warnings: 0 };
  for (const raw of lines) {
    const line = raw.trimEnd();
    // Empty lines and unprefixed command output (rbd's "/dev/rbd12", "Removing snap: …") carry no result.
    if (!/^(INFO|WARN|ERROR): /.test(line)) continue;
    const start = START.exec(line);
    const finish = start ? null : FINISH.exec(line);
    const fail = start || finish ? null : FAIL.exec(line);
    const jobFail = start || finish || fail ? null : JOB_FAIL.exec(line);
    const progress = start || finish || fail || jobFail ? null : PROGRESS.exec(line);
    const more = continued && !start && !finish && !fail && !jobFail ? ERROR_LINE.exec(line) : null;
    if (!more) continued = undefined;
    if (more) {
      const text = more[1]!.trim();
      if (continued!.guest) continued!.guest.error = `${continued!.guest.error} ${text}`.trim();
      else jobError = `${jobError ?? ""} ${text}`.trim();
    } else if (start) {
      current = { vmid: Number(start[1]), result: "running", warnings: 0 };
      out.set(current.vmid, current);
    } else if (finish) {
      const g = guest(Number(finish[1]));
      g.result = g.warnings ? "warnings" : "ok";
      delete g.progress;
      out.set(g.vmid, g);
      current = undefined;
    } else if (fail) {
      const g = guest(Number(fail[1]));
      g.result = "failed";
      g.error = fail[2]!.trim();
      delete g.progress;
      out.set(g.vmid, g);
      current = undefined;
      continued = { guest: g };
    } else if (jobFail) {
      jobError = jobFail[1]!.trim();
      continued = {};
    } else if (progress && current) {
      current.progress = Math.min(100, Number(progress[1]));
    } else if (line.startsWith("WARN:") && current) {
      current.warnings++;
    }
  }
  const finished = exitstatus !== undefined;
  // A single-guest task that died before any line of its own (its target storage could not be
  // activated: "TASK ERROR: could not activate storage 'nas': …") only has its exit status.
  const single = taskId && /^\d+$/.test(taskId) ? Number(taskId) : undefined;
  if (single !== undefined && !out.has(single)) {
    if (!finished) out.set(single, { vmid: single, result: "running", warnings: 0 });
    else if (isSuccessStatus(exitstatus!))
      out.set(single, { vmid: single, result: /^warn/i.test(exitstatus!) ? "warnings" : "ok", warnings: 0 });
    else out.set(single, { vmid: single, result: "failed", error: jobError ?? exitstatus!, warnings: 0 });
  }
  if (finished) {
    // Guests still "running" when the task ended were cut off: the task's error is theirs.
    for (const g of out.values()) {
      if (g.result === "running") {
        g.result = "failed";
        g.error = jobError ?? (isSuccessStatus(exitstatus!) ? "backup did not finish" : exitstatus!);
      }
    }
    // When the job failed as a whole (a job-start hook, a signal), every guest it names for this
    // node that had not had its turn yet did not get a backup: each is a failed attempt with the
    // job's error, which is what its owner needs to see. Guests on other nodes ("skip external
    // VMs") are left to their own node's task; `--all`/`--pool` jobs name none.
    if (!isSuccessStatus(exitstatus!) && jobError) {
      for (const vmid of cmdlineVmids(lines))
        if (!out.has(vmid)) out.set(vmid, { vmid, result: "failed", error: jobError, warnings: 0 });
    }
  }
  return [...out.values()].map((g) => (g.error ? { ...g, error: shortenCommand(g.error) } : g));
}
