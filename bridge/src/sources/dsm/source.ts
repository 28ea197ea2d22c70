/**
 * A Synology NAS as a source: Hyper Backup tasks with their last attempt, last success, next run,
 * result, progress, state and integrity-check result; the trusted-device token kept in state_dir.
 * A NAS that cannot be reached or read makes only this source unknown — never the rest.
 */
import { lookup } from "node:dns/promises";
import path from "node:path";
import type { SynologySourceConfig } from "../../config/load.js";
import type { CopyTarget, HyperBackupTaskEvidence, SourceHealth } from "../../evidence.js";
import type { Logger } from "../../log.js";
import { JsonFile } from "../../state/json-file.js";
import { DsmClient } from "./client.js";
import { DsmError } from "./errors.js";
import type { TaskListItem, TaskStatus } from "./schemas.js";
import { parseTaskSchedule, parseTaskSource, type TaskFolders, type TaskSchedule } from "./task-source.js";
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

/** What a task backs up and when (task-source.ts); folders null = unknown. */
export interface TaskDetail {
  folders: TaskFolders;
  excludes: string[];
  schedule: TaskSchedule;
}

/**
 * How long a Task get answer stands, for a DSM whose task list carries no source: a task's folders
 * change by hand, rarely; a task get per task on every poll (every few seconds while one runs) would not pay.
 */
export const TASK_GET_TTL_MS = 60 * 60_000;
const LOOKUP_TIMEOUT_MS = 5000;
/** The NAS's addresses are looked up again after this long (not on every fast poll of a running task). */
const RESOLVE_EVERY_MS = 5 * 60_000;

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
  /** Each task's folders, excludes and schedule, by task id. */
  private details = new Map<number, TaskDetail>();
  /** Task get answers (source, schedule) for a DSM whose list has no source, by task id, with when they were read. */
  private taskGets = new Map<
    number,
    { atMs: number; source: unknown; schedule: unknown } | { atMs: number; failed: true }
  >();
  /** Detail problems already logged at warn. */
  private readonly loggedDetail = new Set<string>();
  /** The NAS as PVE storages may name it: the url's host, what it resolves to, the config's `hosts`. */
  private hosts: string[];
  /** When the url's host last resolved (0: not yet, or it failed): at most once per RESOLVE_EVERY_MS. */
  private resolvedMs = 0;

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
    this.hosts = [...new Set([urlHost(cfg.url), ...(cfg.hosts ?? [])])];
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
      // Not configured: a local folder or USB disk (transfer type image_local, DSM 6 "local") is on site.
      offsite: c?.offsite ?? !/^(image_)?local$/.test(item.transfer_type ?? ""),
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
    const resolving = this.resolveHosts();
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
      const details = new Map<number, TaskDetail>();
      for (const item of list.task_list) {
        const st = await this.client.taskStatus(item.task_id);
        details.set(item.task_id, await this.detailOf(item, st));
        tasks.push(
          this.toTask(
            item,
            st,
            matchIntegrity(log, item.name, (t) => parseNasTime(t, this.cfg.timeZone)),
          ),
        );
      }
      this.tasks = tasks;
      this.details = details;
      for (const id of this.taskGets.keys()) if (!details.has(id)) this.taskGets.delete(id);
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
      await resolving;
      this.lastRefreshRequests = this.client.requestCount - before;
    }
  }

  /**
   * A task's folders, excludes and schedule: from the list's `source` and `schedule` when it carries
   * them, else from Task get (at most every TASK_GET_TTL_MS), the schedule else from the status.
   * Never fails the NAS: a wrong shape or a refused Task get leaves the folders unknown (logged once).
   */
  private async detailOf(item: TaskListItem, st: TaskStatus): Promise<TaskDetail> {
    let source = item.source;
    let getSchedule: unknown;
    if (source === undefined) {
      const now = this.now();
      let got = this.taskGets.get(item.task_id);
      if (!got || now - got.atMs >= TASK_GET_TTL_MS) {
        try {
          const g = await this.client.taskGet(item.task_id);
          got = { atMs: now, source: g.source, schedule: g.schedule };
        } catch (e) {
          if (e instanceof DsmError && (e.kind === "network" || e.kind === "timeout" || e.kind === "tls")) throw e;
          this.detailProblem(item, `SYNO.Backup.Task get refused (${(e as Error).message})`);
          got = { atMs: now, failed: true };
        }
        this.taskGets.set(item.task_id, got);
      }
      if (!("failed" in got)) {
        source = got.source;
        getSchedule = got.schedule;
      }
    }
    let folders: TaskFolders = null;
    let excludes: string[] = [];
    if (source !== undefined) {
      try {
        ({ folders, excludes } = parseTaskSource(source));
      } catch (e) {
        this.detailProblem(item, `unexpected ${(e as Error).message}`);
      }
    }
    const schedule =
      parseTaskSchedule(item.schedule) ?? parseTaskSchedule(getSchedule) ?? parseTaskSchedule(st.schedule);
    return { folders, excludes, schedule };
  }

  private detailProblem(item: TaskListItem, what: string): void {
    const msg = `Hyper Backup task '${item.name}': ${what}; the folders it backs up are unknown (only the config's protects link it)`;
    const key = `${item.task_id}:${what}`;
    if (this.loggedDetail.has(key)) this.log.debug(msg);
    else {
      this.loggedDetail.add(key);
      this.log.warn(msg);
    }
  }

  /** The url's host and the addresses it resolves to now (just the host when it does not resolve). Never throws. */
  private async resolveHosts(): Promise<void> {
    if (this.resolvedMs && this.now() - this.resolvedMs < RESOLVE_EVERY_MS) return;
    const host = urlHost(this.cfg.url);
    let addresses: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    try {
      const found = await Promise.race([
        lookup(host, { all: true }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("DNS lookup timed out")), LOOKUP_TIMEOUT_MS);
        }),
      ]);
      addresses = found.map((a) => a.address);
      this.resolvedMs = this.now();
    } catch (e) {
      this.log.debug(
        { err: (e as Error).message, host },
        "NAS host does not resolve; PVE storages are matched by its name",
      );
    } finally {
      clearTimeout(timer);
    }
    this.hosts = [...new Set([host, ...addresses, ...(this.cfg.hosts ?? [])])];
  }

  /** The NAS as PVE storages may name it (see `hosts`). */
  get nasHosts(): string[] {
    return this.hosts;
  }

  /** Each task with what it backs up, for the coverage rules (configured tasks, unknown, until the NAS was read once). */
  hyperBackupEvidence(): HyperBackupTaskEvidence[] {
    const common = { source: this.name, nasHosts: [...this.hosts] };
    if (!this.tasks.length && !this.readable)
      return this.cfg.tasks.map((t) => ({
        ...common,
        // A task configured by name has no id known yet.
        taskId: /^\d+$/.test(t.match) ? Number(t.match) : 0,
        name: t.match,
        folders: null,
        excludes: [],
        configuredStorages: t.storages.length ? [...t.storages] : null,
        schedule: null,
        lastSuccessMs: null,
        offsite: t.offsite,
        readable: false,
        integrity: null,
      }));
    return this.tasks.map((t) => {
      const d = this.details.get(t.taskId);
      return {
        ...common,
        taskId: t.taskId,
        name: t.name,
        folders: d?.folders ?? null,
        excludes: d?.excludes ?? [],
        configuredStorages: t.protects.length ? [...t.protects] : null,
        schedule: d?.schedule ?? null,
        lastSuccessMs: t.lastSuccessMs,
        offsite: t.offsite,
        readable: this.readable,
        integrity: t.integrity ? { timeMs: t.integrity.timeMs, ok: t.integrity.ok } : null,
      };
    });
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

/** The url's host name, without the brackets of an IPv6 literal. */
function urlHost(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, "$1");
  } catch {
    return url;
  }
}
