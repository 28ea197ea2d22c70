/**
 * 3-2-1 per guest, pure: how many copies of a guest's recent backups exist and whether one of
 * them is off-site. Also the health of a Hyper Backup task and of a PBS job state, so every
 * judgement about backups lives in the policy.
 *
 * A copy is
 *   - the newest good archive on each distinct PVE storage, and
 *   - each copy target (Hyper Backup task, PBS sync job) carrying that storage whose last success
 *     is at or after that archive's time (the run saw the archive, so its copy includes it),
 * and it counts only while the archive it holds is no older than the tier's max_age: an old
 * archive on a second storage does not protect today's data. A storage that is itself off-site
 * (a datastore on an off-site PBS) holds an off-site copy of its archives.
 */
import { earliest, isoOrNull } from "../util/time.js";
import type { Archive, CopyTarget, OffsiteEvidence } from "../evidence.js";
import type { Tier } from "../config/tiers.js";
import { formatDuration } from "../util/duration.js";
import type { Finding } from "./types.js";

export interface CopiesResult {
  /** null when not evaluated (no off-site source configured, or the tier protects nothing). */
  copies: number | null;
  /** Newest off-site copy that holds any good archive of the guest (ms), null if none known. */
  lastOffsiteMs: number | null;
  findings: Finding[];
  /** When a counted copy ages out (the count may drop then), ms; null if never. */
  changesAt: number | null;
  /** What was counted, in words (for logs and reports). */
  counted: string[];
}

/**
 * @param archives every archive of this guest (bad ones are ignored here)
 */
export function evaluateCopies(
  archives: Archive[],
  tier: Tier | null,
  offsite: OffsiteEvidence | undefined,
  now: number,
): CopiesResult {
  const none: CopiesResult = { copies: null, lastOffsiteMs: null, findings: [], changesAt: null, counted: [] };
  if (!offsite) return none;
  const good = archives.filter((a) => a.verification !== "failed");
  const newestByStorage = new Map<string, Archive>();
  for (const a of good) {
    const cur = newestByStorage.get(a.storage);
    if (!cur || a.ctimeMs > cur.ctimeMs) newestByStorage.set(a.storage, a);
  }
  const offsiteStorages = new Set(offsite.offsiteStorages);
  const protect = !!tier?.protect;
  const freshUntil = (a: Archive) => (protect ? a.ctimeMs + tier!.maxAgeMs : Number.POSITIVE_INFINITY);
  const fresh = (a: Archive) => now < freshUntil(a);

  let copies = 0;
  let changesAt: number | null = null;
  const noteExpiry = (a: Archive) => {
    const until = freshUntil(a);
    if (until > now) changesAt = earliest(changesAt, until);
  };
  const counted: string[] = [];
  let lastOffsiteMs: number | null = null;
  let offsiteFresh = false;
  const unknownTargets: CopyTarget[] = [];
  /** Per target: why it does not hold a fresh copy (for the no_offsite reason). */
  const misses: string[] = [];

  for (const [storage, newest] of [...newestByStorage].sort((a, b) => a[0].localeCompare(b[0]))) {
    const isFresh = fresh(newest);
    if (isFresh) {
      copies++;
      noteExpiry(newest);
      counted.push(
        `storage '${storage}' (archive of ${isoOrNull(newest.ctimeMs)}${offsiteStorages.has(storage) ? ", off-site" : ""})`,
      );
      if (offsiteStorages.has(storage)) offsiteFresh = true;
    }
    if (offsiteStorages.has(storage) && (lastOffsiteMs === null || newest.ctimeMs > lastOffsiteMs))
      lastOffsiteMs = newest.ctimeMs;
  }

  for (const t of offsite.targets) {
    const onStorages = good.filter((a) => t.storages.includes(a.storage));
    if (!onStorages.length) continue;
    if (!t.readable) {
      unknownTargets.push(t);
      continue;
    }
    if (t.lastSuccessMs === null) {
      if (t.offsite) misses.push(`${t.label} has never succeeded`);
      continue;
    }
    // The newest archive this run saw, per storage; the freshest of those is what the copy holds.
    const included = onStorages.filter((a) => a.ctimeMs <= t.lastSuccessMs!).sort((a, b) => b.ctimeMs - a.ctimeMs)[0];
    if (included && t.offsite && (lastOffsiteMs === null || t.lastSuccessMs > lastOffsiteMs))
      lastOffsiteMs = t.lastSuccessMs;
    if (included && fresh(included)) {
      copies++;
      noteExpiry(included);
      counted.push(`${t.label} (${t.offsite ? "off-site, " : ""}holds the archive of ${isoOrNull(included.ctimeMs)})`);
      if (t.offsite) offsiteFresh = true;
    } else if (t.offsite) {
      const newest = onStorages.reduce((a, b) => (b.ctimeMs > a.ctimeMs ? b : a));
      misses.push(
        included
          ? `${t.label} last succeeded ${isoOrNull(t.lastSuccessMs)}; the archive it holds (${isoOrNull(included.ctimeMs)}) is older than the tier allows`
          : `${t.label} last succeeded ${isoOrNull(t.lastSuccessMs)}, before the newest archive on '${newest.storage}' (${isoOrNull(newest.ctimeMs)})`,
      );
    }
  }

  const findings: Finding[] = [];
  if (protect && good.length) {
    const unknown = unknownTargets.length > 0;
    if (tier!.offsite && !offsiteFresh && !unknown) {
      const carried = new Set([
        ...offsite.targets.filter((t) => t.offsite).flatMap((t) => t.storages),
        ...offsiteStorages,
      ]);
      const uncarried = [...newestByStorage.keys()].filter((s) => !carried.has(s));
      const why = misses.length
        ? misses.join("; ")
        : `nothing copies storage${uncarried.length > 1 ? "s" : ""} ${uncarried.map((s) => `'${s}'`).join(", ")} off-site (a Hyper Backup task that protects it, a PBS sync job, or an off-site PBS)`;
      findings.push({
        code: "no_offsite",
        reason: `tier ${tier!.id} wants an off-site copy of a backup no older than ${formatDuration(tier!.maxAgeMs)}: ${why}`,
      });
    }
    if (copies < tier!.minCopies && !unknown) {
      findings.push({
        code: "too_few_copies",
        reason: `tier ${tier!.id} wants ${tier!.minCopies} copies no older than ${formatDuration(tier!.maxAgeMs)}; ${copies} found${counted.length ? `: ${counted.join(", ")}` : ""}`,
      });
    }
  }
  return { copies: protect ? copies : null, lastOffsiteMs, findings, changesAt, counted };
}

// --- Hyper Backup task health ------------------------------------------------------------------

export const HYPER_BACKUP_STATUSES = ["ok", "running", "failed", "stale", "never", "broken", "unknown"] as const;
export type HyperBackupStatus = (typeof HYPER_BACKUP_STATUSES)[number];

export interface HyperBackupTaskFacts {
  state: string;
  status: string;
  lastResult: string | null;
  lastAttemptMs: number | null;
  lastSuccessMs: number | null;
  errorCode: number | null;
  error: string | null;
}

const RUNNING_STATUS = new Set([
  "backup",
  "detect",
  "version_deleting",
  "preparing_version_delete",
  "waiting",
  "detect_waiting",
]);
const BROKEN_STATE = new Set(["restore_only", "error_detect", "broken", "unauth", "endofservice"]);
const NOT_FAILED_RESULT = new Set(["done", "backingup", "resuming", "none"]);

/**
 * One value per Hyper Backup task, from the fields DSM's SYNO.Backup.Task status API returns
 * (`state`, `status`, `last_bkp_result`, and `last_bkp_success_time` for freshness): unknown (NAS unreachable — never stale) › broken (state restore_only & co) ›
 * running › failed (last result not a success) › never › stale (last success older than max age) › ok.
 * Error code 4401 with an empty error text is what healthy tasks carry: not a failure.
 */
export function hyperBackupHealth(
  t: HyperBackupTaskFacts | null,
  readable: boolean,
  maxAgeMs: number,
  now: number,
): { status: HyperBackupStatus; problem: boolean; reason: string; changesAt: number | null } {
  if (!readable || !t)
    return {
      status: "unknown",
      problem: false,
      reason: "the NAS is unreachable or its answer unreadable",
      changesAt: null,
    };
  const errText = t.error ? `: ${t.error}${t.errorCode ? ` (code ${t.errorCode})` : ""}` : "";
  if (BROKEN_STATE.has(t.state))
    return { status: "broken", problem: true, reason: `task state is '${t.state}'${errText}`, changesAt: null };
  if (RUNNING_STATUS.has(t.status) || t.lastResult === "backingup")
    return { status: "running", problem: false, reason: `task is running (${t.status})`, changesAt: null };
  const failedResult = t.lastResult !== null && !NOT_FAILED_RESULT.has(t.lastResult);
  if (failedResult)
    return { status: "failed", problem: true, reason: `last run ended '${t.lastResult}'${errText}`, changesAt: null };
  if (t.lastSuccessMs === null)
    return { status: "never", problem: true, reason: "the task has never completed a backup", changesAt: null };
  if (now >= t.lastSuccessMs + maxAgeMs)
    return {
      status: "stale",
      problem: true,
      reason: `last success ${isoOrNull(t.lastSuccessMs)} is older than allowed (${formatDuration(maxAgeMs)}); stale since ${isoOrNull(t.lastSuccessMs + maxAgeMs)}`,
      changesAt: null,
    };
  return {
    status: "ok",
    problem: false,
    reason: `last success ${isoOrNull(t.lastSuccessMs)}; stale at ${isoOrNull(t.lastSuccessMs + maxAgeMs)} without a newer one`,
    changesAt: t.lastSuccessMs + maxAgeMs,
  };
}

/** PBS `last-run-state`: "OK", "WARNINGS: n", "unknown", or the raw error text (anything else ⇒ failure). */
export function pbsRunStateOk(state: string | null | undefined): boolean | null {
  if (state === null || state === undefined) return null;
  if (state === "OK" || /^WARNINGS: \d+$/.test(state)) return true;
  if (state === "unknown") return null;
  return false;
}

/** A Hyper Backup task's verdict (status, problem, reason, the instant it turns stale). */
export type HyperBackupVerdict = ReturnType<typeof hyperBackupHealth>;
