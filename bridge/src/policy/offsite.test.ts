import { describe, expect, it } from "vitest";
import { evaluate } from "./evaluate.js";
import { evaluateCopies, hyperBackupHealth, pbsRunStateOk, type HyperBackupTaskFacts } from "./offsite.js";
import { resolveTiers } from "../config/tiers.js";
import type { Archive, BackupJob, CopyTarget, Evidence, GuestInfo, OffsiteEvidence } from "../evidence.js";
import { archiveSet } from "../archive-set.js";
import type { ParamValue } from "../words/phrase.js";
import type { RenderOptions } from "../words/render.js";
import { reasonFlaws } from "./evaluate.fixtures.js";

const H = 3_600_000;
const D = 24 * H;
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const tiers = resolveTiers(undefined);
const words: RenderOptions = { language: "en", timeZone: "UTC" };

const guest = (vmid: number, tag: string): GuestInfo => ({
  source: "pve",
  vmid,
  name: `g${vmid}`,
  type: "qemu",
  node: "n1",
  tags: [tag],
  template: false,
});
const archive = (ageMs: number, storage = "synology", extra: Partial<Archive> = {}): Archive => ({
  source: "pve",
  volid: `${storage}:backup/vzdump-qemu-100-${NOW - ageMs}.vma.zst`,
  storage,
  vmid: 100,
  ctimeMs: NOW - ageMs,
  size: 1000,
  format: "vma.zst",
  protected: false,
  ...extra,
});
const hb = (lastSuccessAgoMs: number | null, extra: Partial<CopyTarget> = {}): CopyTarget => ({
  kind: "hyperbackup",
  source: "nas",
  id: "5",
  label: "Hyper Backup task 'PVE to C2' on nas",
  labelPhrase: { key: "target.hyperbackup", params: { task: "PVE to C2", nas: "nas" } },
  storages: ["synology"],
  offsite: true,
  lastSuccessMs: lastSuccessAgoMs === null ? null : NOW - lastSuccessAgoMs,
  readable: true,
  ...extra,
});
const sync = (lastRunAgoMs: number | null, extra: Partial<CopyTarget> = {}): CopyTarget => ({
  kind: "pbs_sync",
  source: "pbs",
  id: "s-offsite",
  label: "PBS sync job 's-offsite' (pbs/store1 → hetzner/store1)",
  labelPhrase: { key: "target.pbs_sync", params: { job: "s-offsite", from: "pbs/store1", to: "hetzner/store1" } },
  storages: ["pbs"],
  offsite: true,
  lastSuccessMs: lastRunAgoMs === null ? null : NOW - lastRunAgoMs,
  readable: true,
  ...extra,
});
const job = (
  storage = "synology",
  prune: Record<string, number> = { "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6 },
): BackupJob => ({
  source: "pve",
  id: "daily",
  enabled: true,
  schedule: "02:00",
  nextRunMs: NOW + 14 * H,
  vmids: [100],
  storage,
  pruneBackups: prune,
});

interface Case {
  name: string;
  tag?: string;
  archives: Archive[];
  offsite?: OffsiteEvidence;
  expect: {
    findings: string[];
    copies: number | null;
    last_offsite?: string | null;
    problem?: boolean;
    reason?: RegExp;
    /** Exactly these reasons, in order. */
    reasons?: string[];
    /** The findings as phrases (key and params), in order. */
    finding_phrases?: { key: string; params: Record<string, ParamValue> }[];
  };
}
const off = (targets: CopyTarget[], offsiteStorages: string[] = []): OffsiteEvidence => ({ targets, offsiteStorages });

const cases: Case[] = [
  {
    name: "no off-site source configured → 3-2-1 not evaluated (copies null, no findings)",
    archives: [archive(5 * H)],
    offsite: undefined,
    expect: { findings: [], copies: null, last_offsite: null, problem: false },
  },
  {
    name: "P0: fresh local archive and nothing off-site → no_offsite + too_few_copies",
    archives: [archive(5 * H, "local")],
    offsite: off([]),
    expect: {
      findings: ["no_offsite", "too_few_copies"],
      copies: 1,
      problem: true,
      finding_phrases: [
        {
          key: "no_offsite",
          params: {
            tier: "P0",
            max: 26 * H,
            why: [{ key: "offsite.nothing", params: { count: 1, storages: ["local"] } }],
          },
        },
        {
          key: "too_few_copies",
          params: {
            tier: "P0",
            want: 2,
            max: 26 * H,
            found: 1,
            counted: [{ key: "copy.storage", params: { at: new Date(NOW - 5 * H).toISOString(), storage: "local" } }],
          },
        },
      ],
      reasons: [
        "Tier P0 wants an off-site copy of a backup no older than 1 day and 2 hours: nothing copies storage local off-site (a Hyper Backup task, a PBS sync job or an off-site PBS would).",
        "Tier P0 wants 2 copies no older than 1 day and 2 hours; only 1 was found: the archive of Thu 26 Nov, 07:00 on storage local.",
      ],
    },
  },
  {
    name: "P0: Hyper Backup succeeded after the archive → off-site copy, 2 copies, ok",
    archives: [archive(5 * H)],
    offsite: off([hb(3 * H)]),
    expect: { findings: [], copies: 2, last_offsite: new Date(NOW - 3 * H).toISOString(), problem: false },
  },
  {
    name: "P0: Hyper Backup last success before the archive → not a copy",
    archives: [archive(5 * H)],
    offsite: off([hb(6 * H)]),
    expect: {
      findings: ["no_offsite", "too_few_copies"],
      copies: 1,
      reason:
        /^Tier P0 wants an off-site copy of a backup no older than 1 day and 2 hours: Hyper Backup task “PVE to C2” on nas last succeeded on Thu 26 Nov, 06:00, before the newest archive on storage synology \(from Thu 26 Nov, 07:00\)\.$/m,
    },
  },
  {
    name: "P0: Hyper Backup before the newest but after an older, still fresh archive → that copy counts",
    archives: [archive(2 * H), archive(20 * H)],
    offsite: off([hb(10 * H)]),
    expect: { findings: [], copies: 2, last_offsite: new Date(NOW - 10 * H).toISOString() },
  },
  {
    name: "P0: the copy holds only an archive older than max_age → no_offsite, but last_offsite is still set",
    archives: [archive(2 * H), archive(30 * H)],
    offsite: off([hb(28 * H)]),
    expect: {
      findings: ["no_offsite", "too_few_copies"],
      copies: 1,
      last_offsite: new Date(NOW - 28 * H).toISOString(),
      reasons: [
        "Tier P0 wants an off-site copy of a backup no older than 1 day and 2 hours: Hyper Backup task “PVE to C2” on nas last succeeded on Wed 25 Nov, 08:00, and the archive it holds (from Wed 25 Nov, 06:00) is older than the tier allows.",
        "Tier P0 wants 2 copies no older than 1 day and 2 hours; only 1 was found: the archive of Thu 26 Nov, 10:00 on storage synology.",
      ],
    },
  },
  {
    name: 'P0: Hyper Backup never succeeded ("" → null) → no_offsite naming it',
    archives: [archive(5 * H)],
    offsite: off([hb(null)]),
    expect: {
      findings: ["no_offsite", "too_few_copies"],
      copies: 1,
      reason: /: Hyper Backup task “PVE to C2” on nas has never succeeded\.$/m,
    },
  },
  {
    name: "a target without a phrase is named by its label",
    archives: [archive(5 * H)],
    offsite: off([hb(null, { labelPhrase: undefined })]),
    expect: {
      findings: ["no_offsite", "too_few_copies"],
      copies: 1,
      reason: /: Hyper Backup task 'PVE to C2' on nas has never succeeded\.$/m,
    },
  },
  {
    name: "P0: Hyper Backup task protects another storage → not a copy of this guest",
    archives: [archive(5 * H)],
    offsite: off([hb(1 * H, { storages: ["nfs-other"] })]),
    expect: {
      findings: ["no_offsite", "too_few_copies"],
      copies: 1,
      reason: /: nothing copies storage synology off-site \(/,
    },
  },
  {
    name: "P0: target not off-site (USB) → a copy, but not off-site",
    archives: [archive(5 * H)],
    offsite: off([hb(1 * H, { offsite: false })]),
    expect: { findings: ["no_offsite"], copies: 2, last_offsite: null },
  },
  {
    name: "P0: PBS sync job after the snapshot → off-site copy",
    archives: [archive(6 * H, "pbs")],
    offsite: off([sync(4 * H)]),
    expect: { findings: [], copies: 2, last_offsite: new Date(NOW - 4 * H).toISOString() },
  },
  {
    name: "P0: PBS sync job before the snapshot → not a copy",
    archives: [archive(6 * H, "pbs")],
    offsite: off([sync(7 * H)]),
    expect: { findings: ["no_offsite", "too_few_copies"], copies: 1 },
  },
  {
    name: "P0: sync job whose last run failed (no success known) → not a copy",
    archives: [archive(6 * H, "pbs")],
    offsite: off([sync(null)]),
    expect: {
      findings: ["no_offsite", "too_few_copies"],
      copies: 1,
      reason: /: PBS sync job s-offsite \(pbs\/store1 → hetzner\/store1\) has never succeeded\.$/m,
    },
  },
  {
    name: "P0: datastore on an off-site PBS is itself the off-site copy",
    archives: [archive(5 * H, "local"), archive(6 * H, "pbs-remote")],
    offsite: off([], ["pbs-remote"]),
    expect: { findings: [], copies: 2, last_offsite: new Date(NOW - 6 * H).toISOString() },
  },
  {
    name: "min_copies counts distinct storages: two fresh local storages = 2 copies (no off-site)",
    archives: [archive(5 * H, "local"), archive(6 * H, "synology")],
    offsite: off([]),
    expect: { findings: ["no_offsite"], copies: 2 },
  },
  {
    name: "min_copies: two archives on the same storage are one copy",
    archives: [archive(5 * H, "local"), archive(20 * H, "local")],
    offsite: off([]),
    expect: { findings: ["no_offsite", "too_few_copies"], copies: 1 },
  },
  {
    name: "min_copies: an archive older than max_age on a second storage is not a copy",
    archives: [archive(5 * H, "synology"), archive(8 * D, "local")],
    offsite: off([hb(1 * H)]),
    expect: { findings: [], copies: 2 },
  },
  {
    name: "failed PBS verification is not a copy",
    archives: [archive(5 * H, "local"), archive(4 * H, "pbs", { verification: "failed" })],
    offsite: off([sync(1 * H)]),
    expect: { findings: ["no_offsite", "too_few_copies"], copies: 1 },
  },
  {
    name: "P1 (no off-site wanted): one Hyper Backup copy meets min_copies 2",
    tag: "backup-p1",
    archives: [archive(5 * H)],
    offsite: off([hb(3 * H)]),
    expect: { findings: [], copies: 2 },
  },
  {
    name: "P1: single copy → too_few_copies only",
    tag: "backup-p1",
    archives: [archive(5 * H, "local")],
    offsite: off([]),
    expect: {
      findings: ["too_few_copies"],
      copies: 1,
      reasons: [
        "Tier P1 wants 2 copies no older than 1 day and 2 hours; only 1 was found: the archive of Thu 26 Nov, 07:00 on storage local.",
      ],
    },
  },
  {
    name: "P2 (min 1, no off-site): one local archive is enough",
    tag: "backup-p2",
    archives: [archive(2 * D, "local")],
    offsite: off([]),
    expect: { findings: [], copies: 1 },
  },
  {
    name: "NAS unreachable → copies through it unknown: no finding guessed",
    archives: [archive(5 * H)],
    offsite: off([hb(null, { readable: false })]),
    expect: { findings: [], copies: 1, problem: false },
  },
  {
    name: "excluded guest: never a 3-2-1 finding",
    tag: "nobackup",
    archives: [archive(5 * H, "local")],
    offsite: off([]),
    expect: { findings: ["excluded"], copies: null },
  },
  {
    name: "missing guest: no archive, no 3-2-1 finding on top of missing",
    archives: [],
    offsite: off([hb(1 * H)]),
    expect: { findings: [], copies: 0 },
  },
  {
    name: "one target, two storages: counted once",
    archives: [archive(5 * H, "synology"), archive(6 * H, "local")],
    offsite: off([hb(1 * H, { storages: ["synology", "local"] })]),
    expect: { findings: [], copies: 3 },
  },
];

function run(c: Case) {
  const evidence: Evidence = {
    sources: [{ name: "pve", kind: "proxmox", up: true, degraded: false }],
    guests: [guest(100, c.tag ?? "backup-p0")],
    archives: archiveSet(c.archives),
    attempts: [],
    jobs: [
      job(
        c.archives[0]?.storage ?? "synology",
        c.tag === "backup-p1"
          ? { "keep-daily": 7, "keep-weekly": 4 }
          : c.tag === "backup-p2"
            ? { "keep-weekly": 4 }
            : undefined,
      ),
    ],
    jobsReadable: { pve: false },
    visibility: [],
    ...(c.offsite ? { offsite: c.offsite } : {}),
  };
  return evaluate({ site: "home", tiers, guestTiers: {}, overrides: {}, evidence, now: NOW }).guests[0]!;
}

describe("3-2-1 table", () => {
  for (const c of cases) {
    it(c.name, () => {
      const g = run(c);
      expect(g.findings.map((f) => f.code)).toEqual(c.expect.findings);
      expect(g.copies).toBe(c.expect.copies);
      if (c.expect.last_offsite !== undefined) expect(g.last_offsite).toBe(c.expect.last_offsite);
      if (c.expect.problem !== undefined) expect(g.problem).toBe(c.expect.problem);
      if (c.expect.reason) expect(g.reasons.join("\n")).toMatch(c.expect.reason);
      if (c.expect.reasons) expect(g.reasons).toEqual(c.expect.reasons);
      if (c.expect.finding_phrases)
        expect(g.findings.map((f) => ({ key: f.key, params: f.params }))).toEqual(c.expect.finding_phrases);
    });
  }
  it("has at least 15 cases", () => expect(cases.length).toBeGreaterThanOrEqual(15));

  it("every row: reasons are sentences (no 'code:' prefix, no ISO timestamp, no '1 copies')", () => {
    const flaws = cases.flatMap((c) => {
      const g = run(c);
      return reasonFlaws([g.status_reason, ...g.reasons]).map((f) => `${c.name}: ${f}`);
    });
    expect(flaws).toEqual([]);
  });

  it("an off-site storage holding only an archive older than max_age is named in no_offsite (not an empty storage list)", () => {
    const r = evaluateCopies([archive(30 * H, "pbs-remote")], tiers.P0!, off([], ["pbs-remote"]), NOW, words);
    const f = r.findings.find((x) => x.code === "no_offsite")!;
    expect(f.params.why).toEqual([
      {
        key: "offsite.storage_too_old",
        params: { storage: "pbs-remote", archive: new Date(NOW - 30 * H).toISOString() },
      },
    ]);
    expect(f.reason).toBe(
      "Tier P0 wants an off-site copy of a backup no older than 1 day and 2 hours: the newest archive on off-site storage pbs-remote (from Wed 25 Nov, 06:00) is older than the tier allows.",
    );
  });

  it("the copy-expiry instant is the guest's next change (changes_at) when it comes before the status deadline", () => {
    const r = evaluateCopies([archive(2 * H), archive(20 * H, "local")], tiers.P0!, off([]), NOW, words);
    expect(r.changesAt).toBe(NOW - 20 * H + 26 * H);
    const evidence: Evidence = {
      sources: [{ name: "pve", kind: "proxmox", up: true, degraded: false }],
      guests: [guest(100, "backup-p1")],
      archives: archiveSet([archive(2 * H), archive(20 * H, "local")]),
      attempts: [],
      jobs: [],
      jobsReadable: { pve: false },
      visibility: [],
      offsite: off([]),
    };
    const res = evaluate({ site: "home", tiers, guestTiers: {}, overrides: {}, evidence, now: NOW });
    expect(res.nextChangeMs).toBe(NOW + 6 * H);
    // changes_at is the same instant the engine wakes at (it used to leave the 3-2-1 deadline out).
    expect(res.guests[0]!.changes_at).toBe(new Date(NOW + 6 * H).toISOString());
    // After the local archive ages out, P1 has one copy.
    const later = evaluate({ site: "home", tiers, guestTiers: {}, overrides: {}, evidence, now: NOW + 6 * H });
    expect(later.guests[0]!.findings.map((f) => f.code)).toEqual(["too_few_copies"]);
  });

  it("source unreadable → no 3-2-1 evaluation", () => {
    const evidence: Evidence = {
      sources: [{ name: "pve", kind: "proxmox", up: false, degraded: false }],
      guests: [guest(100, "backup-p0")],
      archives: archiveSet([archive(2 * H)]),
      attempts: [],
      jobs: [],
      jobsReadable: { pve: false },
      visibility: [],
      offsite: off([]),
    };
    const g = evaluate({ site: "home", tiers, guestTiers: {}, overrides: {}, evidence, now: NOW }).guests[0]!;
    expect(g.copies).toBeNull();
    expect(g.findings).toEqual([]);
  });
});

describe("Hyper Backup task health", () => {
  const base: HyperBackupTaskFacts = {
    state: "backupable",
    status: "none",
    lastResult: "done",
    lastAttemptMs: NOW - 3 * H,
    lastSuccessMs: NOW - 3 * H,
    errorCode: 4401,
    error: "",
  };
  const cases: [string, Partial<HyperBackupTaskFacts> | null, boolean, string, string][] = [
    [
      "healthy task with error code 4401 → ok",
      {},
      true,
      "ok",
      "The last success was on Thu 26 Nov, 09:00; without a newer one the task turns stale on Fri 27 Nov, 11:00.",
    ],
    [
      "NAS unreachable → unknown, never stale",
      { lastSuccessMs: NOW - 30 * D },
      false,
      "unknown",
      "The NAS can't be reached, or its answer could not be read.",
    ],
    [
      "restore_only (target broken, 4467) → broken",
      { state: "restore_only", errorCode: 4467, error: "SYNO.SDS.Backup.Application:error:status_target_broken" },
      true,
      "broken",
      "The task is in state restore_only: SYNO.SDS.Backup.Application:error:status_target_broken (code 4467).",
    ],
    [
      "status backup → running",
      { status: "backup", lastResult: "backingup" },
      true,
      "running",
      "The task is running (backup).",
    ],
    [
      "integrity check running (detect) → running",
      { status: "detect" },
      true,
      "running",
      "The task is running (detect).",
    ],
    ["unknown failure string → failed", { lastResult: "error" }, true, "failed", "The last run ended with error."],
    [
      "failed with an error text and code → both named",
      { lastResult: "error", error: "target offline", errorCode: 4402 },
      true,
      "failed",
      "The last run ended with error: target offline (code 4402).",
    ],
    ["suspended → failed", { lastResult: "suspend" }, true, "failed", "The last run ended with suspend."],
    [
      "never completed → never",
      { lastResult: "none", lastSuccessMs: null, lastAttemptMs: null },
      true,
      "never",
      "The task has never completed a backup.",
    ],
    [
      "last attempt fresh but last success old → stale (success is what counts)",
      { lastAttemptMs: NOW - H, lastSuccessMs: NOW - 3 * D },
      true,
      "stale",
      "The last success was on Mon 23 Nov, 12:00, longer ago than allowed (1 day and 2 hours).",
    ],
  ];
  for (const [name, patch, readable, status, reason] of cases) {
    it(name, () => {
      const r = hyperBackupHealth(patch ? { ...base, ...patch } : null, readable, 26 * H, NOW, words);
      expect(r.status).toBe(status);
      expect(r.problem).toBe(!["ok", "running", "unknown"].includes(status));
      expect(r.phrase.key).toBe(`hyperbackup.${status}`);
      expect(r.reason).toBe(reason);
      expect(reasonFlaws([r.reason])).toEqual([]);
    });
  }
  it("speaks German in Berlin time", () => {
    const r = hyperBackupHealth(base, true, 26 * H, NOW, { language: "de", timeZone: "Europe/Berlin" });
    expect(r.reason).toBe(
      "Der letzte Erfolg war am Do., 26. Nov., 10:00 Uhr; ohne neueren gilt die Aufgabe ab Fr., 27. Nov., 12:00 Uhr als veraltet.",
    );
    expect(r.phrase).toEqual({
      key: "hyperbackup.ok",
      params: { last: new Date(NOW - 3 * H).toISOString(), until: new Date(NOW - 3 * H + 26 * H).toISOString() },
    });
  });
  it("PBS last-run-state is raw text: OK / WARNINGS: n are good, unknown is unknown, anything else failed", () => {
    expect(pbsRunStateOk("OK")).toBe(true);
    expect(pbsRunStateOk("WARNINGS: 2")).toBe(true);
    expect(pbsRunStateOk("unknown")).toBeNull();
    expect(pbsRunStateOk(undefined)).toBeNull();
    expect(pbsRunStateOk("verification failed - please check the log for details")).toBe(false);
  });
});
