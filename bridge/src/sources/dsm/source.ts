/**
 * A Synology NAS as a source: Hyper Backup tasks with their last attempt, last success, next run,
 * result, progress, state and integrity-check result; the trusted-device token kept in state_dir.
 * A NAS that cannot be reached or read makes only this source unknown — never the rest.
 */
import path from "node:path";
import type { SynologySourceConfig } from "../../config/load.js";
import type { CopyTarget, SourceHealth } from "../../evidence.js";
import type { Logger } from "../../log.js";
import { JsonFile } from "../../state/json-file.js";
import { DsmClient } from "./client.js";
import { DsmError } from "./errors.js";
import type { TaskListItem, TaskStatus } from "./schemas.js";
import { parseNasTime } from "./time.js";
import { phrase } from "../../words/phrase.js";

export interface HyperBackupTask {
  source: string;
  taskId: number;
  name: string;
  state: string;
  status: string;
  lastResult: string | null;
  lastAttemptMs: number | null;
  lastEndMs: number | null;
  lastSuccessMs: number | null;
  nextRunMs: number | null;
  /** 0–100 while running, else null. */
  progress: number | null;
  errorCode: number | null;
  error: string | null;
  targetType: string | null;
  transferType: string | null;
  scheduleEnabled: boolean | null;
  integrity: { timeMs: number; ok: boolean; text: string } | null;
  /** From the config. */
  protects: string[];
  offsite: boolean;
  maxAgeMs: number;
}

export function deviceTokenFile(stateDir: string, source: string): JsonFile<{ device_token?: string }> {
  return new JsonFile(path.join(stateDir, `dsm-${source}.json`), {});
}

/** Integrity-check outcome of a task from Hyper Backup log lines ("[Network][<task>] Backup integrity check is finished. No error was found."). */
export function matchIntegrity(
  entries: { event: string; time: string }[],
  taskName: string,
  parse: (t: string) => number | null | undefined,
): HyperBackupTask["integrity"] {
  for (const entry of entries) {
    if (!entry.event.includes(`[${taskName}]`)) continue;
    const ok = /No error was found/i.test(entry.event);
    const bad = !ok && /found broken|Failed to run backup integrity check|errors? (was|were) found/i.test(entry.event);
    if (!ok && !bad) continue;
    const timeMs = parse(entry.time);
    if (typeof timeMs === "number") return { timeMs, ok, text: entry.event };
  }
  return null;
}

export class SynologySource {
  readonly name: string;
  readonly client: DsmClient;
  private readonly onSecret: (s: string) => void;
  health: SourceHealth;
  tasks: HyperBackupTask[] = [];
  lastRefreshRequests = 0;
  private readonly tokenFile: JsonFile<{ device_token?: string }>;
  private lastLoggedError: string | undefined;
  private knownToken: string | undefined;

  constructor(
    readonly cfg: SynologySourceConfig,
    private readonly log: Logger,
    private readonly now: () => number,
    stateDir: string,
    onSecret: (s: string) => void = () => undefined,
  ) {
    this.name = cfg.name;
    this.health = { name: cfg.name, kind: "synology", up: false, degraded: false, error: "not polled yet" };
    this.tokenFile = deviceTokenFile(stateDir, cfg.name);
    const stored = this.tokenFile.read().device_token;
    if (stored) onSecret(stored);
    this.knownToken = stored;
    this.onSecret = onSecret;
    this.client = new DsmClient({
      url: cfg.url,
      username: cfg.username,
      password: cfg.password,
      session: cfg.session,
      deviceName: cfg.deviceName,
      deviceToken: stored,
      fingerprint: cfg.fingerprint,
      caFile: cfg.caFile,
      timeoutMs: cfg.timeoutMs,
      onSecret,
      onDeviceToken: (token) => {
        this.knownToken = token;
        if (token === this.tokenFile.read().device_token) return;
        const err = this.tokenFile.write({ device_token: token });
        if (err) this.log.error({ err }, "could not store the DSM trusted-device token");
      },
    });
  }

  get readable(): boolean {
    return this.health.up && !this.health.degraded;
  }

  private parseTime(text: string | undefined, field: string, taskId: number): number | null {
    const t = parseNasTime(text, this.cfg.timeZone);
    if (t === undefined)
      throw new DsmError(
        "schema",
        `SYNO.Backup.Task status: task ${taskId} ${field} "${text}" is not a NAS time (YYYY/MM/DD HH:MM[:SS])`,
      );
    return t;
  }

  private configFor(item: TaskListItem) {
    return (
      this.cfg.tasks.find((t) => t.match === String(item.task_id)) ?? this.cfg.tasks.find((t) => t.match === item.name)
    );
  }

  toTask(item: TaskListItem, st: TaskStatus, integrity: HyperBackupTask["integrity"]): HyperBackupTask {
    const c = this.configFor(item);
    const running = st.status === "backup" || st.last_bkp_result === "backingup";
    return {
      source: this.name,
      taskId: item.task_id,
      name: item.name,
      state: st.state,
      status: st.status,
      lastResult: st.last_bkp_result ?? item.last_bkp_result ?? null,
      lastAttemptMs: this.parseTime(st.last_bkp_time ?? item.last_bkp_time, "last_bkp_time", item.task_id),
      lastEndMs: this.parseTime(st.last_bkp_end_time ?? item.last_bkp_end_time, "last_bkp_end_time", item.task_id),
      lastSuccessMs: this.parseTime(st.last_bkp_success_time, "last_bkp_success_time", item.task_id),
      nextRunMs: this.parseTime(st.next_bkp_time, "next_bkp_time", item.task_id),
      progress: running ? (st.progress?.progress ?? st.last_bkp_progress ?? null) : null,
      errorCode: st.last_bkp_error_code ?? null,
      error: st.last_bkp_error ? st.last_bkp_error : null,
      targetType: item.target_type ?? null,
      transferType: item.transfer_type ?? null,
      scheduleEnabled: st.schedule?.schedule_enable ?? null,
      integrity,
      protects: c?.storages ?? [],
      offsite: c?.offsite ?? true,
      maxAgeMs: c?.maxAgeMs ?? this.cfg.defaultMaxAgeMs,
    };
  }

  async refresh(): Promise<void> {
    const before = this.client.requestCount;
    // `backup2mqtt dsm-login` stored a token while we run: use it (and retry the login it unblocks).
    const stored = this.tokenFile.read().device_token;
    if (stored && stored !== this.knownToken) {
      this.knownToken = stored;
      this.onSecret(stored);
      this.client.resetLogin(stored);
    }
    try {
      const list = await this.client.listTasks();
      let log: { event: string; time: string }[] = [];
      try {
        log = await this.client.integrityLog();
      } catch (e) {
        // The log is optional evidence: an account without access to it still monitors tasks.
        if (!(e instanceof DsmError) || e.kind === "network" || e.kind === "timeout") throw e;
        this.log.debug({ err: (e as Error).message }, "Hyper Backup log not readable; integrity results unknown");
      }
      const tasks: HyperBackupTask[] = [];
      for (const item of list.task_list) {
        const st = await this.client.taskStatus(item.task_id);
        tasks.push(
          this.toTask(
            item,
            st,
            matchIntegrity(log, item.name, (t) => parseNasTime(t, this.cfg.timeZone)),
          ),
        );
      }
      this.tasks = tasks;
      if (!this.health.up || this.health.degraded) this.log.info({ tasks: tasks.length }, "Synology source reachable");
      this.health = { name: this.name, kind: "synology", up: true, degraded: false, lastSuccessMs: this.now() };
      this.lastLoggedError = undefined;
    } catch (e) {
      const err = e instanceof DsmError ? e : new DsmError("api", (e as Error).message);
      const up = err.degraded || err.kind === "api" || err.kind === "permission";
      this.health = {
        name: this.name,
        kind: "synology",
        up,
        degraded: err.degraded || up,
        error: err.message,
        ...(this.health.lastSuccessMs ? { lastSuccessMs: this.health.lastSuccessMs } : {}),
      };
      if (this.lastLoggedError !== err.message) {
        // A refused login is not retried by itself (lockout risk): say so, or the owner who re-enables
        // the account waits for a recovery that never comes.
        const what = err.degraded
          ? "Synology source degraded"
          : this.client.loginRefused
            ? "Synology login refused; not retried until the bridge restarts (or `backup2mqtt dsm-login` stores a device token)"
            : "Synology source unreachable";
        this.log.warn({ err: err.message, kind: err.kind }, what);
        this.lastLoggedError = err.message;
      }
    } finally {
      this.lastRefreshRequests = this.client.requestCount - before;
    }
  }

  /** Runs a Hyper Backup task now (Web API SYNO.Backup.Task backup). */
  async runTask(taskId: number): Promise<void> {
    await this.client.startBackup(taskId);
  }

  copyTargets(): CopyTarget[] {
    // Never polled successfully: the configured tasks exist as far as we know, their copies are unknown.
    if (!this.tasks.length && !this.readable)
      return this.cfg.tasks
        .filter((t) => t.storages.length)
        .map((t) => ({
          kind: "hyperbackup" as const,
          source: this.name,
          id: t.match,
          label: `Hyper Backup task '${t.match}' on ${this.name}`,
          storages: t.storages,
          offsite: t.offsite,
          lastSuccessMs: null,
          readable: false,
        }));
    return this.tasks
      .filter((t) => t.protects.length)
      .map((t) => ({
        kind: "hyperbackup" as const,
        source: this.name,
        id: String(t.taskId),
        label: `Hyper Backup task '${t.name}' on ${this.name}`,
        labelPhrase: phrase("target.hyperbackup", { task: t.name, nas: this.name }),
        storages: t.protects,
        offsite: t.offsite,
        lastSuccessMs: t.lastSuccessMs,
        readable: this.readable,
      }));
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
