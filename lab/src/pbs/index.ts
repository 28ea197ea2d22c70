/**
 * The simulated Proxmox Backup Server: a real HTTPS server on /api2/json speaking PBS as
 * proxmox-backup does — `PBSAPIToken=id:secret` (or `PBSAPIToken id:secret`), errors as
 * HTTP statuses with plain-text bodies under a JSON content type, kebab-case structs with keys
 * omitted when unset, snapshots per namespace (no recursion), `verification` absent until a verify
 * ran, GC `upid: null` when GC never ran, job `last-run-state` as raw text, and verify tasks.
 *
 * Permissions as proxmox-backup 3.2.4 checks them (acl.ts has the model), per endpoint:
 * - GET /admin/datastore lists only datastores with Datastore.Audit|Backup on /datastore/<store>
 *   (or any privilege on a namespace below it) — the others are silently left out;
 * - …/status: full numbers with Audit|Backup, zeros with Read or a namespace privilege, else 403;
 * - …/namespace: only namespaces with a privilege; 403 when none and none on the parent;
 * - …/groups, …/snapshots: Datastore.Audit lists all groups; Datastore.Backup alone silently only
 *   the groups the caller owns; neither → 403 "permission check failed - missing
 *   Datastore.Audit|Datastore.Backup on /datastore/<store>[/<ns>]" (hierarchy.rs check_ns_privs_full);
 * - POST …/verify: Datastore.Verify, or Datastore.Backup and then only owned groups are verified;
 * - GET …/gc: Datastore.Audit (router check → 403 "permission check failed");
 * - /admin/gc, /admin/verify, /admin/sync: silently filtered (sync jobs with a remote also need
 *   Remote.Audit on /remote/<remote>; from 3.3 a push job on /remote/<remote>/<remote-store>);
 * - tasks (task-routes.ts): own tasks, Sys.Audit on /system/tasks, or the privileges to run the
 *   job the task ran (check_task_access), else 400 "task access not allowed"; the list leaves out
 *   what the caller may not read;
 * - /status/datastore-usage: Audit|Backup → full entry, a namespace privilege → {store} only;
 *   …/rrd: Audit|Backup; /nodes/{node}/status: Sys.Audit on /system/status (status-routes.ts);
 * - /config/datastore: Datastore.Audit; /config/verify: Audit|Verify; /config/prune, /admin/prune:
 *   Audit|Modify; POST …/prune: Modify, or Prune and owning the group; POST …/gc: Modify
 *   (config-routes.ts, datastore-routes.ts);
 * - GET /access/permissions: the caller's privileges per ACL path, propagate flags as booleans.
 * Privileges are checked before a datastore's existence, as PBS does (no existence leak).
 *
 * The scenario's `version` (default 3.2.4) decides what GET /admin/sync takes and lists, as in
 * proxmox-backup src/api2/admin/sync.rs: up to 3.2 (`list_sync_jobs`) its only parameter is
 * `store`, and any other is refused by the router's schema check with 400 "parameter verification
 * failed - '<name>': schema does not allow additional properties." (proxmox-schema
 * ParameterError, proxmox-rest-server error_to_response); from 3.3.0 (`list_config_sync_jobs`,
 * commits 397e9c99 and 403ad1f6) it also takes `sync-direction` = pull|push|all and, without it,
 * lists only pull jobs ("FIXME: 4.x make 'all' the default", still so in 4.2). Push sync jobs do
 * not exist before 3.3; a 3.2 scenario that has them anyway gets them listed with the others.
 *
 * This module is the `backup2mqtt-lab/pbs` entry point: startPbsLab and what it exports. The
 * state is in state.ts (tasks in tasks.ts, UPIDs in upid.ts), the request handler in router.ts,
 * the routes in datastore-routes.ts, job-routes.ts, task-routes.ts, status-routes.ts and
 * config-routes.ts. Unknown API paths: 404 "Path '/api2/json/…' not found." (after authentication).
 */
import type { Clock } from "../clock.js";
import { SimHttpsServer, type SimFault, type SimRecord } from "../https-base.js";
import type { PbsAclEntry } from "./acl.js";
import { pbsHandler } from "./router.js";
import { PbsScenarioSchema, type PbsScenario, type ResolvedPbs as Resolved } from "./scenario.js";
import { PbsState, syncWorkerId } from "./state.js";
export { PbsScenarioSchema, type PbsScenario } from "./scenario.js";
export { DEFAULT_PBS_ACL, type PbsAclEntryInput } from "./scenario.js";
export type { PbsAclEntry, PbsRole } from "./acl.js";
export { pbsVersionAtLeast } from "./state.js";

export interface PbsLab {
  url: string;
  fingerprint: string;
  certPem: string;
  name: string;
  scenario: Resolved;
  requests: SimRecord[];
  tokens: { id: string; secret: string }[];
  control: {
    setFault(f: SimFault | null): void;
    /** Sets a sync job's last run (e.g. after a snapshot). */
    setSyncRun(store: string, id: string, run: { endMs: number; state: string }): void;
    /** Replaces the ACL entries of a user or token (`proxmox-backup-manager acl update/delete`); [] removes them all. */
    setAcl(authId: string, entries: { path: string; role: PbsAclEntry["role"]; propagate?: boolean }[]): void;
  };
  stop(): Promise<void>;
}

export async function startPbsLab(o: {
  scenario: PbsScenario;
  clock: Clock;
  taskSpeed?: number;
  host?: string;
  port?: number;
}): Promise<PbsLab> {
  const sc = PbsScenarioSchema.parse(o.scenario);
  const clock = o.clock;
  const pbs = new PbsState(sc, clock.now(), o.taskSpeed ?? 1);
  const server: SimHttpsServer = new SimHttpsServer(pbsHandler(pbs, clock, () => server.fingerprint));
  await server.listen(o.host ?? "127.0.0.1", o.port ?? 0);
  return {
    url: `https://127.0.0.1:${server.port}`,
    fingerprint: server.fingerprint,
    certPem: server.certPem,
    name: sc.name,
    scenario: sc,
    requests: server.requests,
    tokens: sc.tokens,
    control: {
      setFault: (f) => server.setFault(f),
      setAcl: (authId, entries) => {
        if (entries.length)
          pbs.acl.set(
            authId,
            entries.map((e) => ({ path: e.path, role: e.role, propagate: e.propagate ?? true })),
          );
        else pbs.acl.delete(authId);
      },
      setSyncRun: (store, id, run) => {
        const st = pbs.stores.get(store);
        const j = st?.sync.get(id);
        const cfg = st?.cfg.syncJobs.find((x) => x.id === id);
        if (j && cfg)
          Object.assign(j, {
            endMs: run.endMs,
            state: run.state,
            upid: pbs.addTask({
              workerType: "syncjob",
              workerId: syncWorkerId(store, cfg),
              auth: "root@pam",
              startMs: run.endMs - 60_000,
              endMs: run.endMs,
              state: run.state,
            }),
          });
      },
    },
    stop: () => server.close(),
  };
}
