/**
 * Per-guest outcome of a vzdump task, from its log (the lines pve-manager's PVE/VZDump.pm writes). A job task covers many
 * guests and ends "job errors" when one fails, so the task's exit status alone cannot say
 * which guest failed. Lines carry no timestamps.
 */
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
const PROGRESS = /^INFO:\s+(\d{1,3})% \(/;

/** A qemu/PBS backup status line ("INFO:  45% (14.5 GiB of 32.0 GiB) in 30s, …"). */
export function isProgressLine(line: string): boolean {
  return PROGRESS.test(line);
}

/** True for PVE's success exit statuses: OK and WARNINGS: n, in any case. */
export function isSuccessStatus(exitstatus: string): boolean {
  return /^ok$/i.test(exitstatus.trim()) || /^warnings: \d+$/i.test(exitstatus.trim());
}

/** VMIDs named on the vzdump command line ("vzdump 100 101 --storage x"), if any. */
export function cmdlineVmids(lines: string[]): number[] {
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
  const guest = (vmid: number) => out.get(vmid) ?? { vmid, result: "running" as const, warnings: 0 };
  for (const line of lines) {
    const start = START.exec(line);
    const finish = start ? null : FINISH.exec(line);
    const fail = start || finish ? null : FAIL.exec(line);
    const jobFail = start || finish || fail ? null : JOB_FAIL.exec(line);
    const progress = start || finish || fail || jobFail ? null : PROGRESS.exec(line);
    if (start) {
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
      out.set(g.vmid, g);
      current = undefined;
    } else if (jobFail) {
      jobError = jobFail[1]!.trim();
    } else if (progress && current) {
      current.progress = Math.min(100, Number(progress[1]));
    } else if (line.startsWith("WARN:") && current) {
      current.warnings++;
    }
  }
  const finished = exitstatus !== undefined;
  // A single-guest task that died before "Starting Backup" (e.g. max backup limit) only has its exit status.
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
    // Guests named on the command line that never started, when the job failed as a whole.
    if (!isSuccessStatus(exitstatus!) && jobError) {
      for (const vmid of cmdlineVmids(lines))
        if (!out.has(vmid)) out.set(vmid, { vmid, result: "failed", error: jobError, warnings: 0 });
    }
  }
  return [...out.values()];
}
