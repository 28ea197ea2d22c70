/**
 * Answers "may this token do X on path P" from GET /access/permissions, so an empty backup
 * listing can be told apart from "not allowed to see backups" (PVE answers 200 [] for both).
 */
export class Permissions {
  constructor(private readonly byPath: Record<string, Record<string, number>>) {}

  has(priv: string, path: string): boolean {
    // The most specific path with an ACL decides; entries on deeper paths replace inherited
    // ones (as PVE computes them). The path's own entry applies in full, an ancestor's only
    // through its propagating privileges (value 1).
    const own = this.byPath[path];
    if (own) return own[priv] !== undefined;
    let p = path;
    while (p !== "/") {
      p = p.slice(0, p.lastIndexOf("/")) || "/";
      const entry = this.byPath[p];
      if (entry && Object.values(entry).some((v) => v === 1)) return entry[priv] === 1;
    }
    return false;
  }

  /** Null when backups of this guest on this storage are visible, else the missing privileges in words. */
  backupVisibility(storage: string, vmid: number): string | null {
    const sp = `/storage/${storage}`;
    if (this.has("Datastore.Allocate", sp)) return null;
    const space = this.has("Datastore.AllocateSpace", sp);
    const backup = this.has("VM.Backup", `/vms/${vmid}`);
    if (space && backup) return null;
    const missing = [!space && `Datastore.AllocateSpace on ${sp}`, !backup && `VM.Backup on /vms/${vmid}`]
      .filter(Boolean)
      .join(" and ");
    return `the API token may not see backups of VM ${vmid} on storage '${storage}' (PVE then answers an empty list): grant ${missing} (or Datastore.Allocate on ${sp})`;
  }
}
