import { z } from "zod";

/**
 * Shapes of the PVE answers the bridge reads (as the PVE API viewer documents them: https://pve.proxmox.com/pve-docs/api-viewer/). Unknown fields are
 * tolerated (zod strips them); a field of the wrong type makes the answer unreadable.
 * PVE booleans are the integers 0/1.
 */
const bool01 = z.union([z.literal(0), z.literal(1)]);
const int = z.number().int();

export const versionSchema = z.object({
  version: z.string(),
  release: z.string().optional(),
  repoid: z.string().optional(),
});

export const resourceSchema = z.object({
  id: z.string(),
  type: z.string(),
  node: z.string().optional(),
  status: z.string().optional(),
  vmid: int.optional(),
  name: z.string().optional(),
  template: bool01.optional(),
  tags: z.string().optional(),
  lock: z.string().optional(),
  pool: z.string().optional(),
  storage: z.string().optional(),
  shared: bool01.optional(),
  content: z.string().optional(),
  plugintype: z.string().optional(),
  /** Storage rows: bytes used and total (guests and nodes carry them too). */
  disk: z.number().optional(),
  maxdisk: z.number().optional(),
});
export const resourcesSchema = z.array(resourceSchema);
export type Resource = z.infer<typeof resourceSchema>;

export const jobSchema = z.object({
  id: z.string(),
  type: z.string().optional(),
  enabled: bool01.optional(),
  schedule: z.string().optional(),
  "next-run": int.optional(),
  vmid: z.string().optional(),
  all: bool01.optional(),
  exclude: z.string().optional(),
  pool: z.string().optional(),
  node: z.string().optional(),
  storage: z.string().optional(),
  mode: z.string().optional(),
  compress: z.string().optional(),
  "notes-template": z.string().optional(),
  "prune-backups": z.record(z.string(), z.union([z.string(), int])).optional(),
  comment: z.string().optional(),
  "repeat-missed": bool01.optional(),
});
export const jobsSchema = z.array(jobSchema);

/**
 * GET /storage (the cluster's storage configuration; pve-storage API2/Storage/Config.pm `index`):
 * every storage the token has Datastore.Audit or Datastore.AllocateSpace on, never a 403. Unlike a
 * job's, a storage's `prune-backups` comes back as the property string stored in storage.cfg
 * ("keep-daily=7,keep-weekly=4": Config.pm re-encodes only content and nodes, Plugin.pm's
 * decode_value does not parse it, and pve-manager's storage editor runs parsePropertyString on it);
 * the object form is read too.
 */
/**
 * Where an NFS/CIFS storage mounts from (pve-storage NFSPlugin `server` + `export`, CIFSPlugin
 * `server` + `share` + `subdir`; `path` is only PVE's mount point): a value of another type is
 * dropped, never making the retention unreadable.
 */
const mountField = z.string().optional().catch(undefined);

export const storageConfigSchema = z.object({
  storage: z.string(),
  type: mountField,
  server: mountField,
  export: mountField,
  share: mountField,
  subdir: mountField,
  "prune-backups": z.union([z.string(), z.record(z.string(), z.union([z.string(), int]))]).optional(),
});
export const storageConfigsSchema = z.array(storageConfigSchema);

export const contentItemSchema = z.object({
  volid: z.string(),
  vmid: int.optional(),
  ctime: int,
  size: int.optional(),
  format: z.string(),
  subtype: z.string().optional(),
  notes: z.string().optional(),
  protected: bool01.optional(),
  verification: z.object({ state: z.string(), upid: z.string().optional() }).optional(),
});
export const contentSchema = z.array(contentItemSchema);

export const taskSchema = z.object({
  upid: z.string(),
  node: z.string(),
  starttime: int,
  type: z.string(),
  id: z.string().optional(),
  user: z.string().optional(),
  tokenid: z.string().optional(),
  endtime: int.optional(),
  status: z.string().optional(),
});
export const tasksSchema = z.array(taskSchema);
export type Task = z.infer<typeof taskSchema>;

export const taskStatusSchema = z.object({
  status: z.enum(["running", "stopped"]),
  exitstatus: z.string().optional(),
  starttime: int.optional(),
});

export const taskLogSchema = z.array(z.object({ n: int, t: z.string() }));

/** GET /nodes/{node}/time: { timezone, time (epoch), localtime (wall clock as if UTC) }; only the zone is used. */
export const nodeTimeSchema = z.object({ timezone: z.string().min(1) });

/** GET /access/permissions: path → privilege → 1 (propagates) / 0. */
export const permissionsSchema = z.record(z.string(), z.record(z.string(), int));

export const vzdumpResultSchema = z.string();

/** DELETE /nodes/{node}/tasks/{upid} answers null. */
export const stopTaskSchema = z.unknown();
