import { describe, expect, it } from "vitest";
import { resolveTiers } from "../config/tiers.js";
import type { BackupAttempt, BackupJob, GuestInfo } from "../evidence.js";
import { render } from "../words/render.js";
import { run } from "./evaluate.fixtures.js";
import { JOB_GRACE_MS, type JobsDueState, jobMissedFindings, missedJobs, type MissedJob } from "./missed-jobs.js";
import { nextOccurrence, previousOccurrence } from "./occurrences.js";

const H = 3_600_000;
const M = 60_000;
const D = 24 * H;
/** Thu 3 Dec 2026, 12:00 UTC. */
const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const at = (iso: string) => Date.parse(iso);
const tiers = resolveTiers(undefined);
const words = { language: "en" as const, timeZone: "UTC" };

const guest = (vmid: number, node = "n1", extra: Partial<GuestInfo> = {}): GuestInfo => ({
  source: "pve",
  vmid,
  name: `g${vmid}`,
  type: "qemu",
  node,
  tags: [],
  template: false,
  ...extra,
});
const job = (extra: Partial<BackupJob> = {}): BackupJob => ({
  source: "pve",
  id: "backup-nightly",
  enabled: true,
  schedule: "02:00",
  vmids: [100, 101],
  ...extra,
});
const ran = (vmid: number, startMs: number, node = "n1"): BackupAttempt => ({
  source: "pve",
  vmid,
  upid: `UPID:${node}:00000001:00000001:${Math.floor(startMs / 1000).toString(16)}:vzdump::root@pam:`,
  node,
  startMs,
  endMs: startMs + 10 * M,
  result: "ok",
});
/** Watched since a week ago with this schedule. */
const watched = (schedule = "02:00", ranMs: Record<string, number> = {}): JobsDueState => ({
  "pve/backup-nightly": { schedule, sinceMs: NOW - 7 * D, dueMs: null, ranMs },
});

describe("previous and next occurrence of a calendar event", () => {
  const cases: [string, string, string, string | null, string | null][] = [
    // schedule, zone, at, previous, next
    ["02:00", "UTC", "2026-12-03T12:00:00Z", "2026-12-03T02:00:00Z", "2026-12-04T02:00:00Z"],
    ["02:00", "UTC", "2026-12-03T02:00:00Z", "2026-12-03T02:00:00Z", "2026-12-04T02:00:00Z"],
    ["02:00", "Europe/Berlin", "2026-12-03T12:00:00Z", "2026-12-03T01:00:00Z", "2026-12-04T01:00:00Z"],
    ["02:00 UTC", "Europe/Berlin", "2026-12-03T12:00:00Z", "2026-12-03T02:00:00Z", "2026-12-04T02:00:00Z"],
    // Thu 3 Dec 2026: the previous Sunday is 29 Nov
    ["sun 03:00", "UTC", "2026-12-03T12:00:00Z", "2026-11-29T03:00:00Z", "2026-12-06T03:00:00Z"],
    ["mon..fri 21:00", "UTC", "2026-12-05T12:00:00Z", "2026-12-04T21:00:00Z", "2026-12-07T21:00:00Z"],
    ["*/30", "UTC", "2026-12-03T12:10:00Z", "2026-12-03T12:00:00Z", "2026-12-03T12:30:00Z"],
    ["*-*-01 04:00", "UTC", "2026-12-03T12:00:00Z", "2026-12-01T04:00:00Z", "2027-01-01T04:00:00Z"],
    ["daily", "UTC", "2026-12-03T12:00:00Z", "2026-12-03T00:00:00Z", "2026-12-04T00:00:00Z"],
    // summer time in Berlin: 02:00 local is 00:00 UTC
    ["02:00", "Europe/Berlin", "2026-07-01T12:00:00Z", "2026-07-01T00:00:00Z", "2026-07-02T00:00:00Z"],
    ["2020-01-01 00:00", "UTC", "2026-12-03T12:00:00Z", null, null],
    ["not a schedule", "UTC", "2026-12-03T12:00:00Z", null, null],
  ];
  it.each(cases)("%s in %s at %s", (schedule, zone, now, prev, next) => {
    const p = previousOccurrence(schedule, at(now), zone);
    const n = nextOccurrence(schedule, at(now), zone);
    expect(p === null ? null : new Date(p).toISOString()).toBe(prev === null ? null : new Date(prev).toISOString());
    expect(n === null ? null : new Date(n).toISOString()).toBe(next === null ? null : new Date(next).toISOString());
  });
});

interface Row {
  name: string;
  jobs?: BackupJob[];
  guests?: GuestInfo[];
  attempts?: BackupAttempt[];
  state?: JobsDueState;
  offline?: string[];
  hidden?: string[];
  now?: number;
  jobsReadable?: boolean;
  up?: boolean;
  /** Expected: job id → nodes it missed and guests. */
  missed: { jobId: string; nodes: string[]; vmids: number[]; due?: string; repeat?: boolean }[];
}

const rows: Row[] = [
  {
    name: "due 02:00, nothing ran by 12:00 → missed on its node",
    state: watched(),
    missed: [{ jobId: "backup-nightly", nodes: ["n1"], vmids: [100, 101], due: "2026-12-03T02:00:00Z" }],
  },
  {
    name: "a task for one selected guest started at 02:00 → ran",
    state: watched(),
    attempts: [ran(100, at("2026-12-03T02:00:05Z"))],
    missed: [],
  },
  {
    name: "a task started 2 minutes early (clock skew, within the slack) → ran",
    state: watched(),
    attempts: [ran(101, at("2026-12-03T01:58:00Z"))],
    missed: [],
  },
  {
    name: "only yesterday's run → missed",
    state: watched(),
    attempts: [ran(100, at("2026-12-02T02:00:05Z"))],
    missed: [{ jobId: "backup-nightly", nodes: ["n1"], vmids: [100, 101] }],
  },
  {
    name: "a run remembered in the state (task history rotated away) → ran",
    state: watched("02:00", { n1: at("2026-12-03T02:00:05Z") }),
    missed: [],
  },
  {
    name: "a task of a guest the job does not select does not count",
    state: watched(),
    attempts: [ran(102, at("2026-12-03T02:00:05Z"))],
    guests: [guest(100), guest(101), guest(102)],
    missed: [{ jobId: "backup-nightly", nodes: ["n1"], vmids: [100, 101] }],
  },
  {
    name: "two nodes, one ran → missed on the other only",
    state: watched(),
    guests: [guest(100, "n1"), guest(101, "n2")],
    attempts: [ran(100, at("2026-12-03T02:00:05Z"), "n1")],
    missed: [{ jobId: "backup-nightly", nodes: ["n2"], vmids: [101] }],
  },
  {
    name: "within the grace (02:30) → not yet; yesterday's due instant ran",
    state: watched(),
    now: at("2026-12-03T02:30:00Z"),
    attempts: [ran(100, at("2026-12-02T02:00:05Z"))],
    missed: [],
  },
  {
    name: "first seen now (no state), no scheduled run in the history: a due instant before the bridge knew the job is not judged",
    missed: [],
  },
  {
    name: "first seen now, but the history shows its scheduled runs (02:00 the two nights before) → today's missed run is reported",
    attempts: [ran(100, at("2026-12-01T02:00:20Z")), ran(100, at("2026-12-02T02:00:20Z"))],
    missed: [{ jobId: "backup-nightly", nodes: ["n1"], vmids: [100, 101], due: "2026-12-03T02:00:00Z" }],
  },
  {
    name: "first seen a minute ago before any task history was read; the history read since shows its scheduled runs → reported",
    state: { "pve/backup-nightly": { schedule: "02:00", sinceMs: NOW - M, dueMs: null, ranMs: {} } },
    attempts: [ran(101, at("2026-12-02T02:01:00Z"))],
    missed: [{ jobId: "backup-nightly", nodes: ["n1"], vmids: [100, 101] }],
  },
  {
    name: "first seen now, the guest's older backups were at other times (another job, by hand) → not judged",
    attempts: [ran(100, at("2026-12-01T14:30:00Z")), ran(100, at("2026-12-02T09:00:00Z"))],
    missed: [],
  },
  {
    name: "the schedule changed: starts over",
    state: watched("03:00"),
    missed: [],
  },
  { name: "disabled job → never missed", state: watched(), jobs: [job({ enabled: false })], missed: [] },
  { name: "jobs not readable → not judged", state: watched(), jobsReadable: false, missed: [] },
  { name: "source down → not judged", state: watched(), up: false, missed: [] },
  {
    name: "repeat-missed, node offline → keeps waiting",
    state: watched(),
    jobs: [job({ repeatMissed: true })],
    offline: ["n1"],
    missed: [],
  },
  {
    name: "repeat-missed, node online and nothing ran → missed, says it repeats",
    state: watched(),
    jobs: [job({ repeatMissed: true })],
    missed: [{ jobId: "backup-nightly", nodes: ["n1"], vmids: [100, 101], repeat: true }],
  },
  {
    name: "no repeat-missed, node offline → missed",
    state: watched(),
    offline: ["n1"],
    missed: [{ jobId: "backup-nightly", nodes: ["n1"], vmids: [100, 101] }],
  },
  {
    name: "the token may not see other users' tasks on the node (no Sys.Audit on /nodes/n1) → not judged there",
    state: watched(),
    guests: [guest(100, "n1"), guest(101, "n2")],
    hidden: ["n1"],
    missed: [{ jobId: "backup-nightly", nodes: ["n2"], vmids: [101] }],
  },
  {
    name: "a weekly job due Sunday, ran Sunday → fine on Thursday",
    state: watched("sun 03:00"),
    jobs: [job({ schedule: "sun 03:00" })],
    attempts: [ran(100, at("2026-11-29T03:00:10Z"))],
    missed: [],
  },
  {
    name: "a job selecting all guests minus one, one node",
    state: watched(),
    jobs: [job({ vmids: undefined, all: true, exclude: [101] })],
    missed: [{ jobId: "backup-nightly", nodes: ["n1"], vmids: [100] }],
  },
];

describe("missed jobs (table)", () => {
  it.each(rows)("$name", (r) => {
    const out = missedJobs({
      jobs: r.jobs ?? [job()],
      jobsReadable: { pve: r.jobsReadable ?? true },
      readable: () => r.up ?? true,
      guests: r.guests ?? [guest(100), guest(101)],
      attempts: r.attempts ?? [],
      offlineNodes: { pve: r.offline ?? [] },
      hiddenTaskNodes: { pve: r.hidden ?? [] },
      state: r.state ?? {},
      now: r.now ?? NOW,
      timeZone: "UTC",
    });
    expect(
      out.missed.map((m) => ({
        jobId: m.jobId,
        nodes: m.nodes,
        vmids: m.vmids,
        ...(r.missed.find((x) => x.jobId === m.jobId)?.due ? { due: new Date(m.dueMs).toISOString() } : {}),
        ...(r.missed.find((x) => x.jobId === m.jobId)?.repeat ? { repeat: m.repeatMissed } : {}),
      })),
    ).toEqual(r.missed.map((m) => ({ ...m, ...(m.due ? { due: new Date(m.due).toISOString() } : {}) })));
  });
});

describe("missed jobs: state and timing", () => {
  const base = {
    jobs: [job()],
    jobsReadable: { pve: true },
    readable: () => true,
    guests: [guest(100), guest(101)],
    attempts: [] as BackupAttempt[],
    timeZone: "UTC",
  };

  it("remembers a job first seen now, and judges its next due instant once the grace is over", () => {
    const first = missedJobs({ ...base, state: {}, now: NOW });
    expect(first.missed).toEqual([]);
    expect(first.state["pve/backup-nightly"]).toMatchObject({ schedule: "02:00", sinceMs: NOW, dueMs: null });
    // The next 02:00 plus the grace is when the verdict can change.
    expect(first.nextChangeMs).toBe(at("2026-12-04T02:00:00Z") + JOB_GRACE_MS);
    const later = missedJobs({ ...base, state: first.state, now: at("2026-12-04T03:00:00Z") });
    expect(later.missed.map((m) => new Date(m.dueMs).toISOString())).toEqual(["2026-12-04T02:00:00.000Z"]);
    // A task of the job appears: cleared, and its start is remembered.
    const cleared = missedJobs({
      ...base,
      state: later.state,
      attempts: [ran(100, at("2026-12-04T03:05:00Z"))],
      now: at("2026-12-04T03:10:00Z"),
    });
    expect(cleared.missed).toEqual([]);
    expect(cleared.state["pve/backup-nightly"]!.ranMs).toEqual({ n1: at("2026-12-04T03:05:00Z") });
  });

  it("reads the schedule in the nodes' time zone (timeZones) over the config's: a bridge in UTC, nodes in Berlin", () => {
    // 02:00 in Berlin is 01:00 UTC in December: the nightly run at 01:00 UTC is the scheduled one.
    const attempts = [ran(100, at("2026-12-03T01:00:30Z")), ran(101, at("2026-12-03T01:05:00Z"))];
    const state = watched();
    const inNodesZone = missedJobs({ ...base, attempts, state, now: NOW, timeZones: { pve: "Europe/Berlin" } });
    expect(inNodesZone.missed).toEqual([]);
    expect(inNodesZone.state["pve/backup-nightly"]!.dueMs).toBe(at("2026-12-03T01:00:00Z"));
    // Read in the bridge's UTC instead, the same run looks an hour early and the job missed.
    const inConfigZone = missedJobs({ ...base, attempts, state, now: NOW });
    expect(inConfigZone.missed.map((m) => m.jobId)).toEqual(["backup-nightly"]);
    // Another source's zone does not apply.
    const other = missedJobs({ ...base, attempts, state, now: NOW, timeZones: { pve2: "Europe/Berlin" } });
    expect(other.missed.map((m) => m.jobId)).toEqual(["backup-nightly"]);
  });

  it("repeat-missed: waits while the node is offline, then gives the run the grace after the node is back", () => {
    const jobs = [job({ repeatMissed: true })];
    const down = missedJobs({ ...base, jobs, offlineNodes: { pve: ["n1"] }, state: watched(), now: NOW });
    expect(down.missed).toEqual([]);
    expect(down.state["pve/backup-nightly"]!.offlineMs).toEqual({ n1: NOW });
    // Back online 30 minutes later: still waiting (pvescheduler starts the missed run at boot).
    const back = missedJobs({ ...base, jobs, offlineNodes: { pve: [] }, state: down.state, now: NOW + 30 * M });
    expect(back.missed).toEqual([]);
    expect(back.nextChangeMs).toBe(NOW + H);
    // The run came: fine. It did not come within the grace: missed, and the sentence says it repeats.
    const caughtUp = missedJobs({
      ...base,
      jobs,
      attempts: [ran(100, NOW + 35 * M)],
      state: back.state,
      now: NOW + 2 * H,
    });
    expect(caughtUp.missed).toEqual([]);
    const none = missedJobs({ ...base, jobs, state: back.state, now: NOW + H });
    expect(none.missed.map((m) => [m.jobId, m.repeatMissed])).toEqual([["backup-nightly", true]]);
  });

  it("returns the same state object when nothing changed (nothing to write)", () => {
    const a = missedJobs({ ...base, state: watched(), now: NOW });
    const b = missedJobs({ ...base, state: a.state, now: NOW + M });
    expect(b.state).toBe(a.state);
  });

  it("forgets a deleted or disabled job, keeps those of a source that could not be read", () => {
    const state: JobsDueState = { ...watched(), "other/x": { schedule: "02:00", sinceMs: 0, dueMs: null, ranMs: {} } };
    const out = missedJobs({ ...base, jobs: [job({ enabled: false })], state, now: NOW });
    expect(Object.keys(out.state)).toEqual(["other/x"]);
  });
});

describe("job_missed findings: problem only where the tier relies on the job", () => {
  const missed: MissedJob[] = [
    {
      source: "pve",
      jobId: "backup-nightly",
      label: "Nightly",
      dueMs: at("2026-12-03T02:00:00Z"),
      repeatMissed: false,
      nodes: ["n1"],
      vmids: [100],
    },
  ];
  const cases: [string, keyof typeof tiers | null, BackupJob[], boolean][] = [
    ["P0 guest, the only daily job missed → problem", "P0", [job({ comment: "Nightly" })], true],
    [
      "P0 guest, another daily job selects it and ran → informational",
      "P0",
      [job(), job({ id: "second", schedule: "03:00" })],
      false,
    ],
    [
      "P0 guest, the missed job is weekly (too rare for P0) → informational",
      "P0",
      [job({ schedule: "sun 03:00" })],
      false,
    ],
    ["P2 guest, a weekly job missed → problem", "P2", [job({ schedule: "sun 03:00" })], true],
    ["untiered guest → informational", null, [job()], false],
    ["tier none → informational", "none", [job()], false],
  ];
  it.each(cases)("%s", (_name, tierId, jobs, relied) => {
    const f = jobMissedFindings(guest(100), tierId ? tiers[tierId]! : null, missed, jobs, words);
    expect(f).toHaveLength(1);
    expect(f[0]!.code).toBe("job_missed");
    expect(f[0]!.params.relied).toBe(relied);
  });

  it("the sentence names the job and when it was due, in words (English and German)", () => {
    const [f] = jobMissedFindings(guest(100), tiers.P0!, missed, [job({ comment: "Nightly" })], words);
    expect(f!.reason).toBe("Backup job Nightly was due on Thu 3 Dec, 02:00 and has not run on node n1.");
    const de = render({ key: f!.key, params: f!.params }, { language: "de", timeZone: "Europe/Berlin" });
    expect(de).toBe(
      "Der Sicherungsauftrag Nightly war am Do., 3. Dez., 03:00 Uhr fällig und ist auf Knoten n1 nicht gelaufen.",
    );
    const [r] = jobMissedFindings(guest(100), tiers.P0!, [{ ...missed[0]!, repeatMissed: true }], [job()], words);
    expect(r!.reason).toMatch(/repeats missed runs, so Proxmox starts it when the node comes back/);
  });

  it("in evaluate(): a problem on the P0 guest, informational (no problem) on an untiered one", () => {
    const r = run({
      guests: [guest(100, "n1", { tags: ["backup-p0"] }), guest(101)],
      jobs: [job({ comment: "Nightly" })],
      now: NOW,
      config: { jobsDue: watched(), words },
    });
    const g100 = r.guests.find((g) => g.vmid === 100)!;
    const g101 = r.guests.find((g) => g.vmid === 101)!;
    expect(g100.findings.map((f) => f.code)).toContain("job_missed");
    expect(g100.problem).toBe(true);
    expect(g101.findings.map((f) => f.code)).toEqual(["untiered", "job_missed"]);
    expect(g101.problem).toBe(false);
    expect(r.missedJobs?.map((m) => m.jobId)).toEqual(["backup-nightly"]);
    expect(r.jobsDue?.["pve/backup-nightly"]?.dueMs).toBe(at("2026-12-03T02:00:00Z"));
  });
});
