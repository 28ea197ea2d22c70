/**
 * Node-local wall-clock time without a tz library: PVE names archives, writes task logs and
 * evaluates schedules in the node's local time, so the lab needs epoch <-> local conversion
 * for any IANA zone. Intl.DateTimeFormat gives us the zone's offset at an instant.
 */

export interface LocalTime {
  year: number;
  month: number; // 1-12
  day: number; // 1-31
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      weekday: "short",
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Throws a RangeError for an unknown zone name (used by scenario validation). */
export function assertTimeZone(tz: string): void {
  formatter(tz);
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/**
 * Local time of an instant. Intl is slow (a lab of 250,000 archives names each one), so the
 * zone's offset is cached per quarter hour — only when it is the same at both ends of that
 * quarter, i.e. no transition falls inside it; otherwise Intl answers directly.
 */
export function toLocal(epochMs: number, tz: string): LocalTime {
  if (tz === "UTC" || tz === "Etc/UTC") return utcParts(epochMs);
  const bucket = Math.floor(epochMs / OFFSET_BUCKET_MS);
  let cache = offsetCache.get(tz);
  if (!cache) {
    cache = new Map();
    offsetCache.set(tz, cache);
  }
  let off = cache.get(bucket);
  if (off === undefined) {
    const a = intlOffsetMs(bucket * OFFSET_BUCKET_MS, tz);
    const b = intlOffsetMs((bucket + 1) * OFFSET_BUCKET_MS - 1000, tz);
    off = a === b ? a : NaN;
    if (cache.size > 200_000) cache.clear();
    cache.set(bucket, off);
  }
  return Number.isNaN(off) ? intlLocal(epochMs, tz) : utcParts(Math.floor(epochMs / 1000) * 1000 + off);
}

const OFFSET_BUCKET_MS = 900_000;
const offsetCache = new Map<string, Map<number, number>>();

function utcParts(ms: number): LocalTime {
  const d = new Date(ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
  };
}

function intlOffsetMs(epochMs: number, tz: string): number {
  const l = intlLocal(epochMs, tz);
  return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second) - Math.floor(epochMs / 1000) * 1000;
}

function intlLocal(epochMs: number, tz: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(new Date(epochMs))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS[parts.weekday ?? "Sun"] ?? 0,
  };
}

/** Offset of the zone from UTC at an instant, in ms (UTC+2 → +7_200_000). */
export function offsetMs(epochMs: number, tz: string): number {
  const l = toLocal(epochMs, tz);
  const asUtc = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
  return asUtc - Math.floor(epochMs / 1000) * 1000;
}

/**
 * Epoch ms of a local wall-clock time. A time that occurs twice (the hour repeated when daylight
 * saving ends) is the earlier instant; a time in the skipped hour (daylight saving starts) is read
 * with the offset before the change, so it lands after the jump (02:30 → 03:30), as schedulers do.
 */
export function fromLocal(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  tz: string,
): number {
  const naive = Date.UTC(year, month - 1, day, hour, minute, second);
  if (tz === "UTC" || tz === "Etc/UTC") return naive;
  // Zone offsets change at most once around a given day: the offsets a day before, at and a day
  // after the naive instant are every offset the wall time can have.
  const before = offsetMs(naive - 86_400_000, tz);
  const offsets = new Set([before, offsetMs(naive, tz), offsetMs(naive + 86_400_000, tz)]);
  let best: number | null = null;
  for (const o of offsets) {
    const t = naive - o;
    if (offsetMs(t, tz) === o && (best === null || t < best)) best = t;
  }
  return best ?? naive - before;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

/** `2024_01_31-02_00_03` as in vzdump archive names. */
export function archiveStamp(epochMs: number, tz: string): string {
  const l = toLocal(epochMs, tz);
  return `${l.year}_${pad(l.month)}_${pad(l.day)}-${pad(l.hour)}_${pad(l.minute)}_${pad(l.second)}`;
}

/** `2024-01-31 02:00:03` as in vzdump task logs. */
export function logStamp(epochMs: number, tz: string): string {
  const l = toLocal(epochMs, tz);
  return `${l.year}-${pad(l.month)}-${pad(l.day)} ${pad(l.hour)}:${pad(l.minute)}:${pad(l.second)}`;
}

/** `00:01:23` elapsed time as vzdump prints it. */
export function hms(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}
