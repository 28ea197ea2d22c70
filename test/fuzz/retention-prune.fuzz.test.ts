/**
 * The bridge's pruneMark (bridge/src/policy/retention.ts) against the lab's own implementation
 * (lab/src/prune.ts), both written after pve-storage's `prune_mark_backup_group`: on random backup
 * series, retentions and zones they must keep the same archives. They are compared here because
 * the bridge may not load the lab (biome.json noRestrictedImports).
 *
 * Left out on purpose, where the lab is simpler than PVE: two archives with the same ctime (PVE's
 * keep-last id is the ctime, the lab's a running index) and retentions whose options are all 0
 * (PVE keeps everything, the lab nothing; PVE's API turns them into keep-all=1 before they are stored).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pruneMark as labPruneMark } from "../../lab/src/prune.js";
import { PRUNE_OPTIONS, pruneMark } from "../../bridge/src/policy/retention.js";

const ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"];

/** Gaps between backups: minutes (same hour), hours, about a day, up to several weeks. */
const gap = fc.oneof(
  fc.integer({ min: 60, max: 3600 }),
  fc.integer({ min: 3600, max: 86_400 }),
  fc.integer({ min: 80_000, max: 95_000 }),
  fc.integer({ min: 86_400, max: 40 * 86_400 }),
);

/** The newest backup: anywhere in 2019–2026, or in the days around a new year (ISO weeks cross it). */
const newest = fc.oneof(
  fc.integer({ min: Date.UTC(2019, 0, 1) / 1000, max: Date.UTC(2026, 11, 31) / 1000 }),
  fc
    .tuple(fc.integer({ min: 2019, max: 2027 }), fc.integer({ min: -10 * 86_400, max: 10 * 86_400 }))
    .map(([y, d]) => Date.UTC(y, 0, 1) / 1000 + d),
);

/** Distinct ctimes, in shuffled order (PVE sorts them itself). */
const series = fc
  .tuple(newest, fc.array(gap, { minLength: 0, maxLength: 150 }))
  .map(([last, gaps]) => {
    const out = [last];
    for (const g of gaps) out.push(out.at(-1)! - g);
    return out;
  })
  .chain((ctimes) => fc.shuffledSubarray(ctimes, { minLength: ctimes.length, maxLength: ctimes.length }));

/** keep-all, or one to three options with small counts (so that much is removed). */
const keep = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ "keep-all": 1 } as Record<string, number>) },
  {
    weight: 12,
    arbitrary: fc
      .uniqueArray(fc.constantFrom(...PRUNE_OPTIONS), { minLength: 1, maxLength: 3 })
      .chain((opts) => fc.tuple(...opts.map((o) => fc.integer({ min: 1, max: 5 }).map((n) => [o, n] as const))))
      .map((pairs) => Object.fromEntries(pairs) as Record<string, number>),
  },
);

describe("pruneMark: the bridge and the lab agree", () => {
  it("on 3,000 random series, retentions and zones", () => {
    fc.assert(
      fc.property(series, keep, fc.constantFrom(...ZONES), (ctimes, k, tz) => {
        const bridge = pruneMark(ctimes, k, tz).map((d) => d.kept);
        const entries = ctimes.map((ctime) => ({ ctime }));
        const marked = new Map<object, string>(labPruneMark(entries, k, tz).map((e) => [e, e.mark]));
        const lab = entries.map((e) => marked.get(e) === "keep");
        expect(bridge).toEqual(lab);
      }),
      { numRuns: 3000 },
    );
  });
});
