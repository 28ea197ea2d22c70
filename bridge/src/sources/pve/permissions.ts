/**
 * Answers "may this token do X on path P" from GET /access/permissions, so an empty backup
 * listing can be told apart from "not allowed to see backups" (PVE answers 200 [] for both).
 */
export class Permissions {
  constructor(private readonly byPath: Record<string, Record<string, number>>) {}

  has(priv: string, path: string): boolean {
    const exact = this.byPath[path]?.[priv];
    if (exact !== undefined) return true;
    // Walk up: /vms/100 → /vms → /. A privilege set higher up counts if it propagates (1).
    let p = path;
    while (p !== "/") {
      p = p.slice(0, p.lastIndexOf("/")) || "/";
      if (this.byPath[p]?.[priv] === 1) return true;
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
    const missing = [!space && `Datastore.AllocateSpace on ${sp}`, !backup && `VM.Backup on /vms/${vmid}`].filter(Boolean).join(" and ");
    return `the API token may not see backups of VM ${vmid} on storage '${storage}' (PVE then answers an empty list): grant ${missing} (or Datastore.Allocate on ${sp})`;
  }
}
