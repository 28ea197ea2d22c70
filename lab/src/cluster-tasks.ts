/**
 * GET /cluster/tasks: the recent tasks of every node, as each node last broadcast them.
 *
 * How PVE builds the list (pve-common PVE/RESTEnvironment.pm `active_workers`, called at every
 * worker start and end, and every 10 s by pvestatd): the node's `active` file lists running
 * tasks and recently finished ones. On each call, listed tasks that are no longer running become
 * finished (`endtime` = the call's time, `status` read from the task log), a newly started task
 * is appended after the running ones, the finished ones are sorted newest `starttime` first, and
 * only MAX_FINISHED − (number running) of them are kept. `pstart` is dropped from every entry
 * and `pid` from finished ones; `saved` says whether the entry is in the task index ("0"/"1" as
 * read back from the file; a number right after the call that changed it; absent for the task
 * whose start caused the broadcast). The node then broadcasts the list (pve-cluster
 * PVE/Cluster.pm `broadcast_tasklist`), popping entries off its end — the oldest finished
 * first — until the JSON is under 32 KiB. The API (pve-manager PVE/API2/Cluster.pm `tasks`)
 * concatenates the nodes' lists, splits token authids into `user` and `tokenid`, and without
 * Sys.Audit on / keeps only entries whose `user` equals the caller — after the split, so a
 * token (its authid is `user@realm!name`) sees none, not even its own.
 *
 * The lab replays every start and end up to `now` instead of keeping the file, which gives the
 * same list at every moment.
 */
import { hasPriv, splitTokenId, type Token } from "./acl.js";
import type { LabState } from "./state.js";
import type { TaskState } from "./workers.js";

/** RESTEnvironment.pm `active_workers`: `my $MAX_FINISHED = 25`. */
export const MAX_FINISHED = 25;
/** Cluster.pm `broadcast_tasklist`: `while ($size >= (32 * 1024)) { pop @$data; … }`. */
export const MAX_BROADCAST_BYTES = 32 * 1024;
/** pvestatd's update loop re-reads and re-broadcasts the list every 10 s. */
const PVESTATD_INTERVAL_MS = 10_000;

interface Entry {
  t: TaskState;
  /** Epoch seconds the node noticed the end; undefined while running. */
  endtime?: number;
  status?: string;
  /** undefined: new in this call; numbers: set in this call; strings: read back from the file. */
  saved?: 0 | 1 | "0" | "1";
}

interface Event {
  at: number;
  start: boolean;
  t: TaskState;
}

/** A node's `active` list after replaying its task starts and ends up to `now` (ms), and the last event's time. */
export function activeList(tasks: TaskState[], now: number): { list: Entry[]; lastEventMs: number } {
  const events: Event[] = [];
  for (const t of tasks) {
    if (t.startMs > now) continue;
    events.push({ at: t.startMs, start: true, t });
    if (t.endMs !== null && t.endMs <= now) events.push({ at: t.endMs, start: false, t });
  }
  events.sort((a, b) => a.at - b.at || Number(b.start) - Number(a.start) || a.t.pid - b.t.pid);
  let list: Entry[] = [];
  for (const ev of events) {
    const running: Entry[] = [];
    const finished: Entry[] = [];
    const ended = (t: TaskState): boolean => t.endMs !== null && t.endMs <= ev.at;
    for (const old of list) {
      const e: Entry = { ...old, saved: old.saved === undefined ? "0" : old.saved === 1 ? "1" : old.saved };
      if (e.endtime !== undefined) finished.push(e);
      else if (!ended(e.t)) running.push(e);
      else finished.push({ ...e, endtime: Math.floor(ev.at / 1000), status: status(e.t) });
    }
    if (!list.some((e) => e.t === ev.t)) {
      if (ended(ev.t)) finished.push({ t: ev.t, endtime: Math.floor(ev.at / 1000), status: status(ev.t) });
      else running.push({ t: ev.t });
    }
    // Newly finished entries are written to the task index: saved = 1.
    for (const e of finished) if (e.saved === undefined || e.saved === "0") e.saved = 1;
    finished.sort((a, b) => b.t.starttime - a.t.starttime);
    list = [...running, ...finished.slice(0, Math.max(0, MAX_FINISHED - running.length))];
  }
  return { list, lastEventMs: events.length ? events[events.length - 1]!.at : -Infinity };
}

/** PVE::UPID::read_status: the task log's last line (OK, WARNINGS: n, the error) or "unexpected status". */
function status(t: TaskState): string {
  return t.exitstatus ?? "unexpected status";
}

/** An entry as the node broadcasts it (user still the full authid). */
function wire(e: Entry, settled: boolean): Record<string, unknown> {
  const t = e.t;
  const row: Record<string, unknown> = {
    upid: t.upid,
    node: t.node,
    starttime: t.starttime,
    type: t.type,
    id: t.id,
    user: t.authid,
  };
  if (e.endtime === undefined) row.pid = t.pid;
  // After pvestatd's next pass everything is as read back from the file.
  const saved = settled ? (e.saved === undefined || e.saved === 0 || e.saved === "0" ? "0" : "1") : e.saved;
  if (saved !== undefined) row.saved = saved;
  if (e.endtime !== undefined) {
    row.endtime = e.endtime;
    row.status = e.status;
  }
  return row;
}

/** The list a node broadcasts: its active list, cut from the end until the JSON is under 32 KiB. */
export function broadcastList(tasks: TaskState[], now: number): Record<string, unknown>[] {
  const { list, lastEventMs } = activeList(tasks, now);
  const settled = now - lastEventMs >= PVESTATD_INTERVAL_MS;
  const data = list.map((e) => wire(e, settled));
  while (data.length && Buffer.byteLength(JSON.stringify(data)) >= MAX_BROADCAST_BYTES) data.pop();
  return data;
}

/** GET /cluster/tasks for `token` at `now`. */
export function clusterTasks(state: LabState, token: Token, now: number): Record<string, unknown>[] {
  const byNode = new Map<string, TaskState[]>();
  for (const t of state.tasks) {
    const list = byNode.get(t.node);
    if (list) list.push(t);
    else byNode.set(t.node, [t]);
  }
  const all = hasPriv(token, "/", "Sys.Audit");
  const out: Record<string, unknown>[] = [];
  // Every node's last broadcast, offline nodes included (pmxcfs keeps a node's key-value data).
  for (const node of state.nodes.keys()) {
    for (const row of broadcastList(byNode.get(node) ?? [], now)) {
      const authid = String(row.user);
      if (authid.includes("!")) {
        const { user, name } = splitTokenId(authid);
        row.user = user;
        row.tokenid = name;
      }
      if (all || row.user === token.id) out.push(row);
    }
  }
  return out;
}
