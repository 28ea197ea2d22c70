/**
 * zod schemas of the DSM answers the bridge reads: SYNO.API.Info and SYNO.API.Auth (documented in
 * Synology's DSM Login Web API Guide), and the Hyper Backup APIs SYNO.Backup.Task,
 * SYNO.Backup.Target and SYNO.SDS.Backup.Client.Common.Log, which Synology does not document
 * (their shapes are what DSM 6 and 7 answer). Unknown keys pass.
 */
import { z } from "zod";

export const Envelope = z.looseObject({
  success: z.boolean(),
  data: z.unknown().optional(),
  error: z.looseObject({ code: z.number().int(), errors: z.unknown().optional() }).optional(),
});

export const ApiInfo = z.record(
  z.string(),
  z.looseObject({
    path: z.string().min(1),
    minVersion: z.number().int(),
    maxVersion: z.number().int(),
    requestFormat: z.string().optional(),
  }),
);
export type ApiInfo = z.infer<typeof ApiInfo>;

export const LoginData = z.looseObject({
  sid: z.string().min(1),
  /** DSM 7 / API v7 name of the trusted-device token. */
  device_id: z.string().optional(),
  /** DSM 6 / API v6 name of the same token. */
  did: z.string().optional(),
  synotoken: z.string().optional(),
  is_portal_port: z.boolean().optional(),
});

const nasTime = z.string(); // "YYYY/MM/DD HH:MM[:SS]" or ""
const sizeLike = z.union([z.string(), z.number()]);

export const TaskListItem = z.looseObject({
  task_id: z.number().int(),
  name: z.string(),
  state: z.string(),
  status: z.string(),
  last_bkp_result: z.string().optional(),
  last_bkp_time: nasTime.optional(),
  last_bkp_end_time: nasTime.optional(),
  target_type: z.string().optional(),
  transfer_type: z.string().optional(),
  type: z.string().optional(),
  data_type: z.string().optional(),
  target_id: z.string().optional(),
  repo_id: z.number().int().optional(),
  /** With `additional` "source" / "schedule" (DSM 7): read on their own (task-source.ts), never failing the list. */
  source: z.unknown().optional(),
  schedule: z.unknown().optional(),
});
export const TaskList = z.looseObject({ task_list: z.array(TaskListItem), total: z.number().int().optional() });
export type TaskListItem = z.infer<typeof TaskListItem>;

export const TaskStatus = z.looseObject({
  task_id: z.number().int().optional(),
  state: z.string(),
  status: z.string(),
  last_bkp_result: z.string().optional(),
  last_bkp_error: z.string().optional(),
  last_bkp_error_code: z.number().int().optional(),
  last_bkp_progress: z.number().optional(),
  last_bkp_time: nasTime.optional(),
  last_bkp_end_time: nasTime.optional(),
  last_bkp_success_time: nasTime.optional(),
  next_bkp_time: nasTime.optional(),
  schedule: z.looseObject({ schedule_enable: z.boolean().optional() }).optional(),
  progress: z
    .looseObject({
      step: z.string().optional(),
      progress: z.number().optional(),
      processed_size: sizeLike.optional(),
      total_size: sizeLike.optional(),
      transmitted_size: sizeLike.optional(),
    })
    .optional(),
});
export type TaskStatus = z.infer<typeof TaskStatus>;

/** SYNO.Backup.Task get: the task's whole config; only `source` and `schedule` are read (task-source.ts). */
export const TaskGet = z.looseObject({ source: z.unknown().optional(), schedule: z.unknown().optional() });

export const TargetInfo = z.looseObject({
  is_online: z.boolean().optional(),
  used_size: z.number().optional(),
  last_detect_time: z.string().optional(),
});

export const LogList = z.looseObject({
  log_list: z.array(z.looseObject({ event: z.string(), time: z.string() })),
  total: z.number().int().optional(),
});
