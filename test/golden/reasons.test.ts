/**
 * What the issue "words for people" promised, held against the recorded demo traffic (every MQTT
 * message and HTTP answer of the demo; traffic.test.ts keeps the recording current): no published
 * reason starts with a code, contains an ISO-8601 timestamp or says "1 copies"; the report shows no
 * ISO timestamp (archive names aside); pihole-home, whose job keeps more than its tier wants, is ok without a problem.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { reasonFlaws } from "../../bridge/src/policy/evaluate.fixtures.js";

const file = path.join(path.dirname(fileURLToPath(import.meta.url)), "demo-traffic.json");
const traffic = JSON.parse(fs.readFileSync(file, "utf8")) as {
  mqtt: Record<string, { payload: unknown }[]>;
  http: Record<string, { type: string; body: unknown }>;
};
const REASON_KEYS = new Set(["reasons", "reason", "status_reason"]);

/** Every string under a reason key, anywhere in a payload. */
function reasonTexts(v: unknown, out: string[] = [], underReason = false): string[] {
  if (typeof v === "string") {
    if (underReason) out.push(v);
  } else if (Array.isArray(v)) for (const x of v) reasonTexts(x, out, underReason);
  else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) reasonTexts(x, out, REASON_KEYS.has(k) || (underReason && k === ""));
  return out;
}

const payloads = [
  ...Object.values(traffic.mqtt).flatMap((msgs) => msgs.map((m) => m.payload)),
  ...Object.values(traffic.http)
    .filter((a) => a.type === "application/json")
    .map((a) => a.body),
];

describe("the demo's words", () => {
  const texts = payloads.flatMap((p) => reasonTexts(p));

  it("has reasons to check (states, findings, Hyper Backup tasks, datastores)", () => {
    expect(texts.length).toBeGreaterThan(50);
  });

  it("publishes no reason that starts with a code, holds an ISO timestamp or says '1 copies'", () => {
    expect(reasonFlaws([...new Set(texts)])).toEqual([]);
  });

  it("writes no ISO timestamp into the strategy report", () => {
    const reports = Object.entries(traffic.http).filter(([name]) => name.endsWith("GET /report.md"));
    expect(reports.length).toBeGreaterThan(0);
    // (A PBS archive's name holds its time, "pbs:backup/vm/100/2026-06-01T04:00:00Z": a name, not a time shown.)
    for (const [, r] of reports) expect(String(r.body)).not.toMatch(/(?<![/\w])\d{4}-\d\d-\d\dT\d\d:\d\d/);
  });

  it("shows pihole-home ok and without a problem in its every state", () => {
    const states = Object.entries(traffic.mqtt)
      .filter(([topic]) => /\/guest\/[^/]+\/state$/.test(topic))
      .flatMap(([, msgs]) => msgs.map((m) => m.payload as { name?: string; status?: string; problem?: boolean }))
      .filter((s) => s?.name === "pihole-home");
    expect(states.length).toBeGreaterThan(0);
    for (const s of states)
      expect({ status: s.status === "running" ? "ok" : s.status, problem: s.problem }).toEqual({
        status: "ok",
        problem: false,
      });
  });
});
