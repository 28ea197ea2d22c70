/**
 * Policy as code: the PVE backup jobs the tiers imply, and how they differ from what
 * `/cluster/backup` holds. Pure: config + policy result + the raw job list in, a plan out.
 *
 * One job per tier and Proxmox source, id `backup2mqtt-<tier>`, selecting the tier's guests by
 * VMID (never by node: guests move). A job whose id starts with `backup2mqtt-` was created by
 * backup2mqtt and is managed; any other job is left alone unless `jobs.adopt` names it for a tier.
 */
import type { Config, JobsConfig } from "../config/load.js";
import type { Tier } from "../config/tiers.js";
import type { GuestState, PolicyResult } from "../policy/types.js";

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
const FOREIGN_SELECTION = ["node", "pool", "all", "exclude"] as const;

const PRUNE_KEYS = [
  "keep-all",
  "keep-last",
  "keep-hourly",
  "keep-daily",
  "keep-weekly",
  "keep-monthly",
  "keep-yearly",
] as const;

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

const defaultJobs: JobsConfig = {
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

const canonicalVmids = (v: unknown): string =>
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

// --- desired state ---------------------------------------------------------------------------

/** The comment marks the job as generated; it also tells a person in the PVE GUI not to edit it. */
export function jobComment(tier: Tier): string {
  return `backup2mqtt tier ${tier.id} (${tier.label}): managed by 'backup2mqtt apply', edits in PVE are overwritten`;
}

/** Guests of a tier that a job must select: tiered, protected, in this source. */
function tierGuests(result: PolicyResult, source: string, tierId: string): GuestState[] {
  return result.guests.filter((g) => g.source === source && g.tier === tierId).sort((a, b) => a.vmid - b.vmid);
}

export function desiredJobs(
  cfg: Config,
  result: PolicyResult,
  source: string,
): { jobs: DesiredJob[]; errors: string[]; warnings: string[] } {
  const jc = cfg.jobs ?? defaultJobs;
  const px = cfg.proxmox.find((p) => p.name === source);
  const jobs: DesiredJob[] = [];
  const errors: string[] = [];
  const warnings: string[] = [];
  const ids = new Map<string, string>();
  for (const tier of Object.values(cfg.tiers)) {
    if (!tier.protect) continue;
    const guests = tierGuests(result, source, tier.id);
    if (!guests.length) continue;
    const id = jc.adopt[tier.id] ?? managedJobId(tier.id);
    const clash = ids.get(id);
    if (clash) {
      errors.push(`tiers ${clash} and ${tier.id} would both use job '${id}'; give one of them another id`);
      continue;
    }
    ids.set(id, tier.id);
    if (!tier.schedule) {
      errors.push(
        `tier ${tier.id} has guests (${guests.map((g) => g.name).join(", ")}) but no schedule: set tiers.${tier.id}.schedule (a PVE calendar event such as 02:00)`,
      );
      continue;
    }
    const over = jc.tiers[tier.id] ?? {};
    const storage = over.storage ?? jc.storage ?? px?.backup.storage;
    if (!storage) {
      errors.push(
        `no target storage for tier ${tier.id}: set jobs.storage (or jobs.tiers.${tier.id}.storage, or proxmox[].backup.storage)`,
      );
      continue;
    }
    const enabled = over.enabled ?? jc.enabled;
    jobs.push({
      id,
      source,
      tier: tier.id,
      tierLabel: tier.label,
      adopted: jc.adopt[tier.id] !== undefined,
      guests: guests.map((g) => ({ vmid: g.vmid, name: g.name })),
      fields: {
        enabled: enabled ? "1" : "0",
        schedule: tier.schedule,
        vmid: guests.map((g) => g.vmid).join(","),
        storage,
        mode: jc.mode,
        compress: jc.compress,
        "prune-backups": canonicalPrune(tier.retention),
        "notes-template": jc.notesTemplate,
        comment: jobComment(tier),
      },
    });
    if (!enabled)
      warnings.push(
        `tier ${tier.id}: job '${id}' is manual-only (disabled): PVE never runs it by itself, so its guests stay 'unprotected'`,
      );
  }
  return { jobs, errors, warnings };
}

// --- diff ----------------------------------------------------------------------------------

export function diffJob(want: DesiredJob, have: RawJob): Change[] {
  const changes: Change[] = [];
  for (const f of MANAGED_FIELDS) {
    const cur = currentValue(have, f);
    const next = want.fields[f];
    if (cur === next) continue;
    changes.push({ field: f, from: cur === "" ? null : cur, to: next === "" ? null : next });
  }
  for (const f of FOREIGN_SELECTION) {
    if (
      have[f] === undefined ||
      have[f] === null ||
      have[f] === "" ||
      (f === "all" && (have[f] === 0 || have[f] === "0"))
    )
      continue;
    // Setting vmid clears all/exclude/pool in PVE; node has to be deleted explicitly.
    changes.push({ field: f, from: String(have[f]), to: null });
  }
  return changes;
}

function selectionText(j: RawJob): string {
  if (typeof j.vmid === "string" || typeof j.vmid === "number") return `vmid ${canonicalVmids(j.vmid)}`;
  if (typeof j.pool === "string") return `pool ${j.pool}`;
  if (j.all === 1 || j.all === "1" || j.exclude !== undefined)
    return j.exclude ? `all except ${canonicalVmids(j.exclude)}` : "all guests";
  return "nothing";
}

function selects(j: RawJob, g: GuestState, pools: Map<number, string | undefined>): boolean {
  if (typeof j.node === "string" && j.node !== g.node) return false;
  if (typeof j.vmid === "string" || typeof j.vmid === "number")
    return canonicalVmids(j.vmid).split(",").includes(String(g.vmid));
  if (typeof j.pool === "string") return pools.get(g.vmid) === j.pool;
  if (j.all === 1 || j.all === "1" || j.exclude !== undefined)
    return !canonicalVmids(j.exclude).split(",").includes(String(g.vmid));
  return false;
}

/**
 * The plan for one source. `jobs` is the raw GET /cluster/backup answer; `pools` maps VMID to
 * pool (for describing pool-selecting jobs).
 */
export function planSource(
  cfg: Config,
  result: PolicyResult,
  source: string,
  jobs: RawJob[],
  pools: Map<number, string | undefined> = new Map(),
): SourcePlan {
  const url = cfg.proxmox.find((p) => p.name === source)?.url ?? "";
  const { jobs: desired, errors, warnings } = desiredJobs(cfg, result, source);
  const jc = cfg.jobs ?? defaultJobs;
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const actions: Action[] = [];
  const wanted = new Set<string>();
  for (const want of desired) {
    wanted.add(want.id);
    const have = byId.get(want.id);
    const base = { id: want.id, source, tier: want.tier, tierLabel: want.tierLabel, guests: want.guests };
    if (!have) {
      if (want.adopted) {
        errors.push(
          `jobs.adopt names job '${want.id}' for tier ${want.tier}, but PVE has no such job (known: ${jobs.map((j) => j.id).join(", ") || "none"})`,
        );
        continue;
      }
      actions.push({
        op: "create",
        ...base,
        adopted: false,
        fields: Object.fromEntries(Object.entries(want.fields).filter(([, v]) => v !== "")),
      });
      continue;
    }
    const changes = diffJob(want, have);
    actions.push(
      changes.length
        ? { op: "update", ...base, adopted: want.adopted, changes }
        : { op: "unchanged", ...base, adopted: want.adopted },
    );
  }
  const adoptedIds = new Set(Object.values(jc.adopt));
  for (const j of jobs) {
    if (!isManagedId(j.id) || wanted.has(j.id)) continue;
    const tierId = [...Object.values(cfg.tiers)].find((t) => managedJobId(t.id) === j.id)?.id;
    const reason = !tierId
      ? "no tier of this config maps to it any more"
      : jc.adopt[tierId]
        ? `tier ${tierId} now uses the adopted job '${jc.adopt[tierId]}'`
        : !cfg.tiers[tierId]!.protect
          ? `tier ${tierId} is not backed up`
          : `tier ${tierId} has no guests in '${source}' any more`;
    actions.push({ op: "delete", id: j.id, source, reason });
  }
  const unmanaged: UnmanagedJob[] = [];
  for (const j of jobs) {
    if (isManagedId(j.id) || adoptedIds.has(j.id)) continue;
    const sel = result.guests.filter((g) => g.source === source && selects(j, g, pools));
    const tiersHit = [...new Set(sel.map((g) => g.tier).filter((t): t is string => !!t && !!cfg.tiers[t]?.protect))];
    const enabled = currentValue(j, "enabled") === "1";
    const hint = !sel.length
      ? "selects no guest of this source"
      : tiersHit.length === 1
        ? `to let apply take it over for tier ${tiersHit[0]}: jobs.adopt: { ${tiersHit[0]}: ${j.id} }`
        : tiersHit.length > 1
          ? `selects guests of tiers ${tiersHit.join(", ")}; a tier job selects one tier only, so it cannot be adopted as it is`
          : "selects only untiered or excluded guests";
    if (
      enabled &&
      sel.some((g) => desired.some((d) => d.fields.enabled === "1" && d.guests.some((x) => x.vmid === g.vmid)))
    ) {
      warnings.push(
        `job '${j.id}' is enabled and also backs up ${sel.map((g) => g.name).join(", ")}: with the tier jobs these guests are backed up twice; disable it in PVE or adopt it`,
      );
    }
    unmanaged.push({
      id: j.id,
      enabled,
      schedule: typeof j.schedule === "string" ? j.schedule : null,
      selection: selectionText(j),
      storage: typeof j.storage === "string" ? j.storage : null,
      selects: sel.map((g) => ({ vmid: g.vmid, name: g.name, tier: g.tier })),
      hint,
    });
  }
  const order = { create: 0, update: 1, delete: 2, unchanged: 3 } as const;
  actions.sort((a, b) => order[a.op] - order[b.op] || a.id.localeCompare(b.id));
  return { source, url, actions, unmanaged, errors, warnings };
}

export function summarize(sources: SourcePlan[], now: number): Plan {
  const count = (op: Action["op"]) => sources.reduce((n, s) => n + s.actions.filter((a) => a.op === op).length, 0);
  return {
    generated: new Date(now).toISOString(),
    sources,
    summary: {
      create: count("create"),
      update: count("update"),
      delete: count("delete"),
      unchanged: count("unchanged"),
      errors: sources.reduce((n, s) => n + s.errors.length, 0),
    },
  };
}

export const hasChanges = (p: Plan) => p.summary.create + p.summary.update + p.summary.delete > 0;
