import { describe, expect, it } from "vitest";
import { earliest, isoOrNull } from "./time.js";

describe("earliest", () => {
  it.each<[string, (number | null | undefined)[], number | null]>([
    ["nothing", [], null],
    ["only absent times", [null, undefined, null], null],
    ["one time", [5], 5],
    ["the smallest of several", [30, 10, 20], 10],
    ["absent ones never win", [null, 30, undefined, 20], 20],
    ["zero is a time (the epoch)", [0, 5], 0],
    ["negative times count", [-5, 0], -5],
    ["equal times", [7, 7], 7],
    ["NaN is no time", [NaN, 9], 9],
    ["infinities are no time", [Infinity, -Infinity, 3], 3],
    ["only non-finite numbers", [NaN, Infinity], null],
  ])("%s", (_what, times, expected) => {
    expect(earliest(...times)).toBe(expected);
  });
});

describe("isoOrNull", () => {
  it.each<[string, number | null | undefined, string | null]>([
    ["null", null, null],
    ["undefined", undefined, null],
    ["NaN", NaN, null],
    ["Infinity", Infinity, null],
    ["the epoch (0 is a time)", 0, "1970-01-01T00:00:00.000Z"],
    ["a time with milliseconds", Date.UTC(2026, 0, 2, 3, 4, 5, 678), "2026-01-02T03:04:05.678Z"],
    ["before the epoch", -1000, "1969-12-31T23:59:59.000Z"],
  ])("%s", (_what, ms, expected) => {
    expect(isoOrNull(ms)).toBe(expected);
  });
});
