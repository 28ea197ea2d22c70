/**
 * PVE calendar events (the systemd-like `schedule` of backup jobs), evaluated in a node's
 * local time zone. Supports the subset people actually write:
 *   `02:00`, `sun 03:00`, `mon..fri 21:00`, `sat,sun 01:30`, `*\/30` (a bare value is minutes),
 *   `mon..wed 30/10`, `fri 12..13:5/20`, `*-05` / `sat *-1..7 15:00` (dates), `*` (every minute),
 *   and the keywords minutely, hourly, daily, weekly, monthly, yearly, annually, quarterly,
 *   semiannually, semi-annually.
 */
import { fromLocal, toLocal } from "./timezone.js";

export interface CalendarEvent {
  /** The original text, for error messages. */
  spec: string;
  weekdays: Set<number>; // 0 = sun
  years: number[] | null; // null = any
  months: number[]; // 1-12
  days: number[]; // 1-31
  hours: number[];
  minutes: number[];
  seconds: number[];
}

const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const KEYWORDS: Record<string, string> = {
  minutely: "*:*:0",
  hourly: "*:0",
  daily: "0:0",
  weekly: "mon 0:0",
  monthly: "*-*-01 0:0",
  yearly: "*-01-01 0:0",
  annually: "*-01-01 0:0",
  quarterly: "*-01,04,07,10-01 0:0",
  semiannually: "*-01,07-01 0:0",
  "semi-annually": "*-01,07-01 0:0",
};

export class CalendarError extends Error {}

function range(min: number, max: number): number[] {
  const out: number[] = [];
  for (let i = min; i <= max; i++) out.push(i);
  return out;
}

/** One comma-separated field: `*`, `5`, `8..17`, `0/15`, `*\/5`, `8..17/2`. */
function parseField(text: string, min: number, max: number, spec: string): number[] {
  const out = new Set<number>();
  for (const item of text.split(",")) {
    const m = /^(\*|\d+)(?:\.\.(\d+))?(?:\/(\d+))?$/.exec(item);
    if (!m) throw new CalendarError(`unable to parse calendar event '${spec}' (bad value '${item}')`);
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    if (step < 1) throw new CalendarError(`unable to parse calendar event '${spec}' (step 0)`);
    const start = m[1] === "*" ? min : Number(m[1]);
    // `a/s` means a, a+s, … up to max; `a..b` stops at b; `*` is the whole range.
    const end = m[2] !== undefined ? Number(m[2]) : m[1] === "*" || m[3] !== undefined ? max : start;
    if (start < min || end > max || start > end) {
      throw new CalendarError(`unable to parse calendar event '${spec}' (value out of range in '${item}')`);
    }
    for (let v = start; v <= end; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

function parseWeekdays(text: string, spec: string): Set<number> {
  const out = new Set<number>();
  const idx = (name: string): number => {
    const i = DAY_NAMES.indexOf(name.slice(0, 3).toLowerCase());
    if (i < 0 || !/^[a-z]+$/i.test(name))
      throw new CalendarError(`unable to parse calendar event '${spec}' (bad weekday '${name}')`);
    return i;
  };
  for (const item of text.split(",")) {
    const [a, b] = item.split("..");
    if (a === undefined) continue;
    const from = idx(a);
    if (b === undefined) {
      out.add(from);
      continue;
    }
    const to = idx(b);
    // mon..sun wraps naturally when counted Monday-first.
    for (let d = from; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === to) break;
    }
  }
  return out;
}

export function parseCalendar(specIn: string): CalendarEvent {
  const spec = specIn.trim();
  const text = KEYWORDS[spec.toLowerCase()] ?? spec;
  if (!text) throw new CalendarError(`unable to parse calendar event '${specIn}' (empty)`);
  const ev: CalendarEvent = {
    spec,
    weekdays: new Set(range(0, 6)),
    years: null,
    months: range(1, 12),
    days: range(1, 31),
    hours: [0],
    minutes: [0],
    seconds: [0],
  };
  let sawTime = false;
  for (const token of text.split(/\s+/)) {
    if (/^[a-z]/i.test(token)) {
      ev.weekdays = parseWeekdays(token, spec);
    } else if (token.includes("-")) {
      const parts = token.split("-");
      if (parts.length === 3) {
        ev.years = parts[0] === "*" ? null : parseField(parts[0] ?? "", 1970, 2199, spec);
        parts.shift();
      } else if (parts.length !== 2) {
        throw new CalendarError(`unable to parse calendar event '${spec}' (bad date '${token}')`);
      }
      ev.months = parseField(parts[0] ?? "", 1, 12, spec);
      ev.days = parseField(parts[1] ?? "", 1, 31, spec);
    } else {
      if (sawTime) throw new CalendarError(`unable to parse calendar event '${spec}' (two time values)`);
      sawTime = true;
      const parts = token.split(":");
      if (parts.length === 1) {
        // A bare value is minutes of every hour (PVE: `*/5` = every five minutes).
        ev.hours = range(0, 23);
        ev.minutes = parseField(parts[0] ?? "", 0, 59, spec);
      } else if (parts.length <= 3) {
        ev.hours = parseField(parts[0] ?? "", 0, 23, spec);
        ev.minutes = parseField(parts[1] ?? "", 0, 59, spec);
        if (parts[2] !== undefined) ev.seconds = parseField(parts[2], 0, 59, spec);
      } else {
        throw new CalendarError(`unable to parse calendar event '${spec}' (bad time '${token}')`);
      }
    }
  }
  return ev;
}

/** Search horizon: far enough for `*-02-29` style yearly dates. */
const MAX_DAYS = 366 * 8 + 2;

/**
 * First occurrence strictly after `afterMs`, in epoch ms, evaluated in time zone `tz`;
 * null when the event never happens again (e.g. a past fixed date).
 */
export function nextEvent(event: CalendarEvent | string, afterMs: number, tz: string): number | null {
  const ev = typeof event === "string" ? parseCalendar(event) : event;
  const start = toLocal(afterMs, tz);
  for (let i = 0; i < MAX_DAYS; i++) {
    // Calendar arithmetic on a UTC date: weekday and month length do not depend on the zone.
    const date = new Date(Date.UTC(start.year, start.month - 1, start.day + i));
    const y = date.getUTCFullYear();
    const mo = date.getUTCMonth() + 1;
    const d = date.getUTCDate();
    if (!ev.weekdays.has(date.getUTCDay())) continue;
    if (ev.years && !ev.years.includes(y)) continue;
    if (!ev.months.includes(mo) || !ev.days.includes(d)) continue;
    for (const h of ev.hours) {
      for (const mi of ev.minutes) {
        for (const s of ev.seconds) {
          const t = fromLocal(y, mo, d, h, mi, s, tz);
          if (t > afterMs) return t;
        }
      }
    }
  }
  return null;
}
