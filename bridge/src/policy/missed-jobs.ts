/**
 * Missed backup jobs (a dead man's switch). PVE's `next-run` (GET /cluster/backup, pve-manager
 * PVE/API2/Backup.pm) is computed from now, so it never lies in the past and cannot tell that a run
 * did not happen; and PVE keeps a job's last run only node-locally (/var/lib/pve-manager/jobs/,
 * PVE/Jobs.pm), not in the API. So the bridge computes each enabled job's due instants from its
 * `schedule` (occurrences.ts, in the nodes' time zone as GET /nodes/{node}/time reports it, else the
 * config's `timezone`) and looks for
 * the run in the vzdump task history it reads anyway.
 *
 * The rules (pure: the instant and the remembered state are parameters):
 * - A job is judged from when it is known to exist with its schedule (`sinceMs`, kept in state_dir
 *   jobs-due.json): the first time the bridge sees it enabled with that schedule, or earlier when the
 *   task history shows one of its scheduled runs (a vzdump of a guest it selects that started within
 *   the slack of one of its due instants). So a job created or re-scheduled a minute ago is not
 *   missed for a due instant before it existed, while a job that ran every night and not last night
 *   is reported on the bridge's first start. A disabled or deleted job is forgotten.
 * - Its due instant D is the newest occurrence at or before now − grace (JOB_GRACE_MS, 1 h: pvescheduler
 *   starts a job's task within a minute of D, even when another vzdump holds the node's lock — the
 *   task then waits inside). A node is covered when a vzdump task on it backed up (or tried) a guest the
 *   job selects, started at or after D − slack (JOB_SLACK_MS, 5 min: clock skew); any such task counts,
 *   also a manual "Run now". The newest covering start per node is remembered, so a rotated task
 *   history does not make a run that happened look missed.
 * - Guests the job selects on a node that is not covered get `job_missed`. With `repeat-missed` set,
 *   PVE runs a missed job when its node comes back: while the node is offline the job is not called
 *   missed (the bridge keeps waiting); once the node is back, pvescheduler starts the missed run at
 *   boot, so it is given the grace from when the node was last seen offline; still nothing then, it is.
 * - Cleared as soon as a covering task appears, or when the next due instant arrives and is covered.
 * - Only judged while the source is up and its jobs are readable, and on nodes whose other users'
 *   tasks the token may see (Sys.Audit on /nodes/<node>: scheduled jobs run as root@pam).
 */
import type { BackupAttempt, BackupJob, GuestInfo } from "../evidence.js";
import type { Tier } from "../config/tiers.js";
import type { RenderOptions } from "../words/render.js";
import { maxGapMs } from "./calendar.js";
import { jobSelects } from "./coverage.js";
import { makeFinding } from "./finding.js";
import { nextOccurrence, previousOccurrence } from "./occurrences.js";
import type { Finding } from "./types.js";

export const JOB_GRACE_MS = 3_600_000;
export const JOB_SLACK_MS = 5 * 60_000;

/** What the bridge remembers of one job (jobs-due.json, key `<source>/<job id>`). */
export interface JobDue {
  /** The schedule it was seen with: another schedule starts over. */
  schedule: string;
  /** First seen enabled with this schedule: due instants before it are not judged. */
  sinceMs: number;
  /** The due instant judged last (newest occurrence at or before the evaluation − grace); null = none yet. */
  dueMs: number | null;
  /** Per node, the start of the newest vzdump seen that covers the job there. */
  ranMs: Record<string, number>;
  /** repeat-missed jobs: per node, when it was last seen offline (its missed run comes after boot). */
  offlineMs?: Record<string, number>;
}
export type JobsDueState = Record<string, JobDue>;

export interface MissedJob {
  source: string;
  jobId: string;
  /** The job's comment, else its id. */
  label: string;
  dueMs: number;
  repeatMissed: boolean;
  /** Nodes where it did not run. */
  nodes: string[];
  /** Guests it selects on those nodes. */
  vmids: number[];
}

export interface MissedJobsInput {
  jobs: BackupJob[];
  jobsReadable: Record<string, boolean>;
  /** Sources that are up and readable. */
  readable: (source: string) => boolean;
  guests: GuestInfo[];
  attempts: BackupAttempt[];
  /** Nodes known to be offline, per source. */
  offlineNodes?: Record<string, string[]>;
  /** Nodes whose scheduled runs the token cannot see (no Sys.Audit on /nodes/<node>), per source: not judged. */
  hiddenTaskNodes?: Record<string, string[]>;
  state: JobsDueState;
  now: number;
  /** The zone schedules are read in, unless `timeZones` names one for the job's source (its nodes' zone). */
  timeZone: string;
  timeZones?: Record<string, string>;
  graceMs?: number;
  slackMs?: number;
}

export interface MissedJobsResult {
  /** The state to remember (the same object when nothing changed). */
  state: JobsDueState;
  missed: MissedJob[];
  /** When the verdict changes by itself (the next due instant's grace ends); null = never. */
  nextChangeMs: number | null;
}

export const jobKey = (source: string, id: string) => `${source}/${id}`;

const runCache = new Map<string, number | null>();
/** The due instant a vzdump that started at `startMs` was a scheduled run of (within the slack), or null. */
function scheduledRun(schedule: string, startMs: number, slack: number, timeZone: string): number | null {
  const key = `${schedule}|${timeZone}|${slack}|${startMs}`;
  let occ = runCache.get(key);
  if (occ === undefined) {
    const prev = previousOccurrence(schedule, startMs + slack, timeZone);
    occ = prev !== null && startMs <= prev + slack ? prev : null;
    if (runCache.size > 10_000) runCache.clear();
    runCache.set(key, occ);
  }
  return occ;
}

export function missedJobs(input: MissedJobsInput): MissedJobsResult {
  const { now } = input;
  const grace = input.graceMs ?? JOB_GRACE_MS;
  const slack = input.slackMs ?? JOB_SLACK_MS;
  const next: JobsDueState = {};
  const missed: MissedJob[] = [];
  let nextChangeMs: number | null = null;
  const judged = new Set<string>();
  for (const job of input.jobs) {
    const key = jobKey(job.source, job.id);
    const timeZone = input.timeZones?.[job.source] ?? input.timeZone;
    if (!input.readable(job.source) || !input.jobsReadable[job.source]) continue;
    judged.add(job.source);
    if (!job.enabled || !job.schedule) continue;
    const before = input.state[key];
    const fresh = !before || before.schedule !== job.schedule;
    const entry: JobDue = !fresh
      ? { ...before, ranMs: { ...before.ranMs } }
      : { schedule: job.schedule, sinceMs: now, dueMs: null, ranMs: {} };
    const selected = input.guests.filter((g) => !g.template && jobSelects(job, g));
    const ids = new Set(selected.map((g) => g.vmid));
    // The job existed at least since its oldest scheduled run in the history (also history read
    // after the bridge first saw the job).
    for (const a of input.attempts) {
      if (a.source !== job.source || !ids.has(a.vmid) || a.startMs >= entry.sinceMs) continue;
      const occ = scheduledRun(job.schedule, a.startMs, slack, timeZone);
      if (occ !== null) entry.sinceMs = Math.min(entry.sinceMs, occ);
    }
    for (const a of input.attempts)
      if (a.source === job.source && ids.has(a.vmid) && a.startMs > (entry.ranMs[a.node] ?? -Infinity))
        entry.ranMs[a.node] = a.startMs;
    const due = previousOccurrence(job.schedule, now - grace, timeZone);
    entry.dueMs = due !== null && due >= entry.sinceMs ? due : null;
    next[key] = entry;
    const after = nextOccurrence(job.schedule, now - grace, timeZone);
    if (after !== null && (nextChangeMs === null || after + grace < nextChangeMs)) nextChangeMs = after + grace;
    if (entry.dueMs === null) continue;
    const dueMs = entry.dueMs;
    const repeatMissed = job.repeatMissed === true;
    const offline = new Set(input.offlineNodes?.[job.source] ?? []);
    const hidden = new Set(input.hiddenTaskNodes?.[job.source] ?? []);
    const byNode = new Map<string, number[]>();
    for (const g of selected) byNode.set(g.node, [...(byNode.get(g.node) ?? []), g.vmid]);
    const nodes: string[] = [];
    const vmids: number[] = [];
    for (const [node, list] of [...byNode].sort(([a], [b]) => a.localeCompare(b))) {
      if ((entry.ranMs[node] ?? -Infinity) >= dueMs - slack) continue;
      if (hidden.has(node)) continue; // its runs would be invisible: not judged
      if (repeatMissed && offline.has(node)) {
        // PVE runs it when the node is back: wait, and remember when the node was last seen down.
        entry.offlineMs = { ...entry.offlineMs, [node]: now };
        continue;
      }
      const back = entry.offlineMs?.[node];
      if (repeatMissed && back !== undefined && back >= dueMs - slack && now < back + grace) {
        // Back since the last look: pvescheduler starts the missed run at boot, give it the grace.
        if (nextChangeMs === null || back + grace < nextChangeMs) nextChangeMs = back + grace;
        continue;
      }
      nodes.push(node);
      vmids.push(...list);
    }
    if (nodes.length)
      missed.push({
        source: job.source,
        jobId: job.id,
        label: job.comment || job.id,
        dueMs,
        repeatMissed,
        nodes,
        vmids: vmids.sort((a, b) => a - b),
      });
  }
  // Jobs of a source that could not be read are kept as they were.
  for (const [key, entry] of Object.entries(input.state)) {
    const source = key.slice(0, key.indexOf("/"));
    if (!judged.has(source) && !(key in next)) next[key] = entry;
  }
  const same = JSON.stringify(next) === JSON.stringify(input.state);
  return { state: same ? input.state : next, missed, nextChangeMs };
}

/**
 * The `job_missed` findings of one guest. A finding is a problem (params.relied true) when the guest's
 * tier protects it and relies on the job: the job is frequent enough for the tier (coverage.ts's test)
 * and no other enabled job that is frequent enough for it selects the guest and ran. Otherwise it is
 * informational (params.relied false): the guest's backups do not depend on that run.
 */
export function jobMissedFindings(
  guest: GuestInfo,
  tier: Tier | null,
  missed: MissedJob[],
  jobs: BackupJob[],
  words: RenderOptions,
): Finding[] {
  const mine = missed.filter((m) => m.source === guest.source && m.vmids.includes(guest.vmid));
  if (!mine.length) return [];
  const frequent = (j: BackupJob) => {
    if (!tier || !j.enabled || !j.schedule) return false;
    const gap = maxGapMs(j.schedule);
    return gap === null || gap <= tier.maxAgeMs;
  };
  const isMissed = (j: BackupJob) => mine.some((m) => m.jobId === j.id);
  const othersServe = jobs.some((j) => jobSelects(j, guest) && frequent(j) && !isMissed(j));
  return mine.map((m) => {
    const job = jobs.find((j) => j.source === m.source && j.id === m.jobId);
    const relied = !!tier?.protect && !!job && frequent(job) && !othersServe;
    return makeFinding(
      "job_missed",
      m.repeatMissed ? "job_missed.repeat" : "job_missed",
      { job: m.label, due: new Date(m.dueMs).toISOString(), node: guest.node, relied },
      words,
    );
  });
}
