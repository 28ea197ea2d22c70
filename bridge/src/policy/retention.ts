/**
 * PVE's retention (`prune-backups`) simulated, and the finding `retention_short` decided with it.
 *
 * Facts used, from the public Proxmox sources:
 * - pve-storage `src/PVE/Storage.pm` `prune_mark_backup_group` (9.1.7): `keep-all`, or no option
 *   above 0, keeps everything; otherwise, over the archives sorted newest first, keep-last, then
 *   keep-hourly, -daily, -weekly, -monthly and -yearly each run `$prune_mark`: the period ids of the
 *   archives already marked 'keep' are "already included"; walking newest first, an archive already
 *   marked (keep or remove) or in an already included period is skipped, the first archive of a new
 *   period is kept until `count` new periods are reached (then the walk stops), a second archive of a
 *   period just kept is marked 'remove' (so later options skip it too); what is left unmarked is
 *   removed. Period ids come from `localtime` (the node's time zone): keep-last = the ctime itself,
 *   hourly = hour/day/month/year, daily = day/month/year, weekly = ISO week and ISO week-year
 *   (`strftime` %V/%G), monthly = month/year, yearly = year.
 * - pve-manager `PVE/VZDump.pm` (`new`): a backup's retention is the job's `prune-backups`, else its
 *   target storage's (`storage_info`), else the node's /etc/vzdump.conf, whose schema default is
 *   `keep-all=1`; a job with `remove=0` never prunes.
 *
 * The policy stays pure: the time zone is a parameter, no clock is read.
 */
import { wallTime } from "../words/time.js";

/** The keep options in the order PVE applies them. */
export const PRUNE_OPTIONS = [
  "keep-last",
  "keep-hourly",
  "keep-daily",
  "keep-weekly",
  "keep-monthly",
  "keep-yearly",
] as const;
export type PruneOption = (typeof PRUNE_OPTIONS)[number];

/** A `prune-backups` value as numbers (`{"keep-daily": 7, "keep-weekly": 4}`); absent or 0 = not set. */
export type KeepOptions = Readonly<Record<string, number | undefined>>;

/** What PVE decides for one archive. */
export interface PruneDecision {
  kept: boolean;
  /** The option that kept it ("keep-all" when everything is kept); absent when it is removed. */
  by?: PruneOption | "keep-all";
}

const DAY_MS = 86_400_000;

// ---- node-local time -------------------------------------------------------------------------------

interface Local {
  year: number;
  month: number;
  day: number;
  hour: number;
}

function localParts(ms: number, timeZone: string): Local & { minute: number; second: number } {
  return wallTime(ms, timeZone);
}

/** ISO 8601 week-year and week of a calendar date (`strftime` %G and %V): the Thursday of the week decides. */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const t = Date.UTC(year, month - 1, day);
  const mondayBased = (new Date(t).getUTCDay() + 6) % 7;
  const thursday = t + (3 - mondayBased) * DAY_MS;
  const weekYear = new Date(thursday).getUTCFullYear();
  return { year: weekYear, week: 1 + Math.floor((thursday - Date.UTC(weekYear, 0, 1)) / (7 * DAY_MS)) };
}

/**
 * The period id of an archive for each option, in PRUNE_OPTIONS order, as numbers (PVE builds
 * strings such as "hour/day/month/year"; equal numbers here mean equal strings there).
 */
function periodIds(ctimeSec: number, l: Local): number[] {
  const w = isoWeek(l.year, l.month, l.day);
  const day = (l.year * 100 + l.month) * 100 + l.day;
  return [ctimeSec, day * 100 + l.hour, day, w.year * 100 + w.week, l.year * 100 + l.month, l.year];
}

/** Period ids of archives sorted newest first: `ids[k][i]` is archive i's id for option k. */
type SeriesIds = readonly Float64Array[];

function seriesIds(perArchive: readonly number[][]): Float64Array[] {
  return PRUNE_OPTIONS.map((_, k) => Float64Array.from(perArchive, (ids) => ids[k]!));
}

// ---- the marking ---------------------------------------------------------------------------------

/** The counts of the positive options in PRUNE_OPTIONS order; null when PVE keeps everything. */
function counts(keep: KeepOptions): number[] | null {
  const c = PRUNE_OPTIONS.map((o) => {
    const v = keep[o];
    return typeof v === "number" && v > 0 ? v : 0;
  });
  if (keep["keep-all"] || !c.some((v) => v > 0)) return null;
  return c;
}

/**
 * `prune_mark_backup_group` over archives sorted newest first, for the archives from index `start`
 * up to (not including) `end`: the newest `end - start` archives of a series whose newest is `start`.
 * Returns, per archive from `start`, k + 1 when option k kept it, 0 when it is removed.
 */
function markNewestFirst(ids: SeriesIds, start: number, end: number, c: readonly number[]): Uint8Array {
  const n = end - start;
  const by = new Uint8Array(n);
  const removed = new Uint8Array(n);
  const kept: number[] = [];
  for (let k = 0; k < c.length; k++) {
    const count = c[k]!;
    if (!count) continue;
    const idk = ids[k]!;
    const already = new Set<number>();
    for (const i of kept) already.add(idk[start + i]!);
    const newly = new Set<number>();
    for (let i = 0; i < n; i++) {
      if (by[i] || removed[i]) continue;
      const id = idk[start + i]!;
      if (already.has(id)) continue;
      if (!newly.has(id)) {
        if (newly.size >= count) break;
        newly.add(id);
        by[i] = k + 1;
        kept.push(i);
      } else {
        removed[i] = 1;
      }
    }
  }
  return by;
}

/**
 * PVE's prune marking of one backup group (one guest's archives on one storage), as pve-storage's
 * `prune_mark_backup_group` does it, with periods in `timeZone` (the node's). Returns one decision per
 * archive, in the order of `ctimesSec`. No archive is protected here (PVE leaves protected ones out of
 * the marking).
 */
export function pruneMark(ctimesSec: readonly number[], keep: KeepOptions, timeZone: string): PruneDecision[] {
  const c = counts(keep);
  if (!c) return ctimesSec.map(() => ({ kept: true, by: "keep-all" }));
  // Perl's sort is stable: archives with the same ctime stay in their given order.
  const order = ctimesSec.map((_, i) => i).sort((a, b) => ctimesSec[b]! - ctimesSec[a]!);
  const ids = seriesIds(order.map((i) => periodIds(ctimesSec[i]!, localParts(ctimesSec[i]! * 1000, timeZone))));
  const by = markNewestFirst(ids, 0, order.length, c);
  const out: PruneDecision[] = new Array(ctimesSec.length);
  order.forEach((orig, pos) => {
    const k = by[pos]!;
    out[orig] = k ? { kept: true, by: PRUNE_OPTIONS[k - 1]! } : { kept: false };
  });
  return out;
}

// ---- retention_short -----------------------------------------------------------------------------

/** A job whose effective retention would remove backups the tier keeps. */
export interface RetentionShort {
  /** Where the effective retention comes from: the job's own `prune-backups`, its storage's, or PVE's default. */
  from: "job" | "storage" | "default";
  /** The effective retention (positive options only). */
  keeps: Record<string, number>;
  /** The tier's retention (positive options only). */
  wants: Record<string, number>;
  /**
   * Per tier option, how many archives the tier keeps by it that the job's retention removes, at the
   * worst moment of the simulated year (only options with a count above 0).
   */
  missing: Record<string, number>;
}

/** Days of a daily series one period of each option spans at most (PRUNE_OPTIONS order). */
const PERIOD_DAYS = [1, 1, 1, 7, 31, 366];
/**
 * Anchors: the newest archive is each day of a whole leap year in turn (every weekday, day of the
 * month and day of the year) when a monthly or yearly option is involved; with weekly options at
 * most, a week of anchors meets every case, and with daily ones at most every day is alike.
 */
function anchorDays(...c: (readonly number[])[]): number {
  const used = (k: number) => c.some((x) => x[k]! > 0);
  return used(4) || used(5) ? 366 : used(3) ? 7 : 1;
}
/** The newest day of the series (the first anchor): the last day of a leap year. */
const ANCHOR_END = Date.UTC(2024, 11, 31);
/** Longest simulated history (a tier asking for more than 30 years is checked over its first 30). */
const MAX_HISTORY_DAYS = 30 * 366;
/** Hour of the synthetic daily backup: noon is never inside a daylight-saving gap. */
const BACKUP_HOUR = 12;

function positive(keep: KeepOptions): Record<string, number> {
  const out: Record<string, number> = {};
  if (keep["keep-all"]) out["keep-all"] = keep["keep-all"];
  for (const o of PRUNE_OPTIONS) {
    const v = keep[o];
    if (typeof v === "number" && v > 0) out[o] = v;
  }
  return out;
}

/**
 * How far back (days of a daily series) a retention keeps anything: each option adds at most its
 * count of new periods plus the one it starts in (`$prune_mark` skips periods already covered).
 */
function reachDays(c: readonly number[]): number {
  return c.reduce((days, v, k) => days + (v ? (v + 1) * PERIOD_DAYS[k]! : 0), 0);
}

/**
 * Margin after which older archives cannot change a retention's marks of newer ones: a mark depends
 * on newer archives and on archives kept by an earlier option in the same period of a later one, so
 * at most one period of each option further back.
 */
function marginDays(c: readonly number[]): number {
  return c.reduce((days, v, k) => days + (v ? PERIOD_DAYS[k]! : 0), 1);
}

/**
 * The synthetic series, newest first: one archive a day at noon node-local time (noon is never in a
 * daylight-saving gap), the newest on ANCHOR_END; period ids from the archive's epoch in `timeZone`,
 * as pruneMark computes them. Cached per zone.
 */
const seriesCache = new Map<string, SeriesIds>();
function dailySeries(days: number, timeZone: string): SeriesIds {
  const cached = seriesCache.get(timeZone);
  if (cached && cached[0]!.length >= days) return cached;
  const perArchive: number[][] = [];
  let offsetMs = 0; // local minus UTC, carried from day to day (it changes only at a transition)
  for (let i = 0; i < days; i++) {
    const date = new Date(ANCHOR_END - i * DAY_MS);
    const wall = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate(), BACKUP_HOUR);
    let ms = wall - offsetMs;
    let l = localParts(ms, timeZone);
    const seen = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
    if (seen !== wall) {
      offsetMs = seen - ms;
      ms = wall - offsetMs;
      l = localParts(ms, timeZone);
    }
    perArchive.push(periodIds(ms / 1000, l));
  }
  const s = seriesIds(perArchive);
  if (seriesCache.size >= 16) seriesCache.clear();
  seriesCache.set(timeZone, s);
  return s;
}

const resultCache = new Map<string, RetentionShort | undefined>();

/**
 * Does the job keep fewer backups than the tier wants? `jobKeep` is the job's own `prune-backups`,
 * `storageKeep` its target storage's (PVE uses it when the job has none); without either PVE keeps
 * everything (`keep-all=1`), which is never short. `tierKeep` is the tier's retention; a tier without
 * one wants nothing.
 *
 * Decided by simulation: a synthetic series of one backup a day (noon, node-local `timeZone`), long
 * enough for every option of the tier, is marked with both retentions (pruneMark's marking), with
 * each day of a whole year in turn as the newest backup (a week of days when no monthly or yearly
 * option is involved; see anchorDays). The job is short when, on any of those days, an archive the
 * tier keeps is one the job's retention removes; `missing` counts them per tier option on the worst
 * day. Keeping more than the tier is fine. With one backup a day at noon the zone cannot change the
 * answer; it is taken so the periods are the node's, as PVE's are.
 *
 * Results are cached by their inputs (the function is pure): the first call for a retention pair
 * costs a few milliseconds (tens for yearly options), later ones nothing.
 *
 * Returns undefined when the job keeps at least what the tier keeps.
 */
export function retentionShort(
  jobKeep: KeepOptions | undefined,
  storageKeep: KeepOptions | undefined,
  tierKeep: KeepOptions,
  timeZone: string,
): RetentionShort | undefined {
  const tierCounts = counts(tierKeep);
  if (!tierCounts) return undefined; // the tier wants nothing
  const from = jobKeep ? "job" : storageKeep ? "storage" : "default";
  const effective: KeepOptions = jobKeep ?? storageKeep ?? { "keep-all": 1 };
  const jobCounts = counts(effective);
  if (!jobCounts) return undefined; // keep-all keeps everything
  const key = `${timeZone}|${from}|${jobCounts.join(",")}|${tierCounts.join(",")}`;
  if (resultCache.has(key)) return copy(resultCache.get(key));

  // The tier keeps nothing older than its reach; the job's marks there are exact with its margin.
  const tierDays = Math.min(reachDays(tierCounts) + marginDays(tierCounts), MAX_HISTORY_DAYS);
  const jobDays = tierDays + marginDays(jobCounts);
  const anchors = anchorDays(tierCounts, jobCounts);
  const series = dailySeries(anchors + jobDays, timeZone);
  let worst: number[] | undefined;
  let worstTotal = 0;
  for (let start = 0; start < anchors; start++) {
    const tier = markNewestFirst(series, start, start + tierDays, tierCounts);
    const job = markNewestFirst(series, start, start + jobDays, jobCounts);
    const missing = PRUNE_OPTIONS.map(() => 0);
    let total = 0;
    for (let i = 0; i < tier.length; i++) {
      const by = tier[i]!;
      if (by && !job[i]) {
        missing[by - 1] = missing[by - 1]! + 1;
        total++;
      }
    }
    if (total > worstTotal) {
      worst = missing;
      worstTotal = total;
    }
  }
  const result: RetentionShort | undefined = worst
    ? {
        from,
        keeps: positive(effective),
        wants: positive(tierKeep),
        missing: Object.fromEntries(PRUNE_OPTIONS.map((o, k) => [o, worst[k]!] as const).filter(([, v]) => v > 0)),
      }
    : undefined;
  if (resultCache.size > 256) resultCache.clear();
  resultCache.set(key, result);
  return copy(result);
}

function copy(r: RetentionShort | undefined): RetentionShort | undefined {
  return r && { from: r.from, keeps: { ...r.keeps }, wants: { ...r.wants }, missing: { ...r.missing } };
}
