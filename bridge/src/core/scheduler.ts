/**
 * Every timer of the bridge in one place: the polls of each source, the fast loop while work
 * runs, and the "next change" timer that wakes the engine at the exact instant a guest's state
 * changes. Loops never overlap themselves and never throw out of a timer; stop() clears all.
 * Uses the global setTimeout, so unit tests drive it with fake timers.
 */
import type { Logger } from "../log.js";

/** setTimeout cannot wait longer than 2^31-1 ms; a later deadline is re-armed on wake-up. */
export const MAX_TIMER_MS = 2_147_483_647;

export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly named = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly log: Logger) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Runs fn every `ms` (a number, or a function asked before each wait: a source with running
   * work polls faster), first after one interval; the next wait starts when fn has finished.
   */
  every(ms: number | (() => number), fn: () => Promise<void> | void, what = "refresh"): void {
    const wait = () => (typeof ms === "number" ? ms : ms());
    const tick = async () => {
      if (this.stopped) return;
      try {
        await fn();
      } catch (e) {
        this.log.error({ err: (e as Error).message }, `${what} failed`);
      }
      if (!this.stopped) this.after(wait(), tick);
    };
    this.after(wait(), tick);
  }

  /** Runs fn once at `atMs` (clock time `nowMs` now) under `name`, replacing an earlier timer of that name; null clears it. */
  at(name: string, atMs: number | null, nowMs: number, fn: () => void): void {
    const old = this.named.get(name);
    if (old) {
      clearTimeout(old);
      this.timers.delete(old);
      this.named.delete(name);
    }
    if (atMs === null || this.stopped) return;
    // 5 ms late rather than early: at the instant itself the deadline has not passed yet.
    const t = this.after(Math.min(Math.max(0, atMs - nowMs) + 5, MAX_TIMER_MS), () => {
      this.named.delete(name);
      fn();
    });
    this.named.set(name, t);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.named.clear();
  }

  private after(ms: number, fn: () => void | Promise<void>): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void fn();
    }, ms);
    this.timers.add(t);
    return t;
  }
}
