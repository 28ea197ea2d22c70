/**
 * zod schemas of the PBS answers the bridge reads (as the PBS API viewer documents them:
 * https://pbs.proxmox.com/docs/api-viewer/). Keys are kebab-case, and PBS usually leaves an unset
 * optional key out of its answer (where it sends null instead, the schema says so).
 */
import { z } from "zod";

const epoch = z.number().int();

export const Datastores = z.array(
  z.looseObject({
    store: z.string(),
    comment: z.string().nullish(),
    maintenance: z.string().nullish(),
    "mount-status": z.string().optional(),
  }),
);

const GcStatus = z.looseObject({
  /** null when GC never ran (serialised as null, not omitted). */
  upid: z.string().nullable().optional(),
  "index-data-bytes": z.number().optional(),
  "disk-bytes": z.number().optional(),
  "removed-bytes": z.number().optional(),
  "pending-bytes": z.number().optional(),
});

export const DatastoreStatus = z.looseObject({
  total: z.number(),
  used: z.number(),
  avail: z.number(),
  "gc-status": GcStatus.optional(),
});

export const Namespaces = z.array(z.looseObject({ ns: z.string(), comment: z.string().nullish() }));

export const Snapshot = z.looseObject({
  "backup-type": z.enum(["vm", "ct", "host"]),
  "backup-id": z.string(),
  "backup-time": epoch,
  comment: z.string().optional(),
  /** Absent until a verify task touched the snapshot. */
  verification: z.looseObject({ upid: z.string(), state: z.string() }).optional(),
  fingerprint: z.string().optional(),
  files: z.array(
    z.looseObject({ filename: z.string(), "crypt-mode": z.string().optional(), size: z.number().optional() }),
  ),
  size: z.number().optional(),
  owner: z.string().optional(),
  protected: z.boolean().optional(),
});
export const Snapshots = z.array(Snapshot);
export type Snapshot = z.infer<typeof Snapshot>;

export const Groups = z.array(
  z.looseObject({
    "backup-type": z.enum(["vm", "ct", "host"]),
    "backup-id": z.string(),
    "last-backup": epoch,
    "backup-count": z.number().int(),
    /** Strings here, objects in snapshots. */
    files: z.array(z.string()),
    owner: z.string().optional(),
  }),
);

const JobSchedule = {
  schedule: z.string().optional(),
  "next-run": epoch.optional(),
  /** "OK", "WARNINGS: n", "unknown", or the raw error message. */
  "last-run-state": z.string().optional(),
  "last-run-upid": z.string().optional(),
  "last-run-endtime": epoch.optional(),
};

export const GcJobs = z.array(GcStatus.extend({ store: z.string(), ...JobSchedule }));
export const VerifyJobs = z.array(
  z.looseObject({
    id: z.string(),
    store: z.string(),
    ns: z.string().optional(),
    "outdated-after": z.number().optional(),
    ...JobSchedule,
  }),
);
export const SyncJobs = z.array(
  z.looseObject({
    id: z.string(),
    store: z.string(),
    remote: z.string().optional(),
    "remote-store": z.string(),
    ns: z.string().optional(),
    "remote-ns": z.string().optional(),
    /** PBS ≥ 3.3; absent = pull. */
    "sync-direction": z.enum(["pull", "push"]).optional(),
    comment: z.string().optional(),
    ...JobSchedule,
  }),
);
export type SyncJob = z.infer<typeof SyncJobs>[number];

export const Upid = z.string().startsWith("UPID:");
export const TaskStatus = z.looseObject({
  upid: z.string(),
  status: z.enum(["running", "stopped"]),
  exitstatus: z.string().optional(),
});

/** GET /access/permissions: ACL path → privilege → propagates (booleans in PBS; 0/1 tolerated). */
export const Permissions = z.record(
  z.string(),
  z.record(
    z.string(),
    z.union([z.boolean(), z.number()]).transform((v) => v === true || v === 1),
  ),
);
