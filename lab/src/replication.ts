/**
 * Storage replication jobs (pvesr), as GET /nodes/{node}/replication and …/{id}/status show
 * them. A job is its replication.cfg section (pve-guest-common PVE/ReplicationConfig.pm: `local`
 * type, id `<guest>-<jobnum>`, target, schedule, rate, comment, disable, source) plus its state
 * (PVE/ReplicationState.pm: last_sync, last_try, fail_count, error, duration) and next_sync.
 * The lab runs a job at every schedule event (default every 15 minutes); a job with `error` fails
 * every run and retries as pvesr does: 5 × fail_count minutes after the last try while
 * fail_count ≤ 3, then every 30 minutes (ReplicationState.pm `job_status`).
 */
import { z } from "zod";
import { nextEvent, parseCalendar, type CalendarEvent } from "./calendar.js";

const duration = z.string().regex(/^(\d+(\.\d+)?[smhdw])+$/, "a duration like 90s, 5h, 10d");

export const ReplicationSchema = z
  .object({
    guest: z.number().int().min(100),
    /** The job number: the id is `<guest>-<jobnum>`. */
    jobnum: z.number().int().min(0).default(0),
    target: z.string(),
    /** Calendar event; absent = PVE's default `*\/15`. */
    schedule: z.string().optional(),
    /** MB/s limit. */
    rate: z.number().positive().optional(),
    comment: z.string().optional(),
    disable: z.union([z.literal(0), z.literal(1), z.boolean()]).optional(),
    /** Age of the last successful sync at lab start (default 10m). */
    age: duration.optional(),
    /** Seconds one sync takes (the state's `duration`). */
    durationSeconds: z.number().positive().default(3.2),
    /** Every sync fails with this error (fail_count counts up from `failCount`). */
    error: z.string().optional(),
    failCount: z.number().int().min(1).optional(),
  })
  .strict();

export type ReplicationInput = z.output<typeof ReplicationSchema>;

export interface ReplicationJob {
  id: string;
  guest: number;
  jobnum: number;
  target: string;
  schedule?: string;
  event: CalendarEvent;
  rate?: number;
  comment?: string;
  disable: boolean;
  durationSeconds: number;
  failWith?: string;
  /** State, in epoch seconds (0 = never), advanced lazily by `advance`. */
  lastSync: number;
  lastTry: number;
  failCount: number;
  error?: string;
  duration?: number;
}

export function replicationJob(
  r: ReplicationInput,
  startMs: number,
  parseAge: (age: string) => number,
): ReplicationJob {
  const lastSync = Math.floor(startMs / 1000 - parseAge(r.age ?? "10m"));
  const job: ReplicationJob = {
    id: `${r.guest}-${r.jobnum}`,
    guest: r.guest,
    jobnum: r.jobnum,
    target: r.target,
    event: parseCalendar(r.schedule ?? "*/15"),
    disable: Boolean(r.disable),
    durationSeconds: r.durationSeconds,
    lastSync,
    lastTry: lastSync,
    failCount: 0,
    duration: r.durationSeconds,
    ...(r.schedule !== undefined ? { schedule: r.schedule } : {}),
    ...(r.rate !== undefined ? { rate: r.rate } : {}),
    ...(r.comment !== undefined ? { comment: r.comment } : {}),
  };
  if (r.error !== undefined) {
    job.failWith = r.error;
    // Already failing at lab start: the last try was a minute ago.
    job.lastTry = Math.floor(startMs / 1000) - 60;
    job.failCount = r.failCount ?? 1;
    job.error = r.error;
  }
  return job;
}

/** next_sync as ReplicationState.pm `job_status` computes it (0 when a failing job's target is offline). */
export function nextSync(job: ReplicationJob, tz: string, targetOnline: boolean): number {
  if (job.failCount) {
    if (!targetOnline) return 0;
    return job.lastTry + 60 * (job.failCount <= 3 ? 5 * job.failCount : 30);
  }
  const next = nextEvent(job.event, job.lastTry * 1000, tz);
  return next === null ? 0 : Math.floor(next / 1000);
}

/** Run every sync due by `nowMs` (disabled jobs and jobs whose target is offline do not run). */
export function advance(job: ReplicationJob, nowMs: number, tz: string, targetOnline: boolean): void {
  if (job.disable) return;
  for (let guard = 0; guard < 100_000; guard++) {
    const next = nextSync(job, tz, targetOnline);
    if (next === 0 || next * 1000 > nowMs) return;
    job.lastTry = next;
    job.duration = job.durationSeconds;
    const error = job.failWith ?? (targetOnline ? undefined : `ssh: connect to host ${job.target}: No route to host`);
    if (error !== undefined) {
      job.failCount++;
      job.error = error;
    } else {
      job.lastSync = next;
      job.failCount = 0;
      delete job.error;
    }
  }
}

/** The job as the API lists it: config section, state fields, vmtype, next_sync. */
export function replicationStatus(
  job: ReplicationJob,
  source: string,
  vmtype: "qemu" | "lxc",
  next: number,
): Record<string, unknown> {
  const row: Record<string, unknown> = {
    id: job.id,
    type: "local",
    guest: job.guest,
    jobnum: job.jobnum,
    target: job.target,
    source,
    vmtype,
    next_sync: next,
    last_sync: job.lastSync,
    last_try: job.lastTry,
    fail_count: job.failCount,
  };
  if (job.schedule !== undefined) row.schedule = job.schedule;
  if (job.rate !== undefined) row.rate = job.rate;
  if (job.comment !== undefined) row.comment = job.comment;
  if (job.disable) row.disable = 1;
  if (job.error !== undefined) row.error = job.error;
  if (job.duration !== undefined) row.duration = job.duration;
  return row;
}
