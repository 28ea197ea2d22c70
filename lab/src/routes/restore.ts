/**
 * Restore and destroy, as far as a restore test needs them: POST /nodes/{n}/qemu with
 * `archive` (qmrestore), POST /nodes/{n}/lxc with `ostemplate` + `restore=1` (vzrestore),
 * GET …/{vmid}/config, DELETE …/{vmid} (qmdestroy/vzdestroy). Each is a worker task that
 * takes a while; the guest appears when the restore task ends and disappears when destroy ends.
 */
import { hasPriv } from "../acl.js";
import {
  ApiError,
  boolArg,
  intArg,
  nodeOf,
  paramError,
  permError,
  requirePriv,
  route,
  type Ctx,
  type Route,
} from "../router.js";
import { guestConfig } from "../guest-config.js";
import { startTimedTask } from "../workers.js";

const RESTORE_MS = 20_000;
const DESTROY_MS = 4_000;

function restore(kind: "qemu" | "lxc") {
  return (ctx: Ctx) => {
    const node = nodeOf(ctx);
    const vmid = intArg(ctx, "vmid", { min: 100, max: 999_999_999 });
    if (vmid === undefined) throw paramError({ vmid: "property is missing and it is not optional" });
    const volid = kind === "qemu" ? ctx.args.archive : ctx.args.ostemplate;
    if (!volid) {
      if (kind === "qemu") throw new ApiError(501, "creating a new VM without 'archive' is not simulated");
      throw paramError({ ostemplate: "property is missing and it is not optional" });
    }
    if (kind === "lxc" && !boolArg(ctx, "restore"))
      throw new ApiError(501, "creating a container without 'restore=1' is not simulated");
    requirePriv(ctx, `/vms/${vmid}`, "VM.Allocate");
    const storage = ctx.args.storage;
    if (storage) requirePriv(ctx, `/storage/${storage}`, "Datastore.AllocateSpace");
    const archive = ctx.state.archives.find((a) => a.volid === volid);
    if (!archive) throw new ApiError(500, `volume '${volid}' does not exist`);
    // Reading a backup archive needs the same privileges as seeing it (Storage.pm check_volume_access).
    const st = `/storage/${archive.storage}`;
    if (
      !hasPriv(ctx.token, st, "Datastore.Allocate") &&
      !(hasPriv(ctx.token, st, "Datastore.AllocateSpace") && hasPriv(ctx.token, `/vms/${archive.vmid}`, "VM.Backup"))
    ) {
      throw permError(st, "Datastore.AllocateSpace");
    }
    if (ctx.state.guests.has(vmid) && !boolArg(ctx, "force")) {
      throw new ApiError(
        500,
        kind === "qemu"
          ? `unable to restore VM ${vmid} - VM ${vmid} already exists on node '${ctx.state.guests.get(vmid)!.node}'`
          : `CT ${vmid} already exists on node '${ctx.state.guests.get(vmid)!.node}'`,
      );
    }
    if (archive.subtype !== kind)
      throw new ApiError(500, `archive '${volid}' is not a ${kind === "qemu" ? "VM" : "container"} backup`);
    const failure = ctx.state.restoreFailNext;
    ctx.state.restoreFailNext = undefined;
    const source = ctx.state.guests.get(archive.vmid);
    const task = startTimedTask(
      ctx.state,
      node.name,
      kind === "qemu" ? "qmrestore" : "vzrestore",
      String(vmid),
      ctx.token.id,
      ctx.now,
      RESTORE_MS / ctx.state.taskSpeed,
      () => {
        if (failure)
          return {
            error: failure,
            lines: [`restore ${kind === "qemu" ? "vma" : "tar"} archive: ${volid}`, `error: ${failure}`],
          };
        if (archive.corrupt)
          return {
            error: "command 'set -o pipefail && zstd -q -d -c … | vma extract …' failed: exit code 133",
            lines: [`restore vma archive: ${volid}`],
          };
        ctx.state.addGuest({
          vmid,
          type: kind,
          name: source ? `${source.name}-restoretest` : `restore-${vmid}`,
          node: node.name,
          status: "stopped",
          // The restored disk is the backed-up one: same size (and so the same config `size=`).
          ...(source
            ? { cpus: source.cpus, maxmem: source.maxmem, maxdisk: source.maxdisk, ostype: source.ostype }
            : {}),
        });
        return { lines: [`restore ${kind === "qemu" ? "vma" : "tar"} archive: ${volid}`, `rescan volumes...`] };
      },
    );
    return task.upid;
  };
}

function config(kind: "qemu" | "lxc") {
  return (ctx: Ctx) => {
    nodeOf(ctx);
    const vmid = Number(ctx.params.vmid);
    const g = ctx.state.guests.get(vmid);
    if (!g || g.type !== kind || g.node !== ctx.params.node) {
      throw new ApiError(
        500,
        `Configuration file 'nodes/${ctx.params.node}/${kind === "qemu" ? "qemu-server" : "lxc"}/${vmid}.conf' does not exist`,
      );
    }
    if (!hasPriv(ctx.token, `/vms/${vmid}`, "VM.Audit")) throw permError(`/vms/${vmid}`, "VM.Audit");
    return guestConfig(ctx.state, g);
  };
}

function destroy(kind: "qemu" | "lxc") {
  return (ctx: Ctx) => {
    const node = nodeOf(ctx);
    const vmid = Number(ctx.params.vmid);
    requirePriv(ctx, `/vms/${vmid}`, "VM.Allocate");
    const g = ctx.state.guests.get(vmid);
    if (!g || g.type !== kind || g.node !== node.name)
      throw new ApiError(
        500,
        `Configuration file 'nodes/${node.name}/${kind === "qemu" ? "qemu-server" : "lxc"}/${vmid}.conf' does not exist`,
      );
    if (g.status === "running")
      throw new ApiError(500, `${kind === "qemu" ? "VM" : "CT"} ${vmid} is running - destroy failed`);
    const task = startTimedTask(
      ctx.state,
      node.name,
      kind === "qemu" ? "qmdestroy" : "vzdestroy",
      String(vmid),
      ctx.token.id,
      ctx.now,
      DESTROY_MS / ctx.state.taskSpeed,
      () => {
        ctx.state.guests.delete(vmid);
        return {
          lines: [
            `Removing image: 100% complete...done.`,
            `purging ${kind === "qemu" ? "VM" : "CT"} ${vmid} from related configurations..`,
          ],
        };
      },
    );
    return task.upid;
  };
}

export const restoreRoutes: Route[] = [
  route("POST", "/nodes/{node}/qemu", restore("qemu")),
  route("POST", "/nodes/{node}/lxc", restore("lxc")),
  route("GET", "/nodes/{node}/qemu/{vmid}/config", config("qemu")),
  route("GET", "/nodes/{node}/lxc/{vmid}/config", config("lxc")),
  route("DELETE", "/nodes/{node}/qemu/{vmid}", destroy("qemu")),
  route("DELETE", "/nodes/{node}/lxc/{vmid}", destroy("lxc")),
];
