/**
 * Daily windows such as "01:00-06:00" (verification's quiet hours, a tier's fallback window): the
 * start is inside, the end is not; a window whose end is before its start crosses midnight
 * ("22:00-04:00"); one that ends where it starts is empty. Pure: the instant and the time zone are parameters.
 */
import { wallTime } from "../words/time.js";
import { wallToEpoch } from "./occurrences.js";

/** Minutes of the day where a window opens and closes. */
export interface DailyWindow {
  from: number;
  to: number;
}

/** "HH:MM-HH:MM" → minutes of the day; undefined for "any", empty or anything else. */
export function parseWindow(text: string | undefined): DailyWindow | undefined {
  const m = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(text ?? "");
  if (!m) return undefined;
  return { from: Number(m[1]) * 60 + Number(m[2]), to: Number(m[3]) * 60 + Number(m[4]) };
}

/** Is a minute of the day inside the window? */
export function minuteInWindow(w: DailyWindow, minute: number): boolean {
  return w.from <= w.to ? minute >= w.from && minute < w.to : minute >= w.from || minute < w.to;
}

/**
 * The window's opening around `nowMs` in `timeZone`: the one it is in (opened before, closes after),
 * else the next one. "any" (or no window) is open now and never closes (closesMs null).
 */
export function windowAround(
  text: string | undefined,
  nowMs: number,
  timeZone: string,
): { opensMs: number; closesMs: number | null; open: boolean } {
  const w = parseWindow(text);
  if (!w) return { opensMs: nowMs, closesMs: null, open: true };
  const today = wallTime(nowMs, timeZone);
  const base = Date.UTC(today.year, today.month - 1, today.day);
  const at = (dayOffset: number, minute: number) => {
    const d = new Date(base + dayOffset * 86_400_000);
    return wallToEpoch(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), minute * 60, timeZone);
  };
  const crosses = w.to < w.from;
  for (const day of [-1, 0, 1]) {
    const opensMs = at(day, w.from);
    const closesMs = at(crosses ? day + 1 : day, w.to);
    if (nowMs < closesMs) return { opensMs, closesMs, open: nowMs >= opensMs };
  }
  // Not reached: tomorrow's window always closes after now.
  return { opensMs: at(1, w.from), closesMs: at(crosses ? 2 : 1, w.to), open: false };
}
