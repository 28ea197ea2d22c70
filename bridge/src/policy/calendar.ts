/**
 * PVE calendar events (the `schedule` of backup jobs), parsed with the grammar PVE itself uses
 * (proxmox-time's calendar_event.rs, documented at
 * https://pve.proxmox.com/pve-docs/pve-admin-guide.html#chapter_calendar_events):
 *
 *   [WEEKDAY] [[YEARS-]MONTHS-DAYS] [HOURS:MINUTES[:SECONDS]] [UTC]
 *
 * - weekdays: `mon`, `Monday`, lists and ranges (`mon,wed..fri`, `fri..mon` wraps); case-insensitive;
 * - every number field: `*`, `*\/N`, or a list of `V`, `A..B`, `V/N`, `A..B/N`;
 * - a time without a colon is minutes of every hour (`*\/30`, `0`), seconds default to 0;
 * - the keywords minutely, hourly, daily, weekly, monthly, yearly, annually, quarterly,
 *   semiannually and semi-annually stand alone (lowercase, as PVE writes them).
 *
 * One deliberate difference: PVE reads `25:00` as "minute 25, second 0 of every hour"; here an
 * hour above 23 before a colon is an error, because nobody means that.
 *
 * The policy needs only how far apart runs are at most (`maxGapMs`), in the node's wall-clock time.
 */

/** One item of a number field: a value, a range, or a repetition (end null = up to the field's maximum). */
type Item = { start: number; end: number | null; step: number };

export interface CalendarEvent {
  /** Weekdays, 0 = Sunday; null = every day. */
  weekdays: Set<number> | null;
  /** null = any (`*` or absent). */
  years: Item[] | null;
  months: Item[] | null;
  days: Item[] | null;
  hours: Item[] | null;
  minutes: Item[] | null;
  seconds: Item[] | null;
  utc: boolean;
}

export class CalendarEventError extends Error {}

const WEEKDAYS: Record<string, number> = {
  sun: 0,
  sunday: 0,
  mon: 1,
  monday: 1,
  tue: 2,
  tuesday: 2,
  wed: 3,
  wednesday: 3,
  thu: 4,
  thursday: 4,
  fri: 5,
  friday: 5,
  sat: 6,
  saturday: 6,
};

const one = (v: number): Item[] => [{ start: v, end: v, step: 1 }];
const at = (
  h: number | null,
  m: number,
  d: number | null = null,
  months: number[] | null = null,
  weekday: number | null = null,
): Omit<CalendarEvent, "utc"> => ({
  weekdays: weekday === null ? null : new Set([weekday]),
  years: null,
  months: months ? months.flatMap(one) : null,
  days: d === null ? null : one(d),
  hours: h === null ? null : one(h),
  minutes: one(m),
  seconds: one(0),
});
const KEYWORDS: Record<string, () => Omit<CalendarEvent, "utc">> = {
  minutely: () => ({ ...at(null, 0), minutes: null }),
  hourly: () => at(null, 0),
  daily: () => at(0, 0),
  weekly: () => at(0, 0, null, null, 1),
  monthly: () => at(0, 0, 1),
  yearly: () => at(0, 0, 1, [1]),
  annually: () => at(0, 0, 1, [1]),
  quarterly: () => at(0, 0, 1, [1, 4, 7, 10]),
  semiannually: () => at(0, 0, 1, [1, 7]),
  "semi-annually": () => at(0, 0, 1, [1, 7]),
};

/** Examples for error messages. */
export const CALENDAR_EXAMPLES = "02:00, sun 03:00, mon..fri 21:00, *-*-01 04:00, */30, daily, weekly";

class Cursor {
  constructor(
    readonly text: string,
    public pos = 0,
  ) {}
  rest(): string {
    return this.text.slice(this.pos);
  }
  eat(s: string): boolean {
    if (this.text.startsWith(s, this.pos)) {
      this.pos += s.length;
      return true;
    }
    return false;
  }
  match(re: RegExp): string | null {
    const m = re.exec(this.rest());
    if (m?.index !== 0) return null;
    this.pos += m[0].length;
    return m[0];
  }
  spaces(): void {
    this.match(/^ +/);
  }
}

/** Thrown inside the parser when an optional part does not match: the caller backtracks. */
class NoMatch extends Error {}

/** A number below `max` (PVE: hours < 24, minutes/seconds < 60, months < 13, days < 32, years < 2200). */
function value(c: Cursor, max: number, what: string): number {
  const digits = c.match(/^[0-9]+/);
  if (digits === null) throw new NoMatch(`expected a number for the ${what}`);
  const v = Number(digits);
  if (v >= max) throw new NoMatch(`${v} is too large for the ${what}`);
  return v;
}

/** `V`, `A..B`, `V/N` (V, V+N, … up to the field's maximum) or `A..B/N`. */
function item(c: Cursor, max: number, what: string): Item {
  const start = value(c, max, what);
  let end: number | null = start;
  if (c.eat("..")) {
    end = value(c, max, what);
    if (start > end) throw new NoMatch(`the ${what} range ${start}..${end} starts after it ends`);
    if (c.eat("/")) return { start, end, step: value(c, max, `repetition of the ${what}`) };
    return { start, end, step: 1 };
  }
  if (c.eat("/")) return { start, end: null, step: value(c, max, `repetition of the ${what}`) };
  return { start, end, step: 1 };
}

/** `*`, `*\/N` or a comma list of items; null = any. */
function field(c: Cursor, min: number, max: number, what: string): Item[] | null {
  if (c.eat("*")) {
    const save = c.pos;
    if (c.eat("/")) {
      const digits = c.match(/^[0-9]+/);
      if (digits !== null && Number(digits) > 0 && Number(digits) < max)
        return [{ start: min, end: null, step: Number(digits) }];
      c.pos = save; // PVE leaves "/0" unread: an error at the end
    }
    return null;
  }
  const items = [item(c, max, what)];
  while (c.eat(",")) items.push(item(c, max, what));
  return items;
}

function expect(c: Cursor, s: string): void {
  if (!c.eat(s)) throw new NoMatch(`expected '${s}'`);
}

/** Runs an optional part of the grammar; on NoMatch rewinds and returns undefined (the reason goes to `why`). */
function attempt<T>(c: Cursor, fn: () => T, why?: string[]): T | undefined {
  const save = c.pos;
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof NoMatch)) throw e;
    why?.push(e.message);
    c.pos = save;
    return undefined;
  }
}

/** Parses a PVE calendar event; throws CalendarEventError with a sentence saying what is wrong. */
export function parseCalendarEvent(input: string): CalendarEvent {
  let text = input.trim();
  if (!text) throw new CalendarEventError("the calendar event is empty");
  let utc = false;
  if (text.endsWith("UTC")) {
    utc = true;
    text = text.slice(0, -3).trimEnd();
  }
  const kw = Object.hasOwn(KEYWORDS, text) ? KEYWORDS[text] : undefined;
  if (kw) return { ...kw(), utc };
  if (Object.hasOwn(KEYWORDS, text.toLowerCase()))
    throw new CalendarEventError(`write the keyword in lowercase: '${text.toLowerCase()}'`);
  const c = new Cursor(text);
  const ev: CalendarEvent = {
    weekdays: null,
    years: null,
    months: null,
    days: null,
    hours: one(0),
    minutes: one(0),
    seconds: one(0),
    utc,
  };
  let parts = 0;
  const weekday = () => {
    const name = c.match(/^[A-Za-z]+/);
    const d = name === null ? undefined : WEEKDAYS[name.toLowerCase()];
    if (d === undefined) {
      const what = name ?? (c.rest().split(/[ ,]/)[0] || "(nothing)");
      throw new CalendarEventError(
        `'${what}' is not a weekday${parts ? "" : " or keyword"} (weekdays: mon, tue, wed, thu, fri, sat, sun or their full names${parts ? "" : `; keywords: ${Object.keys(KEYWORDS).join(", ")}`})`,
      );
    }
    return d;
  };
  if (/^[A-Za-z]/.test(text)) {
    ev.weekdays = new Set();
    do {
      const from = weekday();
      const to = c.eat("..") ? weekday() : from;
      // Ranges count Monday first and wrap past Sunday (fri..mon = fri, sat, sun, mon).
      for (let d = from; ; d = (d + 1) % 7) {
        ev.weekdays.add(d);
        if (d === to) break;
      }
    } while (c.eat(","));
    c.spaces();
    parts++;
  }
  const why: string[] = [];
  const date =
    attempt(
      c,
      () => {
        const years = field(c, 0, 2200, "year");
        expect(c, "-");
        const months = field(c, 1, 13, "month");
        expect(c, "-");
        return { years, months, days: field(c, 1, 32, "day") };
      },
      why,
    ) ??
    attempt(
      c,
      () => {
        const months = field(c, 1, 13, "month");
        expect(c, "-");
        return { years: null, months, days: field(c, 1, 32, "day") };
      },
      why,
    );
  if (date) {
    Object.assign(ev, date);
    c.spaces();
    parts++;
  } else if (/^[0-9*.,/]+-/.test(c.rest())) {
    throw new CalendarEventError(
      `'${c.rest().split(" ")[0]}' is not a date: write [YEAR-]MONTH-DAY with months 1-12 and days 1-31, e.g. *-*-01 or 2026-12-24 (${why[why.length - 1]})`,
    );
  }
  if (c.pos < c.text.length) {
    const timeWhy: string[] = [];
    const time = attempt(
      c,
      () => {
        const save = c.pos;
        let hours: Item[] | null = null; // no hour given: every hour
        const h = attempt(c, () => field(c, 0, 100, "hour"), timeWhy);
        if (h !== undefined && c.eat(":")) {
          if ((h ?? []).some((i) => i.start > 23 || (i.end ?? 0) > 23 || i.step > 23)) {
            const hourText = c.text.slice(save, c.pos - 1);
            throw new CalendarEventError(
              `'${hourText}' is not an hour (hours are 0-23); for a minute and second of every hour write *:${c.text.slice(save)}`,
            );
          }
          hours = h;
        } else c.pos = save;
        const minutes = field(c, 0, 60, "minute");
        const seconds = c.eat(":") ? field(c, 0, 60, "second") : one(0);
        return { hours, minutes, seconds };
      },
      timeWhy,
    );
    if (time) {
      Object.assign(ev, time);
      parts++;
    } else if (/^[0-9*]/.test(c.rest())) {
      throw new CalendarEventError(
        `'${c.rest()}' is not a time: write HOUR:MINUTE[:SECOND] with hours 0-23 and minutes 0-59 (e.g. 02:00, 8..17:0/15) or MINUTE alone for every hour (e.g. */30) (${timeWhy[0]})`,
      );
    }
  }
  if (c.pos < c.text.length)
    throw new CalendarEventError(
      `cannot read '${c.rest().trim()}'${c.pos ? ` after '${c.text.slice(0, c.pos).trim()}'` : ""}`,
    );
  if (!parts) throw new CalendarEventError("expected a weekday, a date or a time");
  return ev;
}

/** Which values of min..max a field's items select (all of them for a field that is not given). */
export function expand(items: Item[] | null, min: number, max: number): boolean[] {
  const out = new Array<boolean>(max + 1).fill(items === null);
  for (const i of items ?? []) {
    const end = i.end ?? max;
    if (i.step === 0) {
      if (i.start <= max) out[i.start] = true;
      continue;
    }
    for (let v = i.start; v <= Math.min(end, max); v += i.step) if (v >= min) out[v] = true;
  }
  return out;
}

export type Frequency = { gapMs: number } | { gapMs: null; why: string };

const CYCLE_DAYS = 146_097; // 400 Gregorian years: weekdays and leap days repeat exactly

/**
 * The longest time between two consecutive runs (wall clock, daylight saving ignored), or why it
 * cannot be said: the event is limited to given years, or no date ever matches.
 */
export function frequency(ev: CalendarEvent): Frequency {
  if (ev.years !== null) return { gapMs: null, why: "it names years, so it stops running" };
  const hours = expand(ev.hours, 0, 23);
  const minutes = expand(ev.minutes, 0, 59);
  const seconds = expand(ev.seconds, 0, 59);
  const times: number[] = [];
  for (let h = 0; h < 24; h++)
    if (hours[h])
      for (let m = 0; m < 60; m++)
        if (minutes[m]) for (let s = 0; s < 60; s++) if (seconds[s]) times.push(h * 3600 + m * 60 + s);
  if (!times.length) return { gapMs: null, why: "no time of day matches" };
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  const first = times[0]!;
  const last = times[times.length - 1]!;
  const months = expand(ev.months, 1, 12);
  const days = expand(ev.days, 1, 31);
  const weekdays = ev.weekdays;
  // Walk one 400-year cycle from 2001-01-01 (a Monday), day by day.
  let y = 2001;
  let mo = 1;
  let d = 1;
  let firstDay = -1;
  let prevDay = -1;
  const monthLength = (yy: number, mm: number) =>
    mm === 2 ? ((yy % 4 === 0 && yy % 100 !== 0) || yy % 400 === 0 ? 29 : 28) : [4, 6, 9, 11].includes(mm) ? 30 : 31;
  let len = monthLength(y, mo);
  for (let i = 0; i < CYCLE_DAYS; i++) {
    if (months[mo] && days[d] && (!weekdays || weekdays.has((i + 1) % 7))) {
      if (firstDay < 0) firstDay = i;
      else gap = Math.max(gap, (i - prevDay) * 86400 - last + first);
      prevDay = i;
    }
    if (++d > len) {
      d = 1;
      if (++mo > 12) {
        mo = 1;
        y++;
      }
      len = monthLength(y, mo);
    }
  }
  if (firstDay < 0) return { gapMs: null, why: "no date ever matches" };
  gap = Math.max(gap, (firstDay + CYCLE_DAYS - prevDay) * 86400 - last + first);
  return { gapMs: gap * 1000 };
}

/** The longest time between two consecutive runs, in ms; null when the schedule is not understood or has no steady frequency. */
export function maxGapMs(schedule: string): number | null {
  // Pure, and asked once per guest per job: remember the answer per schedule string.
  let gap = gapCache.get(schedule);
  if (gap === undefined) {
    try {
      gap = frequency(parseCalendarEvent(schedule)).gapMs;
    } catch (e) {
      if (!(e instanceof CalendarEventError)) throw e;
      gap = null;
    }
    if (gapCache.size > 1000) gapCache.clear();
    gapCache.set(schedule, gap);
  }
  return gap;
}
const gapCache = new Map<string, number | null>();
