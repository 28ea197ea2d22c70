/**
 * Node task history, status, log and stop. A token sees its own tasks; others' need
 * Sys.Audit on /nodes/<n>. Task status never has `endtime`; the list has it once finished.
 * The cluster-wide recent list, GET /cluster/tasks, is built in cluster-tasks.ts.
 */
import { hasPriv } from "../acl.js";
import { clusterTasks } from "../cluster-tasks.js";
import { boolArg, enumArg, intArg, nodeOf, paramError, permError, route, type Ctx, type Route } from "../router.js";
import { stopTask } from "../vzdump.js";
import { taskUser, type TaskState } from "../workers.js";

export const UPID_RE =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

function mayRead(ctx: Ctx, t: TaskState): boolean {
  return t.authid === ctx.token.id || hasPriv(ctx.token, `/nodes/${t.node}`, "Sys.Audit");
}

function taskOf(ctx: Ctx): TaskState {
  const node = nodeOf(ctx);
  const upid = ctx.params.upid ?? "";
  const m = UPID_RE.exec(upid);
  if (!m) throw paramError({ upid: `unable to parse worker upid '${upid}'` });
  const t = ctx.state.findTask(upid);
  // Real PVE looks for the task's file on the node and answers a parameter error when it is not
  // there (pve-manager PVE/API2/Tasks.pm: raise_param_exc({ upid => "no such task" })).
  if (!t || t.node !== node.name || t.startMs > ctx.now) throw paramError({ upid: "no such task" });
  if (!mayRead(ctx, t)) throw permError(`/nodes/${t.node}`, "Sys.Audit");
  return t;
}

/** ok | warning | error | unknown, as PVE's `upid_normalize_status_type`. */
function statusType(exit: string | null): string {
  if (exit === null) return "running";
  if (exit === "OK") return "ok";
  if (/^WARNINGS: \d+$/.test(exit)) return "warning";
  if (exit === "unexpected status" || exit === "unknown") return "unknown";
  return "error";
}

function baseItem(t: TaskState): Record<string, unknown> {
  return {
    upid: t.upid,
    node: t.node,
    pid: t.pid,
    pstart: t.pstart,
    starttime: t.starttime,
    type: t.type,
    id: t.id,
    ...taskUser(t),
  };
}

export const taskRoutes: Route[] = [
  // Any user may call it (pve-manager PVE/API2/Cluster.pm `tasks`); what it holds: cluster-tasks.ts.
  route("GET", "/cluster/tasks", (ctx) => clusterTasks(ctx.state, ctx.token, ctx.now)),

  route("GET", "/nodes/{node}/tasks", (ctx) => {
    const node = nodeOf(ctx);
    const start = intArg(ctx, "start", { min: 0 }) ?? 0;
    const limit = intArg(ctx, "limit", { min: 0 }) ?? 50;
    const source = enumArg(ctx, "source", ["archive", "active", "all"] as const) ?? "archive";
    const vmid = intArg(ctx, "vmid", { min: 100 });
    const since = intArg(ctx, "since");
    const until = intArg(ctx, "until");
    const errors = boolArg(ctx, "errors") ?? false;
    const typefilter = ctx.args.typefilter;
    const userfilter = ctx.args.userfilter?.toLowerCase();
    const statusfilter = ctx.args.statusfilter ? new Set(ctx.args.statusfilter.split(/[,;\s]+/).filter(Boolean)) : null;
    const list = ctx.state.tasks
      .filter((t) => t.node === node.name && t.startMs <= ctx.now)
      .filter((t) => (source === "archive" ? t.endMs !== null : source === "active" ? t.endMs === null : true))
      .filter((t) => mayRead(ctx, t))
      .filter((t) => !typefilter || t.type === typefilter)
      .filter((t) => vmid === undefined || t.id === String(vmid))
      .filter((t) => !userfilter || t.authid.toLowerCase().includes(userfilter))
      .filter((t) => since === undefined || t.starttime >= since)
      .filter((t) => until === undefined || t.starttime <= until)
      .filter((t) => !errors || (t.exitstatus !== null && t.exitstatus !== "OK"))
      .filter((t) => !statusfilter || statusfilter.has(statusType(t.exitstatus)))
      .sort((a, b) => b.startMs - a.startMs || b.pid - a.pid);
    const page = (limit === 0 ? list.slice(start) : list.slice(start, start + limit)).map((t) => {
      const item = baseItem(t);
      if (t.endMs !== null) {
        item.endtime = Math.floor(t.endMs / 1000);
        item.status = t.exitstatus;
      } else {
        item.status = "RUNNING";
      }
      return item;
    });
    return { data: page, total: list.length };
  }),

  route("GET", "/nodes/{node}/tasks/{upid}", (ctx) => {
    taskOf(ctx);
    return [{ name: "log" }, { name: "status" }];
  }),

  route("GET", "/nodes/{node}/tasks/{upid}/status", (ctx) => {
    const t = taskOf(ctx);
    const out = baseItem(t);
    out.status = t.endMs === null ? "running" : "stopped";
    if (t.endMs !== null) out.exitstatus = t.exitstatus;
    return out;
  }),

  route("GET", "/nodes/{node}/tasks/{upid}/log", (ctx) => {
    const t = taskOf(ctx);
    const start = intArg(ctx, "start", { min: 0 }) ?? 0;
    const limit = intArg(ctx, "limit", { min: 0 }) ?? 50;
    if (!t.lines.length) return { data: [{ n: 1, t: "no content" }], total: 1 };
    const end = limit === 0 ? t.lines.length : start + limit;
    const data = t.lines.slice(start, end).map((text, i) => ({ n: start + i + 1, t: text }));
    return { data, total: t.lines.length };
  }),

  route("DELETE", "/nodes/{node}/tasks/{upid}", (ctx) => {
    const t = taskOf(ctx);
    if (t.authid !== ctx.token.id && !hasPriv(ctx.token, `/nodes/${t.node}`, "Sys.Modify"))
      throw permError(`/nodes/${t.node}`, "Sys.Modify");
    stopTask(ctx.state, t, ctx.now);
    return null;
  }),
];
