import { describe, expect, it } from "vitest";
import { evaluate, GuestMemo, type PolicyInput } from "./evaluate.js";
import { resolveTiers } from "../config/tiers.js";
import type { Archive, BackupAttempt, BackupJob, Evidence, GuestInfo } from "../evidence.js";
import { archiveSet } from "../archive-set.js";

const H = 3_600_000;
const D = 24 * H;
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const tiers = resolveTiers(undefined);

const guest = (vmid: number, extra: Partial<GuestInfo> = {}): GuestInfo => ({
  source: "pve",
  vmid,
  name: `g${vmid}`,
  type: "qemu",
  node: "n1",
  tags: [],
  template: false,
  ...extra,
});
const archive = (vmid: number, ageMs: number, extra: Partial<Archive> = {}): Archive => ({
  source: "pve",
  volid: `local:backup/vzdump-qemu-${vmid}-${NOW - ageMs}.vma.zst`,
  storage: "local",
  vmid,
  ctimeMs: NOW - ageMs,
  size: 1000 + vmid,
  format: "vma.zst",
  protected: false,
  ...extra,
});
const attempt = (vmid: number, ageMs: number, result: BackupAttempt["result"], error?: string): BackupAttempt => ({
  source: "pve",
  vmid,
  upid: `UPID:n1:00000001:00000001:${(NOW - ageMs).toString(16)}:vzdump::root@pam:`,
  node: "n1",
  startMs: NOW - ageMs,
  endMs: result === "running" ? undefined : NOW - ageMs + 60_000,
  result,
  ...(error ? { error } : {}),
});
const dailyJob = (vmids: number[], extra: Partial<BackupJob> = {}): BackupJob => ({
  source: "pve",
  id: "daily",
  enabled: true,
  schedule: "02:00",
  nextRunMs: NOW + 14 * H,
  vmids,
  storage: "local",
  pruneBackups: { "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6 },
  ...extra,
});

interface Case {
  name: string;
  guests?: GuestInfo[];
  archives?: Archive[];
  attempts?: BackupAttempt[];
  jobs?: BackupJob[];
  evidence?: Partial<Evidence>;
  config?: Partial<PolicyInput>;
  now?: number;
  expect: {
    status: string;
    problem?: boolean;
    tier?: string | null;
    findings?: string[];
    reason?: RegExp;
    last_backup?: string | null;
    changes_at?: string | null;
    next_backup?: string | null;
    archive_count?: number;
    running?: boolean;
  };
}

/** A case's inputs (the one-off checks below have no name). */
type Inputs = Omit<Case, "name" | "expect"> & { expect?: Case["expect"] };
function run(c: Inputs, memo?: GuestMemo) {
  return evaluate(input(c), memo);
}

function input(c: Inputs): PolicyInput {
  const evidence: Evidence = {
    sources: [{ name: "pve", kind: "proxmox", up: true, degraded: false }],
    guests: c.guests ?? [guest(100, { tags: ["backup-p0"] })],
    archives: archiveSet(c.archives ?? []),
    attempts: c.attempts ?? [],
    jobs: c.jobs ?? [dailyJob([100])],
    jobsReadable: { pve: true },
    visibility: [],
    ...c.evidence,
  };
  return { site: "home", tiers, guestTiers: {}, overrides: {}, evidence, now: c.now ?? NOW, ...c.config };
}

const P0 = (vmid = 100, extra: Partial<GuestInfo> = {}) => guest(vmid, { tags: ["backup-p0"], ...extra });
const P2 = (vmid = 100, extra: Partial<GuestInfo> = {}) => guest(vmid, { tags: ["backup-p2"], ...extra });

const cases: Case[] = [
  {
    name: "fresh archive, covered → ok",
    archives: [archive(100, 5 * H)],
    expect: { status: "ok", problem: false, findings: [], changes_at: new Date(NOW - 5 * H + 26 * H).toISOString() },
  },
  {
    name: "no archive ever → missing, problem",
    expect: { status: "missing", problem: true, reason: /no backup archive/ },
  },
  {
    name: "P0 archive 27h old → stale",
    archives: [archive(100, 27 * H)],
    expect: { status: "stale", problem: true, reason: /older than tier P0 allows \(1d 2h\); stale since 2026-/ },
  },
  {
    name: "P0 archive exactly at max_age → stale at the instant",
    archives: [archive(100, 26 * H)],
    expect: { status: "stale" },
  },
  {
    name: "P0 archive 1 ms before max_age → ok, changes at deadline",
    archives: [archive(100, 26 * H - 1)],
    expect: { status: "ok", changes_at: new Date(NOW + 1).toISOString() },
  },
  {
    name: "P2 archive 7 days old → ok",
    guests: [P2()],
    jobs: [dailyJob([100], { schedule: "sun 03:00", pruneBackups: { "keep-weekly": 4 } })],
    archives: [archive(100, 7 * D)],
    expect: { status: "ok", problem: false },
  },
  {
    name: "P2 archive 9 days old → stale",
    guests: [P2()],
    jobs: [dailyJob([100], { schedule: "sun 03:00", pruneBackups: { "keep-weekly": 4 } })],
    archives: [archive(100, 9 * D)],
    expect: { status: "stale" },
  },
  {
    name: "newest attempt failed, older good archive → failed",
    archives: [archive(100, 30 * H)],
    attempts: [attempt(100, 2 * H, "failed", "got timeout")],
    expect: { status: "failed", problem: true, reason: /got timeout/ },
  },
  {
    name: "failed attempt but newer good archive → ok",
    archives: [archive(100, 1 * H)],
    attempts: [attempt(100, 2 * H, "failed", "x")],
    expect: { status: "ok" },
  },
  {
    name: "failed attempt and no archive → failed beats missing",
    attempts: [attempt(100, 2 * H, "failed", "max backup limit")],
    expect: { status: "failed" },
  },
  {
    name: "WARNINGS attempt is a success: archive counts, ok",
    archives: [archive(100, 2 * H)],
    attempts: [attempt(100, 2 * H, "warnings")],
    expect: { status: "ok" },
  },
  {
    name: "running task → running (beats failed)",
    archives: [archive(100, 30 * H)],
    attempts: [attempt(100, 2 * H, "failed", "x"), attempt(100, 60_000, "running")],
    expect: { status: "running", running: true },
  },
  {
    name: "backup lock in resources → running",
    guests: [P0(100, { lock: "backup" })],
    archives: [archive(100, 5 * H)],
    expect: { status: "running", running: true },
  },
  {
    name: "source unreachable → unknown, not a problem",
    archives: [archive(100, 30 * H)],
    evidence: { sources: [{ name: "pve", kind: "proxmox", up: false, degraded: false, error: "ECONNREFUSED" }] },
    jobs: [],
    expect: { status: "unknown", problem: false, reason: /unreachable: ECONNREFUSED/ },
  },
  {
    name: "source degraded (malformed JSON) → unknown",
    evidence: { sources: [{ name: "pve", kind: "proxmox", up: true, degraded: true, error: "bad JSON" }] },
    expect: { status: "unknown", reason: /unreadable/ },
  },
  {
    name: "permission trap: hidden backups → unknown naming privilege",
    evidence: {
      visibility: [
        { source: "pve", vmid: 100, reason: "token may not see backups of VM 100: needs VM.Backup on /vms/100" },
      ],
    },
    expect: { status: "unknown", problem: false, reason: /VM\.Backup/ },
  },
  {
    name: "permission trap for another guest does not touch this one",
    evidence: { visibility: [{ source: "pve", vmid: 101, reason: "x" }] },
    archives: [archive(100, 1 * H)],
    expect: { status: "ok" },
  },
  {
    name: "source-wide visibility problem → unknown",
    evidence: { visibility: [{ source: "pve", reason: "storage local could not be listed" }] },
    expect: { status: "unknown" },
  },
  {
    name: "job disabled → unprotected naming the job",
    jobs: [dailyJob([100], { enabled: false, id: "backup-p0-daily" })],
    archives: [archive(100, 1 * H)],
    expect: {
      status: "ok",
      problem: true,
      findings: ["unprotected"],
      reason: /'backup-p0-daily' selects this guest but is disabled/,
    },
  },
  {
    name: "no job at all → unprotected",
    jobs: [],
    archives: [archive(100, 1 * H)],
    expect: { status: "ok", problem: true, findings: ["unprotected"], reason: /no scheduled backup job/ },
  },
  {
    name: "weekly job for a P0 guest → unprotected (too rare)",
    jobs: [dailyJob([100], { schedule: "sun 03:00" })],
    archives: [archive(100, 1 * H)],
    expect: { findings: ["unprotected"], status: "ok", reason: /every 7d/ },
  },
  {
    name: "all + exclude selects guest",
    jobs: [dailyJob([], { vmids: undefined, all: true, exclude: [101] })],
    archives: [archive(100, 1 * H)],
    expect: { status: "ok", findings: [] },
  },
  {
    name: "all + exclude leaves excluded guest unprotected",
    jobs: [dailyJob([], { vmids: undefined, all: true, exclude: [100] })],
    archives: [archive(100, 1 * H)],
    expect: { findings: ["unprotected"], status: "ok" },
  },
  {
    name: "pool job selects pool member",
    guests: [P0(100, { pool: "prod" })],
    jobs: [dailyJob([], { vmids: undefined, pool: "prod" })],
    archives: [archive(100, 1 * H)],
    expect: { findings: [], status: "ok" },
  },
  {
    name: "job bound to another node does not cover a migrated guest",
    guests: [P0(100, { node: "n2" })],
    jobs: [dailyJob([100], { node: "n1" })],
    archives: [archive(100, 1 * H)],
    expect: { findings: ["unprotected"], status: "ok" },
  },
  {
    name: "guest moved nodes: archives still count (identity is cluster+VMID)",
    guests: [P0(100, { node: "n2" })],
    archives: [archive(100, 1 * H)],
    expect: { status: "ok", last_backup: new Date(NOW - H).toISOString() },
  },
  {
    name: "retention differs from tier → retention_drift",
    jobs: [dailyJob([100], { pruneBackups: { "keep-last": 3 } })],
    archives: [archive(100, 1 * H)],
    expect: {
      status: "ok",
      findings: ["retention_drift"],
      problem: true,
      reason: /keeps keep-last=3; tier P0 wants keep-daily=7,keep-weekly=4,keep-monthly=6/,
    },
  },
  {
    name: "no tier → untiered, never a problem",
    guests: [guest(100)],
    expect: { status: "missing", tier: null, problem: false, findings: ["untiered"] },
  },
  {
    name: "tag nobackup → excluded, never a problem",
    guests: [guest(100, { tags: ["nobackup"] })],
    expect: { status: "missing", tier: "none", problem: false, findings: ["excluded"] },
  },
  {
    name: "config tier by VMID wins over tag",
    guests: [guest(100, { tags: ["backup-p2"] })],
    config: { guestTiers: { "100": "P0" } },
    archives: [archive(100, 27 * H)],
    expect: { status: "stale", tier: "P0" },
  },
  {
    name: "config tier by name",
    guests: [guest(100, { name: "vaultwarden" })],
    config: { guestTiers: { vaultwarden: "P1" } },
    archives: [archive(100, 1 * H)],
    expect: { tier: "P1", status: "ok", findings: ["retention_drift"] },
  },
  {
    name: "config tier none excludes a tagged guest",
    guests: [P0()],
    config: { guestTiers: { "100": "none" } },
    expect: { tier: "none", status: "missing", problem: false },
  },
  {
    name: "override from Home Assistant beats config",
    guests: [P0()],
    config: { guestTiers: { "100": "P0" }, overrides: { home_100: "P2" } },
    jobs: [dailyJob([100], { pruneBackups: { "keep-weekly": 4 } })],
    archives: [archive(100, 3 * D)],
    expect: { tier: "P2", status: "ok" },
  },
  {
    name: "tags are case-insensitive",
    guests: [guest(100, { tags: ["Backup-P1"] })],
    archives: [archive(100, 1 * H)],
    expect: { tier: "P1", status: "ok" },
  },
  { name: "templates are not guests", guests: [P0(100, { template: true }), P0(101)], expect: { status: "missing" } },
  {
    name: "PBS archive with failed verification is not a good backup",
    archives: [archive(100, 1 * H, { verification: "failed" })],
    expect: { status: "missing" },
  },
  {
    name: "next_backup from the enabled covering job",
    archives: [archive(100, 1 * H)],
    expect: { status: "ok", next_backup: new Date(NOW + 14 * H).toISOString() },
  },
  {
    name: "archive count and newest size",
    archives: [archive(100, 1 * H, { size: 42 }), archive(100, 25 * H), archive(100, 49 * H)],
    expect: { status: "ok", archive_count: 3 },
  },
  {
    name: "jobs unreadable (no Sys.Audit) → no unprotected finding guessed",
    evidence: { jobsReadable: { pve: false } },
    archives: [archive(100, 1 * H)],
    jobs: [],
    expect: { status: "ok", findings: [] },
  },
];

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
      if (c.expect.last_backup !== undefined) expect(g.last_backup).toBe(c.expect.last_backup);
      if (c.expect.changes_at !== undefined) expect(g.changes_at).toBe(c.expect.changes_at);
      if (c.expect.next_backup !== undefined) expect(g.next_backup).toBe(c.expect.next_backup);
      if (c.expect.archive_count !== undefined) expect(g.archive_count).toBe(c.expect.archive_count);
      if (c.expect.running !== undefined) expect(g.running).toBe(c.expect.running);
    });
  }

  it("has at least 30 cases", () => expect(cases.length).toBeGreaterThanOrEqual(30));
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

describe("policy result", () => {
  it("lists archives of guests that no longer exist as orphaned, without alarm", () => {
    const r = run({ archives: [archive(100, H), archive(999, 2 * D), archive(999, 3 * D)], expect: { status: "ok" } });
    expect(r.orphans).toEqual([
      { source: "pve", vmid: 999, archive_count: 2, last_backup: new Date(NOW - 2 * D).toISOString() },
    ]);
    expect(r.counts.problem).toBe(0);
  });

  it("nextChangeMs is the earliest stale deadline across guests", () => {
    const r = run({
      guests: [P0(100), P0(101)],
      jobs: [dailyJob([100, 101])],
      archives: [archive(100, 20 * H), archive(101, 10 * H)],
      expect: { status: "ok" },
    });
    expect(r.nextChangeMs).toBe(NOW - 20 * H + 26 * H);
  });

  it("is pure: time is a parameter", () => {
    const c: Case = { archives: [archive(100, 20 * H)], name: "", expect: { status: "ok" } };
    expect(run({ ...c, now: NOW }).guests[0]!.status).toBe("ok");
    expect(run({ ...c, now: NOW + 6 * H }).guests[0]!.status).toBe("stale");
  });

  it("counts statuses, problems and untiered guests", () => {
    const r = run({
      guests: [P0(100), P0(101), guest(102)],
      jobs: [dailyJob([100, 101])],
      archives: [archive(100, H), archive(101, 30 * H)],
      expect: { status: "ok" },
    });
    expect(r.counts).toMatchObject({ ok: 1, stale: 1, missing: 1, problem: 1, untiered: 1 });
  });

  it("with several clusters, ids carry the cluster name", () => {
    const r = run({
      evidence: {
        sources: [
          { name: "pve", kind: "proxmox", up: true, degraded: false },
          { name: "lab-2", kind: "proxmox", up: true, degraded: false },
        ],
        jobsReadable: { pve: true, "lab-2": true },
      },
      guests: [P0(100), { ...P0(100), source: "lab-2" }],
      expect: { status: "missing" },
    });
    expect(r.guests.map((g) => g.id)).toEqual(["home_lab_2_100", "home_pve_100"]);
  });
});
