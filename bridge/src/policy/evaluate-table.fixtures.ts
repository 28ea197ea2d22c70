/**
 * The policy table: one row per situation a guest can be in, with the status, findings and
 * reasons the policy must give it. evaluate.test.ts runs every row, plain and with a GuestMemo.
 */
import { archive, attempt, type Case, D, dailyJob, guest, H, NOW, P0, P2 } from "./evaluate.fixtures.js";

export const cases: Case[] = [
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
