/** The `synology` section of a lab scenario: the simulated NAS and its Hyper Backup tasks. */
import { z } from "zod";

const when = {
  age: z
    .string()
    .regex(/^(\d+(\.\d+)?[smhdw])+$/)
    .optional(),
  time: z.string().datetime({ offset: true }).optional(),
};
const At = z.object(when).strict();

export const DsmTaskSchema = z
  .object({
    id: z.number().int().min(1),
    name: z.string().min(1),
    state: z.string().default("backupable"),
    status: z.string().default("none"),
    target_type: z.string().default("image"),
    transfer_type: z.string().default("image_remote"),
    /** Last run's result; "none" and no lastAttempt = never run. */
    result: z.string().default("done"),
    lastAttempt: At.optional(),
    lastSuccess: At.optional(),
    /** Daily schedule "HH:MM" in NAS time; absent = no schedule (next_bkp_time ""). */
    schedule: z
      .string()
      .regex(/^\d{2}:\d{2}$/)
      .optional(),
    errorCode: z.number().int().default(4401),
    error: z.string().default(""),
    /** Lab seconds a "run now" takes (before taskSpeed). */
    backupSeconds: z.number().positive().default(60),
    /** What a run ends with. */
    runResult: z.string().default("done"),
    /** The PVE storage behind the share (only for the demo config: which storage the task protects). */
    protects: z.array(z.string()).optional(),
    offsite: z.boolean().optional(),
    integrity: z
      .object({ ...when, ok: z.boolean() })
      .strict()
      .optional(),
  })
  .strict();

export const DsmScenarioSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/)
      .default("nas"),
    dsm: z.union([z.literal(6), z.literal(7)]).default(7),
    timezone: z.string().default("UTC"),
    /** Newer builds write times with seconds. */
    secondsInTimes: z.boolean().default(false),
    /** DSM 7.0.1 quirk: device_id comes back "". */
    emptyDeviceId: z.boolean().default(false),
    users: z
      .array(
        z
          .object({
            account: z.string(),
            password: z.string(),
            otp: z
              .string()
              .regex(/^\d{6}$/)
              .optional(),
            admin: z.boolean().default(true),
          })
          .strict(),
      )
      .default([{ account: "backup2mqtt", password: "hyper-backup-demo", admin: true }]),
    tasks: z.array(DsmTaskSchema).default([]),
    /** What SYNO.DSM.Info / SYNO.Core.System say about the box. */
    model: z.string().default("DS920+"),
    serial: z.string().default("2080PDN012345"),
    /** DSM's version_string (SYNO.DSM.Info) and firmware_ver (SYNO.Core.System); default by `dsm`. */
    firmware: z.string().optional(),
    /** One volume for SYNO.Storage.CGI.Storage load_info, bytes. */
    volume: z
      .object({ total: z.number().int().positive(), used: z.number().int().nonnegative() })
      .strict()
      .default({ total: 7_672_030_584_832, used: 4_377_452_806_144 }),
    /**
     * Hyper Backup Vault: backups other NASes send to this one (SYNO.Backup.Service.VersionBackup.Target).
     * Absent = Vault is not installed (its APIs are not listed).
     */
    vaultTargets: z
      .array(
        z
          .object({
            id: z.number().int().min(1),
            name: z.string().min(1),
            share: z.string().default("hb_vault"),
            status: z.string().default("idle"),
            lastBackup: At.optional(),
            durationSeconds: z.number().int().nonnegative().default(0),
            usedBytes: z.number().int().nonnegative().default(0),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();
export type DsmScenario = z.input<typeof DsmScenarioSchema>;
export type ResolvedDsm = z.output<typeof DsmScenarioSchema>;
