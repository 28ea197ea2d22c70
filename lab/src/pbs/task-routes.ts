/**
 * The simulated PBS's task API (proxmox-backup 3.2.4 src/api2/node/tasks.rs) below
 * /nodes/{node}/tasks — `node` is any host name (NODE_SCHEMA: "Node name (or 'localhost')"):
 * - GET …/tasks: the readable tasks (list_tasks: own ones, all with Sys.Audit on /system/tasks,
 *   else also the scheduled-job tasks the caller could run) as TaskListItem, snake_case, `node`
 *   always "localhost", worker_id unescaped, `endtime`/`status` absent while running; `total`;
 * - GET …/tasks/{upid}/status: upid, node (the UPID's), pid, pstart, starttime, type, id, user
 *   (without the token), tokenid (tokens only), status running|stopped, exitstatus when stopped
 *   ("unknown" for a UPID the server has no record of);
 * - GET …/tasks/{upid}/log?start&limit: [{n, t}] with `total` (all lines) and `success: 1`;
 *   lines from number `start` on (0 and 1 both mean the first: read_task_log skips `count < start`);
 *   `limit` 0 = to the end; `test-status` adds `active`; `download` answers the file as text/plain.
 * A task the caller may not read: 400 "task access not allowed". A malformed UPID: the schema's
 * 400 "parameter verification failed - 'upid': value does not match the regex pattern".
 */
import type { SimResponse } from "../https-base.js";
import { userOf } from "./acl.js";
import { err, json, pbsParameterError, type PbsCall } from "./http.js";
import type { PbsState } from "./state.js";
import { isRunning, listTasks, logLine, mayReadTask, taskEndLine, type PbsTask, type TaskListQuery } from "./tasks.js";
import { parseUpid } from "./upid.js";

const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const NO_MATCH = "value does not match the regex pattern";

/** proxmox-schema parse_boolean. */
const bool = (v: string) =>
  ["1", "on", "yes", "true"].includes(v.toLowerCase())
    ? true
    : ["0", "off", "no", "false"].includes(v.toLowerCase())
      ? false
      : null;

/** The router's schema check of a query: known names, integers and booleans; the errors as PBS words them. */
function checkParams(
  q: Record<string, string>,
  schema: Record<string, "int" | "uint" | "bool" | "string">,
): [string, string][] {
  const bad: [string, string][] = [];
  for (const [k, v] of Object.entries(q)) {
    const type = schema[k];
    if (k === "_dc") continue;
    if (!type) bad.push([k, "schema does not allow additional properties."]);
    else if (type === "bool" && bool(v) === null) bad.push([k, "Unable to parse boolean option."]);
    else if ((type === "int" || type === "uint") && !/^-?\d+$/.test(v)) bad.push([k, "Expected integer value."]);
    else if (type === "uint" && Number(v) < 0) bad.push([k, `value must have a minimum value of 0 (got ${v})`]);
  }
  return bad;
}

/** A TaskListItem (pbs-api-types, snake_case). */
function listItem(t: PbsTask, now: number) {
  const u = parseUpid(t.upid)!;
  return {
    upid: t.upid,
    node: "localhost",
    pid: u.pid,
    pstart: u.pstart,
    starttime: u.starttime,
    worker_type: t.workerType,
    worker_id: t.workerId,
    user: t.auth,
    ...(isRunning(t, now) ? {} : { endtime: Math.floor(t.endMs / 1000), status: t.state! }),
  };
}

/** The lines of a task's log file as it stands at `now`. */
function logFile(t: PbsTask, now: number): string[] {
  return isRunning(t, now) ? t.log : [...t.log, logLine(t.endMs, taskEndLine(t.state!))];
}

/** GET /nodes/{node}/tasks[/{upid}/status|log]; null for any other path. */
export function taskRoute(pbs: PbsState, c: PbsCall): SimResponse | null {
  const m = /^\/nodes\/([^/]+)\/tasks(?:\/([^/]+)\/(status|log))?$/.exec(c.path);
  if (!m || c.method !== "GET") return null;
  const node = decodeURIComponent(m[1]!);
  const nodeBad: [string, string][] = HOSTNAME.test(node) ? [] : [["node", NO_MATCH]];
  const q = c.q;
  if (!m[2]) {
    const bad = [
      ...nodeBad,
      ...checkParams(q, {
        start: "uint",
        limit: "uint",
        store: "string",
        running: "bool",
        errors: "bool",
        userfilter: "string",
        since: "int",
        until: "int",
        typefilter: "string",
        statusfilter: "string",
      }),
    ];
    if (q.statusfilter && !["ok", "warning", "error", "unknown"].includes(q.statusfilter))
      bad.push(["statusfilter", `value '${q.statusfilter}' is not defined in the enumeration.`]);
    if (bad.length) return err(400, pbsParameterError(bad));
    const num = (k: string) => (q[k] === undefined ? undefined : Number(q[k]));
    const query: TaskListQuery = {
      start: num("start") ?? 0,
      limit: num("limit") ?? 50,
      errors: q.errors !== undefined && bool(q.errors) === true,
      running: q.running !== undefined && bool(q.running) === true,
      userfilter: q.userfilter,
      since: num("since"),
      until: num("until"),
      typefilter: q.typefilter,
      // One value: the lab's request parser keeps the last of repeated query keys.
      statusfilter: q.statusfilter ? [q.statusfilter] : undefined,
      store: q.store,
    };
    const { items, total } = listTasks([...pbs.tasks.values()], c.now, query, (t) => mayReadTask(pbs.acl, c.me, t));
    return json(
      items.map((t) => listItem(t, c.now)),
      { total },
    );
  }
  const upidText = decodeURIComponent(m[2]);
  const u = parseUpid(upidText);
  const bad: [string, string][] = [...nodeBad, ...(u ? [] : [["upid", NO_MATCH] as [string, string]])];
  bad.push(
    ...checkParams(
      Object.fromEntries(Object.entries(q).filter(([k]) => k !== "node" && k !== "upid")),
      m[3] === "log" ? { start: "uint", limit: "uint", download: "bool", "test-status": "bool" } : {},
    ),
  );
  if (bad.length || !u) return err(400, pbsParameterError(bad));
  const t = pbs.tasks.get(upidText);
  // check_task_access against the UPID's auth id — also for a task the server has no record of.
  const probe: PbsTask = t ?? {
    upid: upidText,
    workerType: u.workerType,
    workerId: u.workerId ?? "",
    auth: u.authId,
    startMs: u.starttime * 1000,
    endMs: u.starttime * 1000,
    state: "unknown",
    log: [],
  };
  if (!mayReadTask(pbs.acl, c.me, probe)) return err(400, "task access not allowed");
  if (m[3] === "status") {
    const running = t ? isRunning(t, c.now) : false;
    return json({
      upid: upidText,
      node: u.node,
      pid: u.pid,
      pstart: u.pstart,
      starttime: u.starttime,
      type: u.workerType,
      id: u.workerId,
      user: userOf(u.authId),
      ...(u.authId.includes("!") ? { tokenid: u.authId.slice(u.authId.indexOf("!") + 1) } : {}),
      status: running ? "running" : "stopped",
      ...(running ? {} : { exitstatus: t?.state ?? "unknown" }),
    });
  }
  if (!t) return err(400, "No such file or directory (os error 2)");
  const lines = logFile(t, c.now);
  if (q.download !== undefined && bool(q.download)) {
    if (q.start !== undefined || q.limit !== undefined || q["test-status"] !== undefined)
      return err(400, "Parameter 'download' cannot be used with other parameters");
    const when = new Date(u.starttime * 1000).toISOString().replace(".000Z", "Z");
    return {
      status: 200,
      body: lines.map((l) => `${l}\n`).join(""),
      contentType: "text/plain",
      headers: { "Content-Disposition": `attachment; filename=task-${u.node}-${u.workerType}-${when}.log` },
    };
  }
  const start = Number(q.start ?? 0);
  const limit = Number(q.limit ?? 50);
  const from = Math.max(start, 1);
  const page = lines.slice(from - 1, limit === 0 ? undefined : from - 1 + limit);
  return json(
    page.map((line, i) => ({ n: from + i, t: line })),
    {
      total: lines.length,
      success: 1,
      ...(q["test-status"] !== undefined && bool(q["test-status"]) ? { active: isRunning(t, c.now) } : {}),
    },
  );
}
