/** The `pbs` section of a lab scenario: the simulated Proxmox Backup Server. */
import { z } from "zod";
import { PBS_ROLE_NAMES, type PbsAclEntry } from "./acl.js";

const when = {
  age: z
    .string()
    .regex(/^(\d+(\.\d+)?[smhdw])+$/)
    .optional(),
  time: z.string().datetime({ offset: true }).optional(),
};
export const LastRun = z.object({ ...when, state: z.string().default("OK") }).strict();

/** One `proxmox-backup-manager acl update <path> <role> --auth-id <id> [--propagate false]`. */
const AclEntry = z
  .object({
    path: z.string().regex(/^\/[A-Za-z0-9_./-]*$/),
    role: z.enum(PBS_ROLE_NAMES),
    propagate: z.boolean().default(true),
  })
  .strict();
export type PbsAclEntryInput = z.input<typeof AclEntry>;

/**
 * What a token (and its user) may do when the scenario does not say: the README's least-privilege
 * roles with *Verify now* (DatastoreReader on the datastores, RemoteAudit to see push sync jobs),
 * on /datastore and /remote so that they cover every datastore and remote a scenario has.
 */
export const DEFAULT_PBS_ACL: PbsAclEntry[] = [
  { path: "/datastore", role: "DatastoreReader", propagate: true },
  { path: "/remote", role: "RemoteAudit", propagate: true },
];

/** KeepOptions (pbs-api-types jobs.rs), in the order PBS applies them. */
export const KEEP_OPTIONS = [
  "keep-last",
  "keep-hourly",
  "keep-daily",
  "keep-weekly",
  "keep-monthly",
  "keep-yearly",
] as const;

const DatastoreSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/),
    comment: z.string().optional(),
    total: z.number().int().default(4_000_000_000_000),
    used: z.number().int().default(1_200_000_000_000),
    /** PVE storage ids of type pbs pointing here (for the bridge config the demo builds). */
    storages: z.array(z.string()).default([]),
    namespaces: z.array(z.string()).default([]),
    snapshots: z
      .array(
        z
          .object({
            ns: z.string().default(""),
            type: z.enum(["vm", "ct", "host"]),
            id: z.string(),
            ...when,
            size: z.number().int().positive().default(34_359_738_935),
            verification: z.enum(["ok", "failed"]).optional(),
            comment: z.string().optional(),
            owner: z.string().default("root@pam"),
            encrypted: z.boolean().default(false),
          })
          .strict(),
      )
      .default([]),
    /** null/absent = GC never ran. */
    gc: LastRun.nullable().default(null),
    gcSchedule: z.string().default("daily"),
    verifyJobs: z
      .array(
        z
          .object({
            id: z.string(),
            schedule: z.string().default("sat 03:00"),
            lastRun: LastRun.optional(),
            "outdated-after": z.number().int().optional(),
            "ignore-verified": z.boolean().optional(),
            comment: z.string().optional(),
          })
          .strict(),
      )
      .default([]),
    syncJobs: z
      .array(
        z
          .object({
            id: z.string(),
            remote: z.string().optional(),
            remoteStore: z.string(),
            direction: z.enum(["pull", "push"]).default("push"),
            schedule: z.string().default("hourly"),
            lastRun: LastRun.optional(),
          })
          .strict(),
      )
      .default([]),
    /** Prune jobs (prune.cfg): `keep-*` options, an optional namespace anchor and depth. */
    pruneJobs: z
      .array(
        z
          .object({
            id: z.string(),
            schedule: z.string().default("daily"),
            disable: z.boolean().default(false),
            comment: z.string().optional(),
            ns: z.string().optional(),
            "max-depth": z.number().int().min(0).optional(),
            "keep-last": z.number().int().min(1).optional(),
            "keep-hourly": z.number().int().min(1).optional(),
            "keep-daily": z.number().int().min(1).optional(),
            "keep-weekly": z.number().int().min(1).optional(),
            "keep-monthly": z.number().int().min(1).optional(),
            "keep-yearly": z.number().int().min(1).optional(),
            lastRun: LastRun.optional(),
          })
          .strict(),
      )
      .default([]),
    /** Snapshots (type/id) a verify finds broken. */
    corrupt: z.array(z.string()).default([]),
  })
  .strict();

export const PbsScenarioSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/)
      .default("pbs"),
    /**
     * The proxmox-backup release the lab answers as (GET /version, and behaviour that changed):
     * from 3.3 GET /admin/sync takes `sync-direction` and lists only pull jobs without it; before,
     * it refuses that parameter with 400 and lists every job.
     */
    version: z
      .string()
      .regex(/^\d+\.\d+/, "a release number such as 3.2.4")
      .default("3.2.4"),
    offsite: z.boolean().default(false),
    /**
     * API tokens (`user@realm!name`). `acl`: the token's own ACL entries; omitted = DEFAULT_PBS_ACL.
     * A token only gets what its user has too (PBS intersects them), so its user gets the same
     * entries unless `users` lists it with its own.
     */
    tokens: z
      .array(
        z
          .object({
            id: z.string().regex(/^[^!\s]+@[^!\s]+![A-Za-z0-9_][A-Za-z0-9._-]*$/),
            secret: z.string(),
            acl: z.array(AclEntry).optional(),
          })
          .strict(),
      )
      .default([{ id: "backup2mqtt@pbs!bridge", secret: "7c2e9a41-0d3b-4f8e-b5a6-1e9d3c7b2f40" }]),
    /** Users (`user@realm`) with their own ACL entries (root@pam is the superuser regardless). */
    users: z
      .array(z.object({ id: z.string().regex(/^[^!\s]+@[^!\s]+$/), acl: z.array(AclEntry).default([]) }).strict())
      .default([]),
    /** Lab seconds a verify takes (before taskSpeed). */
    verifySeconds: z.number().positive().default(30),
    /** Lab seconds a garbage collection started by POST …/gc takes (before taskSpeed). */
    gcSeconds: z.number().positive().default(20),
    datastores: z.array(DatastoreSchema).default([]),
  })
  .strict();
export type PbsScenario = z.input<typeof PbsScenarioSchema>;
export type ResolvedPbs = z.output<typeof PbsScenarioSchema>;
