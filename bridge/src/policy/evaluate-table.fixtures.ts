/**
 * The policy table: one row per situation a guest can be in, with the status, findings and
 * reasons the policy must give it. evaluate.test.ts runs every row, plain and with a GuestMemo.
 */
import { archive, attempt, type Case, D, dailyJob, guest, H, NOW, P0, P2 } from "./evaluate.fixtures.js";

const P0_RETENTION = { "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6 };
const noOffsite = { offsite: { targets: [], offsiteStorages: [] } };

export const cases: Case[] = [
  {
    name: "fresh archive, covered → ok",
    archives: [archive(100, 5 * H)],
    expect: { status: "ok", problem: false, findings: [], changes_at: new Date(NOW - 5 * H + 26 * H).toISOString() },
  },
  {
    name: "no archive ever → missing, problem",
    expect: {
      status: "missing",
      problem: true,
      status_key: "status.missing",
      reasons: ["No backup of this guest exists on any storage."],
    },
  },
  {
    name: "P0 archive 27h old → stale",
    archives: [archive(100, 27 * H)],
    expect: {
      status: "stale",
      problem: true,
      status_key: "status.stale",
      reasons: ["The newest backup is from Wed 25 Nov, 09:00, older than tier P0 allows (1 day and 2 hours)."],
    },
  },
  {
    name: "German, Europe/Berlin: the same stale archive in German words and Berlin time",
    archives: [archive(100, 27 * H)],
    config: { words: { language: "de", timeZone: "Europe/Berlin" } },
    expect: {
      status: "stale",
      problem: true,
      status_key: "status.stale",
      reasons: [
        "Die neueste Sicherung ist vom Mi., 25. Nov., 10:00 Uhr und älter, als Stufe P0 erlaubt (1 Tag und 2 Stunden).",
      ],
    },
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
    expect: {
      status: "failed",
      problem: true,
      status_key: "status.failed",
      reasons: [
        "The last backup attempt, on Thu 26 Nov, 10:00, failed: got timeout. The newest good backup is from Wed 25 Nov, 06:00.",
      ],
    },
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
    expect: {
      status: "failed",
      status_key: "status.failed.none",
      reasons: ["The last backup attempt, on Thu 26 Nov, 10:00, failed: max backup limit. No good backup exists."],
    },
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
    expect: {
      status: "unknown",
      problem: false,
      status_key: "status.unknown.unreachable",
      reasons: ["Proxmox source pve can't be reached: ECONNREFUSED."],
    },
  },
  {
    name: "source degraded (malformed JSON) → unknown",
    evidence: { sources: [{ name: "pve", kind: "proxmox", up: true, degraded: true, error: "bad JSON" }] },
    expect: {
      status: "unknown",
      status_key: "status.unknown.unreadable",
      reasons: ["Proxmox source pve answered, but the answer could not be read: bad JSON."],
    },
  },
  {
    name: "permission trap: hidden backups → unknown naming privilege",
    evidence: {
      visibility: [
        { source: "pve", vmid: 100, reason: "token may not see backups of VM 100: needs VM.Backup on /vms/100" },
      ],
    },
    expect: {
      status: "unknown",
      problem: false,
      status_key: "status.unknown.hidden",
      reasons: ["token may not see backups of VM 100: needs VM.Backup on /vms/100"],
    },
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
      finding_phrases: [{ key: "unprotected.disabled", params: { count: 1, jobs: ["backup-p0-daily"] } }],
      reasons: ["Backup job backup-p0-daily selects this guest but is disabled."],
    },
  },
  {
    name: "two jobs disabled → unprotected naming both, in the plural",
    jobs: [dailyJob([100], { enabled: false, id: "a" }), dailyJob([100], { enabled: false, id: "b" })],
    archives: [archive(100, 1 * H)],
    expect: {
      status: "ok",
      findings: ["unprotected"],
      reasons: ["Backup jobs a and b select this guest but are disabled."],
    },
  },
  {
    name: "no job at all → unprotected",
    jobs: [],
    archives: [archive(100, 1 * H)],
    expect: {
      status: "ok",
      problem: true,
      findings: ["unprotected"],
      finding_phrases: [{ key: "unprotected", params: {} }],
      reasons: ["No scheduled backup job selects this guest."],
    },
  },
  {
    name: "weekly job for a P0 guest → unprotected (too rare)",
    jobs: [dailyJob([100], { schedule: "sun 03:00" })],
    archives: [archive(100, 1 * H)],
    expect: {
      findings: ["unprotected"],
      status: "ok",
      finding_phrases: [
        {
          key: "unprotected.too_rare",
          params: { job: "daily", every: 7 * D, schedule: "sun 03:00", tier: "P0", max: 26 * H },
        },
      ],
      reasons: [
        "Job daily runs only every 7 days (sun 03:00); tier P0 needs a backup at least every 1 day and 2 hours.",
      ],
    },
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
    name: "job keeps fewer backups than the tier (daily 7 + weekly 4 vs P0's + monthly 6) → retention_short",
    jobs: [dailyJob([100], { pruneBackups: { "keep-daily": 7, "keep-weekly": 4 } })],
    archives: [archive(100, 1 * H)],
    expect: {
      status: "ok",
      findings: ["retention_short"],
      problem: true,
      finding_phrases: [
        {
          key: "retention_short",
          params: {
            job: "daily",
            tier: "P0",
            keeps: { "keep-daily": 7, "keep-weekly": 4 },
            wants: P0_RETENTION,
            missing: { "keep-monthly": 6 },
          },
        },
      ],
      reasons: [
        "Job daily keeps 7 daily and 4 weekly backups; tier P0 wants 7 daily, 4 weekly and 6 monthly backups, so 6 monthly backups would be lost.",
      ],
    },
  },
  {
    name: "job keeps only the 3 newest (keep-last=3) → retention_short, every tier option short",
    jobs: [dailyJob([100], { pruneBackups: { "keep-last": 3 } })],
    archives: [archive(100, 1 * H)],
    expect: {
      status: "ok",
      findings: ["retention_short"],
      problem: true,
      finding_phrases: [
        {
          key: "retention_short",
          params: {
            job: "daily",
            tier: "P0",
            keeps: { "keep-last": 3 },
            wants: P0_RETENTION,
            missing: { "keep-daily": 4, "keep-weekly": 4, "keep-monthly": 6 },
          },
        },
      ],
    },
  },
  {
    name: "job keeps more than the tier (daily 7 + weekly 4 vs P2's weekly 4) → no finding",
    guests: [P2()],
    jobs: [dailyJob([100], { pruneBackups: { "keep-daily": 7, "keep-weekly": 4 } })],
    archives: [archive(100, 1 * H)],
    expect: { status: "ok", problem: false, findings: [], reasons: [] },
  },
  {
    name: "job without prune-backups, its storage's retention short → retention_short.storage",
    guests: [P2()],
    jobs: [dailyJob([100], { pruneBackups: undefined })],
    evidence: { storagePrune: { "pve/local": { "keep-weekly": 2 } } },
    archives: [archive(100, 1 * H)],
    expect: {
      status: "ok",
      problem: true,
      findings: ["retention_short"],
      finding_phrases: [
        {
          key: "retention_short.storage",
          params: {
            job: "daily",
            storage: "local",
            tier: "P2",
            keeps: { "keep-weekly": 2 },
            wants: { "keep-weekly": 4 },
            missing: { "keep-weekly": 2 },
          },
        },
      ],
      reasons: [
        "Job daily has no retention of its own; storage local keeps 2 weekly backups, but tier P2 wants 4 weekly backups, so 2 weekly backups would be lost.",
      ],
    },
  },
  {
    name: "job and storage without prune-backups: PVE keeps everything → no finding",
    guests: [P2()],
    jobs: [dailyJob([100], { pruneBackups: undefined })],
    archives: [archive(100, 1 * H)],
    expect: { status: "ok", problem: false, findings: [] },
  },
  {
    name: "no tier → untiered, never a problem",
    guests: [guest(100)],
    expect: {
      status: "missing",
      tier: null,
      problem: false,
      findings: ["untiered"],
      reasons: [
        "No tier is assigned: give it one under guests in the config, or tag it backup-p0, backup-p1, backup-p2 or nobackup in Proxmox.",
      ],
    },
  },
  {
    name: "tag nobackup → excluded, never a problem",
    guests: [guest(100, { tags: ["nobackup"] })],
    expect: {
      status: "missing",
      tier: "none",
      problem: false,
      findings: ["excluded"],
      reasons: ["Deliberately not backed up (tier none)."],
    },
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
    // The default job keeps P0's retention, more than P1 wants.
    expect: { tier: "P1", status: "ok", findings: [] },
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
    expect: {
      status: "missing",
      status_key: "status.missing.unverified",
      reasons: ["No good backup: the only archive failed verification."],
    },
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
  {
    name: "3-2-1: P2 wants one copy, its only archive is too old → stale and too_few_copies, none found",
    guests: [P2()],
    jobs: [dailyJob([100], { schedule: "sun 03:00", pruneBackups: { "keep-weekly": 4 } })],
    archives: [archive(100, 9 * D)],
    evidence: noOffsite,
    expect: {
      status: "stale",
      findings: ["too_few_copies"],
      finding_phrases: [{ key: "too_few_copies", params: { tier: "P2", want: 1, max: 8 * D, found: 0, counted: [] } }],
      reasons: [
        "The newest backup is from Tue 17 Nov, 12:00, older than tier P2 allows (8 days).",
        "Tier P2 wants 1 copy no older than 8 days; none was found.",
      ],
    },
  },
  {
    name: "3-2-1: P1 wants two copies, one storage holds one → too_few_copies naming it",
    guests: [guest(100, { tags: ["backup-p1"] })],
    archives: [archive(100, 5 * H)],
    evidence: noOffsite,
    expect: {
      status: "ok",
      findings: ["too_few_copies"],
      reasons: [
        "Tier P1 wants 2 copies no older than 1 day and 2 hours; only 1 was found: the archive of Thu 26 Nov, 07:00 on storage local.",
      ],
    },
  },
];
