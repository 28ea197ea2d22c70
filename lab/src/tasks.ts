/**
 * The task engine: vzdump workers and the job scheduler, advanced lazily to a point in time.
 * `settle(state, now)` replays every event up to `now` in time order (job occurrences, lock
 * acquisition, guest start/finish), so a ManualClock test sees exactly the same world no
 * matter how often it polls. One vzdump per node at a time, like /var/run/vzdump.lock.
 */
import { randomUUID } from "node:crypto";
import { formatPruneOptions, pruneMark } from "./prune.js";
import {
  archiveFormat,
  archiveNames,
  defaultArchiveSize,
  logFileName,
  makeUpid,
  type CurrentGuest,
  type ForcedOutcome,
  type GuestRun,
  type JobState,
  type LabState,
  type TaskState,
  type VzdumpOptions,
} from "./state.js";
import { hms, logStamp } from "./timezone.js";

/** vzdump's `format_size`. */
export function formatSize(size: number): string {
  const kb = size / 1024;
  if (kb < 1024) return `${Math.floor(kb)}KB`;
  const mb = kb / 1024;
  if (mb < 1024) return `${Math.floor(mb)}MB`;
  const gb = mb / 1024;
  if (gb < 1024) return `${gb.toFixed(2)}GB`;
  return `${(gb / 1024).toFixed(2)}TB`;
}

/** PVE::Format::render_bytes: binary units, `precision` decimals (2 unless given). */
function renderBytes(value: number, precision = 2): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  const unit = value > 1023 ? Math.min(Math.floor(Math.log(value) / Math.log(1024)), units.length - 1) : 0;
  return `${(value / 1024 ** unit).toFixed(precision)} ${units[unit]}`;
}

/** PVE::Format::render_duration: "0s", "45s", "1m", "1m 5s", "2h 3m 4s" (zero units left out). */
function renderDuration(seconds: number): string {
  let rest = Math.round(seconds);
  if (!rest) return "0s";
  const parts: string[] = [];
  for (const [unit, len] of [["w", 604800], ["d", 86400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    const v = Math.floor(rest / len);
    if (v > 0) {
      parts.push(`${v}${unit}`);
      rest -= v * len;
    }
  }
  return parts.join(" ");
}

/** QemuServer's backup loop `$get_mbps`: "0 B/s", else whole bytes per second rendered with one decimal. */
function rate(bytes: number, seconds: number): string {
  return bytes <= 0 ? "0 B/s" : `${renderBytes(Math.floor(bytes / Math.max(seconds, 1)), 1)}/s`;
}

/** The disk every simulated VM backs up ("include disk 'scsi0' … 32G"). */
const QEMU_DISK_BYTES = 32 * 1024 ** 3;

/**
 * One status line of QemuServer's backup loop, at a steady speed:
 * "INFO:  40% (12.8 GiB of 32.0 GiB) in 24s, read: 546.1 MiB/s, write: 513.4 MiB/s".
 * (PVE prints one whenever the percentage changed and more than 2 s passed; the lab prints tenths.)
 */
function progressLine(percent: number, elapsedMs: number, sinceLastMs: number): string {
  const done = (QEMU_DISK_BYTES * percent) / 100;
  const read = elapsedMs > 0 ? (done * sinceLastMs) / elapsedMs : 0; // bytes since the previous line
  const secs = sinceLastMs / 1000;
  return `INFO: ${String(percent).padStart(3)}% (${renderBytes(done, 1)} of ${renderBytes(QEMU_DISK_BYTES, 1)}) in ${renderDuration(elapsedMs / 1000)}, read: ${rate(read, secs)}, write: ${rate(read * 0.94, secs)}`;
}

/** Prints the progress lines of the running guest due by `upTo` (a tenth of the run each). */
function catchUpProgress(task: TaskState, cur: CurrentGuest, upTo: number): void {
  const span = cur.endMs - cur.startMs;
  while (cur.nextTenth !== undefined && cur.nextTenth <= 9 && cur.startMs + (span * cur.nextTenth) / 10 <= upTo) {
    const line = progressLine(cur.nextTenth * 10, (span * cur.nextTenth) / 10, span / 10);
    task.lines.push(line);
    cur.lines.push(line);
    cur.nextTenth++;
  }
}

function shellQuote(v: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(v) ? v : `'${v.replace(/'/g, `'"'"'`)}'`;
}

/** `vzdump 100 101 --storage local --mode snapshot …` — never contains job-id. */
export function commandLine(o: VzdumpOptions): string {
  const parts = ["vzdump"];
  if (o.all) parts.push("--all 1");
  else if (o.pool) parts.push(`--pool ${shellQuote(o.pool)}`);
  else parts.push(...o.vmids.map(String));
  if (o.exclude.length) parts.push(`--exclude ${o.exclude.join(",")}`);
  parts.push(`--storage ${shellQuote(o.storage)}`, `--mode ${o.mode}`);
  if (o.compress !== "0") parts.push(`--compress ${o.compress}`);
  if (o.notesTemplate !== undefined) parts.push(`--notes-template ${shellQuote(o.notesTemplate)}`);
  if (o.protected) parts.push("--protected 1");
  if (o.pruneBackups) parts.push(`--prune-backups ${shellQuote(Object.entries(o.pruneBackups).map(([k, v]) => `${k}=${v}`).join(","))}`);
  for (const [k, v] of Object.entries(o.extra)) parts.push(`--${k} ${shellQuote(v)}`);
  return parts.join(" ");
}

/** Guests a vzdump on `node` would back up, and the selected ones living elsewhere. */
export function selectGuests(state: LabState, node: string, o: Pick<VzdumpOptions, "vmids" | "all" | "exclude" | "pool">): { local: GuestRun[]; external: number[] } {
  const local: GuestRun[] = [];
  const external: number[] = [];
  const consider = (vmid: number): void => {
    const g = state.guests.get(vmid);
    if (g && g.node === node) local.push({ vmid, type: g.type, name: g.name });
    else if (g) external.push(vmid);
  };
  if (o.all) {
    for (const g of [...state.guests.values()].sort((a, b) => a.vmid - b.vmid)) {
      if (g.node === node && !o.exclude.includes(g.vmid)) local.push({ vmid: g.vmid, type: g.type, name: g.name });
    }
  } else if (o.pool) {
    for (const g of [...state.guests.values()].sort((a, b) => a.vmid - b.vmid)) if (g.pool === o.pool) consider(g.vmid);
  } else {
    for (const vmid of [...o.vmids].sort((a, b) => a - b)) {
      // Deleted guests are included "and visibly fail later" (PVE API2/VZDump.pm).
      if (state.guests.has(vmid)) consider(vmid);
      else local.push({ vmid, type: "qemu", name: `VM ${vmid}` });
    }
  }
  return { local, external };
}

export function newTask(state: LabState, node: string, type: string, id: string, authid: string, startMs: number): TaskState {
  const n = state.nodes.get(node);
  if (!n) throw new Error(`no such node '${node}'`);
  const pid = n.nextPid++;
  const starttime = Math.floor(startMs / 1000);
  // pstart = jiffies (1/100 s) since boot when the worker was forked.
  const pstart = Math.max(0, Math.floor((startMs - n.bootMs) / 10));
  const task: TaskState = {
    upid: makeUpid(node, pid, pstart, starttime, type, id, authid),
    node,
    pid,
    pstart,
    startMs,
    starttime,
    type,
    id,
    authid,
    lines: [],
    endMs: null,
    exitstatus: null,
  };
  state.tasks.push(task);
  return task;
}

/**
 * Start a vzdump worker on `node` at `atMs`. Returns "OK" (no task) when nothing selected
 * lives on the node and `all` is not set — exactly what POST /nodes/{n}/vzdump returns.
 */
export function startVzdump(
  state: LabState,
  node: string,
  authid: string,
  opts: VzdumpOptions,
  atMs: number,
  forced: Map<number, ForcedOutcome> = new Map(),
): TaskState | "OK" {
  const { local, external } = selectGuests(state, node, opts);
  if (!opts.all && local.length === 0) return "OK";
  const id = local.length === 1 && local[0] ? String(local[0].vmid) : "";
  const busy = state.tasks.some((t) => t.vz && t.node === node && t.endMs === null);
  const task = newTask(state, node, "vzdump", id, authid, atMs);
  task.vz = { opts, guests: local, external, forced, phase: "waiting", waited: busy, index: 0, current: null, errors: 0, warnings: 0 };
  if (busy) task.lines.push("INFO: trying to get global lock - waiting...");
  return task;
}

/** A worker other than vzdump (qmrestore, vzrestore, qmdestroy…) that takes durationMs, then runs `finish`. */
export function startTimedTask(
  state: LabState,
  node: string,
  type: string,
  id: string,
  authid: string,
  startMs: number,
  durationMs: number,
  finish: () => { error?: string; lines: string[] },
): TaskState {
  const task = newTask(state, node, type, id, authid, startMs);
  task.timed = { finishAt: startMs + durationMs, finish };
  return task;
}

function finishTimedTask(t: TaskState, at: number): void {
  const r = t.timed!.finish();
  t.lines.push(...r.lines, r.error ? `TASK ERROR: ${r.error}` : "TASK OK");
  t.exitstatus = r.error ?? "OK";
  t.endMs = at;
}

/** A finished non-vzdump task (scenario history). */
export function addPlainTask(state: LabState, node: string, type: string, id: string, authid: string, startMs: number, durationMs: number, exitstatus: string): TaskState {
  const task = newTask(state, node, type, id, authid, startMs);
  task.lines.push(exitstatus === "OK" ? "TASK OK" : /^WARNINGS: \d+$/.test(exitstatus) ? `TASK ${exitstatus}` : `TASK ERROR: ${exitstatus}`);
  task.endMs = startMs + durationMs;
  task.exitstatus = exitstatus;
  return task;
}

function expandNotes(template: string, state: LabState, node: string, g: GuestRun): string {
  return template
    .replace(/\{\{cluster\}\}/g, state.cluster)
    .replace(/\{\{guestname\}\}/g, g.name)
    .replace(/\{\{node\}\}/g, node)
    .replace(/\{\{vmid\}\}/g, String(g.vmid))
    .replace(/\\n/g, " ")
    .replace(/\\\\/g, "\\");
}

function beginGuest(state: LabState, task: TaskState, at: number): void {
  const vz = task.vz!;
  const g = vz.guests[vz.index]!;
  const tz = state.tz(task.node);
  const storage = state.storages.get(vz.opts.storage)!;
  const live = state.guests.get(g.vmid);
  const forced = vz.forced.get(g.vmid) ?? {};
  let fail = forced.fail;
  if (fail === undefined && (!live || live.node !== task.node)) {
    fail = `Configuration file 'nodes/${task.node}/${g.type === "qemu" ? "qemu-server" : "lxc"}/${g.vmid}.conf' does not exist`;
  }
  if (fail === undefined && !storage.active) {
    fail = `unable to activate storage '${storage.id}' - directory is expected to be a mount point but is not mounted: '${storage.path}'`;
  }
  if (fail === undefined && live?.failNext !== undefined) {
    fail = live.failNext;
    delete live.failNext;
  }
  if (fail === undefined) fail = live?.failReason;
  const warn = forced.warn ?? live?.warn;
  const seconds = forced.seconds ?? live?.backupSeconds ?? state.defaultBackupSeconds;
  // Scenario history (before lab start) keeps real durations; live runs honour taskSpeed.
  let durationMs = (seconds * 1000) / (at < state.startedMs ? 1 : state.taskSpeed);
  if (fail !== undefined) durationMs = Math.max(durationMs / 4, 1);
  const names = archiveNames(storage, g.type, g.vmid, at, archiveFormat(g.type, vz.opts.compress), tz);
  const running = (live?.status ?? "stopped") === "running";
  const mode = running ? vz.opts.mode : "stop";
  const lines = [
    `INFO: Starting Backup of VM ${g.vmid} (${g.type})`,
    `INFO: Backup started at ${logStamp(at, tz)}`,
    `INFO: status = ${live?.status ?? "stopped"}`,
  ];
  if (g.type === "qemu") {
    lines.push(`INFO: VM Name: ${g.name}`, `INFO: include disk 'scsi0' 'local-lvm:vm-${g.vmid}-disk-0' 32G`);
  } else {
    lines.push(`INFO: CT Name: ${g.name}`, `INFO: including mount point rootfs ('/') in backup`);
  }
  lines.push(`INFO: backup mode: ${mode}`, "INFO: ionice priority: 7");
  if (storage.type === "pbs") lines.push(`INFO: creating Proxmox Backup Server archive '${names.file}'`);
  else lines.push(`INFO: creating vzdump archive '${storage.path}/dump/${names.file}'`);
  // A qemu backup that gets going reports its progress (QemuServer's "INFO:  40% (…)" status lines); tar (containers) prints none.
  const progresses = g.type === "qemu" && fail === undefined;
  if (progresses) lines.push(`INFO: started backup task '${randomUUID()}'`);
  const current: CurrentGuest = {
    guest: g,
    startMs: at,
    endMs: at + durationMs,
    file: names.file,
    volid: names.volid,
    lines: [...lines],
    ...(fail !== undefined ? { fail } : {}),
    ...(warn !== undefined ? { warn } : {}),
    ...(progresses ? { nextTenth: 1 } : {}),
  };
  vz.current = current;
  task.lines.push(...lines);
}

function finishGuest(state: LabState, task: TaskState, at: number): void {
  const vz = task.vz!;
  const cur = vz.current!;
  const g = cur.guest;
  const tz = state.tz(task.node);
  const storage = state.storages.get(vz.opts.storage)!;
  const lines: string[] = [];
  if (cur.fail !== undefined) {
    lines.push(`ERROR: Backup of VM ${g.vmid} failed - ${cur.fail}`, `INFO: Failed at ${logStamp(at, tz)}`);
    vz.errors++;
  } else {
    if (cur.nextTenth !== undefined) {
      // The last status line (100 %), then the loop's summary: "transferred 32.00 GiB in 60 seconds (546.1 MiB/s)".
      catchUpProgress(task, cur, at);
      const span = at - cur.startMs;
      const secs = Math.round(span / 1000);
      lines.push(progressLine(100, span, span / 10), secs ? `INFO: transferred ${renderBytes(QEMU_DISK_BYTES)} in ${secs} seconds (${rate(QEMU_DISK_BYTES, secs)})` : `INFO: transferred ${renderBytes(QEMU_DISK_BYTES)} in <1 seconds`);
    }
    if (cur.warn !== undefined) {
      lines.push(`WARN: ${cur.warn}`);
      vz.warnings++;
    }
    const live = state.guests.get(g.vmid);
    const size = live?.archiveSize ?? defaultArchiveSize(g);
    const notes = vz.opts.notesTemplate !== undefined ? expandNotes(vz.opts.notesTemplate, state, task.node, g) : undefined;
    if (storage.type === "pbs") lines.push(`INFO: backup was done incrementally, reused 30.00 GiB (93%)`);
    else lines.push(`INFO: archive file size: ${formatSize(size)}`);
    if (notes !== undefined) lines.push("INFO: adding notes to backup");
    if (vz.opts.protected) lines.push("INFO: marking backup as protected");
    const logLines = [...cur.lines, ...lines].map((l) => `${logStamp(cur.startMs, tz)} ${l}`);
    state.addArchive({
      storage: storage.id,
      node: task.node,
      vmid: g.vmid,
      subtype: g.type,
      startMs: cur.startMs,
      format: archiveFormat(g.type, vz.opts.compress),
      size,
      protected: vz.opts.protected,
      log: logLines,
      ...(notes !== undefined ? { notes } : {}),
    });
    const prune = vz.opts.pruneBackups ?? (storage.pruneBackups ? Object.fromEntries(Object.entries(storage.pruneBackups).map(([k, v]) => [k, Number(v)])) : undefined);
    if (vz.opts.remove && prune && !prune["keep-all"] && Object.keys(prune).length) {
      lines.push(`INFO: prune older backups with retention: ${formatPruneOptions(prune)}`);
      const group = state.archivesOfGuestOn(storage.id, task.node, g.vmid).filter((a) => a.subtype === g.type);
      const marked = pruneMark(group.map((a) => ({ a, ctime: a.ctime, protected: a.protected })), prune, tz);
      const removed = marked.filter((e) => e.mark === "remove").map((e) => e.a);
      for (const a of removed) lines.push(`INFO: removing backup '${a.volid}'`);
      if (removed.length) {
        const gone = new Set(removed);
        state.archives = state.archives.filter((a) => !gone.has(a));
      }
      lines.push(`INFO: pruned ${removed.length} backup(s) not covered by keep-retention policy`);
    }
    lines.push(`INFO: Finished Backup of VM ${g.vmid} (${hms((at - cur.startMs) / 1000)})`, `INFO: Backup finished at ${logStamp(at, tz)}`);
  }
  task.lines.push(...lines);
  vz.current = null;
  vz.index++;
}

function finishTask(state: LabState, task: TaskState, at: number, fatal?: string): void {
  const vz = task.vz!;
  if (fatal !== undefined) {
    task.lines.push(`ERROR: Backup job failed - ${fatal}`, `TASK ERROR: ${fatal}`);
    task.exitstatus = fatal;
  } else if (vz.errors > 0) {
    task.lines.push("INFO: Backup job finished with errors", "INFO: notified via target `mail-to-root`", "TASK ERROR: job errors");
    task.exitstatus = "job errors";
  } else {
    task.lines.push("INFO: Backup job finished successfully", "INFO: notified via target `mail-to-root`");
    task.lines.push(vz.warnings ? `TASK WARNINGS: ${vz.warnings}` : "TASK OK");
    task.exitstatus = vz.warnings ? `WARNINGS: ${vz.warnings}` : "OK";
  }
  vz.phase = "done";
  task.endMs = at;
  const node = state.nodes.get(task.node);
  if (node) node.lockFreeMs = Math.max(node.lockFreeMs, at);
}

/** Advance one worker by one event at time `at`. */
function stepTask(state: LabState, task: TaskState, at: number): void {
  const vz = task.vz!;
  if (vz.phase === "waiting") {
    vz.phase = "running";
    if (vz.waited) task.lines.push("INFO: got global lock");
    task.lines.push(`INFO: starting new backup job: ${commandLine(vz.opts)}`);
    if (vz.external.length) task.lines.push(`INFO: skip external VMs: ${vz.external.join(", ")}`);
  } else if (vz.current) {
    finishGuest(state, task, at);
  }
  if (vz.index < vz.guests.length) beginGuest(state, task, at);
  else finishTask(state, task, at);
}

/** SIGTERM from DELETE /nodes/{n}/tasks/{upid}. */
export function stopTask(state: LabState, task: TaskState, at: number): void {
  if (task.endMs !== null) return;
  if (!task.vz) {
    task.lines.push("TASK ERROR: interrupted by signal");
    task.exitstatus = "interrupted by signal";
    task.endMs = at;
    return;
  }
  const cur = task.vz.current;
  if (cur) {
    task.lines.push(`ERROR: Backup of VM ${cur.guest.vmid} failed - interrupted by signal`, `INFO: Failed at ${logStamp(at, state.tz(task.node))}`);
    task.vz.current = null;
  }
  finishTask(state, task, at, "interrupted by signal");
}

/** Options of a configured job as the scheduler passes them to vzdump. */
export function jobOptions(state: LabState, job: JobState): VzdumpOptions {
  const c = job.config;
  const list = (v: unknown): number[] => (typeof v === "string" && v ? v.split(",").map((s) => Number(s.trim())) : []);
  const prune = c["prune-backups"] as Record<string, string> | undefined;
  const storage = typeof c.storage === "string" ? c.storage : defaultStorage(state);
  return {
    vmids: list(c.vmid),
    all: c.all === 1 || (c.exclude !== undefined && c.vmid === undefined && c.pool === undefined),
    exclude: list(c.exclude),
    ...(typeof c.pool === "string" ? { pool: c.pool } : {}),
    storage,
    mode: typeof c.mode === "string" ? c.mode : "snapshot",
    compress: c.compress === undefined ? "0" : String(c.compress),
    ...(typeof c["notes-template"] === "string" ? { notesTemplate: c["notes-template"] } : {}),
    protected: c.protected === 1,
    ...(prune ? { pruneBackups: Object.fromEntries(Object.entries(prune).map(([k, v]) => [k, Number(v)])) } : {}),
    remove: c.remove !== 0,
    jobId: String(c.id),
    extra: {},
  };
}

export function defaultStorage(state: LabState): string {
  if (state.storages.has("local")) return "local";
  for (const s of state.storages.values()) if (s.content.includes("backup")) return s.id;
  return "local";
}

/** The scheduler: one worker per node the job applies to, as root@pam. */
export function runJob(state: LabState, job: JobState, at: number): TaskState[] {
  const opts = jobOptions(state, job);
  const out: TaskState[] = [];
  const onlyNode = typeof job.config.node === "string" ? job.config.node : undefined;
  for (const node of state.nodes.values()) {
    if (node.status !== "online" || (onlyNode && node.name !== onlyNode)) continue;
    const storage = state.storages.get(opts.storage);
    if (!storage || !storage.nodes.includes(node.name)) continue;
    const t = startVzdump(state, node.name, "root@pam", opts, at);
    if (t !== "OK") out.push(t);
  }
  return out;
}

const isEnabled = (job: JobState): boolean => job.config.enabled === undefined || job.config.enabled === 1 || job.config.enabled === "1";

/** Replay every due event up to `now`, earliest first. Idempotent. */
export function settle(state: LabState, now: number): void {
  for (let guard = 0; guard < 100_000; guard++) {
    let best = Infinity;
    let action: (() => void) | null = null;
    for (const job of state.jobs.values()) {
      if (job.dueMs === null || job.dueMs > now || job.dueMs >= best) continue;
      const due = job.dueMs;
      best = due;
      action = () => {
        job.checkedMs = due;
        state.refreshJobDue(job);
        if (isEnabled(job)) runJob(state, job, due);
      };
    }
    // Unfinished vzdump workers per node, in one pass over the task list (50-node labs).
    const queues = new Map<string, TaskState[]>();
    for (const t of state.tasks) {
      if (!t.vz || t.endMs !== null) continue;
      const q = queues.get(t.node);
      if (q) q.push(t);
      else queues.set(t.node, [t]);
    }
    for (const node of state.nodes.values()) {
      const queue = queues.get(node.name);
      if (!queue) continue;
      queue.sort((a, b) => a.startMs - b.startMs || a.pid - b.pid);
      const running = queue.find((t) => t.vz!.phase === "running");
      const head = running ?? queue[0]!;
      const at = running ? running.vz!.current?.endMs ?? running.startMs : Math.max(head.startMs, node.lockFreeMs);
      if (at <= now && at < best) {
        best = at;
        action = () => stepTask(state, head, at);
      }
    }
    for (const t of state.tasks) {
      if (!t.timed || t.endMs !== null || t.timed.finishAt > now || t.timed.finishAt >= best) continue;
      const at = t.timed.finishAt;
      best = at;
      action = () => finishTimedTask(t, at);
    }
    if (!action) break;
    action();
  }
  // Progress lines are not events: the running guests print the tenths due by now.
  for (const t of state.tasks) if (t.vz?.current && t.endMs === null) catchUpProgress(t, t.vz.current, now);
  trimHistory(state);
}

/** PVE keeps roughly the last 1–2k tasks per node (index + index.1); so does the lab. */
const MAX_TASKS_PER_NODE = 2000;

function trimHistory(state: LabState): void {
  if (state.tasks.length <= MAX_TASKS_PER_NODE) return;
  const perNode = new Map<string, number>();
  for (const t of state.tasks) perNode.set(t.node, (perNode.get(t.node) ?? 0) + 1);
  for (const node of state.nodes.keys()) {
    if ((perNode.get(node) ?? 0) <= MAX_TASKS_PER_NODE) continue;
    const finished = state.tasks.filter((t) => t.node === node && t.endMs !== null).sort((a, b) => a.startMs - b.startMs);
    const excess = finished.length - MAX_TASKS_PER_NODE;
    if (excess <= 0) continue;
    const drop = new Set(finished.slice(0, excess));
    for (let i = state.tasks.length - 1; i >= 0; i--) if (drop.has(state.tasks[i]!)) state.tasks.splice(i, 1);
  }
}

/** Run every enabled job now (LabControl.runScheduledJobsNow). */
export function runJobsNow(state: LabState, now: number, jobId?: string): TaskState[] {
  const out: TaskState[] = [];
  for (const job of state.jobs.values()) {
    if (jobId !== undefined ? job.config.id !== jobId : !isEnabled(job)) continue;
    out.push(...runJob(state, job, now));
  }
  return out;
}

export { logFileName };
