import { describe, expect, it } from "vitest";
import type { Tier, TierFallback } from "../config/tiers.js";
import type { BackupJob, GuestInfo, SourceHealth } from "../evidence.js";
import { type FallbackDecision, type FallbackRecords, planFallbacks, withFallbacks } from "./fallback.js";
import type { GuestState, PolicyResult } from "./types.js";

const H = 3_600_000;
const M = 60_000;

const baseTier = (id: string, o: Partial<Tier> = {}): Tier => ({
  id,
  label: id,
  protect: true,
  maxAgeMs: 26 * H,
  schedule: "02:00",
  retention: {},
  minCopies: 1,
  offsite: false,
  verifyEveryMs: null,
  allowManual: true,
  restoreTest: false,
  fallback: { action: "off", window: "any", graceMs: H, maxPerDay: 1 },
  maxRuntimeMs: null,
  stallAfterMs: 30 * 60_000,
  allowStop: false,
  accepts: ["vzdump", "hyperbackup"],
  ...o,
});

/** An ok P1 guest of source "pve" on node n1, with `o` over it. */
const baseGuestState = (vmid: number, o: Partial<GuestState> = {}): GuestState =>
  ({
    id: `home_${vmid}`,
    source: "pve",
    vmid,
    name: `g${vmid}`,
    type: "qemu",
    node: "n1",
    tier: "P1",
    tier_source: "config",
    status: "ok",
    problem: false,
    reasons: [],
    reason_phrases: [],
    findings: [],
    running: false,
    last_attempt: null,
    fallback: null,
    ...o,
  }) as GuestState;
/** Thursday 3 Dec 2026, 12:00 UTC. */
const NOON = Date.parse("2026-12-03T12:00:00Z");
const at = (iso: string) => Date.parse(iso);

const fb = (o: Partial<TierFallback> = {}): TierFallback => ({
  action: "auto",
  window: "any",
  graceMs: H,
  maxPerDay: 1,
  ...o,
});

interface Case {
  name: string;
  now?: number;
  timeZone?: string;
  fallback?: Partial<TierFallback> | "off";
  guests?: Partial<GuestState>[];
  records?: FallbackRecords;
  jobs?: Partial<BackupJob>[];
  source?: Partial<SourceHealth>;
  /** Per guest id: undefined = no decision. */
  expect: Record<
    string,
    (Partial<Omit<FallbackDecision["fallback"], "reason">> & { start?: boolean; reason?: RegExp }) | undefined
  >;
  changesAt?: number | null;
}

/** Guest 100 (stale on n1 since two hours) unless a case gives its own guests. */
const stale = (vmid: number, o: Partial<GuestState> = {}): Partial<GuestState> => ({
  id: `home_${vmid}`,
  vmid,
  tier: "P0",
  status: "stale",
  ...o,
});
const bad2h = (id = "home_100"): FallbackRecords => ({ [id]: { badSince: NOON - 2 * H, runs: [] } });

const CASES: Case[] = [
  { name: "fallback off: nothing", fallback: "off", records: bad2h(), expect: { home_100: undefined } },
  {
    name: "grace not over: nothing yet, but a wake-up when it is",
    records: { home_100: { badSince: NOON - 30 * M, runs: [] } },
    expect: { home_100: undefined },
    changesAt: NOON + 30 * M,
  },
  {
    name: "first seen bad now (no record yet): the grace starts now",
    expect: { home_100: undefined },
    changesAt: NOON + H,
  },
  {
    name: "window any, grace over: starts now (planned from the end of the grace)",
    records: bad2h(),
    expect: { home_100: { state: "planned", start: true, at: "2026-12-03T11:00:00.000Z", reason: /starts now/ } },
  },
  {
    name: "failed and missing are fixed too; ok, running and unknown are not",
    guests: [
      stale(100, { status: "failed" }),
      stale(101, { status: "missing", node: "n2" }),
      stale(102, { status: "ok", node: "n3" }),
      stale(103, { status: "running", running: true, node: "n4" }),
      stale(104, { status: "unknown", node: "n5" }),
    ],
    records: Object.fromEntries(
      [100, 101, 102, 103, 104].map((v) => [`home_${v}`, { badSince: NOON - 2 * H, runs: [] }]),
    ),
    expect: {
      home_100: { start: true },
      home_101: { start: true },
      home_102: undefined,
      home_103: undefined,
      home_104: undefined,
    },
  },
  {
    name: "window 01:00-06:00 at noon: planned for tomorrow 01:00",
    fallback: { window: "01:00-06:00" },
    records: bad2h(),
    expect: {
      home_100: {
        state: "planned",
        start: false,
        at: "2026-12-04T01:00:00.000Z",
        reason: /planned for .*01:00 \(window 01:00-06:00\)/,
      },
    },
    changesAt: at("2026-12-04T01:00:00Z"),
  },
  {
    name: "window 01:00-06:00 at 03:00: starts now",
    now: at("2026-12-03T03:00:00Z"),
    fallback: { window: "01:00-06:00" },
    records: { home_100: { badSince: at("2026-12-02T20:00:00Z"), runs: [] } },
    expect: { home_100: { start: true, at: "2026-12-03T01:00:00.000Z" } },
  },
  {
    name: "window crossing midnight 22:00-04:00, at 23:30: inside",
    now: at("2026-12-03T23:30:00Z"),
    fallback: { window: "22:00-04:00" },
    records: bad2h(),
    expect: { home_100: { start: true, at: "2026-12-03T22:00:00.000Z" } },
  },
  {
    name: "window crossing midnight 22:00-04:00, at 03:00: still inside (opened yesterday)",
    now: at("2026-12-04T03:00:00Z"),
    fallback: { window: "22:00-04:00" },
    records: { home_100: { badSince: at("2026-12-03T10:00:00Z"), runs: [] } },
    expect: { home_100: { start: true, at: "2026-12-03T22:00:00.000Z" } },
  },
  {
    name: "window crossing midnight 22:00-04:00, at 05:00: planned for 22:00",
    now: at("2026-12-04T05:00:00Z"),
    fallback: { window: "22:00-04:00" },
    records: { home_100: { badSince: at("2026-12-03T10:00:00Z"), runs: [] } },
    expect: { home_100: { state: "planned", start: false, at: "2026-12-04T22:00:00.000Z" } },
  },
  {
    name: "the window is in the config's time zone (01:30 in Berlin is 00:30 UTC)",
    now: at("2026-12-03T00:30:00Z"),
    timeZone: "Europe/Berlin",
    fallback: { window: "01:00-06:00" },
    records: { home_100: { badSince: at("2026-12-02T10:00:00Z"), runs: [] } },
    expect: { home_100: { start: true, at: "2026-12-03T00:00:00.000Z" } },
  },
  {
    name: "a job selecting the guest is due before the window ends: wait for it",
    now: at("2026-12-03T01:30:00Z"),
    fallback: { window: "01:00-06:00" },
    records: { home_100: { badSince: at("2026-12-02T10:00:00Z"), runs: [] } },
    jobs: [{ id: "backup-p0", schedule: "02:00", vmids: [100] }],
    expect: {
      home_100: { state: "waiting_for_job", start: false, at: "2026-12-03T02:00:00.000Z", reason: /backup-p0/ },
    },
    changesAt: at("2026-12-03T02:10:00Z"),
  },
  {
    name: "a job due after the window ends does not hold it back",
    now: at("2026-12-03T01:30:00Z"),
    fallback: { window: "01:00-06:00" },
    records: { home_100: { badSince: at("2026-12-02T10:00:00Z"), runs: [] } },
    jobs: [{ id: "late", schedule: "07:00", vmids: [100] }],
    expect: { home_100: { start: true } },
  },
  {
    name: "a disabled job, or one that selects another guest, does not hold it back",
    now: at("2026-12-03T01:30:00Z"),
    fallback: { window: "01:00-06:00" },
    records: { home_100: { badSince: at("2026-12-02T10:00:00Z"), runs: [] } },
    jobs: [
      { id: "off", schedule: "02:00", vmids: [100], enabled: false },
      { id: "other", schedule: "02:00", vmids: [101] },
    ],
    expect: { home_100: { start: true } },
  },
  {
    name: "a job that was due moments ago and has not shown a task yet: wait for it",
    now: at("2026-12-03T02:03:00Z"),
    fallback: { window: "01:00-06:00" },
    records: { home_100: { badSince: at("2026-12-02T10:00:00Z"), runs: [] } },
    jobs: [{ id: "backup-p0", schedule: "02:00", all: true }],
    expect: { home_100: { state: "waiting_for_job", at: "2026-12-03T02:00:00.000Z" } },
  },
  {
    name: "the job ran at its time and failed: no more waiting, start",
    now: at("2026-12-03T02:03:00Z"),
    fallback: { window: "01:00-06:00" },
    guests: [stale(100, { status: "failed", last_attempt: { time: "2026-12-03T02:00:20.000Z", result: "failed" } })],
    records: { home_100: { badSince: at("2026-12-02T10:00:00Z"), runs: [] } },
    jobs: [{ id: "backup-p0", schedule: "02:00", all: true }],
    expect: { home_100: { start: true } },
  },
  {
    name: "window any: a job due within the grace counts",
    records: bad2h(),
    jobs: [{ id: "soon", schedule: "12:30", vmids: [100] }],
    expect: { home_100: { state: "waiting_for_job", at: "2026-12-03T12:30:00.000Z" } },
  },
  {
    name: "source degraded: nothing",
    records: bad2h(),
    source: { degraded: true },
    expect: { home_100: undefined },
  },
  {
    name: "source down: nothing",
    records: bad2h(),
    source: { up: false },
    expect: { home_100: undefined },
  },
  {
    name: "one per node: the guest bad for longer starts, the other waits; another node starts too",
    guests: [stale(100), stale(101), stale(102, { node: "n2" })],
    records: {
      home_100: { badSince: NOON - 2 * H, runs: [] },
      home_101: { badSince: NOON - 3 * H, runs: [] },
      home_102: { badSince: NOON - 2 * H, runs: [] },
    },
    expect: {
      home_101: { start: true },
      home_100: { state: "planned", start: false, reason: /fallback backup of g101 on node n1/ },
      home_102: { start: true },
    },
  },
  {
    name: "a fallback running on the node: the other guest waits; the running one shows running",
    guests: [stale(100), stale(101, { status: "running", running: true })],
    records: {
      home_100: { badSince: NOON - 2 * H, runs: [] },
      home_101: {
        badSince: NOON - 3 * H,
        runs: [{ startedMs: NOON - 10 * M, node: "n1", upid: "U1", result: "running" }],
      },
    },
    expect: {
      home_100: { state: "planned", start: false, reason: /g101 on node n1/ },
      home_101: { state: "running", at: "2026-12-03T11:50:00.000Z", reason: /running on node n1/ },
    },
  },
  {
    name: "the running fallback's archive is in (guest ok, not running) before its run is marked ended: done at once",
    guests: [stale(100, { status: "ok", last_backup: "2026-12-03T11:51:00.000Z" })],
    records: {
      home_100: {
        badSince: NOON - 3 * H,
        runs: [{ startedMs: NOON - 10 * M, node: "n1", upid: "U1", result: "running" }],
      },
    },
    expect: {
      home_100: {
        state: "done",
        at: "2026-12-03T11:51:00.000Z",
        reason: /fallback backup finished on Thu 3 Dec, 11:51/,
      },
    },
  },
  {
    name: "ok with only an older archive while the fallback runs: still running",
    guests: [stale(100, { status: "ok", last_backup: "2026-12-03T02:00:00.000Z" })],
    records: {
      home_100: {
        badSince: NOON - 3 * H,
        runs: [{ startedMs: NOON - 10 * M, node: "n1", upid: "U1", result: "running" }],
      },
    },
    expect: { home_100: { state: "running", reason: /running on node n1/ } },
  },
  {
    name: "max_per_day reached (a good fallback today): done, next tomorrow",
    records: {
      home_100: {
        badSince: NOON - 5 * H,
        runs: [{ startedMs: NOON - 3 * H, endedMs: NOON - 2.5 * H, node: "n1", upid: "U", result: "ok" }],
      },
    },
    expect: { home_100: { state: "done", start: false, reason: /already ran a fallback backup today/ } },
    changesAt: at("2026-12-04T00:00:00Z"),
  },
  {
    name: "max_per_day 2 with one good run: another one starts",
    fallback: { maxPerDay: 2 },
    records: {
      home_100: {
        badSince: NOON - 5 * H,
        runs: [{ startedMs: NOON - 3 * H, endedMs: NOON - 2.5 * H, node: "n1", upid: "U", result: "ok" }],
      },
    },
    expect: { home_100: { start: true } },
  },
  {
    name: "one failed fallback today: retried",
    records: {
      home_100: {
        badSince: NOON - 5 * H,
        runs: [{ startedMs: NOON - 3 * H, endedMs: NOON - 2.5 * H, node: "n1", upid: "U", result: "failed" }],
      },
    },
    expect: { home_100: { start: true } },
  },
  {
    name: "a fallback failed moments ago: the retry waits 15 minutes",
    records: {
      home_100: {
        badSince: NOON - 5 * H,
        runs: [{ startedMs: NOON - 10 * M, endedMs: NOON - 5 * M, node: "n1", upid: "U", result: "failed" }],
      },
    },
    expect: {
      home_100: {
        state: "planned",
        start: false,
        at: "2026-12-03T12:10:00.000Z",
        reason: /failed on Thu 3 Dec, 11:55; it tries again on Thu 3 Dec, 12:10\./,
      },
    },
    changesAt: NOON + 10 * M,
  },
  {
    name: "two failed fallbacks today: stopped retrying for today",
    records: {
      home_100: {
        badSince: NOON - 5 * H,
        runs: [
          { startedMs: NOON - 4 * H, endedMs: NOON - 3.5 * H, node: "n1", upid: "U1", result: "failed" },
          { startedMs: NOON - 3 * H, endedMs: NOON - 2.5 * H, node: "n1", upid: "U2", result: "failed" },
        ],
      },
    },
    expect: {
      home_100: {
        state: "failed",
        start: false,
        at: "2026-12-03T09:30:00.000Z",
        reason: /failed 2 times today .*stopped retrying for today/,
      },
    },
    changesAt: at("2026-12-04T00:00:00Z"),
  },
  {
    name: "two failures yesterday do not count today",
    records: {
      home_100: {
        badSince: NOON - 30 * H,
        runs: [
          { startedMs: NOON - 28 * H, endedMs: NOON - 27 * H, node: "n1", upid: "U1", result: "failed" },
          { startedMs: NOON - 26 * H, endedMs: NOON - 25 * H, node: "n1", upid: "U2", result: "failed" },
        ],
      },
    },
    expect: { home_100: { start: true } },
  },
  {
    name: "ask: planned, not started until approved",
    fallback: { action: "ask" },
    records: bad2h(),
    expect: { home_100: { state: "planned", action: "ask", approved: false, start: false, reason: /once approved/ } },
  },
  {
    name: "ask, approved: starts",
    fallback: { action: "ask" },
    records: { home_100: { badSince: NOON - 2 * H, approved: true, runs: [] } },
    expect: { home_100: { state: "planned", action: "ask", approved: true, start: true } },
  },
  {
    name: "ask, approved, window closed: planned for the window",
    fallback: { action: "ask", window: "01:00-06:00" },
    records: { home_100: { badSince: NOON - 2 * H, approved: true, runs: [] } },
    expect: { home_100: { state: "planned", approved: true, start: false, at: "2026-12-04T01:00:00.000Z" } },
  },
  {
    name: "ok again after a fallback: shows it done",
    guests: [stale(100, { status: "ok" })],
    records: {
      home_100: { runs: [{ startedMs: NOON - 2 * H, endedMs: NOON - H, node: "n1", upid: "U", result: "ok" }] },
    },
    expect: { home_100: { state: "done", at: "2026-12-03T11:00:00.000Z", reason: /finished/ } },
  },
  {
    name: "untiered and excluded guests: nothing",
    guests: [stale(100, { tier: null }), stale(101, { tier: "none" })],
    records: bad2h(),
    expect: { home_100: undefined, home_101: undefined },
  },
];

function run(c: Case) {
  const now = c.now ?? NOON;
  const tier = baseTier("P0", { fallback: c.fallback === "off" ? fb({ action: "off" }) : fb(c.fallback) });
  const tiers: Record<string, Tier> = { P0: tier, none: baseTier("none", { protect: false, fallback: fb() }) };
  const guests = (c.guests ?? [stale(100)]).map((o) => baseGuestState(o.vmid ?? 100, o));
  const guestInfo = guests.map(
    (g) =>
      ({ source: g.source, vmid: g.vmid, node: g.node, name: g.name, type: g.type, tags: [] }) as unknown as GuestInfo,
  );
  const jobs = (c.jobs ?? []).map((j) => ({ source: "pve", id: "j", enabled: true, ...j }) as BackupJob);
  const sources = [{ name: "pve", kind: "proxmox", up: true, degraded: false, ...c.source } as SourceHealth];
  return planFallbacks({
    guests,
    tiers,
    guestInfo,
    jobs,
    sources,
    records: c.records ?? {},
    now,
    words: { language: "en", timeZone: c.timeZone ?? "UTC" },
  });
}

describe("fallback planner", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const plan = run(c);
    for (const [id, want] of Object.entries(c.expect)) {
      const d = plan.decisions.get(id);
      if (want === undefined) {
        expect(d, id).toBeUndefined();
        continue;
      }
      expect(d, id).toBeDefined();
      const { start, reason, ...fields } = want;
      expect(d!.fallback, id).toMatchObject(fields);
      if (start !== undefined) expect(d!.start, id).toBe(start);
      if (reason) expect(d!.fallback.reason, id).toMatch(reason);
      // A sentence for people: no codes, no raw ISO times.
      expect(d!.fallback.reason).not.toMatch(/\d{4}-\d{2}-\d{2}T|fallback\.|_/);
    }
    if (c.changesAt !== undefined) expect(plan.changesAt).toBe(c.changesAt);
  });

  it("withFallbacks: fallback_failed is a problem with its sentence; other guests keep fallback null", () => {
    const plan = run(CASES.find((c) => c.name.startsWith("two failed"))!);
    const g = baseGuestState(100, { tier: "P0", status: "stale" });
    const other = baseGuestState(101);
    const result: PolicyResult = {
      guests: [g, other],
      orphans: [],
      counts: { unknown: 0, running: 0, failed: 0, missing: 0, stale: 1, ok: 1, problem: 0, untiered: 0, excluded: 0 },
      nextChangeMs: at("2026-12-10T00:00:00Z"),
    };
    const out = withFallbacks(result, plan);
    const g2 = out.guests[0]!;
    expect(g2.problem).toBe(true);
    expect(g2.findings.map((f) => f.code)).toEqual(["fallback_failed"]);
    expect(g2.reasons.at(-1)).toMatch(/stopped retrying for today/);
    expect(g2.reason_phrases.at(-1)?.key).toBe("fallback_failed");
    expect(g2.fallback?.state).toBe("failed");
    expect(out.guests[1]).toBe(other);
    expect(out.counts.problem).toBe(1);
    expect(out.nextChangeMs).toBe(at("2026-12-04T00:00:00Z"));
    // The evaluation's own state is not changed.
    expect(g.findings).toEqual([]);
  });

  it("German sentences", () => {
    const plan = planFallbacks({
      guests: [baseGuestState(100, { tier: "P0", status: "stale" })],
      tiers: { P0: baseTier("P0", { fallback: fb({ action: "ask" }) }) },
      guestInfo: [],
      jobs: [],
      sources: [{ name: "pve", kind: "proxmox", up: true, degraded: false } as SourceHealth],
      records: bad2h(),
      now: NOON,
      words: { language: "de", timeZone: "Europe/Berlin" },
    });
    expect(plan.decisions.get("home_100")!.fallback.reason).toMatch(/sobald sie freigegeben ist/);
  });
});
