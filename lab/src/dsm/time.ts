/**
 * Hyper Backup's times as the simulated NAS writes them: NAS-local wall-clock strings without a
 * zone, "YYYY/MM/DD HH:MM" (newer DSM builds add ":SS"), read in the NAS's configured IANA time
 * zone. Built on the lab's own zone arithmetic (timezone.ts, Intl-based) and not on the bridge's
 * DSM client, so a time bug on one side cannot pass the tests by repeating itself on the other.
 */
import { fromLocal, toLocal } from "../timezone.js";

const pad = (n: number): string => String(n).padStart(2, "0");

/** Epoch ms → "YYYY/MM/DD HH:MM" (or "YYYY/MM/DD HH:MM:SS") on the NAS's wall clock. */
export function formatNasTime(ms: number, timeZone: string, seconds = false): string {
  const l = toLocal(ms, timeZone);
  return `${l.year}/${pad(l.month)}/${pad(l.day)} ${pad(l.hour)}:${pad(l.minute)}${seconds ? `:${pad(l.second)}` : ""}`;
}

/**
 * A wall-clock time on the NAS → epoch ms. A time that occurs twice (the hour repeated when
 * daylight saving ends) is the earlier instant; a time in the skipped hour (daylight saving starts)
 * is read with the offset before the change, i.e. it lands after the jump (02:30 → 03:30).
 */
export function nasWallClockToEpoch(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  timeZone: string,
): number {
  return fromLocal(year, month, day, hour, minute, second, timeZone);
}

/** The first run of a daily "HH:MM" schedule strictly after `afterMs`, on the NAS's wall clock. */
export function nextDailyRun(schedule: string, afterMs: number, timeZone: string): number | null {
  const m = /^(\d{2}):(\d{2})$/.exec(schedule);
  if (!m) return null;
  const today = toLocal(afterMs, timeZone);
  for (let i = 0; i < 3; i++) {
    // Calendar arithmetic on a UTC date: the day after a local date does not depend on the zone.
    const d = new Date(Date.UTC(today.year, today.month - 1, today.day + i));
    const at = nasWallClockToEpoch(
      d.getUTCFullYear(),
      d.getUTCMonth() + 1,
      d.getUTCDate(),
      Number(m[1]),
      Number(m[2]),
      0,
      timeZone,
    );
    if (at > afterMs) return at;
  }
  return null;
}

/**
 * The first run of a Hyper Backup schedule strictly after `afterMs`: at "HH:MM" on the days of
 * `weekdays` (DSM's `week_name`, "0,1,…,6", 0 = Sunday), and when `repeatHours` > 0 again every
 * that many hours the same day up to 23:59 (DSM's `repeat_hour` with `last_work_hour` 23).
 */
export function nextScheduledRun(
  schedule: string,
  afterMs: number,
  timeZone: string,
  weekdays = "0,1,2,3,4,5,6",
  repeatHours = 0,
): number | null {
  const m = /^(\d{2}):(\d{2})$/.exec(schedule);
  if (!m) return null;
  const days = new Set(weekdays.split(",").map((d) => Number(d.trim())));
  const hour = Number(m[1]);
  const hours: number[] = [];
  for (let h = hour; h <= 23; h += repeatHours > 0 ? repeatHours : 24) hours.push(h);
  const today = toLocal(afterMs, timeZone);
  for (let i = 0; i < 9; i++) {
    const d = new Date(Date.UTC(today.year, today.month - 1, today.day + i));
    if (!days.has(d.getUTCDay())) continue;
    for (const h of hours) {
      const at = nasWallClockToEpoch(
        d.getUTCFullYear(),
        d.getUTCMonth() + 1,
        d.getUTCDate(),
        h,
        Number(m[2]),
        0,
        timeZone,
      );
      if (at > afterMs) return at;
    }
  }
  return null;
}
