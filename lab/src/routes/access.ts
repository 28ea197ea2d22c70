/**
 * GET /access/permissions: the caller's effective privileges per ACL path. The bridge uses it
 * to tell "no backups" from "not allowed to see backups".
 */
import { effectivePrivs, normalizeAclPath, permissionPaths } from "../acl.js";
import { route, type Route } from "../router.js";

export const accessRoutes: Route[] = [
  route("GET", "/access/permissions", (ctx) => {
    const paths = ctx.args.path ? [normalizeAclPath(ctx.args.path)] : permissionPaths(ctx.token);
    const out: Record<string, Record<string, number>> = {};
    for (const p of paths) {
      const privs = effectivePrivs(ctx.token, p);
      // Without `path`, PVE leaves out paths where the caller has nothing.
      if (!privs.size && !ctx.args.path) continue;
      out[p] = Object.fromEntries([...privs.entries()].sort(([a], [b]) => a.localeCompare(b)));
    }
    return out;
  }),
];
