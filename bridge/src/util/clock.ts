/**
 * Time as a parameter. Production uses the system clock; tests and the simulated lab use a
 * manual clock they can advance (the lab's ManualClock, `import { ManualClock } from
 * "backup2mqtt-lab"`). Everything that asks "what time is it" takes a Clock.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
