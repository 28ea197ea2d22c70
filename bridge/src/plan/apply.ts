/**
 * The I/O half of policy as code: read /cluster/backup, make the plan, and carry it out through
 * the PVE API (POST / PUT / DELETE /cluster/backup). Needs Sys.Audit + Sys.Modify on / and
 * Datastore.Allocate on each target storage.
 */
import { z } from "zod";
import type { Config } from "../config/load.js";
import type { PolicyResult } from "../policy/types.js";
import { PveError } from "../sources/pve/http.js";
import type { PveSource } from "../sources/pve/source.js";
import { planSource, summarize } from "./diff.js";
import type { Plan, RawJob, SourcePlan } from "./model.js";

const rawJobsSchema = z.array(z.looseObject({ id: z.string() }));
const anyAnswer = z.unknown();

export async function readJobs(source: PveSource): Promise<RawJob[]> {
  return (await source.http.get("/cluster/backup", rawJobsSchema)) as RawJob[];
}

/** The plan for every source; a source that cannot be read gets an error and no actions. */
export async function makePlan(cfg: Config, sources: PveSource[], result: PolicyResult, now: number): Promise<Plan> {
  const plans: SourcePlan[] = [];
  for (const s of sources) {
    const url = s.cfg.url;
    if (!s.health.up || s.health.degraded) {
      plans.push({
        source: s.name,
        url,
        actions: [],
        unmanaged: [],
        errors: [`Proxmox source is not readable: ${s.health.error ?? "unknown error"}`],
        warnings: [],
      });
      continue;
    }
    let jobs: RawJob[];
    try {
      jobs = await readJobs(s);
    } catch (e) {
      const hint = e instanceof PveError && e.kind === "permission" ? " (the token needs Sys.Audit on /)" : "";
      plans.push({
        source: s.name,
        url,
        actions: [],
        unmanaged: [],
        errors: [`cannot read /cluster/backup: ${(e as Error).message}${hint}`],
        warnings: [],
      });
      continue;
    }
    const pools = new Map(s.evidence().guests.map((g) => [g.vmid, g.pool]));
    plans.push(planSource(cfg, result, s.name, jobs, pools));
  }
  return summarize(plans, now);
}

export interface ApplyStep {
  source: string;
  op: "create" | "update" | "delete";
  id: string;
  ok: boolean;
  error?: string;
}

/** Carries out every create/update/delete of the plan. Never throws: each step reports. */
export async function applyPlan(plan: Plan, sources: PveSource[]): Promise<ApplyStep[]> {
  const steps: ApplyStep[] = [];
  for (const sp of plan.sources) {
    const s = sources.find((x) => x.name === sp.source);
    if (!s) continue;
    for (const a of sp.actions) {
      if (a.op === "unchanged") continue;
      const path = `/cluster/backup/${encodeURIComponent(a.id)}`;
      try {
        if (a.op === "create") await s.http.post("/cluster/backup", anyAnswer, { id: a.id, ...a.fields });
        else if (a.op === "delete") await s.http.delete(path, anyAnswer);
        else {
          const body: Record<string, string> = {};
          const del: string[] = [];
          for (const c of a.changes) {
            if (c.to === null) del.push(c.field);
            else body[c.field] = c.to;
          }
          // Setting vmid clears all/exclude/pool already; deleting them as well is harmless but PVE-version dependent.
          const needDelete = body.vmid !== undefined ? del.filter((f) => !["all", "exclude", "pool"].includes(f)) : del;
          if (needDelete.length) body.delete = needDelete.join(",");
          await s.http.put(path, anyAnswer, body);
        }
        steps.push({ source: sp.source, op: a.op, id: a.id, ok: true });
      } catch (e) {
        const hint =
          e instanceof PveError && e.kind === "permission"
            ? " — apply needs Sys.Modify on / and Datastore.Allocate on the target storage (see README, Policy as code)"
            : "";
        steps.push({ source: sp.source, op: a.op, id: a.id, ok: false, error: `${(e as Error).message}${hint}` });
      }
    }
  }
  return steps;
}
