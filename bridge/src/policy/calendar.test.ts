import { describe, expect, it } from "vitest";
import { maxGapMs } from "./calendar.js";

const H = 3_600_000;
describe("maxGapMs (PVE calendar events)", () => {
  it.each([
    ["02:00", 24 * H],
    ["sun 03:00", 168 * H],
    ["mon..fri 21:00", 72 * H],
    ["sat,sun 01:30", 6 * 24 * H],
    ["*/30", 0.5 * H],
    ["2,22:30", 20 * H],
    ["8..17:0/15", 14.25 * H],
    ["daily", 24 * H],
    ["weekly", 168 * H],
    ["hourly", H],
    ["mon,wed..fri 02:00", 72 * H],
  ])("%s → %d ms", (schedule, gap) => expect(maxGapMs(schedule)).toBe(gap));

  it.each(["", "2026-01-01 02:00", "nonsense", "25:00", "mon 02:00:00"])("%s → null (not understood)", (s) =>
    expect(maxGapMs(s)).toBeNull(),
  );
});
