/**
 * Guests whose archives one refresh cannot vouch for: a storage listing failed, or the API token
 * may not see their backups (PVE answers an empty listing then, not an error).
 */
import type { GuestInfo, VisibilityProblem } from "../../evidence.js";
import type { BackupContent } from "./content.js";
import type { StorageRef } from "./inventory.js";
import type { JobsAndPrivileges } from "./jobs-and-privileges.js";

export interface VisibilityInput {
  source: string;
  guests: ReadonlyMap<number, GuestInfo>;
  storages: StorageRef[];
  content: BackupContent;
  meta: JobsAndPrivileges;
  /** The storage manual backups go to (config `backup.storage`), if set. */
  backupStorage: string | undefined;
}

/** One problem per guest at most, in guest order after listing failures. */
export function visibilityProblems({
  source,
  guests,
  storages,
  content,
  meta,
  backupStorage,
}: VisibilityInput): VisibilityProblem[] {
  const out: VisibilityProblem[] = [];
  const jobStorages = new Set(meta.jobs.map((j) => j.storage).filter((s): s is string => !!s));
  if (backupStorage) jobStorages.add(backupStorage);
  const relevant = storages.filter(
    (s) => jobStorages.size === 0 || jobStorages.has(s.storage) || content.hasListedArchives(s),
  );
  for (const s of relevant) {
    const err = content.errorOf(s);
    if (!err) continue;
    for (const g of guests.values()) if (s.shared || g.node === s.node) out.push({ source, vmid: g.vmid, reason: err });
  }
  for (const g of guests.values()) {
    for (const s of relevant) {
      if (!s.shared && s.node !== g.node) continue;
      if (meta.perms) {
        const reason = meta.perms.backupVisibility(s.storage, g.vmid);
        if (reason) out.push({ source, vmid: g.vmid, reason });
      } else if (!content.sizeOf(s) && (jobStorages.has(s.storage) || content.hasListedArchives(s))) {
        // Cannot ask PVE for the token's privileges: an empty listing where jobs write is not proof of "missing".
        out.push({
          source,
          vmid: g.vmid,
          reason: `storage '${s.storage}' lists no backups although a job writes there, and the token's privileges cannot be read (${meta.permsError}); the token needs Datastore.AllocateSpace on /storage/${s.storage} and VM.Backup on /vms/${g.vmid}`,
        });
      }
    }
  }
  // One reason per guest is enough.
  const seen = new Set<number>();
  return out.filter((p) => {
    if (seen.has(p.vmid!)) return false;
    seen.add(p.vmid!);
    return true;
  });
}
