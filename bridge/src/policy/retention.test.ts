import { describe, expect, it } from "vitest";
import { isoWeek, pruneMark, retentionShort, type KeepOptions } from "./retention.js";

const sec = (iso: string) => Date.parse(iso) / 1000;

describe("isoWeek (strftime %G/%V)", () => {
  it.each([
    ["2026-01-01", 2026, 1], // Thursday: week 1 of its own year
    ["2024-12-30", 2025, 1], // Monday of the week holding 2025-01-02 (Thursday)
    ["2021-01-03", 2020, 53], // Sunday still in 2020's week 53
    ["2021-01-04", 2021, 1],
    ["2027-01-01", 2026, 53], // 2026 has 53 weeks
    ["2024-06-15", 2024, 24],
  ])("%s → %i-W%i", (date, year, week) => {
    const [y, m, d] = date.split("-").map(Number);
    expect(isoWeek(y!, m!, d!)).toEqual({ year, week });
  });
});

describe("pruneMark (pve-storage prune_mark_backup_group)", () => {
  const rows: {
    name: string;
    ctimes: string[];
    keep: KeepOptions;
    tz?: string;
    expect: (string | false)[];
  }[] = [
    {
      name: "keep-all keeps everything",
      ctimes: ["2026-01-10T02:00:00Z", "2026-01-11T02:00:00Z"],
      keep: { "keep-all": 1 },
      expect: ["keep-all", "keep-all"],
    },
    {
      name: "no option above 0 is keep-all",
      ctimes: ["2026-01-10T02:00:00Z"],
      keep: { "keep-last": 0 },
      expect: ["keep-all"],
    },
    {
      name: "keep-last keeps the newest N; the rest is removed (answer in input order)",
      ctimes: ["2026-01-10T02:00:00Z", "2026-01-13T02:00:00Z", "2026-01-11T02:00:00Z", "2026-01-12T02:00:00Z"],
      keep: { "keep-last": 2 },
      expect: [false, "keep-last", false, "keep-last"],
    },
    {
      name: "keep-daily keeps the newest of each day; a second archive that day is removed",
      ctimes: ["2026-01-12T20:00:00Z", "2026-01-12T02:00:00Z", "2026-01-11T02:00:00Z", "2026-01-10T02:00:00Z"],
      keep: { "keep-daily": 2 },
      expect: ["keep-daily", false, "keep-daily", false],
    },
    {
      name: "keep-last first, then keep-daily only on days not yet covered",
      ctimes: ["2026-01-12T20:00:00Z", "2026-01-12T02:00:00Z", "2026-01-11T02:00:00Z", "2026-01-10T02:00:00Z"],
      keep: { "keep-last": 1, "keep-daily": 2 },
      expect: ["keep-last", false, "keep-daily", "keep-daily"],
    },
    {
      name: "days are node-local: 23:30 and 00:30 UTC are one Berlin day",
      ctimes: ["2026-01-14T23:30:00Z", "2026-01-15T00:30:00Z"],
      keep: { "keep-daily": 2 },
      tz: "Europe/Berlin",
      expect: [false, "keep-daily"],
    },
    {
      name: "…and two UTC days",
      ctimes: ["2026-01-14T23:30:00Z", "2026-01-15T00:30:00Z"],
      keep: { "keep-daily": 2 },
      tz: "UTC",
      expect: ["keep-daily", "keep-daily"],
    },
    {
      name: "weeks are ISO weeks across the new year (Thu 2020-12-31 and Sun 2021-01-03 are one week)",
      ctimes: ["2020-12-31T12:00:00Z", "2021-01-03T12:00:00Z", "2021-01-04T12:00:00Z"],
      keep: { "keep-weekly": 3 },
      expect: [false, "keep-weekly", "keep-weekly"],
    },
    {
      name: "an archive marked remove by a weekly pass is not taken by the monthly pass (week 13 spans Mar/Apr 2021)",
      ctimes: ["2021-04-01T12:00:00Z", "2021-03-31T12:00:00Z", "2021-03-15T12:00:00Z"],
      keep: { "keep-weekly": 1, "keep-monthly": 2 },
      expect: ["keep-weekly", false, "keep-monthly"],
    },
    {
      name: "keep-hourly keeps the newest of each local hour",
      ctimes: ["2026-01-14T10:50:00Z", "2026-01-14T10:10:00Z", "2026-01-14T09:30:00Z"],
      keep: { "keep-hourly": 5 },
      expect: ["keep-hourly", false, "keep-hourly"],
    },
    {
      name: "keep-yearly keeps the newest of each year",
      ctimes: ["2024-12-31T12:00:00Z", "2024-06-01T12:00:00Z", "2023-12-31T12:00:00Z", "2022-01-01T12:00:00Z"],
      keep: { "keep-yearly": 2 },
      expect: ["keep-yearly", false, "keep-yearly", false],
    },
    {
      name: "the walk stops when the count is reached: older days stay unmarked and are removed",
      ctimes: ["2026-01-14T02:00:00Z", "2026-01-13T02:00:00Z", "2026-01-12T02:00:00Z"],
      keep: { "keep-daily": 1, "keep-weekly": 1 },
      expect: ["keep-daily", false, false],
    },
  ];
  it.each(rows)("$name", (r) => {
    const got = pruneMark(r.ctimes.map(sec), r.keep, r.tz ?? "UTC");
    expect(got.map((d) => (d.kept ? d.by : false))).toEqual(r.expect);
  });
});

describe("retentionShort (the tier's kept archives must be a subset of the job's)", () => {
  const P0 = { "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6 };
  const P1 = { "keep-daily": 7, "keep-weekly": 4 };
  const P2 = { "keep-weekly": 4 };
  const rows: {
    name: string;
    job?: KeepOptions;
    storage?: KeepOptions;
    tier: KeepOptions;
    expect: { from: "job" | "storage" | "default"; missing: Record<string, number> } | undefined;
  }[] = [
    { name: "identical retention", job: P0, tier: P0, expect: undefined },
    {
      name: "job keeps more (daily 7 + weekly 4 vs weekly 4: the demo's pihole-home)",
      job: P1,
      tier: P2,
      expect: undefined,
    },
    {
      name: "job keeps fewer weeks (weekly 2 vs 4)",
      job: { "keep-weekly": 2 },
      tier: P2,
      expect: { from: "job", missing: { "keep-weekly": 2 } },
    },
    {
      name: "keep-last=3 vs keep-daily=7",
      job: { "keep-last": 3 },
      tier: { "keep-daily": 7 },
      expect: { from: "job", missing: { "keep-daily": 4 } },
    },
    {
      name: "keep-daily=14 vs keep-weekly=4: weeks 3 and 4 are lost (newest backup on a Sunday)",
      job: { "keep-daily": 14 },
      tier: P2,
      expect: { from: "job", missing: { "keep-weekly": 2 } },
    },
    {
      name: "keep-daily=35 vs keep-weekly=4 covers every week",
      job: { "keep-daily": 35 },
      tier: P2,
      expect: undefined,
    },
    { name: "keep-all job", job: { "keep-all": 1 }, tier: P0, expect: undefined },
    {
      name: "job without prune-backups uses its storage's",
      storage: { "keep-weekly": 2 },
      tier: P2,
      expect: { from: "storage", missing: { "keep-weekly": 2 } },
    },
    {
      name: "the job's own retention wins over the storage's",
      job: P1,
      storage: { "keep-last": 1 },
      tier: P2,
      expect: undefined,
    },
    { name: "job and storage without retention: PVE keeps all", tier: P0, expect: undefined },
    {
      name: "tier keep-monthly=6 vs job daily 7 + weekly 4",
      job: P1,
      tier: { "keep-monthly": 6 },
      expect: { from: "job", missing: { "keep-monthly": 5 } },
    },
    {
      name: "tier P0 vs job P1: the six monthly backups",
      job: P1,
      tier: P0,
      expect: { from: "job", missing: { "keep-monthly": 6 } },
    },
    {
      name: "keep-monthly=12 vs keep-yearly=3 (newest backup on Dec 31: the last two year-ends)",
      job: { "keep-monthly": 12 },
      tier: { "keep-yearly": 3 },
      expect: { from: "job", missing: { "keep-yearly": 2 } },
    },
    {
      name: "keep-yearly=10 vs keep-yearly=5",
      job: { "keep-yearly": 5 },
      tier: { "keep-yearly": 10 },
      expect: { from: "job", missing: { "keep-yearly": 5 } },
    },
    { name: "a tier without retention wants nothing", job: { "keep-last": 1 }, tier: {}, expect: undefined },
    {
      name: "keep-hourly=7 on daily backups is keep-last=7",
      job: { "keep-hourly": 7 },
      tier: { "keep-last": 7 },
      expect: undefined,
    },
  ];
  it.each(rows)("$name", (r) => {
    const got = retentionShort(r.job, r.storage, r.tier, "Europe/Berlin");
    if (!r.expect) expect(got).toBeUndefined();
    else expect(got).toMatchObject(r.expect);
  });

  it("reports the effective and the wanted retention, positive options only", () => {
    expect(retentionShort(undefined, { "keep-weekly": 2, "keep-daily": 0 }, { "keep-weekly": 4 }, "UTC")).toEqual({
      from: "storage",
      keeps: { "keep-weekly": 2 },
      wants: { "keep-weekly": 4 },
      missing: { "keep-weekly": 2 },
    });
  });

  it("does not depend on the zone (daily backups at noon local)", () => {
    for (const tz of ["UTC", "America/New_York", "Australia/Lord_Howe", "Pacific/Kiritimati"])
      expect(retentionShort({ "keep-daily": 14 }, undefined, P2, tz)?.missing).toEqual({ "keep-weekly": 2 });
  });

  it("answers are copies (a caller may change one without changing the next)", () => {
    const a = retentionShort({ "keep-weekly": 1 }, undefined, P2, "UTC")!;
    a.missing["keep-weekly"] = 99;
    expect(retentionShort({ "keep-weekly": 1 }, undefined, P2, "UTC")!.missing).toEqual({ "keep-weekly": 3 });
  });
});
