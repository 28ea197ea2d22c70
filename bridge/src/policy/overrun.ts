/**
 * Hung or overrunning backups. A running vzdump looks "fresh" (the guest's status is running), so
 * nothing else notices one that hangs. The rules (pure: the instant is a parameter):
 * - Overrunning: running (from its task's start) longer than max(3 × the median duration of the
 *   guest's earlier vzdumps that finished well, the tier's `max_runtime`), and never less than
 *   MIN_LIMIT_MS (15 min: a container backed up in 20 s is not overrunning at one minute). Durations
 *   are task durations (start to end of the vzdump task the guest was part of), the same measure as
 *   the running one. With no finished backup and no `max_runtime` there is no limit.
 * - Stalled: the task's log has shown no new line for the tier's `stall_after` (default 30 min). A
 *   qemu backup prints a progress line about every percent; a container's tar prints no percentages,
 *   so any new line counts. The instant is when the bridge read the line (log lines carry no time);
 *   after a restart it counts from the first read. A task waiting for its node's global vzdump lock
 *   (pve-manager PVE/VZDump.pm getlock: one vzdump per node, the others log "trying to get global
 *   lock - waiting..." and print nothing until it is free) is not stalled: it waits for another backup.
 * Either makes the finding `overrunning` (a problem), naming the task's start and the limit.
 */
import type { BackupAttempt } from "../evidence.js";
import type { Tier } from "../config/tiers.js";
import type { RenderOptions } from "../words/render.js";
import { makeFinding } from "./finding.js";
import type { Finding } from "./types.js";

export const MIN_LIMIT_MS = 15 * 60_000;
export const MEDIAN_FACTOR = 3;

export interface OverrunVerdict {
  finding: Finding | null;
  /** The UPID of the overrunning task (for the once-per-task event). */
  upid?: string;
  /** When the verdict changes by itself (the limit or the stall is reached); null = never. */
  changesAt: number | null;
}

const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** The running time past which a vzdump of this guest is overrunning; null = no limit. */
export function runtimeLimit(attempts: BackupAttempt[], tier: Pick<Tier, "maxRuntimeMs">): number | null {
  const durations = attempts
    .filter((a) => (a.result === "ok" || a.result === "warnings") && a.endMs !== undefined && a.endMs >= a.startMs)
    .map((a) => a.endMs! - a.startMs);
  const m = median(durations);
  const candidates = [m === null ? null : MEDIAN_FACTOR * m, tier.maxRuntimeMs].filter((x): x is number => x !== null);
  if (!candidates.length) return null;
  return Math.max(MIN_LIMIT_MS, ...candidates);
}

export function evaluateOverrun(
  attempts: BackupAttempt[],
  tier: Pick<Tier, "maxRuntimeMs" | "stallAfterMs"> | null,
  now: number,
  words: RenderOptions,
): OverrunVerdict {
  const running = attempts.filter((a) => a.result === "running").sort((a, b) => a.startMs - b.startMs)[0];
  if (!running || !tier) return { finding: null, changesAt: null };
  const limit = runtimeLimit(attempts, tier);
  const overAt = limit === null ? null : running.startMs + limit;
  const lastLog = running.lastLogMs ?? running.startMs;
  const stallAt = lastLog + tier.stallAfterMs;
  const over = overAt !== null && now >= overAt;
  const stalled = !running.waitingForLock && now >= stallAt;
  const future = [overAt, running.waitingForLock ? null : stallAt].filter((t): t is number => t !== null && t > now);
  const changesAt = future.length ? Math.min(...future) : null;
  if (!over && !stalled) return { finding: null, changesAt };
  const key = over && stalled ? "overrunning.stalled" : over ? "overrunning" : "stalled";
  return {
    finding: makeFinding(
      "overrunning",
      key === "stalled" ? "overrunning.stalled_only" : key,
      {
        since: new Date(running.startMs).toISOString(),
        limit: over ? limit! : undefined,
        last: stalled ? new Date(lastLog).toISOString() : undefined,
        stall: stalled ? tier.stallAfterMs : undefined,
        upid: running.upid,
      },
      words,
    ),
    upid: running.upid,
    changesAt,
  };
}
