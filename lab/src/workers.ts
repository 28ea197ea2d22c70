/**
 * Worker tasks as PVE's task list shows them: the task records and their UPIDs, and the workers
 * other than vzdump (restore, destroy, …), started with a duration or stored finished as scenario
 * history. vzdump workers (vzdump.ts) are the same records with a `vz` run attached.
 */
import { splitTokenId } from "./acl.js";
import type { LabState } from "./state.js";

export interface GuestRun {
  vmid: number;
  type: "qemu" | "lxc";
  name: string;
}

export interface ForcedOutcome {
  fail?: string;
  warn?: string;
  seconds?: number;
  /** The backup hangs: it never ends and prints no progress; only a stop ends it. */
  hang?: boolean;
}

/** How a replayed vzdump task (scenario history) differs from a plain run, as a whole. */
export interface RunScript {
  /** The job fails right after "starting new backup job", before any guest. */
  jobError?: string;
  /** An empty line before the closing TASK line. */
  blankLineBeforeEnd?: boolean;
  /** The node's proxmox-backup-client version (its wording changed in 1.0.12). */
  pbsClient?: string;
}

export interface VzdumpOptions {
  vmids: number[];
  all: boolean;
  exclude: number[];
  pool?: string;
  storage: string;
  mode: string;
  compress: string;
  notesTemplate?: string;
  protected: boolean;
  pruneBackups?: Record<string, number>;
  remove: boolean;
  jobId?: string;
  /** Extra options echoed into the command line. */
  extra: Record<string, string>;
}

export interface CurrentGuest {
  guest: GuestRun;
  startMs: number;
  endMs: number;
  fail?: string;
  warn?: string;
  file: string;
  volid: string;
  lines: string[]; // for the .log side file
  /** qemu backups that will succeed print "NN% (x of y) in …" lines: the next tenth to print (1–9), else absent. */
  nextTenth?: number;
  /** A container on an rbd storage backed up from a storage snapshot (mapped, removed at the end). */
  rbdSnapshot?: boolean;
}

export interface VzdumpRun {
  opts: VzdumpOptions;
  guests: GuestRun[];
  external: number[];
  forced: Map<number, ForcedOutcome>;
  script: RunScript;
  phase: "waiting" | "running" | "done";
  waited: boolean;
  index: number;
  current: CurrentGuest | null;
  errors: number;
  warnings: number;
}

export interface TaskState {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  startMs: number;
  starttime: number;
  type: string;
  id: string;
  /** `user@realm` or `user@realm!token` as in the UPID. */
  authid: string;
  lines: string[];
  endMs: number | null;
  exitstatus: string | null;
  vz?: VzdumpRun;
  /** A non-vzdump worker (restore, destroy) that ends at finishAt and then does its work. */
  timed?: { finishAt: number; finish: () => { error?: string; lines: string[] } };
}

const hex8 = (n: number): string => Math.max(0, Math.floor(n)).toString(16).toUpperCase().padStart(8, "0");

export function makeUpid(
  node: string,
  pid: number,
  pstart: number,
  starttime: number,
  type: string,
  id: string,
  authid: string,
): string {
  return `UPID:${node}:${hex8(pid)}:${hex8(pstart)}:${hex8(starttime)}:${type}:${id}:${authid}:`;
}

export function taskUser(t: TaskState): { user: string; tokenid?: string } {
  if (!t.authid.includes("!")) return { user: t.authid };
  const { user, name } = splitTokenId(t.authid);
  return { user, tokenid: name };
}

export function newTask(
  state: LabState,
  node: string,
  type: string,
  id: string,
  authid: string,
  startMs: number,
): TaskState {
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

export function finishTimedTask(t: TaskState, at: number): void {
  const r = t.timed!.finish();
  t.lines.push(...r.lines, r.error ? `TASK ERROR: ${r.error}` : "TASK OK");
  t.exitstatus = r.error ?? "OK";
  t.endMs = at;
}

/** A finished non-vzdump task (scenario history). */
export function addPlainTask(
  state: LabState,
  node: string,
  type: string,
  id: string,
  authid: string,
  startMs: number,
  durationMs: number,
  exitstatus: string,
): TaskState {
  const task = newTask(state, node, type, id, authid, startMs);
  task.lines.push(
    exitstatus === "OK"
      ? "TASK OK"
      : /^WARNINGS: \d+$/.test(exitstatus)
        ? `TASK ${exitstatus}`
        : `TASK ERROR: ${exitstatus}`,
  );
  task.endMs = startMs + durationMs;
  task.exitstatus = exitstatus;
  return task;
}
