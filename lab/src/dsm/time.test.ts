/**
 * The simulated NAS's clock strings, against instants worked out independently (zone rules of the
 * IANA database: Berlin changes at 01:00 UTC on the last Sundays of March and October, New York at
 * 2:00 local on the second Sunday of March and the first of November, Sydney at 3:00 AEDT on the
 * first Sunday of April).
 */
import { describe, expect, it } from "vitest";
import { formatNasTime, nasWallClockToEpoch, nextDailyRun } from "./time.js";

const utc = (y: number, mo: number, d: number, h: number, mi: number, s = 0) => Date.UTC(y, mo - 1, d, h, mi, s);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

describe("formatNasTime: epoch → NAS-local wall clock", () => {
  it.each([
    ["UTC", utc(2026, 6, 1, 10, 0, 5), true, "2026/06/01 10:00:05"],
    ["UTC", utc(2026, 6, 1, 10, 0, 5), false, "2026/06/01 10:00"],
    ["Asia/Kolkata", utc(2026, 1, 1, 0, 0), false, "2026/01/01 05:30"], // UTC+5:30, no DST
    ["America/New_York", utc(2026, 1, 1, 3, 0), false, "2025/12/31 22:00"], // still last year locally
    // Berlin, spring: the last second of CET, then CEST (02:00–02:59 never shows)
    ["Europe/Berlin", utc(2026, 3, 29, 0, 59, 59), true, "2026/03/29 01:59:59"],
    ["Europe/Berlin", utc(2026, 3, 29, 1, 0, 0), true, "2026/03/29 03:00:00"],
    // Berlin, autumn: 02:30 shows twice, an hour apart
    ["Europe/Berlin", utc(2026, 10, 25, 0, 30), false, "2026/10/25 02:30"],
    ["Europe/Berlin", utc(2026, 10, 25, 1, 30), false, "2026/10/25 02:30"],
    ["America/New_York", utc(2026, 11, 1, 5, 30), false, "2026/11/01 01:30"],
    ["America/New_York", utc(2026, 11, 1, 6, 30), false, "2026/11/01 01:30"],
    // Sydney, end of daylight saving (southern autumn)
    ["Australia/Sydney", utc(2026, 4, 4, 15, 30), false, "2026/04/05 02:30"],
    ["Australia/Sydney", utc(2026, 4, 4, 16, 30), false, "2026/04/05 02:30"],
  ] as const)("%s %d (seconds %s) → %s", (tz, ms, seconds, text) => expect(formatNasTime(ms, tz, seconds)).toBe(text));
});

describe("nasWallClockToEpoch: NAS-local wall clock → epoch", () => {
  it("an ordinary time uses the zone's offset of that day", () => {
    expect(iso(nasWallClockToEpoch(2026, 1, 15, 2, 0, 0, "Europe/Berlin"))).toBe("2026-01-15T01:00:00.000Z");
    expect(iso(nasWallClockToEpoch(2026, 7, 15, 2, 0, 0, "Europe/Berlin"))).toBe("2026-07-15T00:00:00.000Z");
    expect(iso(nasWallClockToEpoch(2025, 12, 31, 23, 30, 0, "America/New_York"))).toBe("2026-01-01T04:30:00.000Z");
  });

  it("a time the clock shows twice is the earlier instant", () => {
    expect(iso(nasWallClockToEpoch(2026, 10, 25, 2, 30, 0, "Europe/Berlin"))).toBe("2026-10-25T00:30:00.000Z");
    expect(iso(nasWallClockToEpoch(2026, 11, 1, 1, 30, 0, "America/New_York"))).toBe("2026-11-01T05:30:00.000Z");
    expect(iso(nasWallClockToEpoch(2026, 4, 5, 2, 30, 0, "Australia/Sydney"))).toBe("2026-04-04T15:30:00.000Z");
  });

  it("a time the clock skips is read with the offset before the change: it lands after the jump", () => {
    // 02:30 does not exist on 2026-03-29 in Berlin; read as CET it is 01:30 UTC, which Berlin shows as 03:30
    expect(iso(nasWallClockToEpoch(2026, 3, 29, 2, 30, 0, "Europe/Berlin"))).toBe("2026-03-29T01:30:00.000Z");
    expect(iso(nasWallClockToEpoch(2026, 3, 29, 3, 30, 0, "Europe/Berlin"))).toBe("2026-03-29T01:30:00.000Z");
    expect(iso(nasWallClockToEpoch(2026, 3, 8, 2, 30, 0, "America/New_York"))).toBe("2026-03-08T07:30:00.000Z");
  });

  it("round-trips with formatNasTime on every quarter hour across both Berlin changes", () => {
    for (const start of [utc(2026, 3, 28, 12, 0), utc(2026, 10, 24, 12, 0)]) {
      for (let t = start; t < start + 48 * 3_600_000; t += 900_000) {
        const m = /^(\d+)\/(\d+)\/(\d+) (\d+):(\d+):(\d+)$/
          .exec(formatNasTime(t, "Europe/Berlin", true))!
          .slice(1)
          .map(Number) as [number, number, number, number, number, number];
        const back = nasWallClockToEpoch(...m, "Europe/Berlin");
        // the repeated hour's second pass maps back to its first pass, an hour earlier
        expect([0, 3_600_000], formatNasTime(t, "Europe/Berlin", true)).toContain(t - back);
      }
    }
  });
});

describe("nextDailyRun: a daily HH:MM schedule on the NAS", () => {
  it("runs later today or tomorrow, strictly after the instant", () => {
    expect(iso(nextDailyRun("23:30", utc(2026, 1, 1, 3, 0), "America/New_York"))).toBe("2026-01-01T04:30:00.000Z");
    expect(iso(nextDailyRun("23:30", utc(2026, 1, 1, 4, 30), "America/New_York"))).toBe("2026-01-02T04:30:00.000Z");
  });

  it("on the day the clock skips the time, runs just after the jump; on the day it repeats it, runs once", () => {
    const spring = nextDailyRun("02:30", utc(2026, 3, 28, 12, 0), "Europe/Berlin");
    expect(iso(spring)).toBe("2026-03-29T01:30:00.000Z");
    expect(iso(nextDailyRun("02:30", spring!, "Europe/Berlin"))).toBe("2026-03-30T00:30:00.000Z");
    const autumn = nextDailyRun("02:30", utc(2026, 10, 24, 12, 0), "Europe/Berlin");
    expect(iso(autumn)).toBe("2026-10-25T00:30:00.000Z");
    expect(iso(nextDailyRun("02:30", autumn!, "Europe/Berlin"))).toBe("2026-10-26T01:30:00.000Z");
  });

  it("a schedule that is not HH:MM never runs", () =>
    expect(nextDailyRun("7:5", utc(2026, 1, 1, 0, 0), "UTC")).toBeNull());
});
