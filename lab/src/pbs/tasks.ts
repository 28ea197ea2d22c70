/**
 * The simulated PBS's tasks as proxmox-backup 3.2.4 lists and guards them (src/api2/node/tasks.rs,
 * proxmox-rest-server worker_task.rs): the task record, its status text (TaskState's Display:
 * "OK", "WARNINGS: n", the error message, "unknown") and the log's last line ("TASK OK",
 * "TASK WARNINGS: n", "TASK ERROR: <message>"), who may read a task (check_task_access), the
 * store filter (check_job_store), and GET …/tasks's filters, order and `total`.
 */
import { PRIV, isBackupOwner, lookupPrivs, splitAclPath, type PbsAcl } from "./acl.js";

export interface PbsTask {
  upid: string;
  workerType: string;
  /** Unescaped worker id. */
  workerId: string;
  /** The auth id that ran it. */
  auth: string;
  startMs: number;
  endMs: number;
  /** TaskState's Display once it ended; null while a started task has not settled. */
  state: string | null;
  /** Log lines so far (each as logLine writes it), without the final `TASK …` line. */
  log: string[];
  /** What settling a started task does (tasks started by POST …/verify and …/gc). */
  started?: { kind: "verify"; store: string; owner: string | null } | { kind: "gc"; store: string };
}

/**
 * A task log line as the worker's FileLogger writes it (`prefix_time`): the local time as
 * RFC 3339, a colon, the message. The lab's PBS runs on UTC.
 */
export const logLine = (ms: number, msg: string) =>
  `${new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "+00:00")}: ${msg}`;

/** Whether the task still runs at `now` (a started task runs until it settled). */
export const isRunning = (t: PbsTask, now: number) => now < t.endMs || t.state === null;

/** TaskStateType (pbs-api-types, lowercase) of a status text. */
export function stateType(state: string): "ok" | "warning" | "error" | "unknown" {
  if (state === "OK") return "ok";
  if (state === "unknown") return "unknown";
  return /^WARNINGS: \d+$/.test(state) ? "warning" : "error";
}

/** The last log line WorkerTask::log_result writes. */
export function taskEndLine(state: string): string {
  if (state === "OK") return "TASK OK";
  if (stateType(state) === "warning") return `TASK ${state}`;
  return `TASK ERROR: ${state}`;
}

/** A backup task's log (src/api2/backup/mod.rs, environment.rs). */
export function backupLog(store: string, path: string, files: [string, number][]): string[] {
  return [
    `starting new backup on datastore '${store}' from ::ffff:192.0.2.10: "${path}"`,
    ...files.map(([f, size]) => `add blob "/mnt/datastore/${store}/${path}/${f}" (${size} bytes, comp: ${size})`),
    "successfully finished backup",
  ];
}

/** The first lines of a scheduled job's log (verify_job.rs, prune_job.rs, pull.rs, datastore.rs GC). */
export function jobLog(type: string, workerId: string, startIso: string): string[] {
  const store = workerId.split(":")[0] ?? workerId;
  switch (type) {
    case "garbage_collection":
      return [
        `starting garbage collection on store ${workerId}`,
        "Start GC phase1 (mark used chunks)",
        "Start GC phase2 (sweep unused chunks)",
        "Removed garbage: 0 B",
        "Removed chunks: 0",
      ];
    case "verificationjob":
      return [`Starting datastore verify job '${workerId}'`, `verify datastore ${store}`];
    case "prunejob":
      return [`prune job '${workerId}'`, `Starting datastore prune on datastore '${store}', root namespace`];
    case "syncjob": {
      const [remote, remoteStore, local] = workerId.split(":");
      return [`Starting datastore sync job '${workerId}'`, `sync datastore '${local}' from '${remote}/${remoteStore}'`];
    }
    default:
      return [`${type} ${workerId} started ${startIso}`];
  }
}

/**
 * check_job_privs: whether the caller may read a scheduled job's task (the privileges to run
 * that job). `verify` (started by hand) and `backup` are no job tasks: only their owner reads them.
 */
function jobPrivs(acl: PbsAcl, me: string, t: PbsTask): boolean {
  const p = (path: string[]) => lookupPrivs(acl, me, path);
  const parts = t.workerId.split(":");
  switch (t.workerType) {
    case "verificationjob": // VERIFICATION_JOB_WORKER_ID_REGEX: `^(store):`
      return parts.length > 1 && (p(["datastore", parts[0]!]) & PRIV["Datastore.Verify"]) !== 0;
    case "syncjob": {
      // SYNC_JOB_WORKER_ID_REGEX `(remote|-):remote-store:store(:ns)?:` → check_pull_privs
      const [remote, remoteStore, store, ns] = parts;
      if (!remote || !remoteStore || !store) return false;
      if (!(p(["datastore", store, ...splitAclPath(ns ?? "")]) & PRIV["Datastore.Backup"])) return false;
      return remote !== "-"
        ? (p(["remote", remote, remoteStore]) & PRIV["Remote.Read"]) !== 0
        : (p(["datastore", remoteStore]) & PRIV["Datastore.Backup"]) !== 0;
    }
    case "garbage_collection":
      return (p(["datastore", t.workerId]) & PRIV["Datastore.Modify"]) !== 0;
    case "prune":
    case "prunejob": {
      const path = ["datastore", ...parts];
      if (path.length < 2 || path.length > 4) return false; // "invalid worker ID for prune task"
      return (p(path.slice(0, 3)) & PRIV["Datastore.Modify"]) !== 0;
    }
    default:
      return false; // "not a scheduled job task"
  }
}

/** check_task_access: the task's owner (or the user of the token that ran it), Sys.Audit on /system/tasks, or the job's privileges. */
export function mayReadTask(acl: PbsAcl, me: string, t: PbsTask): boolean {
  if (isBackupOwner(t.auth, me)) return true;
  if (lookupPrivs(acl, me, ["system", "tasks"]) & PRIV["Sys.Audit"]) return true;
  return jobPrivs(acl, me, t);
}

/** check_job_store: whether a task belongs to `store` (the `store` filter of the task list). */
export function taskOfStore(t: PbsTask, store: string): boolean {
  const id = t.workerId;
  if (t.workerType.startsWith("verif")) return id.includes(":") ? id.split(":")[0] === store : id === store;
  if (t.workerType === "syncjob") return id.split(":")[2] === store;
  if (["prune", "prunejob", "backup", "garbage_collection"].includes(t.workerType))
    return id === store || id.startsWith(`${store}:`);
  return false;
}

export interface TaskListQuery {
  start: number;
  /** 0 = no limit. */
  limit: number;
  errors: boolean;
  running: boolean;
  userfilter?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  typefilter?: string | undefined;
  statusfilter?: string[] | undefined;
  store?: string | undefined;
}

/**
 * list_tasks: the tasks newest first as TaskListInfoIterator yields them (the running ones by
 * start time, then the finished ones by end time — which is why `since` stops at the first task
 * that ended before it), filtered, `start` skipped, at most `limit`; `total` counts one "virtual"
 * entry more when the page is full.
 */
export function listTasks(
  all: PbsTask[],
  now: number,
  q: TaskListQuery,
  readable: (t: PbsTask) => boolean,
): { items: PbsTask[]; total: number } {
  const running = all.filter((t) => isRunning(t, now)).sort((a, b) => b.startMs - a.startMs);
  const finished = all.filter((t) => !isRunning(t, now)).sort((a, b) => b.endMs - a.endMs);
  const limit = q.limit > 0 ? q.limit : Number.POSITIVE_INFINITY;
  const items: PbsTask[] = [];
  let skipped = 0;
  for (const t of q.running ? running : [...running, ...finished]) {
    const done = !isRunning(t, now);
    const start = Math.floor(t.startMs / 1000);
    if (q.until !== undefined && start > q.until) continue;
    if (q.since !== undefined) {
      if (done && Math.floor(t.endMs / 1000) < q.since) break;
      if (start < q.since) continue;
    }
    if (!readable(t)) continue;
    if (q.userfilter !== undefined && !t.auth.includes(q.userfilter)) continue;
    if (q.store !== undefined && !taskOfStore(t, q.store)) continue;
    if (q.typefilter !== undefined && !t.workerType.includes(q.typefilter)) continue;
    if (done && q.errors && t.state === "OK") continue;
    if (q.statusfilter && (!done || !q.statusfilter.includes(stateType(t.state!)))) continue;
    if (skipped < q.start) {
      skipped++;
      continue;
    }
    items.push(t);
    if (items.length >= limit) break;
  }
  let total = items.length + q.start;
  if (items.length && items.length >= limit) total += 1;
  return { items, total };
}
