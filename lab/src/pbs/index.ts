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
 * - task status: own tasks, or Sys.Audit on /system/tasks, else 400 "task access not allowed";
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
 */
import type { z } from "zod";
import { PbsScenarioSchema, type PbsScenario, type LastRun, type ResolvedPbs as Resolved } from "./scenario.js";
export { PbsScenarioSchema, type PbsScenario } from "./scenario.js";
import type { Clock } from "../clock.js";
import { SimHttpsServer, type SimFault, type SimRecord, type SimResponse } from "../https-base.js";
import { DEFAULT_PBS_ACL } from "./scenario.js";
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
  privNames,
  splitAclPath,
  userOf,
  type PbsAcl,
  type PbsAclEntry,
} from "./acl.js";
export { DEFAULT_PBS_ACL, type PbsAclEntryInput } from "./scenario.js";
export type { PbsAclEntry, PbsRole } from "./acl.js";

const AGE_UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const ageMs = (t: string) =>
  [...t.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)].reduce((a, m) => a + Number(m[1]) * AGE_UNIT[m[2]!]! * 1000, 0);
const at = (w: { age?: string; time?: string }, start: number) =>
  w.time ? Date.parse(w.time) : start - ageMs(w.age ?? "0s");
const sec = (ms: number) => Math.floor(ms / 1000);
const hex = (n: number, w = 8) => n.toString(16).toUpperCase().padStart(w, "0");
/** systemd unit escaping of a worker id, as in UPIDs (`store1:vm/100` → `store1\x3avm-100`). */
const escapeId = (s: string) =>
  s.replace(/[^A-Za-z0-9_./]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`).replace(/\//g, "-");
/** Whether a PBS version string ("3.2.4", "4.0.11") is at least major.minor. */
export function pbsVersionAtLeast(version: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return true; // not a release number: the newest behaviour
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}
/** The router's refusal of parameters a method's schema does not know (proxmox-schema ParameterError's Display). */
function pbsParameterError(errors: [name: string, message: string][]): string {
  return errors.length === 1
    ? `parameter verification failed - '${errors[0]![0]}': ${errors[0]![1]}`
    : `parameter verification failed:\n${errors.map(([k, m]) => `- '${k}': ${m}`).join("\n")}`;
}

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
  const speed = o.taskSpeed ?? 1;
  const start = clock.now();
  let taskCounter = 1;
  // acl.cfg: every token's and user's entries (a user not listed gets its token's entries).
  const acl: PbsAcl = new Map();
  for (const t of sc.tokens) acl.set(t.id, t.acl ?? DEFAULT_PBS_ACL);
  for (const t of sc.tokens) if (!acl.has(userOf(t.id))) acl.set(userOf(t.id), acl.get(t.id)!);
  for (const u of sc.users) acl.set(u.id, u.acl);
  const upid = (type: string, id: string, startMs: number, auth = "root@pam") =>
    `UPID:pbs:${hex(1234)}:${hex(6699)}:${hex(taskCounter++)}:${hex(sec(startMs))}:${type}:${escapeId(id)}:${auth}:`;

  interface SnapState {
    ns: string;
    type: string;
    id: string;
    time: number;
    size: number;
    verification?: { upid: string; state: string };
    comment?: string;
    owner: string;
    encrypted: boolean;
  }
  interface JobState {
    endMs: number | null;
    state: string | null;
    upid: string | null;
  }
  const stores = new Map(
    sc.datastores.map((d) => {
      const snaps: SnapState[] = d.snapshots.map((s) => ({
        ns: s.ns,
        type: s.type,
        id: s.id,
        time: sec(at(s, start)),
        size: s.size,
        owner: s.owner,
        encrypted: s.encrypted,
        ...(s.comment ? { comment: s.comment } : {}),
        ...(s.verification
          ? {
              verification: {
                upid: upid("verificationjob", `${d.name}:v-weekly`, at(s, start) + 3_600_000),
                state: s.verification,
              },
            }
          : {}),
      }));
      const job = (r: z.output<typeof LastRun> | undefined | null, type: string, id: string): JobState =>
        r
          ? { endMs: at(r, start), state: r.state, upid: upid(type, id, at(r, start) - 60_000) }
          : { endMs: null, state: null, upid: null };
      return [
        d.name,
        {
          cfg: d,
          snaps,
          gc: job(d.gc, "garbage_collection", d.name),
          verify: new Map(d.verifyJobs.map((j) => [j.id, job(j.lastRun, "verificationjob", `${d.name}:${j.id}`)])),
          sync: new Map(
            d.syncJobs.map((j) => [
              j.id,
              job(j.lastRun, "syncjob", `${j.remote ?? "local"}:${j.remoteStore}:${d.name}:s-${j.id}`),
            ]),
          ),
        },
      ] as const;
    }),
  );
  /** A group's owner (the lab keeps it per snapshot; its first snapshot decides, as for /groups). */
  const groupOwner = (st: { snaps: SnapState[] }, s: SnapState) =>
    st.snaps.find((x) => x.ns === s.ns && x.type === s.type && x.id === s.id)!.owner;
  const tasks = new Map<
    string,
    { store: string; endMs: number; done: boolean; failed: boolean; auth: string; owner: string | null }
  >();
  const settle = (now: number) => {
    for (const [id, t] of tasks) {
      if (t.done || now < t.endMs) continue;
      t.done = true;
      const st = stores.get(t.store)!;
      for (const s of st.snaps) {
        if (s.verification) continue; // ignore-verified
        if (t.owner !== null && !isBackupOwner(groupOwner(st, s), t.owner)) continue; // Datastore.Backup only: own groups
        const bad = st.cfg.corrupt.includes(`${s.type}/${s.id}`);
        s.verification = { upid: id, state: bad ? "failed" : "ok" };
        if (bad) t.failed = true;
      }
    }
  };

  const json = (data: unknown, extra: Record<string, unknown> = {}): SimResponse => ({
    status: 200,
    body: JSON.stringify({ data, ...extra }),
  });
  // PBS: the status code plus a plain-text message, while the Content-Type still says JSON.
  const err = (status: number, text: string): SimResponse => ({
    status,
    body: `${text}\n`,
    contentType: "application/json;charset=UTF-8",
  });
  const jobStatus = (j: JobState, next: number | undefined) => ({
    ...(j.state !== null ? { "last-run-state": j.state } : {}),
    ...(j.upid !== null ? { "last-run-upid": j.upid } : {}),
    ...(j.endMs !== null ? { "last-run-endtime": sec(j.endMs) } : {}),
    ...(next !== undefined ? { "next-run": next } : {}),
  });
  const gcStatus = (name: string) => {
    const st = stores.get(name)!;
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

  /** Push sync jobs and the `sync-direction` parameter of GET /admin/sync: proxmox-backup 3.3.0. */
  const hasPush = pbsVersionAtLeast(sc.version, 3, 3);
  /**
   * check_sync_job_read_access: Datastore.Audit on the local store, and Remote.Audit on the remote
   * (or Audit on the local source store); from 3.3 a push job: Remote.Audit on
   * /remote/<remote>/<remote-store> (remote_acl_path), never without a remote. The 3.3+ rule is
   * read from src/api2/config/sync.rs of a public proxmox-backup mirror: the code checks
   * PRIV_REMOTE_AUDIT there, although the endpoint's access text says "RemoteDatastore.Audit".
   * The lab's jobs have no remote namespace, so the path ends at the remote store.
   */
  const syncReadable = (
    who: string,
    store: string,
    j: { remote?: string | undefined; remoteStore: string; direction: "pull" | "push" },
  ) => {
    const p = (path: string[]) => lookupPrivs(acl, who, path);
    if (!(p(["datastore", store]) & PRIV["Datastore.Audit"])) return false;
    if (hasPush && j.direction === "push")
      return j.remote ? (p(["remote", j.remote, j.remoteStore]) & PRIV["Remote.Audit"]) !== 0 : false;
    return j.remote
      ? (p(["remote", j.remote]) & PRIV["Remote.Audit"]) !== 0
      : (p(["datastore", j.remoteStore]) & PRIV["Datastore.Audit"]) !== 0;
  };
  const handler = (req: {
    method: string;
    path: string;
    params: Record<string, string>;
    headers: Record<string, string | string[] | undefined>;
  }): SimResponse & { what?: string } => {
    const now = clock.now();
    settle(now);
    if (!req.path.startsWith("/api2/json/")) return { ...err(404, "Path not found."), what: req.path };
    const p = req.path.slice("/api2/json".length);
    const what = `${req.method} ${p}`;
    const r = (x: SimResponse) => ({ ...x, what });
    const auth = String(req.headers.authorization ?? "");
    const m = /^PBSAPIToken[= ]([^:]+):(.+)$/.exec(auth);
    const token = m && sc.tokens.find((t) => t.id === m[1] && t.secret === decodeURIComponent(m[2]!));
    if (!token) return r(err(401, "authentication failed - invalid credentials"));
    const q = req.params;
    const me = token.id;
    const privs = (path: string[]) => lookupPrivs(acl, me, path);
    const nsPath = (store: string, ns: string) => ["datastore", store, ...splitAclPath(ns)];
    /** check_ns_privs_full: false = full access, true = owner-limited, or the 403 PBS answers. */
    const nsAccess = (store: string, ns: string, full: number, partial: number): boolean | SimResponse => {
      const p = privs(nsPath(store, ns));
      if (full && p & full) return false;
      if (partial && p & partial) return true;
      return err(
        403,
        `permission check failed - missing ${privNames(full | partial)} on /${nsPath(store, ns).join("/")}`,
      );
    };
    const storeVisible = (store: string) =>
      (privs(["datastore", store]) & (PRIV["Datastore.Audit"] | PRIV["Datastore.Backup"])) !== 0 ||
      anyPrivsBelow(acl, me, ["datastore", store], NS_PRIVS_OK);
    const nextDay = sec(now) + 86_400 - (sec(now) % 86_400) + 3 * 3600;

    if (req.method === "GET" && p === "/version")
      return r(json({ version: sc.version, release: sc.version.split(".").slice(0, 2).join("."), repoid: "4940514b" }));
    if (req.method === "GET" && p === "/access/permissions") {
      let who = me;
      if (q["auth-id"] && q["auth-id"] !== me) {
        // Sys.Audit on /access, or a user asking about its own token (a token is never that user).
        if (
          !(privs(["access"]) & PRIV["Sys.Audit"]) &&
          !(isToken(q["auth-id"]) && !isToken(me) && userOf(q["auth-id"]) === me)
        )
          return r(err(400, `not allowed to list permissions of ${q["auth-id"]}`));
        who = q["auth-id"];
      }
      const paths = q.path
        ? [q.path]
        : [...new Set([...aclTreePaths(acl), "/", "/access", "/datastore", "/remote", "/system"])];
      const out: Record<string, Record<string, boolean>> = {};
      for (const path of paths) {
        const [has, propagated] = lookupPrivsDetails(acl, who, path);
        if (!has) continue; // no leak of ACL paths without privileges
        out[path] = Object.fromEntries(
          PBS_PRIVS.filter((x) => has & PRIV[x]).map((x) => [x, (propagated & PRIV[x]) !== 0]),
        );
      }
      return r(json(out));
    }
    if (req.method === "GET" && p === "/admin/datastore")
      return r(json([...stores.keys()].filter(storeVisible).map((store) => ({ store, comment: null }))));
    const ds = /^\/admin\/datastore\/([^/]+)(\/.*)?$/.exec(p);
    if (ds) {
      const name = decodeURIComponent(ds[1]!);
      const sub = ds[2] ?? "";
      const ns = q.ns ?? "";
      const A = PRIV["Datastore.Audit"];
      const B = PRIV["Datastore.Backup"];
      // The privilege checks come first: a caller without them learns nothing about existence.
      let limited = false;
      let statsAllowed = true;
      if (req.method === "GET" && (sub === "/snapshots" || sub === "/groups")) {
        const a = nsAccess(name, ns, A, B);
        if (typeof a !== "boolean") return r(a);
        limited = a;
      } else if (req.method === "POST" && sub === "/verify") {
        const a = nsAccess(name, ns, PRIV["Datastore.Verify"], B);
        if (typeof a !== "boolean") return r(a);
        limited = a;
      } else if (req.method === "GET" && sub === "/status") {
        const sp = privs(["datastore", name]);
        statsAllowed = (sp & (A | B)) !== 0;
        if (
          !statsAllowed &&
          !(sp & PRIV["Datastore.Read"]) &&
          !anyPrivsBelow(acl, me, ["datastore", name], NS_PRIVS_OK)
        )
          return r(err(403, "permission check failed"));
        limited = !(sp & A); // counts of owned groups only
      } else if (req.method === "GET" && sub === "/gc") {
        if (!(privs(["datastore", name]) & A)) return r(err(403, "permission check failed"));
      }
      const st = stores.get(name);
      if (!st) return r(err(400, `datastore '${name}' does not exist`));
      if (ns && !st.cfg.namespaces.includes(ns)) return r(err(400, `namespace '${ns}' does not exist`));
      /** The snapshots this caller may list (owner-limited callers: their own groups). */
      const mine = (list: SnapState[]) => (limited ? list.filter((s) => isBackupOwner(groupOwner(st, s), me)) : list);
      if (req.method === "GET" && sub === "/status") {
        const counted = mine(st.snaps);
        const count = (type: string) => {
          const l = counted.filter((s) => s.type === type);
          return l.length ? { groups: new Set(l.map((s) => `${s.ns}/${s.id}`)).size, snapshots: l.length } : null;
        };
        // gc-status and counts only with verbose; the numbers only with Audit|Backup (zeros otherwise).
        return r(
          json({
            ...(statsAllowed
              ? { total: st.cfg.total, used: st.cfg.used, avail: st.cfg.total - st.cfg.used }
              : { total: 0, used: 0, avail: 0 }),
            ...(q.verbose && statsAllowed ? { "gc-status": gcStatus(name) } : {}),
            ...(q.verbose ? { counts: { ct: count("ct"), host: count("host"), vm: count("vm"), other: null } } : {}),
          }),
        );
      }
      if (req.method === "GET" && sub === "/namespace") {
        const parent = q.parent ?? "";
        const parentAccess = (privs(nsPath(name, parent)) & NS_PRIVS_OK) !== 0;
        const list = ["", ...st.cfg.namespaces].filter(
          (n) => (parent === "" || n === parent || n.startsWith(`${parent}/`)) && privs(nsPath(name, n)) & NS_PRIVS_OK,
        );
        if (!list.length && !parentAccess) return r(err(403, "permission check failed"));
        return r(json(list.map((n) => ({ ns: n }))));
      }
      if (req.method === "GET" && sub === "/snapshots")
        return r(
          json(
            mine(st.snaps)
              .filter(
                (s) =>
                  s.ns === ns &&
                  (!q["backup-type"] || s.type === q["backup-type"]) &&
                  (!q["backup-id"] || s.id === q["backup-id"]),
              )
              .map((s) => ({
                "backup-type": s.type,
                "backup-id": s.id,
                "backup-time": s.time,
                ...(s.comment ? { comment: s.comment } : {}),
                ...(s.verification ? { verification: s.verification } : {}),
                ...(s.encrypted
                  ? {
                      fingerprint:
                        "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89",
                    }
                  : {}),
                files: [
                  { filename: "index.json.blob", "crypt-mode": "none", size: 567 },
                  {
                    filename: s.type === "vm" ? "drive-scsi0.img.fidx" : "root.pxar.didx",
                    "crypt-mode": s.encrypted ? "encrypt" : "none",
                    size: s.size - 567,
                  },
                ],
                size: s.size,
                owner: s.owner,
                protected: false,
              })),
          ),
        );
      if (req.method === "GET" && sub === "/groups") {
        const groups = new Map<string, SnapState[]>();
        for (const s of mine(st.snaps).filter((x) => x.ns === ns))
          groups.set(`${s.type}/${s.id}`, [...(groups.get(`${s.type}/${s.id}`) ?? []), s]);
        return r(
          json(
            [...groups.values()].map((list) => ({
              "backup-type": list[0]!.type,
              "backup-id": list[0]!.id,
              "last-backup": Math.max(...list.map((s) => s.time)),
              "backup-count": list.length,
              files: ["index.json.blob", list[0]!.type === "vm" ? "drive-scsi0.img.fidx" : "root.pxar.didx"],
              owner: list[0]!.owner,
            })),
          ),
        );
      }
      if (req.method === "GET" && sub === "/gc")
        return r(json({ store: name, ...gcStatus(name), schedule: st.cfg.gcSchedule, ...jobStatus(st.gc, nextDay) }));
      if (req.method === "POST" && sub === "/verify") {
        const id = upid("verify", name, now, me);
        tasks.set(id, {
          store: name,
          endMs: now + (sc.verifySeconds * 1000) / speed,
          done: false,
          failed: false,
          auth: me,
          owner: limited ? me : null,
        });
        return r(json(id));
      }
      return r(err(501, `Method '${req.method} ${p}' not implemented`));
    }
    // GC status of datastores the caller may audit (newer PBS; 3.2.4 answered ?store= unchecked).
    const gcVisible = (s: string) =>
      q.store
        ? (privs(["datastore", s]) & (PRIV["Datastore.Audit"] | PRIV["Datastore.Backup"])) !== 0
        : storeVisible(s);
    if (req.method === "GET" && p === "/admin/gc")
      return r(
        json(
          [...stores.keys()]
            .filter((s) => (!q.store || s === q.store) && gcVisible(s))
            .map((s) => ({
              store: s,
              ...gcStatus(s),
              schedule: stores.get(s)!.cfg.gcSchedule,
              ...jobStatus(stores.get(s)!.gc, nextDay),
            })),
        ),
      );
    if (req.method === "GET" && p === "/admin/verify")
      return r(
        json(
          [...stores.entries()]
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
                ...jobStatus(st.verify.get(j.id)!, nextDay),
              })),
            ),
        ),
      );
    if (req.method === "GET" && p === "/admin/sync") {
      // The router checks the query against the method's schema before the method runs.
      const known = hasPush ? ["store", "sync-direction"] : ["store"];
      const bad: [string, string][] = Object.keys(q)
        .filter((k) => k !== "_dc" && !known.includes(k))
        .map((k) => [k, "schema does not allow additional properties."]);
      const direction = q["sync-direction"] ?? "pull";
      if (hasPush && !["pull", "push", "all"].includes(direction))
        bad.push(["sync-direction", `value '${direction}' is not defined in the enumeration.`]);
      if (bad.length) return r(err(400, pbsParameterError(bad)));
      return r(
        json(
          [...stores.entries()]
            .filter(([s]) => !q.store || s === q.store)
            .flatMap(([s, st]) =>
              st.cfg.syncJobs
                .filter((j) => !hasPush || direction === "all" || j.direction === direction)
                .filter((j) => syncReadable(me, s, j))
                .map((j) => ({
                  id: j.id,
                  store: s,
                  ...(j.remote ? { remote: j.remote } : {}),
                  "remote-store": j.remoteStore,
                  ...(j.direction === "push" ? { "sync-direction": "push" } : {}),
                  schedule: j.schedule,
                  ...jobStatus(st.sync.get(j.id)!, sec(now) + 3600),
                })),
            ),
        ),
      );
    }
    const task = /^\/nodes\/localhost\/tasks\/([^/]+)\/status$/.exec(p);
    if (req.method === "GET" && task) {
      const id = decodeURIComponent(task[1]!);
      const t = tasks.get(id);
      if (!t) return r(err(400, "no such task"));
      // Own tasks (or the user of the token that ran it), or Sys.Audit on /system/tasks.
      if (!isBackupOwner(t.auth, me) && !(privs(["system", "tasks"]) & PRIV["Sys.Audit"]))
        return r(err(400, "task access not allowed"));
      return r(
        json({
          upid: id,
          node: "localhost",
          type: "verify",
          status: t.done ? "stopped" : "running",
          ...(t.done ? { exitstatus: t.failed ? "verification failed - please check the log for details" : "OK" } : {}),
        }),
      );
    }
    return r(err(404, "Path not found."));
  };

  const server = new SimHttpsServer(handler);
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
          acl.set(
            authId,
            entries.map((e) => ({ path: e.path, role: e.role, propagate: e.propagate ?? true })),
          );
        else acl.delete(authId);
      },
      setSyncRun: (store, id, run) => {
        const j = stores.get(store)?.sync.get(id);
        if (j) Object.assign(j, { endMs: run.endMs, state: run.state, upid: upid("syncjob", id, run.endMs - 60_000) });
      },
    },
    stop: () => server.close(),
  };
}
