/**
 * The part of PVE's systemd-like calendar events the policy needs: how far apart runs are.
 * Supports weekday lists/ranges (mon..fri, sat,sun), hour and minute lists, ranges and steps
 * (2,22:30; 8..17:0/15; *\/30), and the keywords minutely/hourly/daily/weekly. Anything else
 * (date parts, seconds) yields null: the caller reports the frequency as unknown instead of guessing.
 */

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const KEYWORDS: Record<string, string> = {
  minutely: "*:*",
  hourly: "*:0",
  daily: "0:0",
  weekly: "mon 0:0",
};

function parseNumberSpec(spec: string, max: number): Set<number> | null {
  const out = new Set<number>();
  for (const item of spec.split(",")) {
    const m = /^(\*|\d+(?:\.\.\d+)?)(?:\/(\d+))?$/.exec(item);
    if (!m) return null;
    let [lo, hi] = [0, max];
    if (m[1] !== "*") {
      const [a, b] = m[1]!.split("..").map(Number);
      lo = a!;
      hi = b ?? (m[2] ? max : a!);
    }
    const step = m[2] ? Number(m[2]) : 1;
    if (step <= 0 || lo > max || hi > max || lo > hi) return null;
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function parseDays(spec: string): Set<number> | null {
  const out = new Set<number>();
  for (const item of spec.split(",")) {
    const [a, b] = item.split("..");
    const ia = DAYS.indexOf(a!.slice(0, 3));
    const ib = b === undefined ? ia : DAYS.indexOf(b.slice(0, 3));
    if (ia < 0 || ib < 0) return null;
    for (let d = ia; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === ib) break;
    }
  }
  return out;
}

export interface ParsedSchedule {
  days: Set<number>;
  hours: Set<number>;
  minutes: Set<number>;
}

export function parseSchedule(schedule: string): ParsedSchedule | null {
  let text = schedule.trim().toLowerCase();
  if (!text) return null;
  text = KEYWORDS[text] ?? text;
  const parts = text.split(/\s+/);
  let days: Set<number> | null = new Set([0, 1, 2, 3, 4, 5, 6]);
  if (parts.length > 2) return null;
  if (parts.length === 2 || /^[a-z]/.test(parts[0]!)) {
    days = parseDays(parts.shift()!);
    if (!days) return null;
  }
  const time = parts[0] ?? "0:0";
  let hourSpec = "*";
  let minuteSpec: string;
  if (time.includes(":")) {
    const pieces = time.split(":");
    if (pieces.length !== 2) return null;
    [hourSpec, minuteSpec] = pieces as [string, string];
  } else {
    minuteSpec = time;
  }
  const hours = parseNumberSpec(hourSpec, 23);
  const minutes = parseNumberSpec(minuteSpec, 59);
  if (!hours || !minutes || !hours.size || !minutes.size || !days.size) return null;
  return { days, hours, minutes };
}

/** The longest time between two consecutive runs, in ms; null when the schedule is not understood. */
export function maxGapMs(schedule: string): number | null {
  // Pure, and asked once per guest per job: remember the answer per schedule string.
  let gap = gapCache.get(schedule);
  if (gap === undefined) {
    gap = computeMaxGapMs(schedule);
    if (gapCache.size > 1000) gapCache.clear();
    gapCache.set(schedule, gap);
  }
  return gap;
}
const gapCache = new Map<string, number | null>();

function computeMaxGapMs(schedule: string): number | null {
  const p = parseSchedule(schedule);
  if (!p) return null;
  // Two weeks of minutes from a Sunday 00:00: enough to see every weekly pattern wrap.
  const occurrences: number[] = [];
  for (let minute = 0; minute < 14 * 1440; minute++) {
    const day = Math.floor(minute / 1440) % 7;
    const hour = Math.floor((minute % 1440) / 60);
    if (p.days.has(day) && p.hours.has(hour) && p.minutes.has(minute % 60)) occurrences.push(minute);
  }
  let gap = 0;
  for (let i = 1; i < occurrences.length; i++) gap = Math.max(gap, occurrences[i]! - occurrences[i - 1]!);
  if (occurrences.length === 1) gap = 14 * 1440; // cannot happen for a weekly pattern, kept for safety
  return gap * 60_000;
}
