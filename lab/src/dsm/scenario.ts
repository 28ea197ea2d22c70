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
    /** Days the schedule runs on, DSM's `week_name` ("0,1,2,3,4,5,6", 0 = Sunday); default every day. */
    weekdays: z
      .string()
      .regex(/^[0-6](,[0-6])*$/, "DSM week_name like 0,1,2,3,4,5,6 (0 = Sunday)")
      .default("0,1,2,3,4,5,6"),
    /** Run again every n hours after `schedule` the same day (DSM `repeat_hour`); 0 = once a day. */
    repeatHours: z.number().int().min(0).max(23).default(0),
    /** DSM `schedule_enable`; default: true when `schedule` is set. false → next_bkp_time "". */
    scheduleEnabled: z.boolean().optional(),
    /**
     * The shared folders (or folders below them) the task backs up; default one folder
     * `/<task name>` on volume1. `missing`: the folder no longer exists (isValidSource false).
     */
    sources: z
      .array(
        z
          .object({
            path: z.string().startsWith("/"),
            volume: z
              .string()
              .regex(/^volume\d+$|^volumeUSB\d+/)
              .default("volume1"),
            missing: z.boolean().default(false),
            valid: z.boolean().optional(),
          })
          .strict(),
      )
      .optional(),
    /** Paths the task's file filter excludes (backup_filter.exclude_list). */
    excludes: z.array(z.string()).default([]),
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
    /**
     * Lab only: the NAS's name on the network, as PVE's nfs/cifs storages name it in `server`
     * (their default is nas.home.arpa too). The simulator itself listens on 127.0.0.1, so a client
     * cannot learn this from the URL: it is what links a storage to this NAS.
     */
    hostname: z.string().min(1).default("nas.home.arpa"),
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
