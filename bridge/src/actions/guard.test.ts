import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ActionGuard, GUARD_MAX_HOLD_MS } from "./guard.js";
import type { Logger } from "../log.js";

function logger() {
  const lines: { obj: unknown; msg: string }[] = [];
  const log = { warn: (obj: unknown, msg: string) => lines.push({ obj, msg }) } as unknown as Logger;
  return { log, lines };
}

describe("ActionGuard", () => {
  it("the second claim of a key is refused with a sentence naming the first request; other keys are free", () => {
    let now = Date.parse("2026-03-01T10:00:00Z");
    const { log } = logger();
    const g = new ActionGuard(() => now, log);
    expect(
      g.claim("backup:home_102", {
        what: "a backup of vaultwarden (102)",
        origin: "home_assistant",
        requestId: "req-1",
      }),
    ).toBeUndefined();
    now += 3000;
    const refusal = g.claim("backup:home_102", { what: "a backup of vaultwarden (102)", origin: "mqtt" });
    expect(refusal).toMatch(
      /^a backup of vaultwarden \(102\) is already running \(started by home_assistant, request req-1 at \d\d:\d\d:\d\d, 3 seconds ago\)$/,
    );
    expect(g.claim("verify:home_102", { what: "a verification of vaultwarden (102)", origin: "mqtt" })).toBeUndefined();
    expect(g.claim("backup:home_100", { what: "a backup of dns (100)", origin: "mqtt" })).toBeUndefined();
  });

  it("without a request id the origin and the time are named", () => {
    let now = 0;
    const g = new ActionGuard(() => now, logger().log);
    g.claim("k", { what: "a run of Hyper Backup task 'Nightly'", origin: "http" });
    now = 61_000;
    expect(g.claim("k", { what: "x", origin: "mqtt" })).toMatch(
      /^a run of Hyper Backup task 'Nightly' is already running \(started by http at \d\d:\d\d:\d\d, 1 minute ago\)$/,
    );
  });

  it("release and releaseTask free the key; a task id frees only its own key", () => {
    const g = new ActionGuard(() => 0, logger().log);
    g.claim("a", { what: "A", origin: "o" });
    g.claim("b", { what: "B", origin: "o" });
    g.bind("a", "UPID:1");
    expect(g.releaseTask("UPID:2")).toBeUndefined();
    expect(g.isHeld("a")).toBe(true);
    expect(g.releaseTask("UPID:1")).toBe("a");
    expect(g.isHeld("a")).toBe(false);
    expect(g.isHeld("b")).toBe(true);
    g.release("b");
    expect(g.claim("b", { what: "B", origin: "o" })).toBeUndefined();
  });

  it("a claim whose end is never seen stops blocking after the safety expiry, with one log line", () => {
    let now = 0;
    const { log, lines } = logger();
    const g = new ActionGuard(() => now, log, 3_600_000);
    g.claim("backup:x", { what: "a backup of x (100)", origin: "mqtt", requestId: "r" });
    now = 3_599_999;
    expect(g.claim("backup:x", { what: "a backup of x (100)", origin: "mqtt" })).toMatch(/already running/);
    expect(lines).toHaveLength(0);
    now = 3_600_000;
    expect(g.isHeld("backup:x")).toBe(false);
    expect(g.claim("backup:x", { what: "a backup of x (100)", origin: "mqtt" })).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toBe(
      "no end was seen of a backup of x (100) 1 hour after it started; it no longer blocks new commands",
    );
  });
});

describe("ActionGuard over fake time (its clock is Date.now, moved by vi.advanceTimersByTime)", () => {
  const START = new Date(2026, 5, 1, 10, 0, 0).getTime();
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(START);
  });
  afterEach(() => vi.useRealTimers());
  const backup = { what: "a backup of web (101)", origin: "home_assistant", requestId: "r-1" };

  it("the default expiry is 6 hours; an expired claim is listed until the next claim replaces it, whose expiry counts from its own start", () => {
    const { log, lines } = logger();
    const g = new ActionGuard(() => Date.now(), log);
    g.claim("backup:home_101", backup);
    g.bind("backup:home_101", "UPID:n1:1");
    vi.advanceTimersByTime(GUARD_MAX_HOLD_MS - 1);
    expect(g.isHeld("backup:home_101")).toBe(true);
    vi.advanceTimersByTime(1);
    expect(g.isHeld("backup:home_101")).toBe(false);
    expect(g.entries()).toEqual([{ key: "backup:home_101", upid: "UPID:n1:1", sinceMs: START }]);
    expect(lines).toEqual([]);
    expect(g.claim("backup:home_101", { what: "a backup of web (101)", origin: "mqtt" })).toBeUndefined();
    expect(lines).toEqual([
      {
        obj: { key: "backup:home_101", origin: "home_assistant", request_id: "r-1", upid: "UPID:n1:1" },
        msg: "no end was seen of a backup of web (101) 6 hours after it started; it no longer blocks new commands",
      },
    ]);
    expect(g.entries()).toEqual([{ key: "backup:home_101", sinceMs: START + GUARD_MAX_HOLD_MS }]);
    // The first task's late end does not free the claim that replaced it.
    expect(g.releaseTask("UPID:n1:1")).toBeUndefined();
    vi.advanceTimersByTime(GUARD_MAX_HOLD_MS - 1);
    expect(g.claim("backup:home_101", backup)).toBe(
      "a backup of web (101) is already running (started by mqtt at 16:00:00, 6 hours ago)",
    );
  });

  it("bind: only a held key is bound, the last UPID wins, and release of an unknown key is harmless", () => {
    const g = new ActionGuard(() => Date.now(), logger().log);
    g.bind("backup:nobody", "UPID:a");
    expect(g.entries()).toEqual([]);
    expect(g.releaseTask("UPID:a")).toBeUndefined();
    g.claim("k", backup);
    g.bind("k", "UPID:a");
    g.bind("k", "UPID:b");
    expect(g.releaseTask("UPID:a")).toBeUndefined();
    expect(g.isHeld("k")).toBe(true);
    g.release("other");
    expect(g.releaseTask("UPID:b")).toBe("k");
    expect(g.entries()).toEqual([]);
  });

  it("one UPID bound to two keys (one task backs up two guests) frees one key per end", () => {
    const g = new ActionGuard(() => Date.now(), logger().log);
    g.claim("backup:a", backup);
    g.claim("backup:b", backup);
    g.bind("backup:a", "UPID:x");
    g.bind("backup:b", "UPID:x");
    expect(g.releaseTask("UPID:x")).toBe("backup:a");
    expect(g.releaseTask("UPID:x")).toBe("backup:b");
    expect(g.releaseTask("UPID:x")).toBeUndefined();
  });

  const ages: Array<[number, string]> = [
    [499, "just now"],
    [500, "1 second ago"],
    [59_499, "59 seconds ago"],
    [59_500, "1 minute ago"],
    [89 * 60_000, "1 hour ago"],
    [90 * 60_000, "2 hours ago"],
  ];
  for (const [ms, words] of ages) {
    it(`a refusal ${ms} ms after the claim says "${words}"`, () => {
      const g = new ActionGuard(() => Date.now(), logger().log);
      g.claim("k", backup);
      vi.advanceTimersByTime(ms);
      expect(g.claim("k", backup)).toBe(
        `a backup of web (101) is already running (started by home_assistant, request r-1 at 10:00:00, ${words})`,
      );
    });
  }

  const holds: Array<[number, string]> = [
    [20_000, "20 seconds"],
    [60_000, "1 minute"],
    [90 * 60_000, "90 minutes"],
    [3_600_000, "1 hour"],
    [2 * 3_600_000, "2 hours"],
  ];
  for (const [maxHoldMs, words] of holds) {
    it(`an expiry of ${maxHoldMs} ms is logged as "${words}"`, () => {
      const { log, lines } = logger();
      const g = new ActionGuard(() => Date.now(), log, maxHoldMs);
      g.claim("k", backup);
      vi.advanceTimersByTime(maxHoldMs);
      expect(g.claim("k", backup)).toBeUndefined();
      expect(lines.map((l) => l.msg)).toEqual([
        `no end was seen of a backup of web (101) ${words} after it started; it no longer blocks new commands`,
      ]);
    });
  }
});
