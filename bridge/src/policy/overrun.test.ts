import { describe, expect, it } from "vitest";
import type { BackupAttempt } from "../evidence.js";
import { run } from "./evaluate.fixtures.js";
import { evaluateOverrun, MIN_LIMIT_MS, runtimeLimit } from "./overrun.js";

const M = 60_000;
const H = 60 * M;
const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const words = { language: "en" as const, timeZone: "UTC" };
const tier = { maxRuntimeMs: null as number | null, stallAfterMs: 30 * M };

/** A finished backup that took `durMs`, `daysAgo` days ago. */
const done = (durMs: number, daysAgo: number, result: BackupAttempt["result"] = "ok"): BackupAttempt => ({
  source: "pve",
  vmid: 100,
  upid: `UPID:n1:00000001:00000001:${daysAgo.toString(16).padStart(8, "0")}:vzdump:100:root@pam:`,
  node: "n1",
  startMs: NOW - daysAgo * 24 * H,
  endMs: NOW - daysAgo * 24 * H + durMs,
  result,
});
/** Running since `sinceMs` before NOW, its log's last new line `quietMs` ago (undefined = none read). */
const running = (sinceMs: number, quietMs?: number): BackupAttempt => ({
  source: "pve",
  vmid: 100,
  upid: "UPID:n1:00000002:00000002:6A000000:vzdump:100:root@pam:",
  node: "n1",
  startMs: NOW - sinceMs,
  result: "running",
  ...(quietMs !== undefined ? { lastLogMs: NOW - quietMs } : {}),
});
const history = [done(20 * M, 1), done(30 * M, 2), done(40 * M, 3)]; // median 30 min → limit 90 min

const rows: {
  name: string;
  attempts: BackupAttempt[];
  maxRuntimeMs?: number | null;
  stallAfterMs?: number;
  key: string | null;
  changesAt?: number | null;
}[] = [
  { name: "nothing running → nothing", attempts: history, key: null, changesAt: null },
  {
    name: "running 1 h, median 30 min (limit 90 min), log active → fine; next look: the earlier of stall and limit",
    attempts: [...history, running(H, M)],
    key: null,
    changesAt: NOW - M + 30 * M,
  },
  {
    name: "running 1 h, long stall_after → fine until the limit",
    attempts: [...history, running(H, M)],
    stallAfterMs: 5 * H,
    key: null,
    changesAt: NOW - H + 90 * M,
  },
  { name: "running 2 h, log active → overrunning", attempts: [...history, running(2 * H, M)], key: "overrunning" },
  {
    name: "running 2 h, silent for 40 min → overrunning and stalled",
    attempts: [...history, running(2 * H, 40 * M)],
    key: "overrunning.stalled",
  },
  {
    name: "running 20 min, silent for 31 min since it started (no line read) → stalled only",
    attempts: [...history, running(31 * M)],
    key: "overrunning.stalled_only",
  },
  {
    name: "max_runtime 4 h is above 3 × median: running 2 h is fine",
    attempts: [...history, running(2 * H, M)],
    maxRuntimeMs: 4 * H,
    stallAfterMs: 5 * H,
    key: null,
    changesAt: NOW - 2 * H + 4 * H,
  },
  {
    name: "no history and no max_runtime: no limit, only the stall",
    attempts: [running(10 * H, M)],
    key: null,
    changesAt: NOW - M + 30 * M,
  },
  {
    name: "no history, max_runtime 1 h → overrunning at 2 h",
    attempts: [running(2 * H, M)],
    maxRuntimeMs: H,
    key: "overrunning",
  },
  {
    name: "failed attempts do not count toward the median (a 1-minute failure)",
    attempts: [done(M, 1, "failed"), done(M, 2, "failed"), running(2 * H, M)],
    key: null,
  },
  {
    name: "a tiny median is floored at 15 min: running 10 min is fine",
    attempts: [done(10_000, 1), running(10 * M, M)],
    key: null,
    changesAt: NOW - 10 * M + MIN_LIMIT_MS,
  },
  {
    name: "silent 40 min while waiting for the node's global vzdump lock → not stalled (another backup runs)",
    attempts: [...history, { ...running(H, 40 * M), waitingForLock: true }],
    key: null,
    changesAt: NOW - H + 90 * M,
  },
  {
    name: "stall_after 2 h: silent 40 min is not stalled",
    attempts: [...history, running(H, 40 * M)],
    stallAfterMs: 2 * H,
    key: null,
  },
];

describe("overrunning and stalled backups (table)", () => {
  it.each(rows)("$name", (r) => {
    const v = evaluateOverrun(
      r.attempts,
      { maxRuntimeMs: r.maxRuntimeMs ?? null, stallAfterMs: r.stallAfterMs ?? tier.stallAfterMs },
      NOW,
      words,
    );
    expect(v.finding?.key ?? null).toBe(r.key);
    if (r.key) {
      expect(v.finding!.code).toBe("overrunning");
      expect(v.upid).toBe(running(0).upid);
    }
    if (r.changesAt !== undefined) expect(v.changesAt).toBe(r.changesAt);
  });

  it("no tier → nothing", () => {
    expect(evaluateOverrun([running(10 * H, 5 * H)], null, NOW, words).finding).toBeNull();
  });

  it("the limit: max(3 × median, max_runtime), at least 15 min; none without either", () => {
    expect(runtimeLimit(history, tier)).toBe(90 * M);
    expect(runtimeLimit(history, { maxRuntimeMs: 2 * H })).toBe(2 * H);
    expect(runtimeLimit([], tier)).toBeNull();
    expect(runtimeLimit([done(M, 1)], tier)).toBe(MIN_LIMIT_MS);
  });

  it("the sentences say the duration in words and the instants as times", () => {
    const v = evaluateOverrun([...history, running(2 * H, 40 * M)], tier, NOW, words);
    expect(v.finding!.reason).toBe(
      "The backup running since Thu 3 Dec, 10:00 has taken longer than 1 hour and 30 minutes, and its log has shown nothing new since Thu 3 Dec, 11:20 (over 30 minutes).",
    );
    const s = evaluateOverrun([running(31 * M)], tier, NOW, { language: "de", timeZone: "Europe/Berlin" });
    expect(s.finding!.reason).toBe(
      "Die seit Do., 3. Dez., 12:29 Uhr laufende Sicherung scheint zu hängen: Ihr Protokoll zeigt seit Do., 3. Dez., 12:29 Uhr nichts Neues (über 30 Minuten).",
    );
  });

  it("in evaluate(): a problem on a P0 guest whose backup is stuck, and the guest's next change is the stall", () => {
    const r = run({ attempts: [running(31 * M)], now: NOW });
    const g = r.guests[0]!;
    expect(g.status).toBe("running");
    expect(g.findings.map((f) => f.code)).toContain("overrunning");
    expect(g.problem).toBe(true);
    const early = run({ attempts: [running(10 * M, 10 * M)], now: NOW });
    expect(early.guests[0]!.findings.map((f) => f.code)).not.toContain("overrunning");
    expect(early.nextChangeMs).toBe(NOW - 10 * M + 30 * M);
  });
});
