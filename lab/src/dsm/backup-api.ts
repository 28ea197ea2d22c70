/**
 * Hyper Backup's APIs (undocumented by Synology): SYNO.Backup.Task list/status/get/backup/cancel,
 * SYNO.Backup.Target get, SYNO.Backup.Repository list/get, SYNO.SDS.Backup.Client.Common.Log list
 * and Hyper Backup Vault's SYNO.Backup.Service.VersionBackup.Target list. Times are NAS-local
 * strings ("" when never run), `4401` on healthy tasks, string sizes while a backup runs.
 *
 * Shapes follow captures of HyperBackup 4.2.2-4262 kept as test data in derekvery666/dsmctl
 * (internal/synology/hyperbackup tests: tasksBody, taskGetBody, statusIdleBody, statusRunningBody,
 * targetBody, vaultTargetsPopulatedBody), the DSM 7 UI captures in pmilano1/synology-dsm-api
 * (docs/api-reference/hyper-backup/tasks.md, repositories.md) and the captures in this project's brief.
 */
import type { z } from "zod";
import type { SimResponse } from "../https-base.js";
import { additionalOf, at, type DsmCtx, type DsmRequest, fail, ok } from "./common.js";
import type { DsmTaskSchema } from "./scenario.js";
import { formatNasTime, nextScheduledRun } from "./time.js";

export interface SimTask {
  cfg: z.output<typeof DsmTaskSchema>;
  state: string;
  status: string;
  result: string;
  lastAttemptMs: number | null;
  lastEndMs: number | null;
  lastSuccessMs: number | null;
  errorCode: number;
  error: string;
  run: { startMs: number; endMs: number } | null;
  integrity: { timeMs: number; ok: boolean } | null;
}

const TOTAL = 1_202_233_000;

export function createBackupApi(ctx: DsmCtx, speed: number) {
  const { sc, start, fmt } = ctx;
  const tz = sc.timezone;
  const tasks = new Map<number, SimTask>(
    sc.tasks.map((t) => {
      const attempt = at(t.lastAttempt, start);
      return [
        t.id,
        {
          cfg: t,
          state: t.state,
          status: t.status,
          result: t.lastAttempt ? t.result : "none",
          lastAttemptMs: attempt,
          lastEndMs: attempt === null ? null : attempt + 60_000,
          lastSuccessMs: at(t.lastSuccess, start),
          errorCode: t.errorCode,
          error: t.error,
          run: null,
          integrity: t.integrity ? { timeMs: at(t.integrity, start)!, ok: t.integrity.ok } : null,
        },
      ];
    }),
  );

  const settle = (now: number) => {
    for (const t of tasks.values()) {
      if (t.run && now >= t.run.endMs) {
        t.lastEndMs = t.run.endMs;
        t.result = t.cfg.runResult;
        if (t.result === "done") t.lastSuccessMs = t.run.endMs;
        t.status = "none";
        t.run = null;
      }
    }
  };
  const scheduleEnabled = (t: SimTask): boolean => t.cfg.scheduleEnabled ?? t.cfg.schedule !== undefined;
  const nextRun = (t: SimTask, now: number): number | null =>
    t.cfg.schedule && scheduleEnabled(t)
      ? nextScheduledRun(t.cfg.schedule, now, tz, t.cfg.weekdays, t.cfg.repeatHours)
      : null;
  const pctOf = (t: SimTask, now: number) =>
    t.run ? Math.min(99, Math.floor(((now - t.run.startMs) / (t.run.endMs - t.run.startMs)) * 100)) : 0;
  const targetId = (t: SimTask) => (t.cfg.transfer_type === "image_remote" ? `vault_${t.cfg.id}.hbk` : "ds.hbk");
  const type = (t: SimTask) => `${t.cfg.target_type}:${t.cfg.transfer_type}`;

  /** The schedule object of status/list (brief's DSM 7 capture; `next_trigger_time` "YYYY-MM-DD HH:MM"). */
  const schedule = (t: SimTask, now: number) => {
    const next = nextRun(t, now);
    const nas = next === null ? "" : formatNasTime(next, tz, false); // "YYYY/MM/DD HH:MM"
    const [d = "", hm = ""] = nas.split(" ");
    const [y, mo, day] = d.split("/").map(Number);
    const hour = Number(t.cfg.schedule?.slice(0, 2) ?? 0);
    return {
      schedule_enable: scheduleEnabled(t),
      schedule: {
        date: y ? `${y}/${mo}/${day}` : "", // pmilano1 capture: "2025/1/16"
        date_type: 0,
        hour,
        // A repeating schedule runs until the day's last hour; once a day it is the start hour.
        last_work_hour: t.cfg.repeatHours > 0 ? 23 : hour,
        min: Number(t.cfg.schedule?.slice(3) ?? 0),
        next_trigger_time: d ? `${d.replace(/\//g, "-")} ${hm}` : "",
        repeat: 0,
        repeat_hour: t.cfg.repeatHours,
        // The hours the UI offers for "repeat every n hours" (DSM 7 capture: 1..23).
        repeat_hour_store_config: Array.from({ length: 23 }, (_, i) => i + 1),
        repeat_min: 0,
        repeat_min_store_config: [],
        week_name: t.cfg.weekdays,
      },
    };
  };

  /** A running backup's progress object (dsmctl statusRunningBody: counters are strings). */
  const progress = (t: SimTask, now: number) => {
    const pct = pctOf(t, now);
    return {
      step: pct < 5 ? "backup_prepare" : "backup_data",
      progress: pct,
      title_type: "title_backuping",
      processed_size: String(Math.floor((TOTAL * pct) / 100)),
      total_size: String(TOTAL),
      transmitted_size: String(Math.floor((TOTAL * pct) / 130)),
      scan_file_count: "16699",
      counted_file_count: "16699",
      show_progress: true,
      avg_speed: 0,
      can_cancel: true,
      can_suspend: true,
      current_app: "",
      current_app_percent: "0",
      app_list: [],
      app_done_list: [],
    };
  };

  /**
   * The task's source (a DSM 7 capture of HyperBackup 4.x `SYNO.Backup.Task get`): every folder in
   * both `file_list` and `folder_list`, the shared folders in `share_list` keyed by share name, the
   * filter's excludes as path strings. A folder that no longer exists: `missing` true and
   * `isValidSource` false. DSM 6: no public capture shows `folder_list`, `file_list` or
   * `backup_filter`, so the lab leaves them out — clients must read their absence as "unknown",
   * not as "no folders".
   */
  const source = (t: SimTask) => {
    const folders = (t.cfg.sources ?? [{ path: `/${t.cfg.name}`, volume: "volume1", missing: false }]).map((f) => ({
      dataEncryped: false, // sic, DSM's spelling
      encryptedShare: false,
      fileSystem: "BTRFS",
      fileSystemType: "internal",
      folderPath: f.path,
      fullPath: `/${f.volume}${f.path}`,
      isValidSource: f.valid ?? !f.missing,
      missing: f.missing,
    }));
    const shares: Record<string, Record<string, unknown>> = {};
    for (const f of folders) {
      const share = f.folderPath.split("/")[1] ?? "";
      if (share && !(share in shares))
        shares[share] = {
          dataEncryped: false,
          encryptedShare: false,
          fileSystem: f.fileSystem,
          fileSystemType: f.fileSystemType,
          fullPath: `${f.fullPath.slice(0, f.fullPath.length - f.folderPath.length)}/${share}`,
          // A missing folder below the share leaves the share itself valid.
          isValidSource: f.isValidSource || f.folderPath !== `/${share}`,
        };
    }
    return {
      app_config: [],
      app_list: [],
      app_name_list: [],
      ...(sc.dsm === 7 ? { backup_filter: { exclude_list: [...t.cfg.excludes], whitelist: [] } } : {}),
      backup_volumes: [],
      ...(sc.dsm === 7 ? { file_list: folders, folder_list: folders.map((f) => ({ ...f })) } : {}),
      share_list: shares,
    };
  };

  /** What both the task list and Task get say of every task: its config and state. */
  const taskConfig = (t: SimTask) => ({
    data_enc: false,
    data_type: "data",
    name: t.cfg.name,
    repo_id: t.cfg.id,
    state: t.state,
    status: t.status,
    target_id: targetId(t),
    target_type: t.cfg.target_type,
    task_id: t.cfg.id,
    transfer_type: t.cfg.transfer_type,
    type: type(t),
  });

  /**
   * Task list item. Without `additional` DSM answers only the task's config (brief: the DSM 6 item
   * keys); each requested group adds its fields. `progress_title_type` only while running: the
   * pmilano1 capture asked for it on idle tasks and got none.
   */
  const listItem = (t: SimTask, now: number, add: Set<string>) => ({
    ...taskConfig(t),
    ext3ShareList: [],
    ...(add.has("last_bkp_time") ? { last_bkp_time: fmt(t.lastAttemptMs), last_bkp_end_time: fmt(t.lastEndMs) } : {}),
    ...(add.has("last_bkp_result") ? { last_bkp_result: t.run ? "backingup" : t.result } : {}),
    ...(add.has("is_modified") ? { is_modified: false } : {}),
    ...(add.has("next_bkp_time") ? { next_bkp_time: fmt(nextRun(t, now)) } : {}),
    ...(add.has("schedule") ? { schedule: schedule(t, now) } : {}),
    ...(add.has("get_source") || add.has("source") ? { source: source(t) } : {}),
    ...(add.has("progress_title_type") && t.run ? { progress_title_type: "title_backuping" } : {}),
  });

  /**
   * Task status. Without `additional` only whether the task is configured correctly
   * (https://github.com/N4S4/synology-api/issues/77). With it, as the pmilano1 capture answered
   * ["last_bkp_time","next_bkp_time","last_bkp_result","is_modified","last_bkp_progress"]: the result
   * group brings error and error code, the time group end and success times, next_bkp_time the
   * schedule. `last_bkp_progress` and `progress` only while running (idle captures have neither).
   */
  const statusOf = (t: SimTask, now: number, add: Set<string>) => {
    const running = t.run !== null;
    return {
      task_id: t.cfg.id,
      state: t.state,
      status: t.status,
      ...(add.has("last_bkp_result") || add.has("last_bkp_error")
        ? {
            last_bkp_result: running ? "backingup" : t.result,
            last_bkp_error: t.error,
            last_bkp_error_code: t.errorCode,
          }
        : {}),
      ...(add.has("last_bkp_time")
        ? {
            last_bkp_time: fmt(t.lastAttemptMs),
            last_bkp_end_time: fmt(t.lastEndMs),
            last_bkp_success_time: fmt(t.lastSuccessMs),
          }
        : {}),
      ...(add.has("last_bkp_success_time") ? { last_bkp_success_time: fmt(t.lastSuccessMs) } : {}),
      ...(add.has("next_bkp_time") ? { next_bkp_time: fmt(nextRun(t, now)), schedule: schedule(t, now) } : {}),
      ...(add.has("schedule") ? { schedule: schedule(t, now) } : {}),
      ...(add.has("is_modified") ? { is_modified: false } : {}),
      ...(running && add.has("last_bkp_progress")
        ? { last_bkp_progress: pctOf(t, now), progress: progress(t, now) }
        : {}),
    };
  };

  /** The task's repository (dsmctl taskGetBody.repository). */
  const repository = (t: SimTask) => ({
    name: t.cfg.transfer_type === "image_remote" ? `remote-nas-${t.cfg.id}` : `usb-${t.cfg.id}`,
    repo_id: t.cfg.id,
    share: t.cfg.transfer_type === "image_remote" ? "hb_vault" : "usbshare1",
    target_type: t.cfg.target_type,
    transfer_type: t.cfg.transfer_type,
  });

  /** Task get (dsmctl taskGetBody): the task's whole config with its schedule. */
  const taskGet = (t: SimTask, now: number) => ({
    backup_params: {
      enable_data_compress: true,
      enable_data_encrypt: false,
      enable_notify: true,
      enable_version_file_log: false,
      max_auto_resume_retry: 5,
    },
    ...taskConfig(t),
    is_modified: false,
    repository: repository(t),
    rotate_params: {},
    source: source(t),
    // DSM 7's Task get carries the schedule whether or not `additional` asks for it.
    schedule: schedule(t, now),
  });

  const logList = (filter: string | undefined) => {
    const entries: { time: number; event: string }[] = [];
    for (const t of tasks.values()) {
      if (t.integrity)
        entries.push({
          time: t.integrity.timeMs,
          event: t.integrity.ok
            ? `[Network][${t.cfg.name}] Backup integrity check is finished. No error was found.`
            : `[Network][${t.cfg.name}] Backup integrity check has failed. The backup target is found broken.`,
        });
      if (t.lastSuccessMs !== null)
        entries.push({
          time: t.lastSuccessMs,
          event: `[Network][${t.cfg.name}] Backup task finished successfully. [Total transferred: 1.2 GB]`,
        });
    }
    return entries
      .filter((e) => !filter || e.event.toLowerCase().includes(filter.toLowerCase()))
      .sort((a, b) => b.time - a.time)
      .map((e, i) => ({
        id: i + 1,
        level: "info",
        user: "SYSTEM",
        time: formatNasTime(e.time, tz, true),
        event: e.event,
      }));
  };

  /** Hyper Backup Vault's inbound targets (dsmctl vaultTargetsPopulatedBody: start epoch s, used_size KiB). */
  const vaultTargets = () =>
    (sc.vaultTargets ?? []).map((v) => {
      const last = at(v.lastBackup, start);
      return {
        computing_size: false,
        is_enc: false,
        is_resumable: false,
        last_backup_duration: v.durationSeconds,
        last_backup_start_time: last === null ? 0 : Math.floor(last / 1000),
        share: v.share,
        status: v.status,
        target_id: v.id,
        target_name: v.name,
        target_path: `/volume1/${v.share}/${v.name}`,
        uni_key: `0011329A${String(v.id).padStart(4, "0")}_${v.id}_${Math.floor(start / 1000)}`,
        used_size: Math.ceil(v.usedBytes / 1024),
      };
    });

  const task = (p: Record<string, string>) => tasks.get(Number(p.task_id));

  const handle = (req: DsmRequest, now: number): SimResponse => {
    settle(now);
    const p = req.params;
    const add = additionalOf(p);
    switch (req.api) {
      case "SYNO.Backup.Task": {
        if (req.method === "list")
          return ok({
            is_data_restoring: false,
            is_downloading: false,
            is_lun_restoring: false,
            is_restoring: false,
            is_snapshot_restoring: false,
            task_list: [...tasks.values()].map((t) => listItem(t, now, add)),
            total: tasks.size,
          });
        if (!["status", "get", "backup", "cancel"].includes(req.method)) return fail(103);
        const t = task(p);
        if (!t) return fail(4400);
        if (req.method === "status") return ok(statusOf(t, now, add));
        if (req.method === "get") return ok(taskGet(t, now));
        if (req.method === "backup") {
          if (t.run || t.state !== "backupable") return fail(4401 + 1); // not backupable (simulated 44xx)
          t.run = { startMs: now, endMs: now + (t.cfg.backupSeconds * 1000) / speed };
          t.status = "backup";
          t.lastAttemptMs = now;
          return ok();
        }
        if (t.run) {
          t.run = null;
          t.status = "none";
          t.result = "cancel";
        }
        return ok();
      }
      case "SYNO.Backup.Target": {
        if (req.method !== "get") return fail(103);
        const t = task(p);
        if (!t) return fail(4400);
        const online = t.state !== "restore_only";
        // Brief's DSM 7 capture (additional is_online, used_size) and dsmctl targetBody.
        return ok({
          capability: { support_download: true, support_filter: true, support_statistics: true },
          data_comp: true,
          data_enc: false,
          format_type: "image",
          host_name: "synology_nas",
          is_online: online,
          last_detect_time: fmt(t.integrity?.timeMs ?? null),
          owner_id: 1026,
          owner_name: sc.users[0]?.account ?? "admin",
          support_multi_version: true,
          uni_key: `0011329A0000_${t.cfg.id}_${Math.floor(start / 1000)}`,
          ...(online ? { used_size: 2_000_000_000 } : {}),
        });
      }
      case "SYNO.Backup.Repository": {
        // pmilano1 repositories.md: `get` takes task_id (or repo_id); `list` answers the same objects
        // as an array (marked community-confirmed there; the bare array is that page's word).
        if (req.method === "list") return ok([...tasks.values()].map(repository));
        if (req.method !== "get") return fail(103);
        const t = task(p) ?? tasks.get(Number(p.repo_id));
        return t ? ok(repository(t)) : fail(4400);
      }
      case "SYNO.Backup.Service.VersionBackup.Target":
        return req.method === "list" ? ok({ target_list: vaultTargets() }) : fail(103);
      case "SYNO.SDS.Backup.Client.Common.Log": {
        if (req.method !== "list") return fail(103);
        if (p.filter_level !== undefined) return fail(120);
        const all = logList(p.filter_keyword);
        const offset = Number(p.offset ?? 0);
        const limit = Number(p.limit ?? 50);
        return ok({ log_list: all.slice(offset, offset + limit), total: all.length });
      }
      default:
        return fail(102);
    }
  };

  return { tasks, settle, handle };
}
