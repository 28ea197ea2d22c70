/**
 * When a PVE calendar event (a backup job's `schedule`, parsed by calendar.ts) fires: the newest
 * occurrence at or before an instant, and the first one after it, in a time zone's wall clock (PVE
 * evaluates schedules in the node's local time zone, pve-manager PVE/Jobs.pm with proxmox-time's
 * `compute_next_event`; the bridge uses the config's `timezone`). An event that ends in `UTC` is read
 * in UTC. Pure: the instant and the zone are parameters.
 *
 * A wall-clock time that does not exist (the hour skipped when daylight saving starts) is taken as
 * the instant the clock would show after the jump; one that exists twice counts once (the earlier).
 */
import { wallTime } from "../words/time.js";
import { type CalendarEvent, CalendarEventError, expand, parseCalendarEvent } from "./calendar.js";

/** How far back or ahead occurrences are looked for (a yearly event fires within this). */
const SEARCH_DAYS = 4 * 366 + 1;

interface Compiled {
  /** Seconds of the day that match, ascending. */
  times: number[];
  years: boolean[] | null;
  months: boolean[];
  days: boolean[];
  weekdays: Set<number> | null;
  zone: string | null;
}

function compile(ev: CalendarEvent): Compiled {
  const hours = expand(ev.hours, 0, 23);
  const minutes = expand(ev.minutes, 0, 59);
  const seconds = expand(ev.seconds, 0, 59);
  const times: number[] = [];
  for (let h = 0; h < 24; h++)
    if (hours[h])
      for (let m = 0; m < 60; m++)
        if (minutes[m]) for (let s = 0; s < 60; s++) if (seconds[s]) times.push(h * 3600 + m * 60 + s);
  return {
    times,
    years: ev.years === null ? null : expand(ev.years, 0, 2199),
    months: expand(ev.months, 1, 12),
    days: expand(ev.days, 1, 31),
    weekdays: ev.weekdays,
    zone: ev.utc ? "UTC" : null,
  };
}

/** Wall-clock fields in a zone → epoch ms (a few fixed-point steps over the zone's offset). */
export function wallToEpoch(y: number, mo: number, d: number, secOfDay: number, timeZone: string): number {
  const wall = Date.UTC(y, mo - 1, d) + secOfDay * 1000;
  let t = wall;
  for (let i = 0; i < 3; i++) {
    const w = wallTime(t, timeZone);
    const shown = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
    if (shown === wall) return t;
    t += wall - shown;
  }
  return t;
}

function dayMatches(c: Compiled, y: number, mo: number, d: number): boolean {
  if (c.years && !c.years[y]) return false;
  if (!c.months[mo] || !c.days[d]) return false;
  return !c.weekdays || c.weekdays.has(new Date(Date.UTC(y, mo - 1, d)).getUTCDay());
}

function walk(c: Compiled, fromMs: number, timeZone: string, dir: 1 | -1): number | null {
  if (!c.times.length) return null;
  const zone = c.zone ?? timeZone;
  const w = wallTime(fromMs, zone);
  const base = Date.UTC(w.year, w.month - 1, w.day);
  for (let i = 0; i <= SEARCH_DAYS; i++) {
    const day = new Date(base + dir * i * 86_400_000);
    const y = day.getUTCFullYear();
    const mo = day.getUTCMonth() + 1;
    const d = day.getUTCDate();
    if (!dayMatches(c, y, mo, d)) continue;
    const order = dir === -1 ? [...c.times].reverse() : c.times;
    for (const sec of order) {
      const t = wallToEpoch(y, mo, d, sec, zone);
      if (dir === -1 ? t <= fromMs : t > fromMs) return t;
    }
  }
  return null;
}

const compiled = new Map<string, Compiled | null>();
function compiledOf(schedule: string): Compiled | null {
  let c = compiled.get(schedule);
  if (c === undefined) {
    try {
      c = compile(parseCalendarEvent(schedule));
    } catch (e) {
      if (!(e instanceof CalendarEventError)) throw e;
      c = null;
    }
    if (compiled.size > 1000) compiled.clear();
    compiled.set(schedule, c);
  }
  return c;
}

/** The newest instant (ms) at or before `atMs` when the schedule fires; null when it cannot be read or never fired within four years. */
export function previousOccurrence(schedule: string, atMs: number, timeZone: string): number | null {
  const c = compiledOf(schedule);
  return c ? walk(c, atMs, timeZone, -1) : null;
}

/** The first instant (ms) after `afterMs` when the schedule fires; null when it cannot be read or does not fire within four years. */
export function nextOccurrence(schedule: string, afterMs: number, timeZone: string): number | null {
  const c = compiledOf(schedule);
  return c ? walk(c, afterMs, timeZone, 1) : null;
}
