import type { GuestType } from "../evidence.js";
import type { ParamValue, Phrase } from "../words/phrase.js";
import type { JobsDueState, MissedJob } from "./missed-jobs.js";

export const STATUSES = ["unknown", "running", "failed", "missing", "stale", "ok"] as const;
export type GuestStatus = (typeof STATUSES)[number];

export const FINDING_CODES = [
  "unprotected",
  "no_offsite",
  "too_few_copies",
  "verify_overdue",
  "verify_failed",
  "retention_short",
  "untiered",
  "excluded",
  "orphaned",
  "fallback_failed",
  "job_missed",
  "overrunning",
] as const;
export type FindingCode = (typeof FINDING_CODES)[number];

/** Findings that inform but never make a problem. */
export const INFORMATIONAL: ReadonlySet<FindingCode> = new Set(["untiered", "excluded", "orphaned"]);

/**
 * Whether one finding informs without making a problem: its code is informational, or it is a
 * `job_missed` of a job the guest's tier does not rely on (policy/missed-jobs.ts: params.relied false).
 */
export function isInformational(f: Pick<Finding, "code" | "params">): boolean {
  return INFORMATIONAL.has(f.code) || (f.code === "job_missed" && f.params.relied !== true);
}

export interface Finding {
  code: FindingCode;
  /** The phrasebook key of its sentence (the code, or the code and a variant: "unprotected.disabled"). */
  key: string;
  params: Record<string, ParamValue>;
  /** The sentence, rendered in the bridge's language and time zone. */
  reason: string;
}

/** One guest as every publisher sees it (MQTT state payload, HTTP, report). */
export interface GuestState {
  id: string;
  source: string;
  vmid: number;
  name: string;
  type: GuestType;
  node: string;
  tier: string | null;
  tier_source: "config" | "tag" | "override" | null;
  status: GuestStatus;
  /** Why the status is what it is, in words. */
  status_reason: string;
  /** The same as a phrase (key + params), for surfaces that render it in their own language. */
  status_phrase: Phrase;
  problem: boolean;
  /** Human reasons: the status reason when it is a problem, then every finding. */
  reasons: string[];
  /** `reasons` as phrases, in the same order. */
  reason_phrases: Phrase[];
  findings: Finding[];
  last_backup: string | null;
  last_backup_size: number | null;
  archive_count: number;
  next_backup: string | null;
  last_verified: string | null;
  /** The newest integrity check of one of its archives. */
  last_verification: { time: string; ok: boolean; volid: string; reason?: string } | null;
  /** The newest restore test. */
  last_restore_test: { time: string; ok: boolean; volid: string; reason?: string } | null;
  /** Percent done of the running backup, when its task log says. */
  progress: number | null;
  last_offsite: string | null;
  /** 3-2-1: copies of a backup no older than the tier's max age (storages + copy targets); null when not evaluated. */
  copies: number | null;
  running: boolean;
  last_attempt: { time: string; result: string; error?: string } | null;
  /** When the status will change by itself (e.g. turns stale), ISO; null if never. */
  changes_at: string | null;
  /** The self-healing fallback (policy/fallback.ts); null when the tier's fallback is off or there is nothing to say. */
  fallback: GuestFallback | null;
  /**
   * What its newest backup is: a vzdump archive (a point-in-time image) or a Hyper Backup file copy
   * of its disks (taken while the guest may write, without its configuration); null when none.
   */
  protection: GuestProtection | null;
}

export type GuestProtection =
  | { by: "vzdump"; consistency: "point-in-time" }
  | { by: "hyperbackup"; consistency: "file-copy"; tasks: string[]; nas: string };

export const FALLBACK_STATES = ["planned", "running", "waiting_for_job", "done", "failed"] as const;

/** A guest's fallback: planned (to start at `at`), running (since `at`), waiting for a job (due at `at`), done or failed (at `at`). */
export interface GuestFallback {
  state: (typeof FALLBACK_STATES)[number];
  /** ISO: when it is planned to start, started, the job is due, or it ended. */
  at: string;
  /** Why, as a sentence. */
  reason: string;
  action: "auto" | "ask";
  /** `ask`: someone approved it. */
  approved: boolean;
}

export interface OrphanGroup {
  source: string;
  vmid: number;
  archive_count: number;
  last_backup: string;
}

export interface PolicyResult {
  guests: GuestState[];
  orphans: OrphanGroup[];
  counts: Record<GuestStatus, number> & { problem: number; untiered: number; excluded: number };
  /** Earliest instant (ms) any guest's state changes without new evidence; null if none. */
  nextChangeMs: number | null;
  /** Enabled backup jobs that did not run when due (policy/missed-jobs.ts). */
  missedJobs?: MissedJob[];
  /** What the missed-jobs watchdog remembers, to keep in state_dir jobs-due.json. */
  jobsDue?: JobsDueState;
  /** When a job's next due instant passes its grace (evaluate again then); null = none. */
  missedJobsChangeMs?: number | null;
}
