/**
 * The policy, case by case: every row of the table (evaluate-table.fixtures.ts) evaluated plain,
 * and with a GuestMemo, which must give the same result and judge again only what changed. The
 * result as a whole (orphans, next change, counts, ids) is in evaluate-result.test.ts.
 */
import { describe, expect, it } from "vitest";
import { archiveSet } from "../archive-set.js";
import { render } from "../words/render.js";
import { evaluate, GuestMemo } from "./evaluate.js";
import { archive, attempt, dailyJob, H, input, NOW, P0, reasonFlaws, run } from "./evaluate.fixtures.js";
import { cases } from "./evaluate-table.fixtures.js";

describe("policy table", () => {
  for (const c of cases) {
    it(c.name, () => {
      const result = run(c);
      const g = result.guests.find((x) => x.vmid === (c.guests?.find((gg) => !gg.template)?.vmid ?? 100))!;
      expect(g.status).toBe(c.expect.status);
      if (c.expect.problem !== undefined) expect(g.problem).toBe(c.expect.problem);
      if (c.expect.tier !== undefined) expect(g.tier).toBe(c.expect.tier);
      if (c.expect.findings) expect(g.findings.map((f) => f.code)).toEqual(c.expect.findings);
      if (c.expect.reason) expect(`${g.reasons.join("\n")}\n${g.status_reason}`).toMatch(c.expect.reason);
      if (c.expect.reasons) expect(g.reasons).toEqual(c.expect.reasons);
      if (c.expect.status_key) expect(g.status_phrase.key).toBe(c.expect.status_key);
      if (c.expect.finding_phrases)
        expect(g.findings.map((f) => ({ key: f.key, params: f.params }))).toEqual(c.expect.finding_phrases);
      if (c.expect.last_backup !== undefined) expect(g.last_backup).toBe(c.expect.last_backup);
      if (c.expect.changes_at !== undefined) expect(g.changes_at).toBe(c.expect.changes_at);
      if (c.expect.next_backup !== undefined) expect(g.next_backup).toBe(c.expect.next_backup);
      if (c.expect.archive_count !== undefined) expect(g.archive_count).toBe(c.expect.archive_count);
      if (c.expect.running !== undefined) expect(g.running).toBe(c.expect.running);
    });
  }

  it("has at least 30 cases", () => expect(cases.length).toBeGreaterThanOrEqual(30));

  it("every row: reasons are sentences (no 'code:' prefix, no ISO timestamp, no '1 copies')", () => {
    const flaws = cases.flatMap((c) =>
      run(c).guests.flatMap((g) => reasonFlaws([g.status_reason, ...g.reasons]).map((f) => `${c.name}: ${f}`)),
    );
    expect(flaws).toEqual([]);
  });

  it("the sentence check catches the old forms", () => {
    const old = [
      "retention_drift: job 'daily' keeps keep-last=3",
      "stale: newest archive 27h old",
      "last success 2026-11-25T06:00:00.000Z is older than allowed",
      "tier P2 wants 1 copies no older than 8d; 0 found",
    ];
    expect(reasonFlaws(old)).toHaveLength(old.length);
    expect(
      reasonFlaws(["Tier P0 wants 11 copies no older than 1 day.", "Retention is short: 2 weekly backups."]),
    ).toEqual([]);
  });

  it("every row: reason_phrases render to the reasons, status_phrase to the status reason", () => {
    for (const c of cases) {
      const words = c.config?.words ?? { language: "en", timeZone: "UTC" };
      for (const g of run(c).guests) {
        expect(
          g.reason_phrases.map((p) => render(p, words)),
          c.name,
        ).toEqual(g.reasons);
        expect(render(g.status_phrase, words), c.name).toBe(g.status_reason);
        expect(
          g.findings.map((f) => render({ key: f.key, params: f.params }, words)),
          c.name,
        ).toEqual(g.findings.map((f) => f.reason));
      }
    }
  });
});

describe("GuestMemo", () => {
  it("every table case: with a memo, the first and the remembered evaluation equal the plain one", () => {
    for (const c of cases) {
      const memo = new GuestMemo();
      const inp = input(c);
      const plain = evaluate(inp);
      expect(evaluate(inp, memo), c.name).toEqual(plain);
      expect(evaluate(inp, memo), c.name).toEqual(plain);
      expect(memo.hits, c.name).toBe(plain.guests.length);
    }
  });

  it("judges again only the guest whose facts changed; shared facts or a change time passing judge again", () => {
    // One archive set throughout (the bridge's stays the same object until a listing changes).
    const archives = archiveSet([archive(100, 5 * H), archive(101, 5 * H), archive(102, 5 * H)]);
    const base = { guests: [P0(100), P0(101), P0(102)], jobs: [dailyJob([100, 101, 102])], evidence: { archives } };
    const memo = new GuestMemo();
    run(base, memo);
    expect([memo.hits, memo.misses]).toEqual([0, 3]);
    const running = { ...base, attempts: [attempt(101, 60_000, "running")] };
    expect(run(running, memo).guests.find((g) => g.vmid === 101)!.status).toBe("running");
    expect([memo.hits, memo.misses]).toEqual([2, 4]);
    run({ ...running, jobs: [dailyJob([100, 101])] }, memo); // jobs are shared: all again
    expect([memo.hits, memo.misses]).toEqual([2, 7]);
    // 21 h later the 26 h deadline of the (5 h old) archives has passed: judged again, stale.
    const later = run({ ...running, jobs: [dailyJob([100, 101])], now: NOW + 21 * H }, memo);
    expect(later.guests.find((g) => g.vmid === 100)!.status).toBe("stale");
    expect(later).toEqual(run({ ...running, jobs: [dailyJob([100, 101])], now: NOW + 21 * H }));
  });
});
