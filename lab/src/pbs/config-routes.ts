/**
 * The simulated PBS's job configuration and prune API (proxmox-backup 3.2.4):
 * - GET /config/datastore (src/api2/config/datastore.rs list_datastores): DataStoreConfig of the
 *   datastores with Datastore.Audit; GET /config/verify (config/verify.rs): VerificationJobConfig
 *   with Datastore.Audit|Verify on the job's datastore/namespace; GET /config/sync (config/sync.rs):
 *   SyncJobConfig as check_sync_job_read_access allows; GET /config/prune (config/prune.rs):
 *   PruneJobConfig with Datastore.Audit|Modify. Each answer carries the config's `digest`.
 * - GET /admin/prune?store= (src/api2/admin/prune.rs): PruneJobStatus (the config flattened with
 *   JobScheduleStatus; no next-run when disabled).
 * - POST /admin/datastore/{store}/prune (src/api2/admin/datastore.rs prune): one group's prune,
 *   Datastore.Modify, or Datastore.Prune and owning the group; with `dry-run` only the marks, else
 *   the removal too (a "prune" task with worker id store:ns:type/id). The result oldest first:
 *   {backup-type, backup-id, backup-time, keep, protected[, ns]}. No keep option: keep all.
 * Keys kebab-case, unset options omitted (pbs-api-types jobs.rs, datastore.rs).
 */
import { createHash } from "node:crypto";
import type { SimResponse } from "../https-base.js";
import { pruneMark } from "../prune.js";
import { PRIV, isBackupOwner, splitAclPath } from "./acl.js";
import { nsAccess } from "./datastore-routes.js";
import { err, json, pbsParameterError, type PbsCall } from "./http.js";
import { jobStatus, readableSyncJobs } from "./job-routes.js";
import { KEEP_OPTIONS, type ResolvedPbs } from "./scenario.js";
import type { PbsState } from "./state.js";

type PruneJob = ResolvedPbs["datastores"][number]["pruneJobs"][number];

/** `rpcenv["digest"]`: the SHA-256 of the config file, hex. */
const withDigest = (list: unknown[]) =>
  json(list, { digest: createHash("sha256").update(JSON.stringify(list)).digest("hex") });

const aclPath = (store: string, ns?: string) => ["datastore", store, ...splitAclPath(ns ?? "")];

/** PruneJobConfig: id, store, disable (only when true), schedule, comment, keep-*, max-depth, ns. */
const pruneJobConfig = (store: string, j: PruneJob) => ({
  id: j.id,
  store,
  ...(j.disable ? { disable: true } : {}),
  schedule: j.schedule,
  ...(j.comment ? { comment: j.comment } : {}),
  ...Object.fromEntries(KEEP_OPTIONS.filter((k) => j[k] !== undefined).map((k) => [k, j[k]])),
  ...(j["max-depth"] !== undefined ? { "max-depth": j["max-depth"] } : {}),
  ...(j.ns ? { ns: j.ns } : {}),
});

/** POST /admin/datastore/{store}/prune. */
function pruneGroup(pbs: PbsState, c: PbsCall, store: string): SimResponse {
  const q = c.q;
  const known = ["backup-type", "backup-id", "dry-run", "ns", "use-task", ...KEEP_OPTIONS];
  const bad: [string, string][] = [];
  for (const k of ["backup-type", "backup-id"])
    if (q[k] === undefined) bad.push([k, "parameter is missing and it is not optional."]);
  if (q["backup-type"] !== undefined && !["vm", "ct", "host"].includes(q["backup-type"]))
    bad.push(["backup-type", `value '${q["backup-type"]}' is not defined in the enumeration.`]);
  for (const k of KEEP_OPTIONS)
    if (q[k] !== undefined && !/^[1-9]\d*$/.test(q[k]))
      bad.push([
        k,
        /^-?\d+$/.test(q[k]) ? `value must have a minimum value of 1 (got ${q[k]})` : "Expected integer value.",
      ]);
  for (const k of Object.keys(q))
    if (!known.includes(k) && k !== "_dc") bad.push([k, "schema does not allow additional properties."]);
  if (bad.length) return err(400, pbsParameterError(bad));
  const ns = q.ns ?? "";
  const type = q["backup-type"]!;
  const id = q["backup-id"]!;
  // check_privs_and_load_store: Datastore.Modify for any group, Datastore.Prune for owned ones.
  const limited = nsAccess(c, store, ns, PRIV["Datastore.Modify"], PRIV["Datastore.Prune"]);
  if (typeof limited !== "boolean") return limited;
  const st = pbs.stores.get(store);
  if (!st) return err(400, `datastore '${store}' does not exist`);
  const group = st.snaps.filter((s) => s.ns === ns && s.type === type && s.id === id);
  if (limited && group.length && !isBackupOwner(pbs.groupOwner(st, group[0]!), c.me))
    return err(400, `backup owner check failed (${c.me} != ${pbs.groupOwner(st, group[0]!)})`);
  const opts = Object.fromEntries(KEEP_OPTIONS.filter((k) => q[k] !== undefined).map((k) => [k, Number(q[k])]));
  // compute_prune_info in local time; the lab's PBS runs on UTC. Newest first, then reversed.
  const marked = pruneMark(
    group.map((s) => ({ ctime: s.time, snap: s })),
    opts,
    "UTC",
  ).reverse();
  const result = marked.map((e) => ({
    "backup-type": type,
    "backup-id": id,
    "backup-time": e.ctime,
    keep: e.mark !== "remove",
    protected: e.mark === "protected",
    ...(ns ? { ns } : {}),
  }));
  const dry = q["dry-run"] !== undefined && ["1", "true", "yes", "on"].includes(q["dry-run"].toLowerCase());
  if (dry) return json(result);
  const stamp = (t: number) => new Date(t * 1000).toISOString().replace(".000Z", "Z");
  const upid = pbs.addTask({
    workerType: "prune",
    workerId: `${store}:${ns}:${type}/${id}`,
    auth: c.me,
    startMs: c.now,
    endMs: c.now,
    state: "OK",
    log: Object.keys(opts).length
      ? [
          `retention options: ${Object.entries(opts)
            .map(([k, v]) => `--${k} ${v}`)
            .join(" ")}`,
          `Starting prune on datastore '${store}'${ns ? `, namespace '${ns}'` : ""} group "${type}/${id}"`,
          ...marked.map((e) => `${type}/${id}/${stamp(e.ctime)} ${e.mark}`),
        ]
      : ["No prune selection - keeping all files."],
  });
  const removed = new Set(marked.filter((e) => e.mark === "remove").map((e) => e.snap));
  st.snaps = st.snaps.filter((s) => !removed.has(s));
  return json(q["use-task"] && ["1", "true", "yes", "on"].includes(q["use-task"].toLowerCase()) ? upid : result);
}

/** The /config listings, GET /admin/prune and POST …/prune; null for any other request. */
export function configRoute(pbs: PbsState, c: PbsCall): SimResponse | null {
  const { privs } = c;
  const stores = [...pbs.stores.entries()];
  const has = (path: string[], mask: number) => (privs(path) & mask) !== 0;
  const pr = /^\/admin\/datastore\/([^/]+)\/prune$/.exec(c.path);
  if (c.method === "POST" && pr) return pruneGroup(pbs, c, decodeURIComponent(pr[1]!));
  if (c.method !== "GET") return null;
  switch (c.path) {
    case "/config/datastore":
      return withDigest(
        stores
          .filter(([s]) => has(["datastore", s], PRIV["Datastore.Audit"]))
          .map(([s, st]) => ({
            name: s,
            path: `/mnt/datastore/${s}`,
            ...(st.cfg.comment ? { comment: st.cfg.comment } : {}),
            "gc-schedule": st.cfg.gcSchedule,
          })),
      );
    case "/config/verify":
      return withDigest(
        stores.flatMap(([s, st]) =>
          has(aclPath(s), PRIV["Datastore.Audit"] | PRIV["Datastore.Verify"])
            ? st.cfg.verifyJobs.map((j) => ({
                id: j.id,
                store: s,
                ...(j["ignore-verified"] !== undefined ? { "ignore-verified": j["ignore-verified"] } : {}),
                ...(j["outdated-after"] !== undefined ? { "outdated-after": j["outdated-after"] } : {}),
                ...(j.comment ? { comment: j.comment } : {}),
                schedule: j.schedule,
              }))
            : [],
        ),
      );
    case "/config/sync": {
      const jobs = readableSyncJobs(pbs, c, []);
      if (!Array.isArray(jobs)) return jobs;
      return withDigest(
        jobs.map(({ store, job: j }) => ({
          id: j.id,
          store,
          ...(j.remote ? { remote: j.remote } : {}),
          "remote-store": j.remoteStore,
          schedule: j.schedule,
          ...(pbs.hasPush && j.direction === "push" ? { "sync-direction": "push" } : {}),
        })),
      );
    }
    case "/config/prune":
      return withDigest(
        stores.flatMap(([s, st]) =>
          st.cfg.pruneJobs
            .filter((j) => has(aclPath(s, j.ns), PRIV["Datastore.Audit"] | PRIV["Datastore.Modify"]))
            .map((j) => pruneJobConfig(s, j)),
        ),
      );
    case "/admin/prune":
      return withDigest(
        stores
          .filter(([s]) => !c.q.store || s === c.q.store)
          .flatMap(([s, st]) =>
            st.cfg.pruneJobs
              .filter((j) => has(aclPath(s, j.ns), PRIV["Datastore.Audit"] | PRIV["Datastore.Modify"]))
              .map((j) => ({
                ...pruneJobConfig(s, j),
                ...jobStatus(st.prune.get(j.id)!, j.disable ? undefined : c.nextDay),
              })),
          ),
      );
    default:
      return null;
  }
}
