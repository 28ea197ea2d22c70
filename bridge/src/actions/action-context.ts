/**
 * What the guest actions (back up now, verify, restore test, resume) share: the bridge's
 * dependencies, the guard, the verifiers and restore testers per source, the guard keys, and the
 * two steps every command starts with: finding the guest and its source, and refusing with an
 * audited sentence.
 */
import type { Config } from "../config/load.js";
import type { Logger } from "../log.js";
import type { GuestState } from "../policy/types.js";
import type { PveSource } from "../sources/pve/source.js";
import type { Store } from "../state/store.js";
import type { Clock } from "../util/clock.js";
import type { ActionGuard } from "./guard.js";
import type { RestoreTester } from "./restore-test.js";
import type { Outcome } from "./router.js";
import type { Verifier } from "./verifier.js";

export interface ActionDeps {
  cfg: Config;
  sources: PveSource[];
  store: Store;
  log: Logger;
  clock: Clock;
  guest(id: string): GuestState | undefined;
  /** Re-evaluate and publish now. */
  publish(): void;
  /** A guest event on its event topic (not retained). */
  event(guestId: string, payload: Record<string, unknown>): void;
  /** The published id of a guest of a source (pinned ids: see the device registry). */
  idOf(source: string, vmid: number): string;
}

/** The state of GuestActions that its actions work on. */
export interface ActionContext {
  readonly d: ActionDeps;
  readonly guard: ActionGuard;
  /** Per source name, when the source has an ssh section. */
  readonly verifiers: Map<string, Verifier>;
  /** Per source name, when the source has a restore_test section. */
  readonly restorers: Map<string, RestoreTester>;
}

export const backupKey = (guest: string) => `backup:${guest}`;
export const verifyKey = (guest: string) => `verify:${guest}`;
export const restoreKey = (guest: string) => `restore_test:${guest}`;

/** The guest and its source, or why a command on it is refused (unknown, or its source unreachable). */
export function locate(ctx: ActionContext, id: string): { g: GuestState; source: PveSource } | { refusal: string } {
  const g = ctx.d.guest(id);
  if (!g) return { refusal: `unknown guest '${id}'` };
  const source = ctx.d.sources.find((s) => s.name === g.source);
  if (!source) return { refusal: `unknown source '${g.source}'` };
  if (!source.health.up || source.health.degraded)
    return { refusal: `Proxmox source '${source.name}' is not reachable: ${source.health.error ?? "unknown error"}` };
  return { g, source };
}

/** A refusal: audited as "rejected" with its reason, which is also the outcome's sentence. */
export function refuse(ctx: ActionContext, action: string, id: string, origin: string, reason: string): Outcome {
  ctx.d.store.audit({
    time: new Date(ctx.d.clock.now()).toISOString(),
    action,
    target: id,
    origin,
    result: "rejected",
    detail: reason,
  });
  return { ok: false, reason };
}

/** The end of a verification or restore test: its audit line and its `<action>_finished` / `_failed` event. */
export function reportCheckEnd(
  ctx: ActionContext,
  action: "verify" | "restore_test",
  c: { target: string; guest: string; origin: string; volid: string; ok: boolean; reason?: string },
): void {
  const time = new Date(ctx.d.clock.now()).toISOString();
  ctx.d.store.audit({
    time,
    action,
    target: c.target,
    origin: c.origin,
    result: c.ok ? "finished" : "failed",
    detail: c.reason ?? c.volid,
  });
  ctx.d.event(c.guest, {
    event_type: c.ok ? `${action}_finished` : `${action}_failed`,
    time,
    guest: c.guest,
    volid: c.volid,
    result: c.ok ? "ok" : "failed",
    ...(c.reason ? { error: c.reason } : {}),
  });
}
