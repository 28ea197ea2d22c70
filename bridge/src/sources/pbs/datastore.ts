/**
 * Reading one PBS datastore: its usage, every namespace's snapshots and groups, GC and verify job
 * runs, the sync jobs that belong to it — or, when the token may not read it, a datastore with
 * everything unknown and the reason naming the privilege to grant.
 */
import type { PbsSourceConfig } from "../../config/load.js";
import { pbsRunStateOk } from "../../policy/offsite.js";
import type { PbsClient } from "./client.js";
import { PbsError } from "./client.js";
import { type PbsPermissions, pbsGrant } from "./permissions.js";
import { DatastoreStatus, GcJobs, Groups, Namespaces, Snapshots, VerifyJobs, type SyncJob } from "./schemas.js";

export interface JobRun {
  id: string;
  /** Raw `last-run-state` text ("OK", "WARNINGS: 1", "unknown", or the error message); null if never ran. */
  state: string | null;
  ok: boolean | null;
  endMs: number | null;
  nextMs: number | null;
}

export interface PbsDatastore {
  source: string;
  store: string;
  total: number;
  used: number;
  avail: number;
  namespaces: string[];
  groupCount: number;
  snapshotCount: number;
  lastBackupMs: number | null;
  verification: { ok: number; failed: number; none: number };
  verifyJobs: JobRun[];
  syncJobs: (JobRun & { remote: string | null; remoteStore: string; direction: "pull" | "push" })[];
  gc: JobRun | null;
  /** Newest run of each kind (for the device). */
  lastVerify: JobRun | null;
  lastSync: JobRun | null;
  storages: string[];
  offsite: boolean;
  /**
   * Why the token cannot read this datastore's backups, naming the privilege to grant; the
   * numbers above are then empty and mean nothing (unknown). null when it was read in full.
   */
  unreadable: string | null;
  /** Why sync jobs to remotes may be missing from syncJobs (Remote.Audit), or null. */
  syncUnreadable: string | null;
}

/** What reading a datastore needs of its source. */
export interface DatastoreReader {
  /** The source's name. */
  name: string;
  cfg: PbsSourceConfig;
  client: PbsClient;
  /** The token's privileges as last read (null: not readable, then only 403s tell). */
  perms: PbsPermissions | null;
}

/** A namespace or datastore the token may not list in full (thrown inside readDatastore). */
class Unreadable extends Error {}

const ms = (s: number | undefined) => (s === undefined ? null : s * 1000);
const run = (
  id: string,
  j: { "last-run-state"?: string; "last-run-endtime"?: number; "next-run"?: number },
): JobRun => ({
  id,
  state: j["last-run-state"] ?? null,
  ok: pbsRunStateOk(j["last-run-state"]),
  endMs: ms(j["last-run-endtime"]),
  nextMs: ms(j["next-run"]),
});
const newest = (runs: JobRun[]) => runs.filter((r) => r.endMs !== null).sort((a, b) => b.endMs! - a.endMs!)[0] ?? null;

/** The PVE storages configured to point at a datastore. */
const storagesOf = (cfg: PbsSourceConfig, store: string): string[] =>
  cfg.datastores.find((d) => d.store === store)?.storages ?? [];

export async function readDatastore(
  src: DatastoreReader,
  store: string,
  syncJobs: SyncJob[],
  syncUnreadable: string | null = null,
): Promise<PbsDatastore> {
  const enc = encodeURIComponent(store);
  const c = src.client;
  const status = await c.get(`/admin/datastore/${enc}/status`, DatastoreStatus);
  // Snapshots are listed one namespace per call: walk them all (root is "").
  const namespaces = (await c.get(`/admin/datastore/${enc}/namespace`, Namespaces)).map((n) => n.ns);
  if (!namespaces.includes("")) namespaces.unshift("");
  // Datastore.Backup alone lists only the token's own groups, without an error: not a full count.
  for (const ns of namespaces) {
    const lacking = src.perms?.listingAccess(store, ns);
    if (lacking) throw new Unreadable(lacking);
  }
  let groupCount = 0;
  let snapshotCount = 0;
  let lastBackupMs: number | null = null;
  const verification = { ok: 0, failed: 0, none: 0 };
  for (const ns of namespaces) {
    const q = ns ? { ns } : undefined;
    groupCount += (await c.get(`/admin/datastore/${enc}/groups`, Groups, q)).length;
    for (const s of await c.get(`/admin/datastore/${enc}/snapshots`, Snapshots, q)) {
      snapshotCount++;
      if (lastBackupMs === null || s["backup-time"] * 1000 > lastBackupMs) lastBackupMs = s["backup-time"] * 1000;
      if (!s.verification) verification.none++;
      else if (s.verification.state === "ok") verification.ok++;
      else verification.failed++;
    }
  }
  let gc: JobRun | null = null;
  try {
    const jobs = await c.get("/admin/gc", GcJobs, { store });
    const j = jobs.find((x) => x.store === store);
    if (j) gc = run("gc", j);
  } catch (e) {
    // Before 3.2.2 there is no GC job status: the bare status has no time and no state.
    if (!(e instanceof PbsError && e.kind === "http")) throw e;
  }
  const verifyJobs = (await c.get("/admin/verify", VerifyJobs, { store }))
    .filter((j) => j.store === store)
    .map((j) => run(j.id, j));
  const syncs = syncJobs
    .filter((j) => j.store === store)
    .map((j) => ({
      ...run(j.id, j),
      remote: j.remote ?? null,
      remoteStore: j["remote-store"],
      direction: j["sync-direction"] ?? ("pull" as const),
    }));
  return {
    source: src.name,
    store,
    total: status.total,
    used: status.used,
    avail: status.avail,
    namespaces,
    groupCount,
    snapshotCount,
    lastBackupMs,
    verification,
    verifyJobs,
    syncJobs: syncs,
    gc,
    lastVerify: newest(verifyJobs),
    lastSync: newest(syncs),
    storages: storagesOf(src.cfg, store),
    offsite: src.cfg.offsite,
    unreadable: null,
    syncUnreadable,
  };
}

/** A datastore the token may not read: everything unknown, the reason says what to grant. */
function unreadableDatastore(
  src: DatastoreReader,
  store: string,
  reason: string,
  syncUnreadable: string | null,
): PbsDatastore {
  return {
    source: src.name,
    store,
    total: 0,
    used: 0,
    avail: 0,
    namespaces: [],
    groupCount: 0,
    snapshotCount: 0,
    lastBackupMs: null,
    verification: { ok: 0, failed: 0, none: 0 },
    verifyJobs: [],
    syncJobs: [],
    gc: null,
    lastVerify: null,
    lastSync: null,
    storages: storagesOf(src.cfg, store),
    offsite: src.cfg.offsite,
    unreadable: reason,
    syncUnreadable,
  };
}

/** Reads one datastore, or says why the token may not. `listed`: whether GET /admin/datastore listed it. */
export async function readOrExplain(
  src: DatastoreReader,
  store: string,
  listed: boolean,
  syncJobs: SyncJob[],
  syncUnreadable: string | null,
): Promise<PbsDatastore> {
  const path = `/datastore/${store}`;
  const tokenId = src.cfg.tokenId;
  let reason: string | null;
  if (!listed)
    reason = src.perms?.has("Datastore.Audit", path)
      ? `PBS '${src.name}' has no datastore '${store}' (it is not listed although the token has Datastore.Audit on ${path})`
      : (src.perms?.listingAccess(store) ??
        `PBS does not list datastore '${store}' to the API token (missing, or no Datastore.Audit): ${pbsGrant(tokenId, "Datastore.Audit", path, "DatastoreAudit")}`);
  else reason = src.perms?.listingAccess(store) ?? null;
  if (!reason) {
    try {
      return await readDatastore(src, store, syncJobs, syncUnreadable);
    } catch (e) {
      if (e instanceof Unreadable) reason = e.message;
      // PBS names the path it checked ("… missing Datastore.Audit|Datastore.Backup on /datastore/store1/ns").
      else if (e instanceof PbsError && e.kind === "permission")
        reason = `${e.message}: ${pbsGrant(tokenId, "Datastore.Audit", / on (\/datastore\/\S+)$/.exec(e.message)?.[1] ?? path, "DatastoreAudit")}`;
      else throw e;
    }
  }
  return unreadableDatastore(src, store, reason, syncUnreadable);
}
