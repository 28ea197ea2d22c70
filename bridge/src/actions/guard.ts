import type { Logger } from "../log.js";

/** Who holds a guard: what runs, and the request that started it. */
export interface GuardClaim {
  /** What runs, as a sentence's subject: "a backup of vaultwarden (102)". */
  what: string;
  /** Who asked: home_assistant, http, mqtt, scheduler, … */
  origin: string;
  requestId?: string;
}

interface Held extends GuardClaim {
  sinceMs: number;
  /** The task that does the work, once its starter answered (a PVE UPID, a PBS UPID). */
  upid?: string;
}

/**
 * How long a guard may be held without seeing its end. A guest whose task still runs stays
 * refused anyway (the poll shows it `running`), so releasing a guard late never starts a second
 * backup over a running one; it only keeps a lost end from blocking the guest forever.
 */
export const GUARD_MAX_HOLD_MS = 6 * 3_600_000;

/**
 * One action at a time per key (a guest's backup, a guest's verification, a Hyper Backup task, a
 * PBS datastore…), from the moment a command is accepted until the work's end is seen: while the
 * starting request is still in flight (pending) and while its task runs. `claim` checks and takes
 * the key in one synchronous step, so commands that arrive together cannot both pass the check
 * before either has claimed. Every claim must be released on every path (start refused, exception,
 * task end); a claim older than `maxHoldMs` is given up at the next claim of its key and logged.
 */
export class ActionGuard {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly now: () => number,
    private readonly log: Logger,
    private readonly maxHoldMs = GUARD_MAX_HOLD_MS,
  ) {}

  /** Takes `key`; returns undefined when taken, else the refusal (a sentence naming the first request). */
  claim(key: string, c: GuardClaim): string | undefined {
    const h = this.held.get(key);
    if (h && this.now() - h.sinceMs < this.maxHoldMs) return `${h.what} is already running (${this.describe(h)})`;
    if (h) {
      this.log.warn(
        {
          key,
          origin: h.origin,
          ...(h.requestId ? { request_id: h.requestId } : {}),
          ...(h.upid ? { upid: h.upid } : {}),
        },
        `no end was seen of ${h.what} ${hours(this.maxHoldMs)} after it started; it no longer blocks new commands`,
      );
    }
    this.held.set(key, { ...c, sinceMs: this.now() });
    return undefined;
  }

  /** The task that does the work is known now. */
  bind(key: string, upid: string): void {
    const h = this.held.get(key);
    if (h) h.upid = upid;
  }

  release(key: string): void {
    this.held.delete(key);
  }

  /** Releases the key bound to this task, if any; returns the key. */
  releaseTask(upid: string): string | undefined {
    for (const [key, h] of this.held) {
      if (h.upid === upid) {
        this.held.delete(key);
        return key;
      }
    }
    return undefined;
  }

  isHeld(key: string): boolean {
    const h = this.held.get(key);
    return !!h && this.now() - h.sinceMs < this.maxHoldMs;
  }

  /** Keys held now with the task they wait for (for the owners' follow-up loops). */
  entries(): { key: string; upid?: string; sinceMs: number }[] {
    return [...this.held].map(([key, h]) => ({ key, sinceMs: h.sinceMs, ...(h.upid ? { upid: h.upid } : {}) }));
  }

  private describe(h: Held): string {
    const at = new Date(h.sinceMs);
    const hhmmss = [at.getHours(), at.getMinutes(), at.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
    return `started by ${h.origin}${h.requestId ? `, request ${h.requestId}` : ""} at ${hhmmss}, ${ago(this.now() - h.sinceMs)}`;
  }
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 1) return "just now";
  if (s < 60) return `${s} ${s === 1 ? "second" : "seconds"} ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} ${m === 1 ? "minute" : "minutes"} ago`;
  const h = Math.round(m / 60);
  return `${h} ${h === 1 ? "hour" : "hours"} ago`;
}

function hours(ms: number): string {
  const h = ms / 3_600_000;
  if (h >= 1 && Number.isInteger(h)) return `${h} ${h === 1 ? "hour" : "hours"}`;
  const m = Math.round(ms / 60_000);
  return m >= 1 ? `${m} ${m === 1 ? "minute" : "minutes"}` : `${Math.round(ms / 1000)} seconds`;
}
