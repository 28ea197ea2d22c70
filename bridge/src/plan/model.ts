/**
 * Policy as code: the PVE backup jobs the tiers imply, and how they differ from what
 * `/cluster/backup` holds. This file holds the job model: the managed ids and fields, the types of
 * a job, a change and a plan, and the canonical form a job's values are compared in. The plan is
 * built in desired.ts (the jobs the tiers imply) and diff.ts (how PVE's jobs differ: the plan).
 *
 * One job per tier and Proxmox source, id `backup2mqtt-<tier>`, selecting the tier's guests by
 * VMID (never by node: guests move). A job whose id starts with `backup2mqtt-` was created by
 * backup2mqtt and is managed; any other job is left alone unless `jobs.adopt` names it for a tier.
 */
import type { JobsConfig } from "../config/load.js";
import { PRUNE_OPTIONS } from "../policy/retention.js";

export const MANAGED_PREFIX = "backup2mqtt-";
export const managedJobId = (tierId: string) => `${MANAGED_PREFIX}${tierId.toLowerCase()}`;
export const isManagedId = (id: string) => id.startsWith(MANAGED_PREFIX);

/** The fields plan/apply owns on a job, in write form (what POST/PUT take). Order = display order. */
export const MANAGED_FIELDS = [
  "enabled",
  "schedule",
  "vmid",
  "storage",
  "mode",
  "compress",
  "prune-backups",
  "notes-template",
  "comment",
] as const;
export type ManagedField = (typeof MANAGED_FIELDS)[number];
/** Selection fields a tier job must not have (vmid selects; setting vmid clears all/exclude/pool, node must be deleted). */
export const FOREIGN_SELECTION = ["node", "pool", "all", "exclude"] as const;

const PRUNE_KEYS = ["keep-all", ...PRUNE_OPTIONS] as const;

/** A job as GET /cluster/backup returns it (objects, 0/1, strings). */
export type RawJob = { id: string } & Record<string, unknown>;

export interface DesiredJob {
  id: string;
  source: string;
  tier: string;
  tierLabel: string;
  /** Taken over from someone else through jobs.adopt. */
  adopted: boolean;
  guests: { vmid: number; name: string }[];
  /** Write form; "" = must be absent. */
  fields: Record<ManagedField, string>;
}

export interface Change {
  field: string;
  from: string | null;
  /** null = delete the field. */
  to: string | null;
}

export type Action =
  | {
      op: "create";
      id: string;
      source: string;
      tier: string;
      tierLabel: string;
      adopted: false;
      guests: DesiredJob["guests"];
      fields: Record<string, string>;
    }
  | {
      op: "update";
      id: string;
      source: string;
      tier: string;
      tierLabel: string;
      adopted: boolean;
      guests: DesiredJob["guests"];
      changes: Change[];
    }
  | {
      op: "unchanged";
      id: string;
      source: string;
      tier: string;
      tierLabel: string;
      adopted: boolean;
      guests: DesiredJob["guests"];
    }
  | { op: "delete"; id: string; source: string; reason: string };

export interface UnmanagedJob {
  id: string;
  enabled: boolean;
  schedule: string | null;
  selection: string;
  storage: string | null;
  /** Guests (with their tier) this job selects. */
  selects: { vmid: number; name: string; tier: string | null }[];
  hint: string;
}

export interface SourcePlan {
  source: string;
  url: string;
  actions: Action[];
  unmanaged: UnmanagedJob[];
  /** Plan cannot be made (or part of it): apply refuses this source. */
  errors: string[];
  warnings: string[];
}

export interface Plan {
  generated: string;
  sources: SourcePlan[];
  summary: { create: number; update: number; delete: number; unchanged: number; errors: number };
}

/** The jobs section's values when the config has none. */
export const defaultJobs: JobsConfig = {
  enabled: true,
  mode: "snapshot",
  compress: "zstd",
  notesTemplate: "{{guestname}}",
  adopt: {},
  tiers: {},
};

// --- normalisation -------------------------------------------------------------------------

export function canonicalPrune(input: unknown): string {
  let entries: [string, number][] = [];
  if (typeof input === "string") {
    entries = input
      .split(",")
      .filter(Boolean)
      .map((kv) => kv.split("=") as [string, string])
      .map(([k, v]) => [k.trim(), Number(v)]);
  } else if (input && typeof input === "object") {
    entries = Object.entries(input as Record<string, unknown>).map(([k, v]) => [k, Number(v)]);
  }
  const m = new Map(entries.filter(([, v]) => Number.isFinite(v)));
  // keep-all=0 means nothing; other keep-*=0 are the same as absent.
  return PRUNE_KEYS.filter((k) => (m.get(k) ?? 0) > 0)
    .map((k) => `${k}=${m.get(k)}`)
    .join(",");
}

/** A VMID list ("105,101, 103", a number) as sorted, unique, comma-separated VMIDs; "" when absent. */
export const canonicalVmids = (v: unknown): string =>
  typeof v === "string" || typeof v === "number"
    ? [
        ...new Set(
          String(v)
            .split(/[,;\s]+/)
            .filter(Boolean)
            .map(Number),
        ),
      ]
        .sort((a, b) => a - b)
        .join(",")
    : "";

/** A raw job's value of a managed field, in the same canonical write form as DesiredJob.fields. */
export function currentValue(job: RawJob, field: ManagedField): string {
  const v = job[field];
  switch (field) {
    case "enabled":
      return v === 0 || v === "0" ? "0" : "1"; // absent = enabled
    case "vmid":
      return canonicalVmids(v);
    case "prune-backups":
      return canonicalPrune(v);
    default:
      return v === undefined || v === null ? "" : String(v);
  }
}

export const hasChanges = (p: Plan) => p.summary.create + p.summary.update + p.summary.delete > 0;
