import { describe, expect, it } from "vitest";
import { CalendarError, nextEvent, parseCalendar } from "./calendar.js";
import { archiveStamp, fromLocal, toLocal } from "./timezone.js";
import { CALENDAR_START, PVE_CALENDAR_EXAMPLES } from "../../test/fixtures/pve-calendar-events.js";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
// Wednesday 2024-01-31 10:00:00 UTC
const WED = Date.UTC(2024, 0, 31, 10, 0, 0);

describe("calendar events", () => {
  it("daily time, later today or tomorrow", () => {
    expect(iso(nextEvent("21:00", WED, "UTC"))).toBe("2024-01-31T21:00:00.000Z");
    expect(iso(nextEvent("02:00", WED, "UTC"))).toBe("2024-02-01T02:00:00.000Z");
    expect(iso(nextEvent("daily", WED, "UTC"))).toBe("2024-02-01T00:00:00.000Z");
  });

  it("is strictly after the given instant", () => {
    const t = Date.UTC(2024, 0, 31, 21, 0, 0);
    expect(iso(nextEvent("21:00", t, "UTC"))).toBe("2024-02-01T21:00:00.000Z");
  });

  it("weekdays: single, range, list, weekly", () => {
    expect(iso(nextEvent("sun 03:00", WED, "UTC"))).toBe("2024-02-04T03:00:00.000Z");
    expect(iso(nextEvent("mon..fri 21:00", Date.UTC(2024, 1, 2, 22, 0), "UTC"))).toBe("2024-02-05T21:00:00.000Z");
    expect(iso(nextEvent("sat,sun 01:30", WED, "UTC"))).toBe("2024-02-03T01:30:00.000Z");
    expect(iso(nextEvent("weekly", WED, "UTC"))).toBe("2024-02-05T00:00:00.000Z");
    expect(iso(nextEvent("fri..mon 00:00", WED, "UTC"))).toBe("2024-02-02T00:00:00.000Z");
  });

  it("bare value is minutes: */30, 30/10", () => {
    expect(iso(nextEvent("*/30", Date.UTC(2024, 0, 31, 10, 10), "UTC"))).toBe("2024-01-31T10:30:00.000Z");
    expect(iso(nextEvent("*/30", Date.UTC(2024, 0, 31, 10, 30), "UTC"))).toBe("2024-01-31T11:00:00.000Z");
    expect(iso(nextEvent("mon..wed 30/10", Date.UTC(2024, 0, 31, 10, 55), "UTC"))).toBe("2024-01-31T11:30:00.000Z");
  });

  it("hour ranges and dates", () => {
    expect(iso(nextEvent("fri 12..13:5/20", WED, "UTC"))).toBe("2024-02-02T12:05:00.000Z");
    expect(iso(nextEvent("*-05", WED, "UTC"))).toBe("2024-02-05T00:00:00.000Z");
    expect(iso(nextEvent("sat *-1..7 15:00", WED, "UTC"))).toBe("2024-02-03T15:00:00.000Z");
    expect(nextEvent("2015-10-21", WED, "UTC")).toBeNull();
  });

  it("evaluates in the node's time zone, across DST", () => {
    // 02:00 in Berlin (UTC+1 in winter) is 01:00 UTC.
    expect(iso(nextEvent("02:00", WED, "Europe/Berlin"))).toBe("2024-02-01T01:00:00.000Z");
    // After the spring change (31 March 2024) Berlin is UTC+2.
    expect(iso(nextEvent("03:00", Date.UTC(2024, 2, 31, 12), "Europe/Berlin"))).toBe("2024-04-01T01:00:00.000Z");
    expect(iso(nextEvent("sun 03:00", WED, "America/New_York"))).toBe("2024-02-04T08:00:00.000Z");
  });

  it("rejects nonsense with a clear error", () => {
    expect(() => parseCalendar("25:00")).toThrow(CalendarError);
    expect(() => parseCalendar("funday 02:00")).toThrow(/funday/);
    expect(() => parseCalendar("")).toThrow(CalendarError);
  });
});

/** The runs after `from` (at most `count`), as ISO strings without milliseconds. */
function runs(schedule: string, from: number, count: number): string[] {
  const ev = parseCalendar(schedule);
  const out: string[] = [];
  let t: number | null = from;
  while (out.length < count) {
    t = nextEvent(ev, t, "UTC");
    if (t === null) break;
    out.push(new Date(t).toISOString().replace(".000Z", "Z"));
  }
  return out;
}

/** The longest gap between consecutive runs over the next five years (at most 500 runs: enough for a weekly pattern of dense events). */
function longestGap(schedule: string, from: number): number | null {
  const ev = parseCalendar(schedule);
  const until = from + 5 * 366 * 86_400_000;
  let gap: number | null = null;
  let prev = nextEvent(ev, from, "UTC");
  for (let i = 0; prev !== null && prev < until && i < 500; i++) {
    const t = nextEvent(ev, prev, "UTC");
    if (t === null) break;
    gap = Math.max(gap ?? 0, t - prev);
    prev = t;
  }
  return gap;
}

describe("PVE's documented calendar-event examples (the table the product's parser is checked against too)", () => {
  it.each(PVE_CALENDAR_EXAMPLES.map((e) => [e.schedule, e] as const))("%s", (_, ex) => {
    for (const spelling of [ex.schedule, ...(ex.alternative !== undefined ? [ex.alternative] : [])]) {
      expect(runs(spelling, CALENDAR_START, ex.next.length || 1), spelling).toEqual(ex.next);
      expect(longestGap(spelling, CALENDAR_START), spelling).toBe(ex.maxGapMs);
    }
  });
});

describe("time zone helpers", () => {
  it("round-trips local time and formats archive stamps", () => {
    const t = fromLocal(2026, 7, 5, 1, 5, 14, "America/Chicago");
    expect(t / 1000).toBe(1783231514); // an archive name and its ctime on a node in Chicago (UTC-5 in July)
    expect(archiveStamp(t, "America/Chicago")).toBe("2026_07_05-01_05_14");
    expect(toLocal(t, "UTC").hour).toBe(6);
  });

  it("a wall time the clock shows twice is its earlier instant; one it skips lands after the jump", () => {
    // Berlin: 2026-10-25 03:00 CEST → 02:00 CET at 01:00 UTC; 2026-03-29 02:00 CET → 03:00 CEST at 01:00 UTC
    expect(iso(fromLocal(2026, 10, 25, 2, 30, 0, "Europe/Berlin"))).toBe("2026-10-25T00:30:00.000Z");
    expect(iso(fromLocal(2026, 3, 29, 2, 30, 0, "Europe/Berlin"))).toBe("2026-03-29T01:30:00.000Z");
    // so a daily 02:30 job runs once on both days
    const autumn = nextEvent("02:30", Date.UTC(2026, 9, 24, 12), "Europe/Berlin");
    expect(iso(autumn)).toBe("2026-10-25T00:30:00.000Z");
    expect(iso(nextEvent("02:30", autumn!, "Europe/Berlin"))).toBe("2026-10-26T01:30:00.000Z");
    expect(iso(nextEvent("02:30", Date.UTC(2026, 2, 28, 12), "Europe/Berlin"))).toBe("2026-03-29T01:30:00.000Z");
  });
});
