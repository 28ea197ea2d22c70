/**
 * Shared by the command fuzz tests (test/fuzz/commands.fuzz.test.ts, commands-topics.fuzz.test.ts,
 * commands-http.fuzz.test.ts): a tally per category of bad input — inputs tried, handled (refused
 * with the sentence of that category — or ignored, for empty payloads — and never passed to a
 * handler), crashes (an exception or a 5xx: must be 0) and lost (neither handled nor carried out:
 * must be 0) — with a summary line printed per category, and the arbitraries of command targets
 * and valid commands to spoil.
 */
import fc from "fast-check";
import { expect } from "vitest";
import type { Target } from "../../bridge/src/actions/router.js";

export interface Tally {
  tried: number;
  handled: number;
  crashes: number;
  lost: number;
  failures: string[];
}
const tallies = new Map<string, Tally>();
export const tally = (category: string): Tally => {
  let t = tallies.get(category);
  if (!t) {
    t = { tried: 0, handled: 0, crashes: 0, lost: 0, failures: [] };
    tallies.set(category, t);
  }
  return t;
};
const summary = (category: string) => {
  const t = tally(category);
  const line = `commands fuzz: ${category}: tried ${t.tried}, handled ${t.handled}, crashes ${t.crashes}, lost ${t.lost}`;
  process.stdout.write(`${line}\n`);
  if (t.failures.length)
    process.stdout.write(
      `  first failures:\n${t.failures
        .slice(0, 5)
        .map((f) => `    ${f}`)
        .join("\n")}\n`,
    );
  return t;
};
export const expectClean = (category: string) => {
  const t = summary(category);
  expect(t.tried).toBeGreaterThan(0);
  expect(t.failures.slice(0, 5)).toEqual([]);
  expect({ handled: t.handled, crashes: t.crashes, lost: t.lost }).toEqual({ handled: t.tried, crashes: 0, lost: 0 });
};

export const anyJson = fc.jsonValue({ maxDepth: 3 });
export const ALL_ACTIONS = ["backup", "verify", "restore_test", "set_tier", "refresh", "run", "forget"];
/** The fields each action allows besides `action` (bridge/schemas/command.schema.json). */
export const FIELDS: Record<string, string[]> = {
  backup: ["storage", "mode", "request_id", "origin"],
  verify: ["request_id", "origin"],
  restore_test: ["request_id", "origin"],
  set_tier: ["tier", "request_id", "origin"],
  refresh: ["request_id", "origin"],
  run: ["request_id", "origin"],
};
const VALID_FOR: Record<Target["kind"], string[]> = {
  guest: ["backup", "verify", "restore_test", "set_tier", "refresh"],
  bridge: ["refresh"],
  hyperbackup: ["run", "refresh"],
  pbs: ["verify", "refresh"],
};
export const targetArb: fc.Arbitrary<Target> = fc.constantFrom<Target>(
  { kind: "guest", id: "home_100" },
  { kind: "bridge" },
  { kind: "hyperbackup", id: "2" },
  { kind: "pbs", id: "store1" },
);
/** A command valid for the target (set_tier carries its tier), as an object to spoil. */
export const validFor = (t: Target) =>
  fc
    .constantFrom(...VALID_FOR[t.kind])
    .map((action) => ({ action, ...(action === "set_tier" ? { tier: "P1" } : {}) }) as Record<string, unknown>);
