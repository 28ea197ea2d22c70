/** /nodes/{node}/subscription, /nodes/{node}/time and /nodes/{node}/replication (pvesr jobs and their status). */
import { createHash } from "node:crypto";
import { hasPriv } from "../acl.js";
import { advance, nextSync, replicationStatus, type ReplicationJob } from "../replication.js";
import { ApiError, nodeOf, paramError, permError, requirePriv, route, type Ctx, type Route } from "../router.js";
import { offsetMs } from "../timezone.js";

/**
 * The server ID PVE shows for a subscription: 32 upper-case hex digits derived from the host's
 * hardware address (Proxmox::RS::Subscription get_hardware_address_candidates); stable per node.
 */
function serverId(node: string): string {
  return createHash("md5").update(`lab-node-mac/${node}`).digest("hex").toUpperCase();
}

/** The jobs whose guest lives on `node` (ReplicationState.pm `job_status` lists local guests only), advanced to now. */
function jobsOn(ctx: Ctx, node: string): { job: ReplicationJob; vmtype: "qemu" | "lxc"; next: number }[] {
  const out: { job: ReplicationJob; vmtype: "qemu" | "lxc"; next: number }[] = [];
  const tz = ctx.state.tz(node);
  for (const job of [...ctx.state.replication.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    const g = ctx.state.guests.get(job.guest);
    // Jobs of guests that no longer exist are skipped; so are jobs that would sync to the guest's own node.
    if (!g || g.node !== node || job.target === node) continue;
    const targetOnline = ctx.state.nodes.get(job.target)?.status === "online";
    advance(job, ctx.now, tz, targetOnline);
    out.push({ job, vmtype: g.type, next: nextSync(job, tz, targetOnline) });
  }
  return out;
}

export const nodeServiceRoutes: Route[] = [
  // pve-manager PVE/API2/Subscription.pm `get`: any user may read it; without /etc/subscription
  // the answer is status "notfound" with this message and the shop URL, plus `serverid` for
  // callers with Sys.Audit on /nodes/{node}. The lab's nodes have no subscription.
  route("GET", "/nodes/{node}/subscription", (ctx) => {
    const node = nodeOf(ctx);
    const out: Record<string, unknown> = {
      status: "notfound",
      message: "There is no subscription key",
      url: "https://www.proxmox.com/en/proxmox-virtual-environment/pricing",
    };
    if (hasPriv(ctx.token, `/nodes/${node.name}`, "Sys.Audit")) out.serverid = serverId(node.name);
    return out;
  }),

  // pve-manager PVE/API2/Nodes.pm `time`: Sys.Audit on /nodes/{node}; `time` is the epoch,
  // `localtime` the same wall clock read as if it were UTC (timegm(localtime(time))), `timezone`
  // the node's /etc/timezone. Job schedules are evaluated in that zone.
  route("GET", "/nodes/{node}/time", (ctx) => {
    const node = nodeOf(ctx);
    requirePriv(ctx, `/nodes/${node.name}`, "Sys.Audit");
    const tz = ctx.state.tz(node.name);
    const time = Math.floor(ctx.now / 1000);
    return { timezone: tz, time, localtime: time + Math.round(offsetMs(ctx.now, tz) / 1000) };
  }),

  // pve-manager PVE/API2/Replication.pm `status`: every job of a guest on this node (disabled
  // ones too), those without VM.Audit on the guest silently left out; `guest` filters.
  route("GET", "/nodes/{node}/replication", (ctx) => {
    const node = nodeOf(ctx);
    const guestArg = ctx.args.guest;
    if (guestArg !== undefined && !/^\d+$/.test(guestArg))
      throw paramError({ guest: "invalid format - value does not look like a valid VM ID" });
    return jobsOn(ctx, node.name)
      .filter(({ job }) => guestArg === undefined || job.guest === Number(guestArg))
      .filter(({ job }) => hasPriv(ctx.token, `/vms/${job.guest}`, "VM.Audit"))
      .map(({ job, vmtype, next }) => replicationStatus(job, node.name, vmtype, next));
  }),

  route("GET", "/nodes/{node}/replication/{id}", (ctx) => {
    nodeOf(ctx);
    return [{ name: "schedule_now" }, { name: "log" }, { name: "status" }];
  }),

  // Replication.pm `job_status`: "no such replication job" (500) for an unknown id, 403 without VM.Audit.
  route("GET", "/nodes/{node}/replication/{id}/status", (ctx) => {
    const node = nodeOf(ctx);
    const id = ctx.params.id ?? "";
    if (!/^\d+-\d+$/.test(id)) throw paramError({ id: "invalid format - replication job id must be <guest>-<jobnum>" });
    const found = jobsOn(ctx, node.name).find(({ job }) => job.id === id);
    if (!found) throw new ApiError(500, `no such replication job '${id}'`);
    if (!hasPriv(ctx.token, `/vms/${found.job.guest}`, "VM.Audit"))
      throw permError(`/vms/${found.job.guest}`, "VM.Audit");
    return replicationStatus(found.job, node.name, found.vmtype, found.next);
  }),
];
