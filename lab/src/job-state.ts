/**
 * The simulated PVE's backup jobs as the lab keeps them: the job's config in PVE's read form
 * (jobReadForm turns a scenario job or an API body into it) and the scheduler's bookkeeping.
 */
import type { CalendarEvent } from "./calendar.js";
import type { ScenarioJob } from "./scenario.js";
import { toLocal } from "./timezone.js";

export interface JobState {
  /** In PVE's read form: 0/1 booleans, vmid/exclude comma strings, prune-backups string values. */
  config: Record<string, unknown>;
  event: CalendarEvent | null;
  /** Scheduler bookkeeping: occurrences up to here have been handled. */
  checkedMs: number;
  /** Cached next occurrence after checkedMs (node-local time of the job's node). */
  dueMs: number | null;
  /** Scheduled runs still to skip (scenario `skipRuns`, LabControl.skipNextRuns): due, but no task — the node was down. */
  skip?: number;
}

/** Scenario keys that shape the lab's job but are no part of PVE's job config. */
const LAB_ONLY_KEYS = new Set(["dueAge", "skipRuns"]);

/**
 * A scenario job's `dueAge`: the daily schedule "HH:MM" whose newest occurrence was `ageSeconds`
 * before `startMs` (node-local time, whole minutes: the occurrence is at most a minute older).
 */
export function scheduleDueAgo(startMs: number, ageSeconds: number, tz: string): string {
  const t = toLocal(startMs - ageSeconds * 1000, tz);
  return `${String(t.hour).padStart(2, "0")}:${String(t.minute).padStart(2, "0")}`;
}

function toVmidString(v: number[] | string | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v)
    ? v.join(",")
    : v
        .split(",")
        .map((s) => s.trim())
        .join(",");
}

/** A scenario job (or API body) in PVE's read form. */
export function jobReadForm(j: Partial<ScenarioJob> & { id: string }): Record<string, unknown> {
  const out: Record<string, unknown> = { id: j.id, type: "vzdump" };
  for (const [k, v] of Object.entries(j)) {
    if (v === undefined || k === "id" || LAB_ONLY_KEYS.has(k)) continue;
    if (k === "vmid" || k === "exclude") out[k] = toVmidString(v as number[] | string);
    else if (k === "prune-backups")
      out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([pk, pv]) => [pk, String(pv)]));
    else if (typeof v === "boolean") out[k] = v ? 1 : 0;
    else if (k === "compress") out[k] = String(v);
    else out[k] = v;
  }
  return out;
}
