/**
 * GuestActions: back up now, verify, restore test — the work behind the command router's guest
 * actions, and the follow-up of their tasks. The class holds the shared state (guard, verifiers,
 * restore testers per source); each action's work lives beside it: backup-actions.ts,
 * verify-actions.ts, restore-actions.ts, resume.ts (their shared steps in action-context.ts).
 */
import type { Evidence } from "../evidence.js";
import type { GuestState } from "../policy/types.js";
import type { TaskEvent } from "../sources/pve/source.js";
import { preloadSsh } from "../sources/ssh/client.js";
import type { ActionContext, ActionDeps } from "./action-context.js";
import { backupGuest } from "./backup-actions.js";
import { ActionGuard } from "./guard.js";
import { restoreTestGuest } from "./restore-actions.js";
import { RestoreTester } from "./restore-test.js";
import { resumeInflight } from "./resume.js";
import { stopBackup } from "./stop-backup.js";
import type { Outcome } from "./router.js";
import { Verifier } from "./verifier.js";
import { autoVerify, verifyGuest } from "./verify-actions.js";

export type { ActionDeps } from "./action-context.js";
export { inQuietHours } from "./verify-actions.js";

/**
 * Back up now, verify, restore test: the work behind the command router's guest actions, with
 * durable in-flight state and an audit of every manual action. Results flow back as evidence
 * (verifications, restore tests) and as events on the guest's event topic.
 */
export class GuestActions {
  private readonly verifiers = new Map<string, Verifier>();
  private readonly restorers = new Map<string, RestoreTester>();
  /**
   * One backup, one verification and one restore test per guest at a time, from the command's
   * acceptance to the end of its work (and one restore test per source: its scratch VMID).
   */
  readonly guard: ActionGuard;
  /** What the actions (in their own modules) work on. */
  private readonly ctx: ActionContext;

  constructor(private readonly d: ActionDeps) {
    this.guard = new ActionGuard(() => d.clock.now(), d.log);
    for (const s of d.sources) {
      if (s.cfg.ssh) {
        preloadSsh();
        this.verifiers.set(
          s.name,
          new Verifier(s.name, s.cfg.ssh, d.log.child({ action: "verify", source: s.name }), () => d.clock.now()),
        );
      }
      if (s.cfg.restoreTest)
        this.restorers.set(
          s.name,
          new RestoreTester(
            s.http,
            s.cfg.restoreTest,
            s.name,
            d.log.child({ action: "restore_test", source: s.name }),
            () => d.clock.now(),
            500,
          ),
        );
    }
    this.ctx = { d, guard: this.guard, verifiers: this.verifiers, restorers: this.restorers };
  }

  /** Evidence the bridge produced itself. */
  evidence(): Pick<Evidence, "verifications" | "verifiable" | "restoreTests"> {
    return {
      ...this.d.store.evidence(),
      verifiable: Object.fromEntries(this.d.sources.map((s) => [s.name, this.verifiers.has(s.name)])),
    };
  }

  /** After a restart (also after kill -9): follow the backups still in flight, clean up interrupted restore tests. */
  resume(): Promise<void> {
    return resumeInflight(this.ctx);
  }

  backup(id: string, opts: { storage?: string; mode?: string; requestId?: string }, origin: string): Promise<Outcome> {
    return backupGuest(this.ctx, id, opts, origin);
  }

  verify(id: string, origin: string, requestId?: string): Promise<Outcome> {
    return verifyGuest(this.ctx, id, origin, requestId);
  }

  /** Stop backup: DELETE of the guest's running vzdump task (tier allow_stop: true). */
  stopBackup(id: string, origin: string): Promise<Outcome> {
    return stopBackup(this.ctx, id, origin);
  }

  restoreTest(id: string, origin: string, requestId?: string): Promise<Outcome> {
    return restoreTestGuest(this.ctx, id, origin, requestId);
  }

  /** Task ends: forget the in-flight record, audit the result. Events are sent by the bridge for every task. */
  onTaskEvent(e: TaskEvent): void {
    if (e.phase === "started") return;
    this.guard.releaseTask(e.upid);
    const mine = this.d.store.inflight.find((t) => t.upid === e.upid);
    if (!mine) return;
    if (e.phase === "unknown") {
      for (const o of e.outcomes) {
        this.d.store.audit({
          time: new Date(this.d.clock.now()).toISOString(),
          action: "backup",
          target: this.d.idOf(e.source, o.vmid),
          origin: mine.origin,
          result: "finished",
          detail: e.reason ?? "Proxmox does not know the task",
        });
      }
      this.d.store.removeInflight(e.upid);
      return;
    }
    for (const o of e.outcomes) {
      this.d.store.audit({
        time: new Date(this.d.clock.now()).toISOString(),
        action: "backup",
        target: this.d.idOf(e.source, o.vmid),
        origin: mine.origin,
        result: o.result === "failed" ? "failed" : "finished",
        detail: o.error ?? e.exitstatus ?? o.result,
      });
    }
    this.d.store.removeInflight(e.upid);
  }

  /** Automatic verification: archives whose tier wants it and that have not been verified, one per node, outside quiet hours. */
  autoVerifyTick(guests: GuestState[]): Promise<void> {
    return autoVerify(this.ctx, guests);
  }
}
