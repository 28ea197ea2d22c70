/**
 * The self-healing fallback's planner (tier `fallback`): for each guest whose tier's fallback is
 * `ask` or `auto` and that has been stale, failed or missing for the tier's `grace`, decide what the
 * bridge does about it — nothing, plan a vzdump of its own (now inside the window, else at the
 * window's next opening), wait for a backup job that will run before the window ends, or start now.
 *
 * Never while the guest already runs a backup or its source cannot be read (then its status is
 * running or unknown, not a problem the fallback fixes), while another fallback runs on the same
 * node (at most one per node), after `max_per_day` good fallbacks today, or after two failed
 * fallbacks today (then the finding `fallback_failed` says it stopped retrying for the day).
 * `ask`: the same plan, started only once approved.
 *
 * Pure: the instant, the evaluated guests and the persisted records (state_dir fallback.json,
 * kept by extensions/fallback.ts) are parameters.
 */
import type { Tier } from "../config/tiers.js";
import type { BackupJob, GuestInfo, SourceHealth } from "../evidence.js";
import { wallTime } from "../words/time.js";
import { phrase, type Phrase } from "../words/phrase.js";
import { render, type RenderOptions } from "../words/render.js";
import { earliest, isoOrNull as iso } from "../util/time.js";
import { jobSelects } from "./coverage.js";
import { makeFinding } from "./finding.js";
import { nextOccurrence, previousOccurrence, wallToEpoch } from "./occurrences.js";
import type { Finding, GuestFallback, GuestState, PolicyResult } from "./types.js";
import { windowAround } from "./window.js";

/** One fallback vzdump the bridge started. */
export interface FallbackRun {
  startedMs: number;
  upid?: string;
  node: string;
  result: "running" | "ok" | "failed";
  endedMs?: number;
}

/** What the bridge remembers per guest (state_dir fallback.json, key = guest id). */
export interface FallbackRecord {
  /** Since when the guest has been stale, failed or missing (first seen so). */
  badSince?: number;
  /** `ask`: the pending plan was approved. */
  approved?: boolean;
  /** The plan last announced with fallback_planned (so a restart does not announce it again). */
  announced?: string;
  /** Recent runs, oldest first. */
  runs: FallbackRun[];
}

export type FallbackRecords = Record<string, FallbackRecord>;

/** Two failed fallbacks in one day: no further attempt that day. */
export const FAILURES_PER_DAY = 2;
/**
 * A job whose scheduled instant passed this recently and whose task has not shown up for the
 * guest yet is taken as about to run (PVE's scheduler starts jobs within a minute; the bridge sees
 * the task at its next poll).
 */
export const JOB_START_MARGIN_MS = 10 * 60_000;
/** After a failed fallback, the next attempt waits this long (a refusal is not retried in the same breath). */
export const RETRY_AFTER_MS = 15 * 60_000;

export interface FallbackInput {
  /** The evaluated guests (policy/evaluate.ts). */
  guests: readonly GuestState[];
  tiers: Record<string, Tier>;
  /** Every guest as read, to match jobs against (pool, node). */
  guestInfo: readonly GuestInfo[];
  jobs: readonly BackupJob[];
  sources: readonly SourceHealth[];
  records: FallbackRecords;
  now: number;
  words: RenderOptions;
  /** The zone each source's nodes read job schedules in (evidence.jobTimeZones); else words.timeZone. */
  jobTimeZones?: Record<string, string>;
}

export interface FallbackDecision {
  id: string;
  /** What the guest state shows. */
  fallback: GuestFallback;
  /** Start the vzdump now (auto, or ask and approved; window open; node free). */
  start: boolean;
  /** The phrase of `fallback.reason`. */
  phrase: Phrase;
  /** fallback_failed, when it stopped retrying for today. */
  finding?: Finding;
  /** When this decision changes by itself (grace over, window opens, job due, next day). */
  changesAt: number | null;
  /** Which storage and mode (the tier's; else the source's backup defaults). */
  storage?: string;
  mode?: "snapshot" | "suspend" | "stop";
}

export interface FallbackPlan {
  decisions: Map<string, FallbackDecision>;
  /** Guests whose tier has a fallback and that are bad but not yet bad for the grace: when each is. */
  changesAt: number | null;
}

const BAD = new Set(["failed", "missing", "stale"]);

/** The guest's fallback tier, when it has one that is not off. */
export function fallbackTier(g: GuestState, tiers: Record<string, Tier>): Tier | undefined {
  const t = g.tier ? tiers[g.tier] : undefined;
  return t?.protect && t.fallback && t.fallback.action !== "off" ? t : undefined;
}

/** Is the guest's status one the fallback fixes (stale, failed, missing)? */
export function needsFallback(g: GuestState): boolean {
  return BAD.has(g.status) && !g.running;
}

/** The day (YYYY-MM-DD) of an instant in a zone. */
export function dayOf(ms: number, timeZone: string): string {
  const w = wallTime(ms, timeZone);
  return `${w.year}-${String(w.month).padStart(2, "0")}-${String(w.day).padStart(2, "0")}`;
}

/** The next midnight after `ms` in a zone (when the per-day limits start over). */
function nextMidnight(ms: number, timeZone: string): number {
  const w = wallTime(ms, timeZone);
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day + 1));
  return wallToEpoch(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), 0, timeZone);
}

export function planFallbacks(input: FallbackInput): FallbackPlan {
  const { now, words } = input;
  const tz = words.timeZone;
  const decisions = new Map<string, FallbackDecision>();
  let changesAt: number | null = null;
  const infoOf = new Map(input.guestInfo.map((g) => [`${g.source}/${g.vmid}`, g]));
  const sourceOf = new Map(input.sources.map((s) => [s.name, s]));
  const today = dayOf(now, tz);
  const midnight = nextMidnight(now, tz);
  const busyNodes = new Map<string, string>(); // `${source}/${node}` → guest name of the fallback there

  const candidates: { g: GuestState; tier: Tier; rec: FallbackRecord }[] = [];
  for (const g of input.guests) {
    const tier = fallbackTier(g, input.tiers);
    if (!tier) continue;
    const rec = input.records[g.id] ?? { runs: [] };
    candidates.push({ g, tier, rec });
    const running = rec.runs.find((r) => r.result === "running");
    if (running) busyNodes.set(`${g.source}/${running.node}`, g.name);
  }
  // The guest bad for the longest goes first on its node.
  candidates.sort((a, b) => (a.rec.badSince ?? now) - (b.rec.badSince ?? now) || a.g.id.localeCompare(b.g.id));

  for (const { g, tier, rec } of candidates) {
    const f = tier.fallback;
    const action = f.action as "ask" | "auto";
    const approved = action === "ask" && rec.approved === true;
    const decide = (
      state: GuestFallback["state"],
      atMs: number,
      p: Phrase,
      extra: Partial<FallbackDecision> = {},
    ): void => {
      decisions.set(g.id, {
        id: g.id,
        fallback: { state, at: iso(atMs)!, reason: render(p, words), action, approved },
        start: false,
        phrase: p,
        changesAt: null,
        ...(f.storage ? { storage: f.storage } : {}),
        ...(f.mode ? { mode: f.mode } : {}),
        ...extra,
      });
      changesAt = earliest(changesAt, extra.changesAt);
    };

    const running = rec.runs.find((r) => r.result === "running");
    if (running) {
      // The run's archive is already in the evidence (the guest is ok with a backup from after the
      // run's start) before the executor has marked the run ended: done, in the same state message.
      const newest = g.last_backup ? Date.parse(g.last_backup) : Number.NaN;
      if (g.status === "ok" && !g.running && newest >= running.startedMs - 5_000)
        decide("done", newest, phrase("fallback.done", { at: iso(newest) }));
      else decide("running", running.startedMs, phrase("fallback.running", { node: running.node }));
      continue;
    }
    const ended = rec.runs.filter((r) => r.endedMs !== undefined);
    const last = ended.at(-1);
    const todays = ended.filter((r) => dayOf(r.startedMs, tz) === today);
    const failedToday = todays.filter((r) => r.result === "failed").length;
    const okToday = todays.filter((r) => r.result === "ok").length;
    const showLast = () => {
      if (last && now - last.endedMs! < 86_400_000)
        decide(
          last.result === "ok" ? "done" : "failed",
          last.endedMs!,
          phrase(last.result === "ok" ? "fallback.done" : "fallback.failed", { at: iso(last.endedMs) }),
        );
    };

    const source = sourceOf.get(g.source);
    if (!needsFallback(g) || !source?.up || source.degraded) {
      showLast();
      continue;
    }
    const badSince = rec.badSince ?? now;
    if (now < badSince + f.graceMs) {
      changesAt = earliest(changesAt, badSince + f.graceMs);
      showLast();
      continue;
    }
    if (failedToday >= FAILURES_PER_DAY) {
      decide("failed", last!.endedMs!, phrase("fallback_failed", { count: failedToday, at: iso(last!.endedMs) }), {
        finding: makeFinding(
          "fallback_failed",
          "fallback_failed",
          { count: failedToday, at: iso(last!.endedMs) },
          words,
        ),
        changesAt: midnight,
      });
      continue;
    }
    if (okToday >= f.maxPerDay) {
      decide("done", last!.endedMs!, phrase("fallback.limit", { count: okToday, at: iso(last!.endedMs) }), {
        changesAt: midnight,
      });
      continue;
    }

    const win = windowAround(f.window, now, tz);
    // "any": a job due within the grace counts as coming before the window ends.
    const horizon = win.closesMs ?? now + f.graceMs;
    const info = infoOf.get(`${g.source}/${g.vmid}`);
    const jobs = info ? input.jobs.filter((j) => j.enabled && j.schedule && jobSelects(j, info)) : [];
    let jobDue: { ms: number; job: string } | undefined;
    for (const j of jobs) {
      const zone = input.jobTimeZones?.[j.source] ?? tz;
      // A run that was due moments ago and has not shown up for this guest yet is about to.
      const prev = previousOccurrence(j.schedule!, now, zone);
      const lastAttemptMs = g.last_attempt ? Date.parse(g.last_attempt.time) : -Infinity;
      if (prev !== null && now - prev < JOB_START_MARGIN_MS && lastAttemptMs < prev) {
        if (!jobDue || prev < jobDue.ms) jobDue = { ms: prev, job: j.id };
        continue;
      }
      const next = nextOccurrence(j.schedule!, now, zone) ?? j.nextRunMs ?? null;
      if (next !== null && next < horizon && (!jobDue || next < jobDue.ms)) jobDue = { ms: next, job: j.id };
    }
    if (jobDue) {
      decide(
        "waiting_for_job",
        jobDue.ms,
        phrase("fallback.waiting_for_job", { job: jobDue.job, at: iso(jobDue.ms) }),
        {
          changesAt: jobDue.ms + JOB_START_MARGIN_MS,
        },
      );
      continue;
    }
    // A stable instant (not "now"), so the published state does not change with every evaluation.
    const startAt = win.open ? Math.max(badSince + f.graceMs, win.closesMs === null ? 0 : win.opensMs) : win.opensMs;
    const window = f.window === "any" ? undefined : f.window;
    const retryAt = last?.result === "failed" ? last.endedMs! + RETRY_AFTER_MS : undefined;
    if (retryAt !== undefined && now < retryAt) {
      decide(
        "planned",
        Math.max(retryAt, startAt),
        phrase("fallback.retry", { failed: iso(last!.endedMs), at: iso(Math.max(retryAt, startAt)) }),
        {
          changesAt: Math.max(retryAt, startAt),
        },
      );
      continue;
    }
    const nodeKey = `${g.source}/${g.node}`;
    const other = busyNodes.get(nodeKey);
    if (other !== undefined) {
      decide("planned", startAt, phrase("fallback.node_busy", { node: g.node, other }));
      continue;
    }
    if (action === "ask" && !approved) {
      decide("planned", startAt, phrase("fallback.ask", { at: iso(startAt), window }));
      continue;
    }
    if (!win.open) {
      decide("planned", startAt, phrase("fallback.planned", { at: iso(startAt), window }), {
        changesAt: startAt,
      });
      continue;
    }
    busyNodes.set(nodeKey, g.name);
    decide("planned", startAt, phrase("fallback.starting"), { start: true });
  }
  return { decisions, changesAt };
}

/**
 * The evaluation with each guest's fallback: the state field, the finding `fallback_failed` (a
 * problem), and the next change. Guests without a decision keep `fallback: null`. New objects: the
 * evaluation's own (memoized) guest states are not changed.
 */
export function withFallbacks(result: PolicyResult, plan: FallbackPlan): PolicyResult {
  if (!plan.decisions.size && plan.changesAt === null) return result;
  let problems = result.counts.problem;
  const guests = result.guests.map((g) => {
    const d = plan.decisions.get(g.id);
    if (!d) return g;
    if (!d.finding) return { ...g, fallback: d.fallback };
    if (!g.problem) problems++;
    return {
      ...g,
      fallback: d.fallback,
      problem: true,
      findings: [...g.findings, d.finding],
      reasons: [...g.reasons, d.finding.reason],
      reason_phrases: [...g.reason_phrases, d.phrase],
    };
  });
  return {
    ...result,
    guests,
    counts: { ...result.counts, problem: problems },
    nextChangeMs: earliest(result.nextChangeMs, plan.changesAt),
  };
}
