/**
 * Backup jobs (`/cluster/backup`) and PVE's coverage view (`/cluster/backup-info/not-backed-up`).
 * Read form: 0/1 booleans, vmid/exclude as comma strings, prune-backups as an object of
 * strings, `next-run` only in the list (also for disabled jobs).
 */
import { randomUUID } from "node:crypto";
import { hasPriv } from "../acl.js";
import { CalendarError, nextEvent, parseCalendar } from "../calendar.js";
import { backupVolumes } from "../guest-config.js";
import { parsePruneOptions } from "../prune.js";
import { ApiError, paramError, requirePriv, route, type Ctx, type Route } from "../router.js";
import type { GuestState, JobState } from "../state.js";

const BOOL_KEYS = ["enabled", "all", "protected", "repeat-missed", "remove", "quiet", "stdexcludes", "pigz"];
const STRING_KEYS = [
  "schedule",
  "pool",
  "node",
  "storage",
  "mode",
  "compress",
  "notes-template",
  "comment",
  "mailto",
  "mailnotification",
  "notification-mode",
  "bwlimit",
  "ionice",
  "lockwait",
  "stopwait",
  "zstd",
];

function toBool(name: string, v: string): 0 | 1 {
  if (/^(1|true|yes|on)$/i.test(v)) return 1;
  if (/^(0|false|no|off)$/i.test(v)) return 0;
  throw paramError({ [name]: `type check ('boolean') failed - got '${v}'` });
}

function vmidString(name: string, v: string): string {
  const parts = v.split(/[,;\s]+/).filter(Boolean);
  if (!parts.length || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 100))
    throw paramError({ [name]: "value does not look like a valid VM ID list" });
  return parts.join(",");
}

/** Apply request args to a job config (read form). Implements PUT's selection-clearing rules. */
function applyArgs(config: Record<string, unknown>, args: Record<string, string>): void {
  for (const [k, v] of Object.entries(args)) {
    if (k === "id" || k === "delete" || k === "digest") continue;
    if (BOOL_KEYS.includes(k)) config[k] = toBool(k, v);
    else if (k === "vmid" || k === "exclude") config[k] = vmidString(k, v);
    else if (k === "prune-backups") {
      try {
        config[k] = Object.fromEntries(Object.entries(parsePruneOptions(v)).map(([pk, pv]) => [pk, String(pv)]));
      } catch (e) {
        throw paramError({ [k]: (e as Error).message });
      }
    } else if (STRING_KEYS.includes(k)) config[k] = v;
    else
      throw paramError({
        [k]: "property is not defined in schema and the schema does not allow additional properties",
      });
  }
  if (args.schedule !== undefined) {
    try {
      parseCalendar(args.schedule);
    } catch (e) {
      throw paramError({ schedule: e instanceof CalendarError ? e.message : String(e) });
    }
  }
  if (args.mode !== undefined && !["snapshot", "suspend", "stop"].includes(args.mode)) {
    throw paramError({
      mode: `value '${args.mode}' does not have a value in the enumeration 'snapshot, suspend, stop'`,
    });
  }
  if (args.vmid !== undefined) {
    delete config.all;
    delete config.exclude;
    delete config.pool;
  } else if (args.all !== undefined && config.all === 1) {
    delete config.vmid;
    delete config.pool;
  } else if (args.pool !== undefined) {
    delete config.vmid;
    delete config.all;
    delete config.exclude;
  }
}

function getJob(ctx: Ctx): JobState {
  const id = ctx.params.id ?? "";
  const job = ctx.state.jobs.get(id);
  if (!job) throw paramError({ id: `No such job '${id}'` });
  return job;
}

function checkStorageAlloc(ctx: Ctx, storage: unknown): void {
  if (typeof storage !== "string") return;
  if (!ctx.state.storages.has(storage)) throw paramError({ storage: `storage '${storage}' does not exist` });
  requirePriv(ctx, `/storage/${storage}`, "Datastore.Allocate");
}

/** Does this job select the guest? Disabled jobs count (PVE `get_included_vmids` ignores `enabled`). */
export function jobCovers(job: JobState, g: GuestState): boolean {
  const c = job.config;
  if (typeof c.node === "string" && c.node !== g.node) return false;
  const list = (v: unknown): number[] => (typeof v === "string" ? v.split(",").map(Number) : []);
  if (typeof c.vmid === "string") return list(c.vmid).includes(g.vmid);
  if (typeof c.pool === "string") return g.pool === c.pool;
  if (c.all === 1 || c.exclude !== undefined) return !list(c.exclude).includes(g.vmid);
  return false;
}

export const jobRoutes: Route[] = [
  route("GET", "/cluster/backup", (ctx) => {
    requirePriv(ctx, "/", "Sys.Audit");
    return [...ctx.state.jobs.values()].map((job) => {
      const out = { ...job.config };
      if (job.event) {
        const next = nextEvent(job.event, ctx.now, ctx.state.jobTz(job));
        if (next !== null) out["next-run"] = Math.floor(next / 1000);
      }
      return out;
    });
  }),

  route("POST", "/cluster/backup", (ctx) => {
    requirePriv(ctx, "/", "Sys.Modify");
    const id = ctx.args.id ?? `backup-${randomUUID().slice(0, 13)}`;
    if (ctx.state.jobs.has(id)) throw new ApiError(500, `Job '${id}' already exists`);
    if (!ctx.args.schedule) throw paramError({ schedule: "property is missing and it is not optional" });
    const config: Record<string, unknown> = { id, type: "vzdump" };
    applyArgs(config, ctx.args);
    if (config.vmid === undefined && config.all !== 1 && config.pool === undefined && config.exclude === undefined) {
      throw paramError({ vmid: "you need to specify 'vmid', 'all' or 'pool'" });
    }
    checkStorageAlloc(ctx, config.storage);
    ctx.state.putJob(config, ctx.now);
    return null;
  }),

  route("GET", "/cluster/backup/{id}", (ctx) => {
    requirePriv(ctx, "/", "Sys.Audit");
    return { ...getJob(ctx).config };
  }),

  route("PUT", "/cluster/backup/{id}", (ctx) => {
    requirePriv(ctx, "/", "Sys.Modify");
    const job = getJob(ctx);
    const config = { ...job.config };
    for (const key of (ctx.args.delete ?? "").split(/[,;\s]+/).filter(Boolean)) delete config[key];
    applyArgs(config, ctx.args);
    checkStorageAlloc(ctx, config.storage);
    // Changing schedule/enabled resets scheduler state, as PVE updates each node's job state.
    const replaced = ctx.state.putJob(config, ctx.now);
    if (
      job.event &&
      replaced.event &&
      config.schedule === job.config.schedule &&
      config.enabled === job.config.enabled
    ) {
      replaced.checkedMs = job.checkedMs;
      ctx.state.refreshJobDue(replaced);
    }
    return null;
  }),

  route("DELETE", "/cluster/backup/{id}", (ctx) => {
    requirePriv(ctx, "/", "Sys.Modify");
    const job = getJob(ctx);
    ctx.state.jobs.delete(String(job.config.id));
    return null;
  }),

  route("GET", "/cluster/backup/{id}/included_volumes", (ctx) => {
    requirePriv(ctx, "/", "Sys.Audit");
    const job = getJob(ctx);
    const children: Record<string, unknown>[] = [];
    const listed =
      typeof job.config.vmid === "string" ? job.config.vmid.split(",").map(Number) : [...ctx.state.guests.keys()];
    for (const vmid of listed.sort((a, b) => a - b)) {
      const g = ctx.state.guests.get(vmid);
      if (!g) {
        children.push({ id: vmid, type: "unknown", leaf: 1 });
        continue;
      }
      if (!jobCovers(job, g) || !hasPriv(ctx.token, `/vms/${vmid}`, "VM.Audit")) continue;
      // pve-manager PVE/API2/Backup.pm included_volumes: one leaf per volume get_backup_volumes
      // returns (id "<vmid>:<key>", name = the drive's `file` / the mount point's `volume`), a guest
      // without volumes is itself a leaf.
      const disks = backupVolumes(ctx.state, g).map((d) => ({
        id: `${vmid}:${d.key}`,
        name: d.volume,
        included: d.included,
        reason: d.reason,
        leaf: 1,
      }));
      children.push({ id: vmid, type: g.type, name: g.name, leaf: disks.length ? 0 : 1, children: disks });
    }
    return { children };
  }),

  route("GET", "/cluster/backup-info/not-backed-up", (ctx) => {
    requirePriv(ctx, "/", "Sys.Audit");
    const jobs = [...ctx.state.jobs.values()];
    return [...ctx.state.guests.values()]
      .sort((a, b) => a.vmid - b.vmid)
      .filter((g) => !jobs.some((j) => jobCovers(j, g)))
      .filter((g) => hasPriv(ctx.token, `/vms/${g.vmid}`, "VM.Audit"))
      .map((g) => ({ vmid: g.vmid, type: g.type, name: g.name }));
  }),
];
