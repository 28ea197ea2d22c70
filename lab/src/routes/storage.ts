/**
 * Storage configuration, status and backup content. The important quirk lives here: backup rows a
 * token may not "access" are silently dropped (200 with a shorter or empty list), never 403 — see
 * pve-storage `check_volume_access` (PVE/Storage.pm).
 */
import { createHash } from "node:crypto";
import { hasAnyPriv, hasPriv, type Token } from "../acl.js";
import { parsePruneOptions, pruneMark, type PruneMark } from "../prune.js";
import {
  ApiError,
  enumArg,
  intArg,
  nodeOf,
  paramError,
  requireAnyPriv,
  requirePriv,
  route,
  type Ctx,
  type Route,
} from "../router.js";
import type { ArchiveState } from "../archives.js";
import type { LabState, StorageState } from "../state.js";
import { addPlainTask } from "../workers.js";
import { storageUsage } from "./inventory.js";

/** Datastore.Allocate, or AllocateSpace + VM.Backup on the owner. */
export function mayAccessBackup(token: Token, a: Pick<ArchiveState, "storage" | "vmid">): boolean {
  if (hasPriv(token, `/storage/${a.storage}`, "Datastore.Allocate")) return true;
  return (
    hasPriv(token, `/storage/${a.storage}`, "Datastore.AllocateSpace") && hasPriv(token, `/vms/${a.vmid}`, "VM.Backup")
  );
}

const byVolid = (a: ArchiveState, b: ArchiveState): number =>
  a.volid.toLowerCase().localeCompare(b.volid.toLowerCase());

function storageOf(ctx: Ctx): StorageState {
  const node = nodeOf(ctx);
  const id = ctx.params.storage ?? "";
  const s = ctx.state.storages.get(id);
  if (!s) throw new ApiError(500, `storage '${id}' does not exist`);
  if (!s.nodes.includes(node.name)) throw new ApiError(500, `storage '${id}' is not available on node '${node.name}'`);
  return s;
}

function requireActive(s: StorageState): void {
  if (!s.enabled) throw new ApiError(500, `storage '${s.id}' is disabled`);
  if (!s.active)
    throw new ApiError(
      500,
      `unable to activate storage '${s.id}' - directory '${s.path}' does not exist or is unreachable`,
    );
}

function contentRow(a: ArchiveState): Record<string, unknown> {
  const row: Record<string, unknown> = {
    volid: a.volid,
    content: "backup",
    format: a.format,
    subtype: a.subtype,
    vmid: a.vmid,
    ctime: a.ctime,
    size: a.size,
  };
  if (a.notes !== undefined) row.notes = a.notes.split("\n")[0];
  if (a.protected) row.protected = 1;
  if (a.verification)
    row.verification = {
      state: a.verification,
      upid: "UPID:pbs:0000A1B2:0001C3D4:00000003:65BA1234:verificationjob:store1\\x3av\\x2dabc:root@pam:",
    };
  return row;
}

function findArchive(ctx: Ctx, s: StorageState): ArchiveState {
  let vol = ctx.params.volume ?? "";
  if (!vol.includes(":")) vol = `${s.id}:${vol}`;
  const a = ctx.state.archivesOn(s.id, ctx.params.node ?? "").find((x) => x.volid === vol);
  if (!a) throw new ApiError(500, `volume '${vol}' does not exist`);
  if (!mayAccessBackup(ctx.token, a))
    throw new ApiError(403, `Permission check failed (/storage/${s.id}, Datastore.Allocate)`);
  return a;
}

/**
 * A storage as GET /storage shows it (pve-storage API2/Storage/Config.pm `$api_storage_config`):
 * storage.cfg's section plus `storage` and `digest`; `content` and `nodes` as comma lists, and
 * `prune-backups` as the property string storage.cfg holds ("keep-daily=7,keep-weekly=4"), only
 * when set. Options that are not set are absent, as in storage.cfg; an nfs or cifs storage shows
 * where it mounts from (server and export, or server, share and subdir) and never a password.
 */
function storageConfig(s: StorageState, state: LabState, digest: string): Record<string, unknown> {
  const row: Record<string, unknown> = {
    storage: s.id,
    type: s.type,
    content: [...s.content].sort().join(","),
    digest,
  };
  if (["dir", "nfs", "cifs", "cephfs", "btrfs"].includes(s.type)) row.path = s.path;
  if (s.type === "dir" && s.shared) row.shared = 1; // implied by the type elsewhere
  Object.assign(row, s.mount);
  if (s.nodes.length !== state.nodes.size || s.nodes.some((n) => !state.nodes.has(n))) row.nodes = s.nodes.join(",");
  if (!s.enabled) row.disable = 1;
  if (s.pruneBackups)
    row["prune-backups"] = Object.entries(s.pruneBackups)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
  return row;
}

/** The digest of the storage configuration (PVE: SHA-1 of storage.cfg). */
function storageDigest(state: LabState): string {
  const all = [...state.storages.values()].sort((a, b) => a.id.localeCompare(b.id));
  return createHash("sha1").update(JSON.stringify(all)).digest("hex");
}

export const storageRoutes: Route[] = [
  // Every storage the token has Datastore.Audit or Datastore.AllocateSpace on; never a 403.
  route("GET", "/storage", (ctx) => {
    const type = ctx.args.type;
    const digest = storageDigest(ctx.state);
    return [...ctx.state.storages.values()]
      .sort((a, b) => a.id.localeCompare(b.id))
      .filter((s) => hasAnyPriv(ctx.token, `/storage/${s.id}`, ["Datastore.Audit", "Datastore.AllocateSpace"]))
      .filter((s) => !type || s.type === type)
      .map((s) => storageConfig(s, ctx.state, digest));
  }),

  // One storage's configuration: Datastore.Allocate on it (checked before it is looked up).
  route("GET", "/storage/{storage}", (ctx) => {
    const id = ctx.params.storage ?? "";
    requirePriv(ctx, `/storage/${id}`, "Datastore.Allocate");
    const s = ctx.state.storages.get(id);
    if (!s) throw new ApiError(500, `storage '${id}' does not exist`);
    return storageConfig(s, ctx.state, storageDigest(ctx.state));
  }),

  route("GET", "/nodes/{node}/storage", (ctx) => {
    const node = nodeOf(ctx);
    const content = ctx.args.content;
    const only = ctx.args.storage;
    const enabledOnly = ctx.args.enabled === "1";
    const rows: Record<string, unknown>[] = [];
    for (const s of [...ctx.state.storages.values()].sort((a, b) => a.id.localeCompare(b.id))) {
      if (!s.nodes.includes(node.name)) continue;
      if (only && s.id !== only) continue;
      if (content && !content.split(",").every((c) => s.content.includes(c))) continue;
      if (enabledOnly && !s.enabled) continue;
      if (!hasAnyPriv(ctx.token, `/storage/${s.id}`, ["Datastore.Audit", "Datastore.AllocateSpace"])) continue;
      const row: Record<string, unknown> = {
        storage: s.id,
        type: s.type,
        content: s.content.join(","),
        shared: s.shared ? 1 : 0,
        enabled: s.enabled ? 1 : 0,
        active: s.active && s.enabled ? 1 : 0,
      };
      if (s.active && s.enabled) {
        const { used, total } = storageUsage(s, ctx, node.name);
        Object.assign(row, { total, used, avail: total - used, used_fraction: Math.round((used / total) * 1e4) / 1e4 });
      }
      rows.push(row);
    }
    return rows;
  }),

  route("GET", "/nodes/{node}/storage/{storage}", (ctx) => {
    const s = storageOf(ctx);
    requireAnyPriv(ctx, `/storage/${s.id}`, ["Datastore.Audit", "Datastore.AllocateSpace"]);
    return [
      "content",
      "download-url",
      "file-restore",
      "import-metadata",
      "prunebackups",
      "rrd",
      "rrddata",
      "status",
      "upload",
    ].map((subdir) => ({ subdir }));
  }),

  route("GET", "/nodes/{node}/storage/{storage}/content", (ctx) => {
    const s = storageOf(ctx);
    requireAnyPriv(ctx, `/storage/${s.id}`, ["Datastore.Audit", "Datastore.AllocateSpace"]);
    const vmid = intArg(ctx, "vmid", { min: 100 });
    const content = ctx.args.content;
    requireActive(s);
    if (content && content !== "backup") return [];
    if (!s.content.includes("backup")) return [];
    const node = ctx.params.node ?? "";
    // Indexed per storage and guest, the sort order cached: a lab with 250,000 archives answers in milliseconds.
    const list =
      vmid === undefined
        ? ctx.state.archivesOnSorted(s.id, node, "volid", byVolid)
        : ctx.state
            .archivesOfGuestOn(s.id, node, vmid)
            .filter((a) => (s.type === "pbs" ? a.vmid === vmid : new RegExp(`\\S+-${vmid}-\\S+`).test(a.file)))
            .sort(byVolid);
    const access = new Map<number, boolean>();
    const may = (a: ArchiveState): boolean => {
      let ok = access.get(a.vmid);
      if (ok === undefined) {
        ok = mayAccessBackup(ctx.token, a);
        access.set(a.vmid, ok);
      }
      return ok;
    };
    return list.filter(may).map(contentRow);
  }),

  route("GET", "/nodes/{node}/storage/{storage}/content/{volume*}", (ctx) => {
    const s = storageOf(ctx);
    requireActive(s);
    const a = findArchive(ctx, s);
    const out: Record<string, unknown> = {
      path: s.type === "pbs" ? a.volid : `${s.path}/dump/${a.file}`,
      size: a.size,
      used: a.size,
      format: a.format,
    };
    if (a.notes !== undefined) out.notes = a.notes;
    if (a.protected) out.protected = 1;
    return out;
  }),

  route("PUT", "/nodes/{node}/storage/{storage}/content/{volume*}", (ctx) => {
    const s = storageOf(ctx);
    requireActive(s);
    const a = findArchive(ctx, s);
    if (ctx.args.notes !== undefined) a.notes = ctx.args.notes;
    if (ctx.args.protected !== undefined) a.protected = ctx.args.protected === "1" || ctx.args.protected === "true";
    return null;
  }),

  route("DELETE", "/nodes/{node}/storage/{storage}/content/{volume*}", (ctx) => {
    const s = storageOf(ctx);
    requireActive(s);
    const a = findArchive(ctx, s);
    if (a.protected) throw new ApiError(500, `cannot delete protected backup '${a.volid}'`);
    ctx.state.archives = ctx.state.archives.filter((x) => x !== a);
    return addPlainTask(
      ctx.state,
      ctx.params.node ?? "",
      "imgdel",
      a.volid.replace(/\//g, "_"),
      ctx.token.id,
      ctx.now,
      1000,
      "OK",
    ).upid;
  }),

  route("GET", "/nodes/{node}/storage/{storage}/prunebackups", (ctx) => {
    const s = storageOf(ctx);
    requireAnyPriv(ctx, `/storage/${s.id}`, ["Datastore.Audit", "Datastore.AllocateSpace"]);
    requireActive(s);
    const type = enumArg(ctx, "type", ["qemu", "lxc"] as const);
    const vmid = intArg(ctx, "vmid", { min: 100 });
    let opts: Record<string, number>;
    try {
      opts = parsePruneOptions(ctx.args["prune-backups"] ?? s.pruneBackups);
    } catch (e) {
      throw paramError({ "prune-backups": (e as Error).message });
    }
    if (!Object.keys(opts).length) throw new ApiError(500, `no prune-backups options configured for storage '${s.id}'`);
    const tz = ctx.state.tz(ctx.params.node);
    const list = ctx.state
      .archivesOn(s.id, ctx.params.node ?? "")
      .filter((a) => (vmid === undefined || a.vmid === vmid) && (type === undefined || a.subtype === type));
    const groups = new Map<string, { a: ArchiveState; ctime: number; protected: boolean; mark?: PruneMark }[]>();
    for (const a of list) {
      const key = `${a.subtype}/${a.vmid}`;
      const g = groups.get(key) ?? [];
      g.push({ a, ctime: a.ctime, protected: a.protected });
      groups.set(key, g);
    }
    const rows: Record<string, unknown>[] = [];
    for (const g of groups.values()) {
      for (const e of pruneMark(g, opts, tz))
        rows.push({ volid: e.a.volid, ctime: e.ctime, mark: e.mark, type: e.a.subtype, vmid: e.a.vmid });
    }
    return rows;
  }),
];
