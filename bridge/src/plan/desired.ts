/**
 * The desired state: the PVE backup jobs the tiers imply for one Proxmox source (one job per tier
 * with guests there, selecting them by VMID), or why a tier's job cannot be made. Pure: config +
 * policy result in, jobs out.
 */
import type { Config } from "../config/load.js";
import type { Tier } from "../config/tiers.js";
import type { GuestState, PolicyResult } from "../policy/types.js";
import { canonicalPrune, type DesiredJob, defaultJobs, managedJobId } from "./model.js";

/** The comment marks the job as generated; it also tells a person in the PVE GUI not to edit it. */
export function jobComment(tier: Tier): string {
  return `backup2mqtt tier ${tier.id} (${tier.label}): managed by 'backup2mqtt apply', edits in PVE are overwritten`;
}

/** Guests of a tier that a job must select: tiered, protected, in this source. */
function tierGuests(result: PolicyResult, source: string, tierId: string): GuestState[] {
  return result.guests.filter((g) => g.source === source && g.tier === tierId).sort((a, b) => a.vmid - b.vmid);
}

export function desiredJobs(
  cfg: Config,
  result: PolicyResult,
  source: string,
): { jobs: DesiredJob[]; errors: string[]; warnings: string[] } {
  const jc = cfg.jobs ?? defaultJobs;
  const px = cfg.proxmox.find((p) => p.name === source);
  const jobs: DesiredJob[] = [];
  const errors: string[] = [];
  const warnings: string[] = [];
  const ids = new Map<string, string>();
  for (const tier of Object.values(cfg.tiers)) {
    if (!tier.protect) continue;
    const guests = tierGuests(result, source, tier.id);
    if (!guests.length) continue;
    const id = jc.adopt[tier.id] ?? managedJobId(tier.id);
    const clash = ids.get(id);
    if (clash) {
      errors.push(`tiers ${clash} and ${tier.id} would both use job '${id}'; give one of them another id`);
      continue;
    }
    ids.set(id, tier.id);
    if (!tier.schedule) {
      errors.push(
        `tier ${tier.id} has guests (${guests.map((g) => g.name).join(", ")}) but no schedule: set tiers.${tier.id}.schedule (a PVE calendar event such as 02:00)`,
      );
      continue;
    }
    const over = jc.tiers[tier.id] ?? {};
    const storage = over.storage ?? jc.storage ?? px?.backup.storage;
    if (!storage) {
      errors.push(
        `no target storage for tier ${tier.id}: set jobs.storage (or jobs.tiers.${tier.id}.storage, or proxmox[].backup.storage)`,
      );
      continue;
    }
    const enabled = over.enabled ?? jc.enabled;
    jobs.push({
      id,
      source,
      tier: tier.id,
      tierLabel: tier.label,
      adopted: jc.adopt[tier.id] !== undefined,
      guests: guests.map((g) => ({ vmid: g.vmid, name: g.name })),
      fields: {
        enabled: enabled ? "1" : "0",
        schedule: tier.schedule,
        vmid: guests.map((g) => g.vmid).join(","),
        storage,
        mode: jc.mode,
        compress: jc.compress,
        "prune-backups": canonicalPrune(tier.retention),
        "notes-template": jc.notesTemplate,
        comment: jobComment(tier),
      },
    });
    if (!enabled) {
      // Guests whose disks a Hyper Backup task copies (policy/hyperbackup.ts) are protected without the job.
      const byHyperBackup = guests.filter(
        (g) => g.protection?.by === "hyperbackup" && !g.findings.some((f) => f.code === "unprotected"),
      );
      warnings.push(
        byHyperBackup.length === guests.length
          ? `tier ${tier.id}: job '${id}' is manual-only (disabled): the manual fallback, since Hyper Backup copies its guests' disks`
          : `tier ${tier.id}: job '${id}' is manual-only (disabled): PVE never runs it by itself, so ${unprotectedText(
              guests.length - byHyperBackup.length,
              guests.length,
            )}`,
      );
    }
  }
  return { jobs, errors, warnings };
}

/** "its guests stay 'unprotected'", or how many of them when Hyper Backup covers the others. */
function unprotectedText(n: number, of: number): string {
  if (n === of) return "its guests stay 'unprotected'";
  return `${n} of its ${of} guests ${n === 1 ? "stays" : "stay"} 'unprotected'`;
}
