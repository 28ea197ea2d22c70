/**
 * The simulated PBS's datastore API: GET /admin/datastore (only the datastores the caller may
 * see) and, below /admin/datastore/<store>, status, namespace, snapshots, groups, gc and POST
 * verify and gc (both start a task). The privilege checks come before the datastore's existence
 * (no existence leak); Datastore.Backup alone limits listings, counts and verifies to the
 * caller's own groups. Other paths below a datastore are for the other route files (null here).
 */
import type { SimResponse } from "../https-base.js";
import { NS_PRIVS_OK, PRIV, anyPrivsBelow, isBackupOwner, privNames, splitAclPath } from "./acl.js";
import { err, json, type PbsCall } from "./http.js";
import { gcStatus, jobStatus } from "./job-routes.js";
import type { PbsState, SnapState } from "./state.js";

const nsPath = (store: string, ns: string) => ["datastore", store, ...splitAclPath(ns)];

/** check_ns_privs_full: false = full access, true = owner-limited, or the 403 PBS answers. */
export function nsAccess(c: PbsCall, store: string, ns: string, full: number, partial: number): boolean | SimResponse {
  const p = c.privs(nsPath(store, ns));
  if (full && p & full) return false;
  if (partial && p & partial) return true;
  return err(403, `permission check failed - missing ${privNames(full | partial)} on /${nsPath(store, ns).join("/")}`);
}

/** The snapshots of a datastore as GET …/snapshots lists them. */
const snapshotList = (list: SnapState[]) =>
  list.map((s) => ({
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
  }));

/** The groups of a list of snapshots as GET …/groups lists them. */
function groupList(list: SnapState[]) {
  const groups = new Map<string, SnapState[]>();
  for (const s of list) groups.set(`${s.type}/${s.id}`, [...(groups.get(`${s.type}/${s.id}`) ?? []), s]);
  return [...groups.values()].map((l) => ({
    "backup-type": l[0]!.type,
    "backup-id": l[0]!.id,
    "last-backup": Math.max(...l.map((s) => s.time)),
    "backup-count": l.length,
    files: ["index.json.blob", l[0]!.type === "vm" ? "drive-scsi0.img.fidx" : "root.pxar.didx"],
    owner: l[0]!.owner,
  }));
}

/** GET /admin/datastore and everything below /admin/datastore/<store>; null for any other path. */
export function datastoreRoute(pbs: PbsState, c: PbsCall): SimResponse | null {
  const { method, q, privs, me } = c;
  if (method === "GET" && c.path === "/admin/datastore")
    return json([...pbs.stores.keys()].filter(c.storeVisible).map((store) => ({ store, comment: null })));
  const ds = /^\/admin\/datastore\/([^/]+)(\/.*)?$/.exec(c.path);
  if (!ds) return null;
  const name = decodeURIComponent(ds[1]!);
  const sub = ds[2] ?? "";
  const HERE = [
    "GET /status",
    "GET /namespace",
    "GET /snapshots",
    "GET /groups",
    "GET /gc",
    "POST /verify",
    "POST /gc",
  ];
  if (!HERE.includes(`${method} ${sub}`)) return null;
  const ns = q.ns ?? "";
  const A = PRIV["Datastore.Audit"];
  const B = PRIV["Datastore.Backup"];
  // The privilege checks come first: a caller without them learns nothing about existence.
  let limited = false;
  let statsAllowed = true;
  if (method === "GET" && (sub === "/snapshots" || sub === "/groups")) {
    const a = nsAccess(c, name, ns, A, B);
    if (typeof a !== "boolean") return a;
    limited = a;
  } else if (method === "POST" && sub === "/verify") {
    const a = nsAccess(c, name, ns, PRIV["Datastore.Verify"], B);
    if (typeof a !== "boolean") return a;
    limited = a;
  } else if (method === "GET" && sub === "/status") {
    const sp = privs(["datastore", name]);
    statsAllowed = (sp & (A | B)) !== 0;
    if (
      !statsAllowed &&
      !(sp & PRIV["Datastore.Read"]) &&
      !anyPrivsBelow(pbs.acl, me, ["datastore", name], NS_PRIVS_OK)
    )
      return err(403, "permission check failed");
    limited = !(sp & A); // counts of owned groups only
  } else if (method === "GET" && sub === "/gc") {
    if (!(privs(["datastore", name]) & A)) return err(403, "permission check failed");
  } else if (method === "POST" && sub === "/gc") {
    // start_garbage_collection: Permission::Privilege(["datastore", "{store}"], Datastore.Modify), a router check.
    if (!(privs(["datastore", name]) & PRIV["Datastore.Modify"])) return err(403, "permission check failed");
  }
  const st = pbs.stores.get(name);
  if (!st) return err(400, `datastore '${name}' does not exist`);
  if (ns && !st.cfg.namespaces.includes(ns)) return err(400, `namespace '${ns}' does not exist`);
  /** The snapshots this caller may list (owner-limited callers: their own groups). */
  const mine = (list: SnapState[]) => (limited ? list.filter((s) => isBackupOwner(pbs.groupOwner(st, s), me)) : list);
  if (method === "GET" && sub === "/status") {
    const counted = mine(st.snaps);
    const count = (type: string) => {
      const l = counted.filter((s) => s.type === type);
      return l.length ? { groups: new Set(l.map((s) => `${s.ns}/${s.id}`)).size, snapshots: l.length } : null;
    };
    // gc-status and counts only with verbose; the numbers only with Audit|Backup (zeros otherwise).
    return json({
      ...(statsAllowed
        ? { total: st.cfg.total, used: st.cfg.used, avail: st.cfg.total - st.cfg.used }
        : { total: 0, used: 0, avail: 0 }),
      ...(q.verbose && statsAllowed ? { "gc-status": gcStatus(pbs, name) } : {}),
      ...(q.verbose ? { counts: { ct: count("ct"), host: count("host"), vm: count("vm"), other: null } } : {}),
    });
  }
  if (method === "GET" && sub === "/namespace") {
    const parent = q.parent ?? "";
    const parentAccess = (privs(nsPath(name, parent)) & NS_PRIVS_OK) !== 0;
    const list = ["", ...st.cfg.namespaces].filter(
      (n) => (parent === "" || n === parent || n.startsWith(`${parent}/`)) && privs(nsPath(name, n)) & NS_PRIVS_OK,
    );
    if (!list.length && !parentAccess) return err(403, "permission check failed");
    return json(list.map((n) => ({ ns: n })));
  }
  if (method === "GET" && sub === "/snapshots")
    return json(
      snapshotList(
        mine(st.snaps).filter(
          (s) =>
            s.ns === ns &&
            (!q["backup-type"] || s.type === q["backup-type"]) &&
            (!q["backup-id"] || s.id === q["backup-id"]),
        ),
      ),
    );
  if (method === "GET" && sub === "/groups") return json(groupList(mine(st.snaps).filter((x) => x.ns === ns)));
  if (method === "GET" && sub === "/gc")
    return json({ store: name, ...gcStatus(pbs, name), schedule: st.cfg.gcSchedule, ...jobStatus(st.gc, c.nextDay) });
  if (method === "POST" && sub === "/verify") {
    // src/api2/admin/datastore.rs verify: worker type "verify", worker id the store (no group or snapshot given).
    return json(
      pbs.addTask({
        workerType: "verify",
        workerId: name,
        auth: me,
        startMs: c.now,
        endMs: c.now + (pbs.sc.verifySeconds * 1000) / pbs.speed,
        state: null,
        log: [
          `verify datastore ${name}`,
          ...(limited ? [`limiting to backups owned by ${me}`] : []),
          `found ${new Set(st.snaps.map((s) => `${s.ns}/${s.type}/${s.id}`)).size} groups`,
        ],
        started: { kind: "verify", store: name, owner: limited ? me : null },
      }),
    );
  }
  // POST …/gc: one GC per datastore at a time (Job::new "garbage_collection" lock).
  if ([...pbs.tasks.values()].some((t) => t.started?.kind === "gc" && t.started.store === name && t.state === null))
    return err(400, "garbage collection already running");
  return json(
    pbs.addTask({
      workerType: "garbage_collection",
      workerId: name,
      auth: me,
      startMs: c.now,
      endMs: c.now + (pbs.sc.gcSeconds * 1000) / pbs.speed,
      state: null,
      log: [`starting garbage collection on store ${name}`, "Start GC phase1 (mark used chunks)"],
      started: { kind: "gc", store: name },
    }),
  );
}
