/**
 * The plan: how the jobs in `/cluster/backup` differ from the desired ones — create, update (field
 * by field), delete, unchanged — plus the jobs backup2mqtt leaves alone, described with a hint, and
 * the summary over all sources. Pure: config + policy result + the raw job list in, a plan out.
 */
import type { Config } from "../config/load.js";
import type { GuestState, PolicyResult } from "../policy/types.js";
import { desiredJobs } from "./desired.js";
import {
  type Action,
  type Change,
  canonicalVmids,
  currentValue,
  type DesiredJob,
  defaultJobs,
  FOREIGN_SELECTION,
  isManagedId,
  MANAGED_FIELDS,
  managedJobId,
  type Plan,
  type RawJob,
  type SourcePlan,
  type UnmanagedJob,
} from "./model.js";

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
