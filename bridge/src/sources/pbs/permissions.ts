/**
 * A PBS API token's privileges, from GET /access/permissions (ACL path → privilege → propagates).
 * PBS answers 200 with fewer rows where a privilege is missing (datastores and sync jobs left
 * out, only the token's own backup groups with Datastore.Backup alone) — this tells "nothing
 * there" from "not allowed to see it", and names what to grant.
 *
 * PBS lists every path of its ACL tree where the token has something. A path it does not list
 * has no ACL entry of its own and inherits the propagating privileges of the nearest listed
 * ancestor. A token gets only what its own ACL entries and its user's both give, so every grant
 * is named for both.
 */
export type PbsPermissionMap = Record<string, Record<string, boolean>>;

/** "grant X on P (role R) to user@realm and to user@realm!token" — PBS intersects the two, so both need it. */
export function pbsGrant(tokenId: string, priv: string, path: string, role: string): string {
  const user = tokenId.includes("!") ? tokenId.slice(0, tokenId.indexOf("!")) : tokenId;
  return `grant ${priv} on ${path} (role ${role}) to ${user} and to ${tokenId}`;
}

export class PbsPermissions {
  constructor(
    private readonly byPath: PbsPermissionMap,
    private readonly tokenId: string,
  ) {}

  has(priv: string, path: string): boolean {
    const own = this.byPath[path];
    if (own) return own[priv] !== undefined;
    let p = path;
    while (p !== "/") {
      p = p.slice(0, p.lastIndexOf("/")) || "/";
      const entry = this.byPath[p];
      if (entry) return entry[priv] === true;
    }
    return false;
  }

  /** The privilege on the path or on any path below it. */
  hasBelow(priv: string, path: string): boolean {
    return (
      this.has(priv, path) ||
      Object.entries(this.byPath).some(([p, privs]) => p.startsWith(`${path}/`) && privs[priv] !== undefined)
    );
  }

  grant(priv: string, path: string, role: string): string {
    return pbsGrant(this.tokenId, priv, path, role);
  }

  /**
   * Null when the token lists every backup group of this datastore (namespace), else why not in
   * words: Datastore.Audit is what lists them all; with Datastore.Backup alone PBS silently lists
   * only the groups the token owns (PVE's backups are owned by PVE's own token).
   */
  listingAccess(store: string, ns = ""): string | null {
    const path = `/datastore/${store}${ns ? `/${ns}` : ""}`;
    if (this.has("Datastore.Audit", path)) return null;
    const what = ns ? `namespace '${ns}' of PBS datastore '${store}'` : `PBS datastore '${store}'`;
    const how = this.has("Datastore.Backup", path)
      ? "with Datastore.Backup alone PBS lists only the backup groups the token owns"
      : "PBS then leaves it out or answers 403";
    return `the API token may not list the backups of ${what} (${how}): ${this.grant("Datastore.Audit", path, "DatastoreAudit")}`;
  }

  /** Null when "Verify now" verifies the whole datastore, else why not. */
  verifyAccess(store: string): string | null {
    const path = `/datastore/${store}`;
    if (this.has("Datastore.Verify", path)) return null;
    const how = this.has("Datastore.Backup", path)
      ? "it has Datastore.Backup, with which PBS verifies only the backup groups the token owns"
      : "PBS answers 403";
    return `the API token may not verify PBS datastore '${store}' (${how}): ${this.grant("Datastore.Verify", path, "DatastoreReader")}`;
  }

  /**
   * Null when sync jobs to remotes can be seen: PBS lists a job with a remote only with
   * Remote.Audit on /remote/<remote>. Remote names are not visible without it, so any
   * Remote.Audit under /remote counts.
   */
  syncAccess(): string | null {
    if (this.hasBelow("Remote.Audit", "/remote")) return null;
    return `the API token may not see sync jobs to a remote (PBS then leaves them out), so off-site copies made by them are unknown: ${this.grant("Remote.Audit", "/remote/<remote>", "RemoteAudit")}, or set sync_offsite: false`;
  }
}
