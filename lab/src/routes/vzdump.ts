/**
 * POST /nodes/{node}/vzdump: start a backup worker, or answer the literal "OK" without a task
 * when nothing selected lives on this node and `all` is not set.
 */
import { hasPriv } from "../acl.js";
import { parsePruneOptions } from "../prune.js";
import {
  ApiError,
  boolArg,
  enumArg,
  nodeOf,
  paramError,
  permError,
  requirePriv,
  route,
  vmidListArg,
  type Route,
} from "../router.js";
import { defaultStorage } from "../tasks.js";
import { startVzdump } from "../vzdump.js";
import type { VzdumpOptions } from "../workers.js";

const PASS_THROUGH = [
  "mailto",
  "mailnotification",
  "notification-mode",
  "bwlimit",
  "ionice",
  "lockwait",
  "stopwait",
  "zstd",
  "pbs-change-detection-mode",
  "fleecing",
  "performance",
  "quiet",
  "stdexcludes",
];

export const vzdumpRoutes: Route[] = [
  route("GET", "/nodes/{node}/vzdump/defaults", (ctx) => {
    nodeOf(ctx);
    return {
      storage: ctx.args.storage ?? defaultStorage(ctx.state),
      mode: "snapshot",
      compress: "0",
      remove: 1,
      lockwait: 180,
      stopwait: 10,
      ionice: 7,
      "notes-template": "{{guestname}}",
    };
  }),

  route("POST", "/nodes/{node}/vzdump", (ctx) => {
    const node = nodeOf(ctx);
    const vmids = vmidListArg(ctx, "vmid");
    const exclude = vmidListArg(ctx, "exclude") ?? [];
    const all = (boolArg(ctx, "all") ?? false) || (ctx.args.exclude !== undefined && vmids === undefined);
    const pool = ctx.args.pool || undefined;
    if (all && vmids) throw paramError({ all: "option conflicts with option 'vmid'" });
    if (!all && !vmids && !pool) throw paramError({ vmid: "property is missing and it is not optional" });
    const mode = enumArg(ctx, "mode", ["snapshot", "suspend", "stop"] as const) ?? "snapshot";
    const compress = enumArg(ctx, "compress", ["0", "1", "gzip", "lzo", "zstd"] as const) ?? "0";
    const storageId = ctx.args.storage ?? defaultStorage(ctx.state);
    const storage = ctx.state.storages.get(storageId);
    if (!storage) throw new ApiError(500, `storage '${storageId}' does not exist`);
    if (!storage.content.includes("backup")) throw new ApiError(500, `storage '${storageId}' does not support backups`);
    if (!storage.nodes.includes(node.name))
      throw new ApiError(500, `storage '${storageId}' is not available on node '${node.name}'`);
    if (ctx.args["notes-template"] !== undefined && ctx.args.storage === undefined) {
      throw paramError({ "notes-template": "'notes-template' requires option 'storage'" });
    }
    for (const rootOnly of ["job-id", "tmpdir", "dumpdir", "script"]) {
      if (ctx.args[rootOnly] !== undefined && ctx.token.id !== "root@pam")
        throw new ApiError(403, `Permission check failed (user != root@pam)`);
    }

    // Privileges: VM.Backup per guest (silently skipped with all=1), AllocateSpace on storage.
    let skipNoPerm: number[] = [];
    if (vmids) {
      for (const vmid of vmids)
        if (!hasPriv(ctx.token, `/vms/${vmid}`, "VM.Backup")) throw permError(`/vms/${vmid}`, "VM.Backup");
    } else if (pool) {
      requirePriv(ctx, `/pool/${pool}`, "VM.Backup");
    } else {
      skipNoPerm = [...ctx.state.guests.keys()].filter((id) => !hasPriv(ctx.token, `/vms/${id}`, "VM.Backup"));
    }
    requirePriv(ctx, `/storage/${storageId}`, "Datastore.AllocateSpace");
    let pruneBackups: Record<string, number> | undefined;
    if (ctx.args["prune-backups"] !== undefined) {
      requirePriv(ctx, `/storage/${storageId}`, "Datastore.Allocate");
      try {
        pruneBackups = parsePruneOptions(ctx.args["prune-backups"]);
      } catch (e) {
        throw paramError({ "prune-backups": (e as Error).message });
      }
    }
    for (const k of ["bwlimit", "ionice", "performance"])
      if (ctx.args[k] !== undefined) requirePriv(ctx, "/", "Sys.Modify");

    const extra: Record<string, string> = {};
    for (const k of PASS_THROUGH) if (ctx.args[k] !== undefined) extra[k] = ctx.args[k] ?? "";
    const opts: VzdumpOptions = {
      vmids: vmids ?? [],
      all,
      exclude: [...exclude, ...skipNoPerm.filter((id) => !exclude.includes(id))],
      ...(pool ? { pool } : {}),
      storage: storageId,
      mode,
      compress,
      ...(ctx.args["notes-template"] !== undefined ? { notesTemplate: ctx.args["notes-template"] } : {}),
      protected: boolArg(ctx, "protected") ?? false,
      ...(pruneBackups ? { pruneBackups } : {}),
      remove: boolArg(ctx, "remove") ?? true,
      extra,
    };
    const task = startVzdump(ctx.state, node.name, ctx.token.id, opts, ctx.now);
    return task === "OK" ? "OK" : task.upid;
  }),
];
