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
  isToken,
  lookupPrivs,
  lookupPrivsDetails,
  userOf,
} from "./acl.js";
import { configRoute } from "./config-routes.js";
import { datastoreRoute } from "./datastore-routes.js";
import { err, json, type PbsCall } from "./http.js";
import { jobRoute } from "./job-routes.js";
import { sec, type PbsState } from "./state.js";
import { statusRoute } from "./status-routes.js";
import { taskRoute } from "./task-routes.js";

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

/**
 * Paths outside /api2/json, as proxmox-rest-server's ApiConfig::handle_request answers them
 * (rest.rs): another format below /api2 → 400 "Unsupported output format '<f>'."; /api2 alone →
 * 404 "invalid api path '/api2'"; anything else is a static file: GET → 404 "no such file:
 * '<path>'", other methods → 400 "invalid http method for path".
 */
function outsideApi(method: string, path: string): SimResponse {
  const comps = path.split("/").filter(Boolean);
  if (comps[0] === "api2") {
    if (comps.length === 1) return err(404, `invalid api path '${path}'`);
    if (comps[1] !== "json" && comps[1] !== "extjs") return err(400, `Unsupported output format '${comps[1]}'.`);
  }
  if (method !== "GET") return err(400, "invalid http method for path");
  return err(404, `no such file: '${comps.join("/")}'`);
}

/** The handler the HTTPS server calls; `what` names the route in the request log. */
export function pbsHandler(
  pbs: PbsState,
  clock: Clock,
  fingerprint: () => string,
): (req: SimRequest) => SimResponse & { what?: string } {
  return (req) => {
    const now = clock.now();
    pbs.settle(now);
    if (!req.path.startsWith("/api2/json/")) return { ...outsideApi(req.method, req.path), what: req.path };
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
    const answer =
      datastoreRoute(pbs, c) ??
      jobRoute(pbs, c) ??
      taskRoute(pbs, c) ??
      statusRoute(pbs, c, fingerprint().toLowerCase()) ??
      configRoute(pbs, c);
    if (answer) return r(answer);
    // rest.rs Formatted::handle_request: no API method for the path (or not for this HTTP method),
    // after authentication — the full request path, /api2/json included.
    return r(err(404, `Path '${req.path}' not found.`));
  };
}
