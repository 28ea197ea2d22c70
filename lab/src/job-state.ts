/**
 * The simulated PVE's backup jobs as the lab keeps them: the job's config in PVE's read form
 * (jobReadForm turns a scenario job or an API body into it) and the scheduler's bookkeeping.
 */
import type { CalendarEvent } from "./calendar.js";
import type { ScenarioJob } from "./scenario.js";

export interface JobState {
  /** In PVE's read form: 0/1 booleans, vmid/exclude comma strings, prune-backups string values. */
  config: Record<string, unknown>;
  event: CalendarEvent | null;
  /** Scheduler bookkeeping: occurrences up to here have been handled. */
  checkedMs: number;
  /** Cached next occurrence after checkedMs (node-local time of the job's node). */
  dueMs: number | null;
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
    if (v === undefined || k === "id") continue;
    if (k === "vmid" || k === "exclude") out[k] = toVmidString(v as number[] | string);
    else if (k === "prune-backups")
      out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([pk, pv]) => [pk, String(pv)]));
    else if (typeof v === "boolean") out[k] = v ? 1 : 0;
    else if (k === "compress") out[k] = String(v);
    else out[k] = v;
  }
  return out;
}
