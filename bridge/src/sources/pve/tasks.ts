/**
 * vzdump tasks of one Proxmox VE cluster: found in each node's task list, followed while they
 * run (status and log), and turned into per-guest attempts and TaskEvents when they start, end,
 * or turn out to be unknown to Proxmox.
 */
import type { BackupAttempt } from "../../evidence.js";
import type { Logger } from "../../log.js";
import { PveError, type PveHttp } from "./http.js";
import { taskLogSchema, tasksSchema, taskStatusSchema, type Task } from "./schemas.js";
import { isProgressLine, parseTaskLog, type GuestOutcome } from "./tasklog.js";

export interface TaskEvent {
  source: string;
  upid: string;
  /** The request_id of the command that started it, when this bridge did. */
  requestId?: string;
  node: string;
  /**
   * started / finished as seen; unknown: Proxmox does not know the task (or its status could not
   * be read for a long time) — it is no longer followed and says nothing about the backup, the
   * guest is judged from its archives.
   */
  phase: "started" | "finished" | "unknown";
  outcomes: GuestOutcome[];
  exitstatus?: string;
  /** For phase unknown: why, as a sentence. */
  reason?: string;
}

export interface TrackedTask {
  upid: string;
  node: string;
  id: string;
  startMs: number;
  endMs?: number;
  exitstatus?: string;
  /** The log as far as read, with each run of progress lines kept as its newest line only. */
  lines: string[];
  /** Log lines read so far (the offset of the next page). */
  read: number;
  /** When this bridge last read a new log line of it (for the stall watchdog, policy/overrun.ts). */
  lastLogMs?: number;
  /** Its newest line says it waits for the node's global vzdump lock (another vzdump runs there). */
  waitingForLock?: boolean;
  outcomes: GuestOutcome[];
  /** Seen running by this bridge: its end must trigger a content refresh and an event. */
  seenRunning: boolean;
  done: boolean;
  /** Consecutive polls whose status request failed (other than "no such task"), and since when. */
  statusFailures?: number;
  firstStatusFailureMs?: number;
}

/**
 * A task status that keeps failing (a proxy's 500, a 403 after a privilege change) is asked again
 * on later polls; after this many consecutive failures spanning at least STATUS_GIVE_UP_MS the task
 * is given up like one Proxmox does not know.
 */
const STATUS_GIVE_UP_FAILURES = 5;
const STATUS_GIVE_UP_MS = 10 * 60_000;

const DAY = 86_400_000;
/** How far back the first refresh reads task history: longer than the weekly tier's max age. */
const TASK_LOOKBACK_MS = 35 * DAY;
/** Later refreshes read the task list again from this long before the previous read (tasks that ended meanwhile). */
const TASK_OVERLAP_MS = 600_000;
/** Entries per page of a node's task list, and lines per page of a task log. */
const TASK_PAGE = 500;
const LOG_PAGE = 1000;

/**
 * PVE's answer for a UPID whose task file does not exist on the node (pve-manager
 * PVE/API2/Tasks.pm read_task_status: `raise_param_exc({ upid => "no such task" })`, HTTP 400
 * "Parameter verification failed."). Some proxies turn it into a 404 or 500 with the same text.
 */
function isNoSuchTask(e: unknown): boolean {
  return (
    e instanceof PveError &&
    e.kind === "http" &&
    [400, 404, 500].includes(e.status ?? 0) &&
    /no such task/i.test(e.message)
  );
}

/** The start time a UPID carries (its fifth field, hex seconds), in ms. */
export function upidStartMs(upid: string): number | undefined {
  const m = /^UPID:[^:]+:[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8,9}:([0-9A-Fa-f]{8}):/.exec(upid);
  return m ? parseInt(m[1]!, 16) * 1000 : undefined;
}

export interface TaskFollowerDeps {
  source: string;
  http: PveHttp;
  log: Logger;
  now: () => number;
  /** Every TaskEvent, in order (the source hands it to its listener). */
  emit(e: TaskEvent): void;
  /**
   * A followed task ended: "finished" after this bridge saw it running (the listings, jobs and
   * privileges are read again), "given-up" when it is no longer followed (the listings are).
   * Called before the event is emitted.
   */
  ended(kind: "finished" | "given-up", node: string): void;
  /**
   * A guest of a task this bridge saw running finished its backup well (the log's "Finished
   * Backup of VM n", or the task's OK end): called as the outcome is taken, before any event of it,
   * so that the evidence can hold the end back until the archive is listed (backup-ends.ts).
   */
  guestEnded?(vmid: number, upid: string, startMs: number, node: string): void;
}

const endedWell = (r: GuestOutcome["result"]) => r === "ok" || r === "warnings";

export class TaskFollower {
  /** Tasks given up as unknown: never followed again (their end in the task list is still history). */
  private readonly givenUp = new Set<string>();
  /** When each node's task list was last read (the next read starts TASK_OVERLAP_MS before it). */
  private readonly lastTaskPollMs = new Map<string, number>();

  constructor(
    /** Every task followed or remembered, by UPID (an ended one is kept for TASK_LOOKBACK_MS). */
    private readonly tasks: Map<string, TrackedTask>,
    private readonly d: TaskFollowerDeps,
  ) {}

  hasRunning(): boolean {
    return [...this.tasks.values()].some((t) => !t.done);
  }

  /** Has this task ended (or been given up)? False while it runs or when it is not followed. */
  hasEnded(upid: string): boolean {
    return this.givenUp.has(upid) || this.tasks.get(upid)?.done === true;
  }

  /**
   * What this follower knows of a task: not seen, followed while it runs, its end seen after it was
   * seen running (its listings were asked for: `ended`), found already ended (history), given up.
   */
  state(upid: string): "unknown" | "running" | "done" | "history" | "given-up" {
    if (this.givenUp.has(upid)) return "given-up";
    const t = this.tasks.get(upid);
    return !t ? "unknown" : !t.done ? "running" : t.seenRunning ? "done" : "history";
  }

  /** Follows a task started before a restart (see PveSource.resumeTask). */
  resume(upid: string, node: string, vmid: number): void {
    if (this.tasks.has(upid)) return;
    const startMs = upidStartMs(upid) ?? this.d.now();
    const id = /^UPID:[^:]+:[^:]+:[^:]+:[^:]+:[^:]+:([^:]*):/.exec(upid)?.[1] ?? String(vmid);
    this.tasks.set(upid, {
      upid,
      node,
      id,
      startMs,
      lines: [],
      read: 0,
      outcomes: [{ vmid, result: "running", warnings: 0 }],
      seenRunning: true,
      done: false,
    });
  }

  /** A vzdump this bridge just started: followed, and announced unless a poll already found it. */
  started(upid: string, node: string, vmid: number, requestId?: string): void {
    if (this.tasks.has(upid)) return;
    const startMs = upidStartMs(upid) ?? this.d.now();
    const t: TrackedTask = {
      upid,
      node,
      id: String(vmid),
      startMs,
      lines: [],
      read: 0,
      outcomes: [{ vmid, result: "running", warnings: 0 }],
      seenRunning: true,
      done: false,
    };
    this.tasks.set(upid, t);
    this.d.emit({
      source: this.d.source,
      upid,
      node,
      phase: "started",
      outcomes: t.outcomes,
      ...(requestId ? { requestId } : {}),
    });
  }

  /** Each guest's part of each task remembered, for the evidence. */
  attempts(): BackupAttempt[] {
    const attempts: BackupAttempt[] = [];
    for (const t of this.tasks.values()) {
      for (const o of t.outcomes) {
        attempts.push({
          source: this.d.source,
          vmid: o.vmid,
          upid: t.upid,
          node: t.node,
          startMs: t.startMs,
          endMs: t.endMs,
          result: o.result,
          ...(o.error ? { error: o.error } : {}),
          ...(o.progress !== undefined ? { progress: o.progress } : {}),
          ...(o.result === "running" && t.lastLogMs !== undefined ? { lastLogMs: t.lastLogMs } : {}),
          ...(o.result === "running" && t.waitingForLock ? { waitingForLock: true } : {}),
        });
      }
    }
    return attempts;
  }

  /** GET /nodes/{node}/tasks (vzdump only, paged) of each node: new tasks, and the end of followed ones. */
  async readTaskLists(nodes: string[]): Promise<void> {
    const now = this.d.now();
    for (const node of nodes) {
      const runningStarts = [...this.tasks.values()].filter((t) => !t.done && t.node === node).map((t) => t.startMs);
      const last = this.lastTaskPollMs.get(node);
      const sinceMs = last ? Math.min(last - TASK_OVERLAP_MS, ...runningStarts) : now - TASK_LOOKBACK_MS;
      let start = 0;
      for (;;) {
        const page = await this.d.http.get(`/nodes/${encodeURIComponent(node)}/tasks`, tasksSchema, {
          typefilter: "vzdump",
          source: "all",
          since: Math.floor(sinceMs / 1000),
          start,
          limit: TASK_PAGE,
        });
        for (const task of page) await this.track(task);
        if (page.length < TASK_PAGE) break;
        start += page.length;
      }
      this.lastTaskPollMs.set(node, now);
    }
    // Forget old history: only the newest attempt per guest matters, and it is younger than the lookback.
    for (const [upid, t] of this.tasks)
      if (t.done && now - (t.endMs ?? t.startMs) > TASK_LOOKBACK_MS) this.tasks.delete(upid);
  }

  /**
   * Asks the status (and new log lines) of every task still running. Throws what makes the whole
   * source fail (network trouble); a status Proxmox will not give for one task is handled here.
   */
  async pollRunning(): Promise<void> {
    for (const t of [...this.tasks.values()].filter((x) => !x.done)) {
      try {
        const st = await this.d.http.get(
          `/nodes/${encodeURIComponent(t.node)}/tasks/${encodeURIComponent(t.upid)}/status`,
          taskStatusSchema,
        );
        t.statusFailures = undefined;
        t.firstStatusFailureMs = undefined;
        await this.readLog(t);
        if (st.status === "stopped") this.finish(t, st.exitstatus ?? "unexpected status", this.d.now());
        else this.setOutcomes(t, parseTaskLog(t.lines, t.id, undefined));
      } catch (e) {
        // A task PVE does not know (state_dir restored onto a rebuilt node, history rotated away)
        // says nothing about the backup: stop following it, judge the guest from its archives.
        if (isNoSuchTask(e)) {
          this.giveUp(
            t,
            `Proxmox does not know the task ${t.upid} on node '${t.node}' (it may have been restored onto a rebuilt node); the guest is judged from its archives`,
          );
          continue;
        }
        // Other answers about this one task (a proxy's 500, a 403): ask again on later polls, give up
        // after several failures over some minutes. Network trouble is a source problem.
        if (e instanceof PveError && (e.kind === "http" || e.kind === "permission")) {
          const now = this.d.now();
          t.statusFailures = (t.statusFailures ?? 0) + 1;
          t.firstStatusFailureMs ??= now;
          if (t.statusFailures >= STATUS_GIVE_UP_FAILURES && now - t.firstStatusFailureMs >= STATUS_GIVE_UP_MS) {
            const minutes = Math.round((now - t.firstStatusFailureMs) / 60_000);
            this.giveUp(
              t,
              `the status of task ${t.upid} could not be read ${t.statusFailures} times in a row over ${minutes} minutes (last answer: ${e.message}); it is no longer followed and the guest is judged from its archives`,
            );
          } else if (t.statusFailures === 1) {
            this.d.log.warn(
              { upid: t.upid, err: e.message },
              "could not read a task's status; asking again on the next polls",
            );
          }
          continue;
        }
        throw e;
      }
    }
  }

  /** Stops following a task (see TaskEvent phase "unknown"): one log line, one event. */
  private giveUp(t: TrackedTask, reason: string): void {
    this.tasks.delete(t.upid);
    this.givenUp.add(t.upid);
    this.d.ended("given-up", t.node);
    this.d.log.warn({ upid: t.upid, node: t.node }, reason);
    this.d.emit({ source: this.d.source, upid: t.upid, node: t.node, phase: "unknown", outcomes: t.outcomes, reason });
  }

  private async track(task: Task): Promise<void> {
    if (task.type !== "vzdump") return;
    const running = task.endtime === undefined || task.status === undefined || task.status.toUpperCase() === "RUNNING";
    let t = this.tasks.get(task.upid);
    if (t?.done) return;
    // Given up while it ran: its end in the list is history, nothing is announced again.
    if (!t && this.givenUp.has(task.upid) && running) return;
    if (!t) {
      t = {
        upid: task.upid,
        node: task.node,
        id: task.id ?? "",
        startMs: task.starttime * 1000,
        lines: [],
        read: 0,
        outcomes: [],
        seenRunning: running,
        done: false,
      };
      this.tasks.set(task.upid, t);
      if (running) {
        await this.readLog(t);
        this.setOutcomes(t, parseTaskLog(t.lines, t.id, undefined));
        this.d.emit({ source: this.d.source, upid: t.upid, node: t.node, phase: "started", outcomes: t.outcomes });
        return;
      }
    }
    await this.readLog(t);
    if (running) this.setOutcomes(t, parseTaskLog(t.lines, t.id, undefined));
    else this.finish(t, task.status!, (task.endtime ?? task.starttime) * 1000);
  }

  private finish(t: TrackedTask, exitstatus: string, endMs: number): void {
    if (t.done) return;
    t.done = true;
    t.exitstatus = exitstatus;
    t.endMs = endMs;
    this.setOutcomes(t, parseTaskLog(t.lines, t.id, exitstatus));
    t.lines = []; // parsed: the outcome is all we keep
    if (t.seenRunning) {
      this.d.ended("finished", t.node);
      this.d.emit({
        source: this.d.source,
        upid: t.upid,
        node: t.node,
        phase: "finished",
        outcomes: t.outcomes,
        exitstatus,
      });
    }
  }

  /**
   * Takes a task's outcomes as parsed. In a task this bridge saw running, a guest whose backup
   * now ended well and did not before is reported (guestEnded) — also a guest of a job that was
   * already past it when the task was first seen running. Tasks found ended (history) are not:
   * nothing of theirs was published as running.
   */
  private setOutcomes(t: TrackedTask, outcomes: GuestOutcome[]): void {
    if (t.seenRunning && this.d.guestEnded) {
      for (const o of outcomes) {
        if (!endedWell(o.result)) continue;
        if (t.outcomes.some((p) => p.vmid === o.vmid && endedWell(p.result))) continue;
        this.d.guestEnded(o.vmid, t.upid, t.startMs, t.node);
      }
    }
    t.outcomes = outcomes;
  }

  /** Reads the log lines not read yet (the log is paged: PVE's default page is 50 lines, so a limit is given). */
  private async readLog(t: TrackedTask): Promise<void> {
    for (;;) {
      const page = await this.d.http.get(
        `/nodes/${encodeURIComponent(t.node)}/tasks/${encodeURIComponent(t.upid)}/log`,
        taskLogSchema,
        { start: t.read, limit: LOG_PAGE },
      );
      const fresh = page.filter((l) => l.n > t.read && !(l.n === 1 && l.t === "no content")).sort((a, b) => a.n - b.n);
      for (const l of fresh) {
        // A qemu backup prints a progress line about every percent: only the newest says anything,
        // so a 50-guest job keeps a few hundred lines, not thousands, while it runs.
        if (isProgressLine(l.t) && t.lines.length && isProgressLine(t.lines[t.lines.length - 1]!))
          t.lines[t.lines.length - 1] = l.t;
        else t.lines.push(l.t);
        t.read = l.n;
      }
      if (fresh.length) {
        t.lastLogMs = this.d.now();
        // pve-manager PVE/VZDump.pm getlock: one vzdump per node; the others log this and wait (lockwait).
        t.waitingForLock = /^INFO: trying to get global lock - waiting/.test(fresh[fresh.length - 1]!.t);
      }
      if (page.length < LOG_PAGE || fresh.length === 0) return;
    }
  }
}
