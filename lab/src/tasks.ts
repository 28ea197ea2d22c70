/**
 * The task engine: the job scheduler and the workers, advanced lazily to a point in time.
 * `settle(state, now)` replays every event up to `now` in time order (job occurrences, lock
 * acquisition, guest start/finish, timed workers ending), so a ManualClock test sees exactly the
 * same world no matter how often it polls.
 */
import type { JobState, LabState } from "./state.js";
import { catchUpProgress } from "./vzdump-log.js";
import { startVzdump, stepTask } from "./vzdump.js";
import { finishTimedTask, type TaskState, type VzdumpOptions } from "./workers.js";

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
    if (!storage?.nodes.includes(node.name)) continue;
    const t = startVzdump(state, node.name, "root@pam", opts, at);
    if (t !== "OK") out.push(t);
  }
  return out;
}

const isEnabled = (job: JobState): boolean =>
  job.config.enabled === undefined || job.config.enabled === 1 || job.config.enabled === "1";

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
        if (!isEnabled(job)) return;
        // A skipped run: due, but pvescheduler never started it (the node was down then).
        if (job.skip) job.skip--;
        else runJob(state, job, due);
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
      const at = running ? (running.vz!.current?.endMs ?? running.startMs) : Math.max(head.startMs, node.lockFreeMs);
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
    const finished = state.tasks
      .filter((t) => t.node === node && t.endMs !== null)
      .sort((a, b) => a.startMs - b.startMs);
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
