import { PHRASEBOOKS, formatDuration as durationWords } from "../words/render.js";

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parses "90s", "26h", "8d", "1.5h" into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: "${text}" (use e.g. 90s, 30m, 26h, 8d)`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
}

/** Human text for an age or interval, in English words: "3 days and 4 hours", "26 hours" is "1 day and 2 hours", "45 minutes". */
export function formatDuration(ms: number): string {
  return (ms < 0 ? "-" : "") + durationWords(Math.abs(ms), PHRASEBOOKS.en);
}
