/**
 * What a Hyper Backup task backs up and when (pure). DSM 7 (Hyper Backup 4.x) answers a task's
 * `source` in SYNO.Backup.Task get, and in the task list when its `additional` asks for "source"
 * (dsmctl capture, Hyper Backup 4.2.2):
 *   source: { backup_filter: { exclude_list: [], whitelist: [] },
 *             folder_list: [{ folderPath: "/docker", fullPath: "/volume1/docker", isValidSource: true, missing: false, … }],
 *             file_list: [same], share_list: {…} }
 * and its `schedule` as { schedule_enable, schedule: { hour, min, repeat_hour, week_name: "0,1,…,6", … } }.
 * DSM 6 has neither folder list: the folders are then unknown (null), not "none". Read loosely:
 * unknown fields never matter; a wrong type in one of these parts makes only that part unknown.
 */
import { z } from "zod";
import type { HyperBackupTaskEvidence } from "../../evidence.js";

export type TaskFolders = HyperBackupTaskEvidence["folders"];
export type TaskSchedule = HyperBackupTaskEvidence["schedule"];

const Folder = z.looseObject({
  folderPath: z.string(),
  fullPath: z.string(),
  isValidSource: z.boolean().optional(),
  missing: z.boolean().optional(),
});
const Source = z.looseObject({
  folder_list: z.array(Folder).nullish(),
  file_list: z.array(Folder).nullish(),
  backup_filter: z.looseObject({ exclude_list: z.array(z.unknown()).nullish() }).nullish(),
});

/** An exclude as DSM writes it: a path string, or an object naming it. */
function excludePath(x: unknown): string | undefined {
  if (typeof x === "string") return x;
  if (typeof x !== "object" || x === null) return undefined;
  const o = x as Record<string, unknown>;
  for (const k of ["path", "fullPath", "folderPath"]) if (typeof o[k] === "string") return o[k] as string;
  return undefined;
}

/**
 * A task's `source`: its folders (`folder_list`, else `file_list`; null when it has neither) and
 * excludes. Throws a message naming what was wrong (the caller logs it once, folders unknown).
 */
export function parseTaskSource(raw: unknown): { folders: TaskFolders; excludes: string[] } {
  const r = Source.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(
      `source${issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}: ${issue.message}`,
    );
  }
  const list = r.data.folder_list ?? r.data.file_list ?? null;
  return {
    folders: list
      ? list.map((f) => ({
          folderPath: f.folderPath,
          fullPath: f.fullPath,
          valid: f.isValidSource !== false && f.missing !== true,
        }))
      : null,
    excludes: (r.data.backup_filter?.exclude_list ?? []).flatMap((x) => {
      const p = excludePath(x);
      return p === undefined ? [] : [p];
    }),
  };
}

const num = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]);
const Schedule = z.looseObject({
  schedule_enable: z.boolean().optional(),
  schedule: z
    .looseObject({
      hour: num.optional(),
      min: num.optional(),
      repeat_hour: num.optional(),
      week_name: z.union([z.string(), z.array(num)]).optional(),
    })
    .nullish(),
});

/**
 * A task's `schedule` object; null when it is absent or not that shape. weekDays 0 = Sunday
 * (DSM `week_name` "0,1,2,3,4,5,6"); repeatHours 0 = once a day.
 */
export function parseTaskSchedule(raw: unknown): TaskSchedule {
  const r = Schedule.safeParse(raw);
  if (!r.success || !r.data.schedule) return null;
  const s = r.data.schedule;
  const days =
    typeof s.week_name === "string"
      ? s.week_name
          .split(",")
          .map((d) => d.trim())
          .filter((d) => /^\d+$/.test(d))
          .map(Number)
      : (s.week_name ?? []);
  return {
    enabled: r.data.schedule_enable ?? true,
    weekDays: [...new Set(days.filter((d) => d >= 0 && d <= 6))].sort((a, b) => a - b),
    hour: s.hour ?? 0,
    minute: s.min ?? 0,
    repeatHours: s.repeat_hour ?? 0,
  };
}
