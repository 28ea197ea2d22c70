import { describe, expect, it } from "vitest";
import { CalendarEventError, frequency, maxGapMs, parseCalendarEvent, type CalendarEvent } from "./calendar.js";
import { CALENDAR_START, PVE_CALENDAR_EXAMPLES } from "../../../test/fixtures/pve-calendar-events.js";

const H = 3_600_000;
const D = 24 * H;
describe("maxGapMs (PVE calendar events)", () => {
  it.each([
    ["02:00", 24 * H],
    ["sun 03:00", 168 * H],
    ["mon..fri 21:00", 72 * H],
    ["sat,sun 01:30", 6 * D],
    ["*/30", 0.5 * H],
    ["2,22:30", 20 * H],
    ["8..17:0/15", 14.25 * H],
    ["daily", 24 * H],
    ["weekly", 168 * H],
    ["hourly", H],
    ["minutely", 60_000],
    ["mon,wed..fri 02:00", 72 * H],
    // the rest of PVE's grammar: seconds, date parts, full weekday names, wrapping ranges, UTC
    ["mon 02:00:00", 168 * H],
    ["*:*:0/20", 20_000],
    ["Monday 02:00", 168 * H],
    ["fri..mon 01:00", 4 * D],
    ["sat *-1..7 15:00", 35 * D], // first Saturday of the month: up to five weeks apart
    ["*-*-01 04:00", 31 * D],
    ["monthly", 31 * D],
    ["quarterly", 92 * D],
    ["semiannually", 184 * D],
    ["semi-annually", 184 * D],
    ["yearly", 366 * D],
    ["annually", 366 * D],
    ["*-02-29", (8 * 365 + 1) * D], // 2096-02-29 → 2104-02-29 (2100 is no leap year)
    ["02:00 UTC", 24 * H],
    ["8..17/2:00", 16 * H], // 8, 10, … 16, then 8 the next day,
    ["0", H],
    ["*", 60_000],
    ["5/2:0", 6 * H], // 5, 7, … 23, then 5 the next day
    ["*/2:00", 2 * H],
  ])("%s → %d ms", (schedule, gap) => expect(maxGapMs(schedule)).toBe(gap));

  it.each([
    "",
    "2026-01-01 02:00",
    "nonsense",
    "25:00",
    "banana",
    "Daily",
    "mon 02:00 x",
    "*/0",
    "02:60",
    "13-01",
    "mon..funday",
    "17..8:00",
  ])("%s → null (not understood or no steady frequency)", (s) => expect(maxGapMs(s)).toBeNull());
});

describe("parseCalendarEvent", () => {
  it.each([
    ["banana", /'banana' is not a weekday or keyword/],
    ["Daily", /lowercase: 'daily'/],
    ["25:00", /'25' is not an hour \(hours are 0-23\); for a minute and second of every hour write \*:25:00/],
    ["02:60", /'02:60' is not a time.*60 is too large for the minute/],
    ["2026-13-01", /'2026-13-01' is not a date/],
    ["mon 02:00 x", /cannot read 'x' after 'mon 02:00'/],
    ["17..8:00", /hour range 17\.\.8 starts after it ends/],
    ["*/0", /cannot read '\/0'/],
    ["", /empty/],
  ])("%s is refused: %s", (s, re) => {
    expect(() => parseCalendarEvent(s)).toThrow(CalendarEventError);
    expect(() => parseCalendarEvent(s)).toThrow(re);
  });

  it("says why a valid event has no frequency", () => {
    expect(frequency(parseCalendarEvent("2026-01-01 02:00"))).toEqual({
      gapMs: null,
      why: expect.stringContaining("years"),
    });
    expect(frequency(parseCalendarEvent("02-30"))).toEqual({ gapMs: null, why: expect.stringContaining("no date") });
  });

  it("accepts every example of PVE's own parser tests", () => {
    // proxmox-time src/test.rs (the parser PVE uses for job schedules)
    for (const s of [
      "0",
      "*",
      "*:0",
      "*:*",
      "*:*:*",
      "*:3:5",
      "mon *:*",
      "mon 2:*",
      "mon 2:50",
      "tue",
      "4..10/2:0",
      "5,10:4,8",
      "10,5:8,4",
      "6,4..10:23,5/5",
      "4..10,6:5/5,23",
      "daily",
      "5/2:0",
      "2020-07-31",
      "02-28",
      "02-29",
      "1965/5-01-01",
      "2020-7..9-2/2",
      "2020,2021-12-31",
      "minutely",
      "hourly",
      "weekly",
      "monthly",
      "quarterly",
      "semiannually",
      "semi-annually",
      "yearly",
      "annually",
      "2021-02-29",
      "02-30",
      "mon,wed..fri",
      "fri..mon",
      "MON",
      "monDay",
      "Tuesday",
      "mon,tue..wednesday,fri..sat",
      "daily UTC",
    ])
      expect(() => parseCalendarEvent(s), s).not.toThrow();
  });
});

type Items = CalendarEvent["hours"];
/** Whether a value is in a parsed number field (null = any): a value, a range, or start/step up to the field's maximum. */
const inField = (items: Items, v: number, max: number) =>
  items === null ||
  items.some(
    (i) => v >= i.start && v <= (i.end ?? max) && (i.step === 0 ? v === i.start : (v - i.start) % i.step === 0),
  );

/**
 * The runs after `from` (at most `count`, within ten years) of a parsed event, in UTC: read straight
 * from the parser's fields, so the fixture's instants check what the parser understood.
 */
function runs(ev: CalendarEvent, from: number, count: number): string[] {
  const out: string[] = [];
  const first = new Date(from);
  for (let day = 0; day < 3660 && out.length < count; day++) {
    const d = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), first.getUTCDate() + day));
    if (ev.weekdays && !ev.weekdays.has(d.getUTCDay())) continue;
    if (
      !inField(ev.years, d.getUTCFullYear(), 2199) ||
      !inField(ev.months, d.getUTCMonth() + 1, 12) ||
      !inField(ev.days, d.getUTCDate(), 31)
    )
      continue;
    for (let h = 0; h < 24; h++)
      for (let m = 0; inField(ev.hours, h, 23) && m < 60; m++)
        for (let s = 0; inField(ev.minutes, m, 59) && s < 60; s++) {
          const t = d.getTime() + ((h * 60 + m) * 60 + s) * 1000;
          if (inField(ev.seconds, s, 59) && t > from && out.length < count)
            out.push(new Date(t).toISOString().replace(".000Z", "Z"));
        }
  }
  return out;
}

describe("PVE's documented calendar-event examples (the table the lab's parser is checked against too)", () => {
  it.each(PVE_CALENDAR_EXAMPLES.map((e) => [e.schedule, e] as const))("%s", (_, ex) => {
    for (const spelling of [ex.schedule, ...(ex.alternative !== undefined ? [ex.alternative] : [])]) {
      const ev = parseCalendarEvent(spelling);
      expect(runs(ev, CALENDAR_START, ex.next.length || 1), spelling).toEqual(ex.next);
      expect(frequency(ev).gapMs, spelling).toBe(ex.maxGapMs);
    }
  });
});
