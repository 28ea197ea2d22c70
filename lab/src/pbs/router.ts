/**
 * The simulated PBS's request handler: settles finished verify tasks, authenticates the API token
 * (`PBSAPIToken=id:secret` or `PBSAPIToken id:secret`), then routes /api2/json requests — GET
 * /version, /access/permissions and task status here, the datastores (datastore-routes.ts) and
 * the job listings (job-routes.ts) in their own files — and answers 404 for anything else.
 */
import type { Clock } from "../clock.js";
import type { SimRequest, SimResponse } from "../https-base.js";
import {
  NS_PRIVS_OK,
  PBS_PRIVS,
  PRIV,
  aclTreePaths,
  anyPrivsBelow,
  isBackupOwner,
  isToken,
  lookupPrivs,
  lookupPrivsDetails,
  userOf,
} from "./acl.js";
import { datastoreRoute } from "./datastore-routes.js";
import { err, json, type PbsCall } from "./http.js";
import { jobRoute } from "./job-routes.js";
import { sec, type PbsState } from "./state.js";

/** GET /access/permissions: the caller's (or, when allowed, another auth id's) privileges per ACL path. */
function permissions(pbs: PbsState, c: PbsCall): SimResponse {
  const { q, me } = c;
  let who = me;
  if (q["auth-id"] && q["auth-id"] !== me) {
    // Sys.Audit on /access, or a user asking about its own token (a token is never that user).
    if (
      !(c.privs(["access"]) & PRIV["Sys.Audit"]) &&
      !(isToken(q["auth-id"]) && !isToken(me) && userOf(q["auth-id"]) === me)
    )
      return err(400, `not allowed to list permissions of ${q["auth-id"]}`);
    who = q["auth-id"];
  }
  const paths = q.path
    ? [q.path]
    : [...new Set([...aclTreePaths(pbs.acl), "/", "/access", "/datastore", "/remote", "/system"])];
  const out: Record<string, Record<string, boolean>> = {};
  for (const path of paths) {
    const [has, propagated] = lookupPrivsDetails(pbs.acl, who, path);
    if (!has) continue; // no leak of ACL paths without privileges
    out[path] = Object.fromEntries(
      PBS_PRIVS.filter((x) => has & PRIV[x]).map((x) => [x, (propagated & PRIV[x]) !== 0]),
    );
  }
  return json(out);
}

/** GET /nodes/localhost/tasks/<upid>/status of a verify task. */
function taskStatus(pbs: PbsState, c: PbsCall, id: string): SimResponse {
  const t = pbs.tasks.get(id);
  if (!t) return err(400, "no such task");
  // Own tasks (or the user of the token that ran it), or Sys.Audit on /system/tasks.
  if (!isBackupOwner(t.auth, c.me) && !(c.privs(["system", "tasks"]) & PRIV["Sys.Audit"]))
    return err(400, "task access not allowed");
  return json({
    upid: id,
    node: "localhost",
    type: "verify",
    status: t.done ? "stopped" : "running",
    ...(t.done ? { exitstatus: t.failed ? "verification failed - please check the log for details" : "OK" } : {}),
  });
}

/** The handler the HTTPS server calls; `what` names the route in the request log. */
export function pbsHandler(pbs: PbsState, clock: Clock): (req: SimRequest) => SimResponse & { what?: string } {
  return (req) => {
    const now = clock.now();
    pbs.settle(now);
    if (!req.path.startsWith("/api2/json/")) return { ...err(404, "Path not found."), what: req.path };
    const p = req.path.slice("/api2/json".length);
    const what = `${req.method} ${p}`;
    const r = (x: SimResponse) => ({ ...x, what });
    const auth = String(req.headers.authorization ?? "");
    const m = /^PBSAPIToken[= ]([^:]+):(.+)$/.exec(auth);
    const token = m && pbs.sc.tokens.find((t) => t.id === m[1] && t.secret === decodeURIComponent(m[2]!));
    if (!token) return r(err(401, "authentication failed - invalid credentials"));
    const me = token.id;
    const privs = (path: string[]) => lookupPrivs(pbs.acl, me, path);
    const c: PbsCall = {
      method: req.method,
      path: p,
      q: req.params,
      now,
      me,
      privs,
      storeVisible: (store) =>
        (privs(["datastore", store]) & (PRIV["Datastore.Audit"] | PRIV["Datastore.Backup"])) !== 0 ||
        anyPrivsBelow(pbs.acl, me, ["datastore", store], NS_PRIVS_OK),
      nextDay: sec(now) + 86_400 - (sec(now) % 86_400) + 3 * 3600,
    };

    if (req.method === "GET" && p === "/version")
      return r(
        json({ version: pbs.sc.version, release: pbs.sc.version.split(".").slice(0, 2).join("."), repoid: "4940514b" }),
      );
    if (req.method === "GET" && p === "/access/permissions") return r(permissions(pbs, c));
    const answer = datastoreRoute(pbs, c) ?? jobRoute(pbs, c);
    if (answer) return r(answer);
    const task = /^\/nodes\/localhost\/tasks\/([^/]+)\/status$/.exec(p);
    if (req.method === "GET" && task) return r(taskStatus(pbs, c, decodeURIComponent(task[1]!)));
    return r(err(404, "Path not found."));
  };
}
