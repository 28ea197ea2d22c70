/**
 * The simulated PBS's job listings: GET /admin/gc, /admin/verify and /admin/sync, each silently
 * filtered to what the caller may see, and the job-status and GC-status structs they (and a
 * datastore's /gc and /status) answer with.
 */
import type { SimResponse } from "../https-base.js";
import { PRIV, lookupPrivs } from "./acl.js";
import { err, json, pbsParameterError, type PbsCall } from "./http.js";
import type { ResolvedPbs } from "./scenario.js";
import { sec, type JobState, type PbsState } from "./state.js";

/** A job's status fields: keys omitted when unset, `last-run-state` as raw text. */
export const jobStatus = (j: JobState, next: number | undefined) => ({
  ...(j.state !== null ? { "last-run-state": j.state } : {}),
  ...(j.upid !== null ? { "last-run-upid": j.upid } : {}),
  ...(j.endMs !== null ? { "last-run-endtime": sec(j.endMs) } : {}),
  ...(next !== undefined ? { "next-run": next } : {}),
});

/** A datastore's GC status (`upid: null` when GC never ran). */
export const gcStatus = (pbs: PbsState, name: string) => {
  const st = pbs.stores.get(name)!;
  return {
    upid: st.gc.upid,
    "index-file-count": st.snaps.length,
    "index-data-bytes": st.snaps.reduce((a, s) => a + s.size, 0),
    "disk-bytes": Math.floor(st.cfg.used),
    "disk-chunks": 4096,
    "removed-bytes": 0,
    "removed-chunks": 0,
    "pending-bytes": 0,
    "pending-chunks": 0,
    "removed-bad": 0,
    "still-bad": 0,
  };
};

/**
 * check_sync_job_read_access: Datastore.Audit on the local store, and Remote.Audit on the remote
 * (or Audit on the local source store); from 3.3 a push job: Remote.Audit on
 * /remote/<remote>/<remote-store> (remote_acl_path), never without a remote. The 3.3+ rule is
 * read from src/api2/config/sync.rs of a public proxmox-backup mirror: the code checks
 * PRIV_REMOTE_AUDIT there, although the endpoint's access text says "RemoteDatastore.Audit".
 * The lab's jobs have no remote namespace, so the path ends at the remote store.
 */
export function syncReadable(
  pbs: PbsState,
  who: string,
  store: string,
  j: { remote?: string | undefined; remoteStore: string; direction: "pull" | "push" },
): boolean {
  const p = (path: string[]) => lookupPrivs(pbs.acl, who, path);
  if (!(p(["datastore", store]) & PRIV["Datastore.Audit"])) return false;
  if (pbs.hasPush && j.direction === "push")
    return j.remote ? (p(["remote", j.remote, j.remoteStore]) & PRIV["Remote.Audit"]) !== 0 : false;
  return j.remote
    ? (p(["remote", j.remote]) & PRIV["Remote.Audit"]) !== 0
    : (p(["datastore", j.remoteStore]) & PRIV["Datastore.Audit"]) !== 0;
}

type SyncJob = ResolvedPbs["datastores"][number]["syncJobs"][number];

/**
 * The sync jobs a GET of /admin/sync or /config/sync lists for the caller, or the 400 PBS answers:
 * the router checks the query against the method's schema before the method runs; from 3.3
 * `sync-direction` (default pull) selects the jobs, before every job is listed.
 */
export function readableSyncJobs(
  pbs: PbsState,
  c: PbsCall,
  otherParams: string[],
): SimResponse | { store: string; job: SyncJob }[] {
  const known = pbs.hasPush ? [...otherParams, "sync-direction"] : otherParams;
  const bad: [string, string][] = Object.keys(c.q)
    .filter((k) => k !== "_dc" && !known.includes(k))
    .map((k) => [k, "schema does not allow additional properties."]);
  const direction = c.q["sync-direction"] ?? "pull";
  if (pbs.hasPush && !["pull", "push", "all"].includes(direction))
    bad.push(["sync-direction", `value '${direction}' is not defined in the enumeration.`]);
  if (bad.length) return err(400, pbsParameterError(bad));
  return [...pbs.stores.entries()].flatMap(([store, st]) =>
    st.cfg.syncJobs
      .filter((j) => !pbs.hasPush || direction === "all" || j.direction === direction)
      .filter((j) => syncReadable(pbs, c.me, store, j))
      .map((job) => ({ store, job })),
  );
}

/** GET /admin/gc, /admin/verify, /admin/sync; null for any other request. */
export function jobRoute(pbs: PbsState, c: PbsCall): SimResponse | null {
  const { q, privs } = c;
  // GC status of datastores the caller may audit (newer PBS; 3.2.4 answered ?store= unchecked).
  const gcVisible = (s: string) =>
    q.store
      ? (privs(["datastore", s]) & (PRIV["Datastore.Audit"] | PRIV["Datastore.Backup"])) !== 0
      : c.storeVisible(s);
  if (c.method === "GET" && c.path === "/admin/gc")
    return json(
      [...pbs.stores.keys()]
        .filter((s) => (!q.store || s === q.store) && gcVisible(s))
        .map((s) => ({
          store: s,
          ...gcStatus(pbs, s),
          schedule: pbs.stores.get(s)!.cfg.gcSchedule,
          ...jobStatus(pbs.stores.get(s)!.gc, c.nextDay),
        })),
    );
  if (c.method === "GET" && c.path === "/admin/verify")
    return json(
      [...pbs.stores.entries()]
        .filter(
          ([s]) =>
            (!q.store || s === q.store) &&
            privs(["datastore", s]) & (PRIV["Datastore.Audit"] | PRIV["Datastore.Verify"]),
        )
        .flatMap(([s, st]) =>
          st.cfg.verifyJobs.map((j) => ({
            id: j.id,
            store: s,
            schedule: j.schedule,
            ...(j["outdated-after"] ? { "outdated-after": j["outdated-after"] } : {}),
            ...jobStatus(st.verify.get(j.id)!, c.nextDay),
          })),
        ),
    );
  if (c.method === "GET" && c.path === "/admin/sync") {
    const jobs = readableSyncJobs(pbs, c, ["store"]);
    if (!Array.isArray(jobs)) return jobs;
    return json(
      jobs
        .filter(({ store }) => !q.store || store === q.store)
        .map(({ store, job: j }) => ({
          id: j.id,
          store,
          ...(j.remote ? { remote: j.remote } : {}),
          "remote-store": j.remoteStore,
          ...(j.direction === "push" ? { "sync-direction": "push" } : {}),
          schedule: j.schedule,
          ...jobStatus(pbs.stores.get(store)!.sync.get(j.id)!, sec(c.now) + 3600),
        })),
    );
  }
  return null;
}
