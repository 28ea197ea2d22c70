/**
 * PVE's permission model, reduced to what a backup bridge touches: built-in roles, ACL entries
 * on paths, propagation, and the rule that entries on a deeper path REPLACE what was
 * inherited from above (pveum: "Permissions on deeper levels replace those inherited from an
 * upper level"). That rule is why `PVEAuditor on /` + `VM.Backup on /vms` loses VM.Audit on
 * /vms/100 — faithful on purpose, it is a real trap.
 */

const AUDIT = [
  "VM.Audit",
  "VM.GuestAgent.Audit",
  "Sys.Audit",
  "Datastore.Audit",
  "SDN.Audit",
  "Pool.Audit",
  "Mapping.Audit",
];

export const ALL_PRIVS = [
  ...AUDIT,
  "VM.Allocate",
  "VM.Backup",
  "VM.Clone",
  "VM.Config.CDROM",
  "VM.Config.CPU",
  "VM.Config.Cloudinit",
  "VM.Config.Disk",
  "VM.Config.HWType",
  "VM.Config.Memory",
  "VM.Config.Network",
  "VM.Config.Options",
  "VM.Console",
  "VM.Migrate",
  "VM.PowerMgmt",
  "VM.Snapshot",
  "VM.Snapshot.Rollback",
  "VM.GuestAgent.Unrestricted",
  "Sys.Modify",
  "Sys.Console",
  "Sys.PowerMgmt",
  "Sys.Syslog",
  "Sys.Incoming",
  "Sys.AccessNetwork",
  "Datastore.Allocate",
  "Datastore.AllocateSpace",
  "Datastore.AllocateTemplate",
  "Pool.Allocate",
  "Mapping.Modify",
  "Mapping.Use",
  "SDN.Allocate",
  "SDN.Use",
  "Permissions.Modify",
  "Realm.Allocate",
  "Realm.AllocateUser",
  "Group.Allocate",
  "User.Modify",
];

/** Built-in roles (pve-access-control `create_roles`), the ones a home lab hands out. */
export const ROLES: Record<string, string[]> = {
  Administrator: ALL_PRIVS,
  NoAccess: [],
  PVEAuditor: AUDIT,
  PVEDatastoreUser: ["Datastore.AllocateSpace", "Datastore.Audit"],
  PVEDatastoreAdmin: ["Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit"],
  PVEVMUser: [
    "VM.Audit",
    "VM.Backup",
    "VM.Config.CDROM",
    "VM.Config.Cloudinit",
    "VM.Console",
    "VM.PowerMgmt",
    "VM.GuestAgent.Audit",
    "Pool.Audit",
  ],
  PVEVMAdmin: ALL_PRIVS.filter(
    (p) =>
      p.startsWith("VM.") ||
      p === "Pool.Audit" ||
      p === "Datastore.AllocateSpace" ||
      p === "Sys.Console" ||
      p === "Mapping.Use",
  ),
  PVESysAdmin: [
    "Sys.Audit",
    "Sys.Console",
    "Sys.Modify",
    "Sys.PowerMgmt",
    "Sys.Syslog",
    "Permissions.Modify",
    "Mapping.Audit",
    "Mapping.Use",
    "Pool.Audit",
    "SDN.Audit",
  ],
  PVEAdmin: ALL_PRIVS.filter(
    (p) => !["Sys.PowerMgmt", "Sys.Modify", "Realm.Allocate", "Permissions.Modify"].includes(p),
  ),
  PVEPoolUser: ["Pool.Audit"],
};

export interface AclGrant {
  path: string;
  roles: string[];
  privs: string[];
  propagate: 0 | 1 | boolean;
}

export interface Token {
  /** `user@realm!name` */
  id: string;
  /** `user@realm` */
  user: string;
  /** `name` */
  name: string;
  secret: string;
  privsep: boolean;
  acl: AclGrant[];
  expire?: number;
}

export function splitTokenId(id: string): { user: string; name: string } {
  const i = id.lastIndexOf("!");
  return { user: id.slice(0, i), name: id.slice(i + 1) };
}

/** `/vms/100` → ["/", "/vms", "/vms/100"] */
function ancestry(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  const out = ["/"];
  for (let i = 1; i <= parts.length; i++) out.push(`/${parts.slice(0, i).join("/")}`);
  return out;
}

export function normalizeAclPath(path: string): string {
  const p = `/${path.split("/").filter(Boolean).join("/")}`;
  return p;
}

/**
 * Effective privileges of a token on a path: priv → propagate flag (1/0), as PVE's
 * `permissions()` returns them. Deepest path with applicable entries wins.
 */
export function effectivePrivs(token: Token, pathIn: string): Map<string, 0 | 1> {
  const out = new Map<string, 0 | 1>();
  if (!token.privsep) {
    for (const p of ALL_PRIVS) out.set(p, 1);
    return out;
  }
  const path = normalizeAclPath(pathIn);
  let current: AclGrant[] = [];
  for (const p of ancestry(path)) {
    const final = p === path;
    const here = token.acl.filter((g) => normalizeAclPath(g.path) === p && (final || Boolean(g.propagate)));
    if (here.length) current = here;
  }
  if (current.some((g) => g.roles.includes("NoAccess"))) return out;
  for (const g of current) {
    const flag: 0 | 1 = g.propagate ? 1 : 0;
    for (const r of g.roles)
      for (const priv of ROLES[r] ?? []) out.set(priv, Math.max(out.get(priv) ?? 0, flag) as 0 | 1);
    for (const priv of g.privs) out.set(priv, Math.max(out.get(priv) ?? 0, flag) as 0 | 1);
  }
  return out;
}

export function hasPriv(token: Token, path: string, priv: string): boolean {
  return effectivePrivs(token, path).has(priv);
}

export function hasAnyPriv(token: Token, path: string, privs: string[]): boolean {
  const eff = effectivePrivs(token, path);
  return privs.some((p) => eff.has(p));
}

/** The paths `GET /access/permissions` reports when no `path` is given. */
export function permissionPaths(token: Token): string[] {
  const base = ["/", "/access", "/access/groups", "/mapping", "/nodes", "/pool", "/sdn", "/storage", "/vms"];
  const set = new Set<string>(base);
  for (const g of token.acl) set.add(normalizeAclPath(g.path));
  return [...set].sort();
}
