import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../log.js";
import { MAX_TIMER_MS, Scheduler } from "./scheduler.js";

const lines: string[] = [];
const log = createLogger("debug", () => [], {
  write: (l: string) => {
    lines.push(l);
    return true;
  },
} as unknown as NodeJS.WritableStream);

describe("Scheduler (fake timers)", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    lines.length = 0;
  });
  afterEach(() => vi.useRealTimers());

  it("every: first run after one interval, then one interval after each run ends", async () => {
    const s = new Scheduler(log);
    const runs: number[] = [];
    s.every(1000, () => void runs.push(Date.now()));
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(999);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(2001);
    expect(runs.map((r) => r - t0)).toEqual([1000, 2000, 3000]);
    s.stop();
  });

  it("every: a slow run is never overlapped by the next one", async () => {
    const s = new Scheduler(log);
    let active = 0;
    let most = 0;
    let runs = 0;
    s.every(100, async () => {
      active++;
      most = Math.max(most, active);
      runs++;
      await new Promise((r) => setTimeout(r, 350));
      active--;
    });
    await vi.advanceTimersByTimeAsync(2000);
    expect(most).toBe(1);
    expect(runs).toBe(5); // 100 + 350 + 100 per run after the first
    s.stop();
  });

  it("every: a run that throws is logged and the loop goes on", async () => {
    const s = new Scheduler(log);
    let runs = 0;
    s.every(
      10,
      () => {
        runs++;
        throw new Error("boom");
      },
      "poll",
    );
    await vi.advanceTimersByTimeAsync(35);
    expect(runs).toBe(3);
    // (Repeats of one log line are rate limited by the logger.)
    expect(lines.filter((l) => l.includes("poll failed") && l.includes("boom")).length).toBeGreaterThan(0);
    s.stop();
  });

  it("every: the interval function is asked before each wait (fast polling while work runs)", async () => {
    const s = new Scheduler(log);
    let busy = true;
    const runs: number[] = [];
    const t0 = Date.now();
    s.every(
      () => (busy ? 100 : 1000),
      () => void runs.push(Date.now() - t0),
    );
    await vi.advanceTimersByTimeAsync(300);
    busy = false;
    await vi.advanceTimersByTimeAsync(2000);
    // The wait after the run at 300 was chosen while still busy.
    expect(runs).toEqual([100, 200, 300, 400, 1400]);
    s.stop();
  });

  it("at: fires 5 ms after the instant, replaces the earlier timer of its name, null clears it", async () => {
    const s = new Scheduler(log);
    const fired: string[] = [];
    const now = Date.now();
    s.at("change", now + 1000, now, () => fired.push("first"));
    s.at("change", now + 2000, now, () => fired.push("second"));
    await vi.advanceTimersByTimeAsync(2004);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toEqual(["second"]);
    s.at("change", now + 3000, now, () => fired.push("third"));
    s.at("change", null, now, () => fired.push("never"));
    await vi.advanceTimersByTimeAsync(5000);
    expect(fired).toEqual(["second"]);
    s.stop();
  });

  it("at: a past instant fires at once; a far one waits at most the longest timer", async () => {
    const s = new Scheduler(log);
    const fired: string[] = [];
    const now = Date.now();
    s.at("past", now - 10_000, now, () => fired.push("past"));
    s.at("far", now + 10 * MAX_TIMER_MS, now, () => fired.push("far"));
    await vi.advanceTimersByTimeAsync(5);
    expect(fired).toEqual(["past"]);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
    expect(fired).toEqual(["past", "far"]);
    s.stop();
  });

  it("stop: nothing fires afterwards, and nothing new is armed", async () => {
    const s = new Scheduler(log);
    let runs = 0;
    s.every(10, () => void runs++);
    s.at("x", Date.now() + 10, Date.now(), () => void runs++);
    s.stop();
    s.every(10, () => void runs++);
    s.at("y", Date.now() + 10, Date.now(), () => void runs++);
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
