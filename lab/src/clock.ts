/**
 * The lab's notion of time. Everything the lab simulates (archive names, task history, job
 * schedules, NAS times) reads one Clock, so a test can freeze or advance the whole lab at once.
 * A Clock is any object with `now()`: the bridge's own clock interface has the same shape, so a
 * test passes one ManualClock to the lab and to the bridge alike.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that only moves when told to. A lab started with one settles its tasks and jobs lazily,
 * when it is asked something; with any other clock it also settles them on a timer.
 */
export class ManualClock implements Clock {
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(ms: number): void {
    this.current = ms;
  }
}
