/**
 * Proxmox Backup Server's permission model, as proxmox-backup 3.2.4 computes it:
 *
 * - privileges are bits, named in the order of `PRIVILEGES` (pbs-api-types/src/acl.rs) — that
 *   order is how PBS spells them in errors ("missing Datastore.Audit|Datastore.Backup on …");
 * - roles are fixed sets of them (no custom roles in PBS): `ROLE_*` in the same file;
 * - an ACL entry gives one auth id (user `name@realm` or token `name@realm!token`) one role on a
 *   path, propagating by default; the deepest path with entries for that auth id replaces what
 *   was inherited, `NoAccess` wipes everything (pbs-config/src/acl.rs `AclTree::roles`);
 * - a token gets only what its own entries AND its user's entries both give (pbs-config
 *   cached_user_info.rs `lookup_privs_details`: "limit privs to that of owning user"); root@pam is
 *   the superuser, its tokens are not.
 */

/** Privilege names in PBS's bit order. */
export const PBS_PRIVS = [
  "Sys.Audit",
  "Sys.Modify",
  "Sys.PowerManagement",
  "Datastore.Audit",
  "Datastore.Allocate",
  "Datastore.Modify",
  "Datastore.Read",
  "Datastore.Verify",
  "Datastore.Backup",
  "Datastore.Prune",
  "Permissions.Modify",
  "Remote.Audit",
  "Remote.Modify",
  "Remote.Read",
  "Sys.Console",
  "Tape.Audit",
  "Tape.Modify",
  "Tape.Write",
  "Tape.Read",
  "Realm.Allocate",
] as const;
export type PbsPriv = (typeof PBS_PRIVS)[number];

export const PRIV = Object.fromEntries(PBS_PRIVS.map((p, i) => [p, 1 << i])) as Record<PbsPriv, number>;
const ALL = (1 << PBS_PRIVS.length) - 1;
const bits = (...p: PbsPriv[]) => p.reduce((a, x) => a | PRIV[x], 0);

/** The built-in roles (`Role` enum, pbs-api-types/src/acl.rs). */
export const PBS_ROLES = {
  Admin: ALL,
  Audit: bits("Sys.Audit", "Datastore.Audit"),
  NoAccess: 0,
  DatastoreAdmin: bits(
    "Datastore.Audit",
    "Datastore.Modify",
    "Datastore.Read",
    "Datastore.Verify",
    "Datastore.Backup",
    "Datastore.Prune",
  ),
  DatastoreReader: bits("Datastore.Audit", "Datastore.Verify", "Datastore.Read"),
  DatastoreBackup: bits("Datastore.Backup"),
  DatastorePowerUser: bits("Datastore.Prune", "Datastore.Backup"),
  DatastoreAudit: bits("Datastore.Audit"),
  RemoteAudit: bits("Remote.Audit"),
  RemoteAdmin: bits("Remote.Audit", "Remote.Modify", "Remote.Read"),
  RemoteSyncOperator: bits("Remote.Audit", "Remote.Read"),
  TapeAudit: bits("Tape.Audit"),
  TapeAdmin: bits("Tape.Audit", "Tape.Modify", "Tape.Read", "Tape.Write"),
  TapeOperator: bits("Tape.Audit", "Tape.Read", "Tape.Write"),
  TapeReader: bits("Tape.Audit", "Tape.Read"),
} as const;
export type PbsRole = keyof typeof PBS_ROLES;
export const PBS_ROLE_NAMES = Object.keys(PBS_ROLES) as [PbsRole, ...PbsRole[]];

/** What a namespace needs to be seen at all (src/backup/hierarchy.rs `NS_PRIVS_OK`). */
export const NS_PRIVS_OK = bits("Datastore.Modify", "Datastore.Read", "Datastore.Backup", "Datastore.Audit");

/** One line of /etc/proxmox-backup/acl.cfg for one auth id. */
export interface PbsAclEntry {
  path: string;
  role: PbsRole;
  propagate: boolean;
}

/** auth id (user or token) → its ACL entries. */
export type PbsAcl = Map<string, PbsAclEntry[]>;

/** "/datastore/store1/ns" → ["datastore", "store1", "ns"] (components may hold slashes too, as PBS allows). */
export const splitAclPath = (p: string | string[]) =>
  (Array.isArray(p) ? p : [p]).flatMap((c) => c.split("/")).filter(Boolean);
const joinPath = (c: string[]) => `/${c.join("/")}`;

export const isToken = (authId: string) => authId.includes("!");
export const userOf = (authId: string) => (isToken(authId) ? authId.slice(0, authId.indexOf("!")) : authId);

/** `privs_to_priv_names(…).join(sep)`. */
export function privNames(mask: number, sep = "|"): string {
  return PBS_PRIVS.filter((p) => mask & PRIV[p]).join(sep);
}

/** `AclTreeNode::extract_roles` for one node: role → propagate, NoAccess alone when present. */
function rolesAt(acl: PbsAcl, authId: string, path: string, leaf: boolean): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const e of acl.get(authId) ?? []) {
    if (joinPath(splitAclPath(e.path)) !== path || !(e.propagate || leaf)) continue;
    if (e.role === "NoAccess") return new Map([["NoAccess", false]]);
    out.set(e.role, e.propagate);
  }
  return out;
}

/** `AclTree::roles`: walk from / to the path; the deepest node with entries for this auth id wins. */
export function rolesFor(acl: PbsAcl, authId: string, path: string | string[]): Map<string, boolean> {
  const comps = splitAclPath(path);
  let map = rolesAt(acl, authId, "/", comps.length === 0);
  for (let i = 1; i <= comps.length; i++) {
    const here = rolesAt(acl, authId, joinPath(comps.slice(0, i)), i === comps.length);
    if (here.size) map = here;
  }
  return map;
}

/** `lookup_privs_details`: [privileges, the propagating ones]. */
export function lookupPrivsDetails(acl: PbsAcl, authId: string, path: string | string[]): [number, number] {
  if (authId === "root@pam") return [ALL, ALL];
  let privs = 0;
  let propagated = 0;
  for (const [role, propagate] of rolesFor(acl, authId, path)) {
    const p = PBS_ROLES[role as PbsRole] ?? 0;
    privs |= p;
    if (propagate) propagated |= p;
  }
  if (isToken(authId)) {
    const [up, uprop] = lookupPrivsDetails(acl, userOf(authId), path);
    privs &= up;
    propagated &= uprop;
  }
  return [privs, propagated];
}

export const lookupPrivs = (acl: PbsAcl, authId: string, path: string | string[]) =>
  lookupPrivsDetails(acl, authId, path)[0];

/** `CachedUserInfo::any_privs_below`: any of `privs` on the path (propagating) or on a path below it with entries for this auth id. */
export function anyPrivsBelow(acl: PbsAcl, authId: string, path: string | string[], privs: number): boolean {
  const comps = splitAclPath(path);
  if (lookupPrivsDetails(acl, authId, comps)[1] & privs) return true;
  const prefix = joinPath(comps);
  const below = new Set(
    (acl.get(authId) ?? [])
      .map((e) => joinPath(splitAclPath(e.path)))
      .filter((p) => p.startsWith(prefix === "/" ? "/" : `${prefix}/`) && p !== prefix),
  );
  return [...below].some((p) => lookupPrivs(acl, authId, p) & privs);
}

/** Every node of the ACL tree (all auth ids), as `populate_acl_paths` collects them for GET /access/permissions. */
export function aclTreePaths(acl: PbsAcl): string[] {
  const out = new Set<string>();
  for (const entries of acl.values())
    for (const e of entries) {
      const c = splitAclPath(e.path);
      for (let i = 1; i <= c.length; i++) out.add(joinPath(c.slice(0, i)));
    }
  return [...out];
}

/** `check_backup_owner`: the owner itself, or the user of an owning token. */
export function isBackupOwner(owner: string, authId: string): boolean {
  return owner === authId || (isToken(owner) && userOf(owner) === authId);
}
