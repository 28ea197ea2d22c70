import type { BackupJob, GuestInfo } from "../evidence.js";
import type { Tier, Retention } from "../config/tiers.js";
import { maxGapMs } from "./calendar.js";
import { PRUNE_OPTIONS } from "./retention.js";
import { phrase, type Phrase } from "../words/phrase.js";

/** Does this job select this guest (vmid list, all minus exclude, or pool; optionally one node)? */
export function jobSelects(job: BackupJob, guest: GuestInfo): boolean {
  if (job.source !== guest.source) return false;
  if (job.node && job.node !== guest.node) return false;
  if (job.vmids) return job.vmids.includes(guest.vmid);
  if (job.pool) return guest.pool === job.pool;
  if (job.all) return !(job.exclude ?? []).includes(guest.vmid);
  return false;
}

export interface CoverageVerdict {
  covered: boolean;
  /** Why not, when not covered (a phrase whose key is "unprotected" or a variant of it). */
  why?: Phrase;
  /** Jobs that select the guest and are enabled. */
  enabledJobs: BackupJob[];
}

/** "unprotected" unless an enabled, scheduled job selects the guest often enough for its tier. */
export function coverage(guest: GuestInfo, tier: Tier, jobs: BackupJob[]): CoverageVerdict {
  const selecting = jobs.filter((j) => jobSelects(j, guest));
  const enabled = selecting.filter((j) => j.enabled && j.schedule);
  const frequentEnough = enabled.filter((j) => {
    const gap = maxGapMs(j.schedule!);
    return gap === null || gap <= tier.maxAgeMs; // a schedule we cannot read is not held against the user
  });
  if (frequentEnough.length) return { covered: true, enabledJobs: enabled };
  if (enabled.length) {
    const j = enabled[0]!;
    return {
      covered: false,
      enabledJobs: enabled,
      why: phrase("unprotected.too_rare", {
        job: j.id,
        every: maxGapMs(j.schedule!)!,
        schedule: j.schedule!,
        tier: tier.id,
        max: tier.maxAgeMs,
      }),
    };
  }
  const disabled = selecting.filter((j) => !j.enabled);
  if (disabled.length) {
    return {
      covered: false,
      enabledJobs: [],
      why: phrase("unprotected.disabled", { count: disabled.length, jobs: disabled.map((j) => j.id) }),
    };
  }
  return { covered: false, enabledJobs: [], why: phrase("unprotected") };
}

/**
 * A retention as PVE writes it ("keep-daily=7,keep-weekly=4"); "keep-all" when nothing is set.
 * Whether a job keeps enough for its tier is retention.ts's `retentionShort`.
 */
export function formatRetention(r: Retention | Record<string, number> | undefined): string {
  const parts = PRUNE_OPTIONS.filter((k) => (r as Record<string, number> | undefined)?.[k]).map(
    (k) => `${k}=${(r as Record<string, number>)[k]}`,
  );
  return parts.length ? parts.join(",") : "keep-all";
}
