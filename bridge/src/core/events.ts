/** The events the engine announces, built from what happened (pure: time is a parameter). */
import type { Target } from "../actions/router.js";
import type { TaskEvent } from "../sources/pve/source.js";
import type { DomainEvent } from "./bus.js";
import type { GuestState } from "../policy/types.js";

const isoAt = (ms: number) => new Date(ms).toISOString();

/** A refused command, told on `topicTarget`'s event topic (the bridge's, for a guest that does not exist). */
export function rejectionEvent(
  topicTarget: Target,
  target: Target,
  cmd: { action?: string; request_id?: string } | undefined,
  reason: string,
  now: number,
): DomainEvent {
  return {
    target: topicTarget,
    payload: {
      event_type: "command_rejected",
      time: isoAt(now),
      ...(target.kind === "guest" ? { guest: target.id } : {}),
      ...(cmd?.action ? { action: cmd.action } : {}),
      ...(cmd?.request_id ? { request_id: cmd.request_id } : {}),
      reason,
    },
  };
}

/** backup_started / backup_finished / backup_failed / backup_unknown, one per guest of a vzdump task. */
export function taskEvents(e: TaskEvent, idOf: (vmid: number) => string, now: number): DomainEvent[] {
  return e.outcomes.map((o) => {
    const id = idOf(o.vmid);
    const base = { time: isoAt(now), guest: id, upid: e.upid, ...(e.requestId ? { request_id: e.requestId } : {}) };
    const target: Target = { kind: "guest", id };
    if (e.phase === "started") return { target, payload: { event_type: "backup_started", ...base } };
    if (e.phase === "unknown")
      return {
        target,
        payload: { event_type: "backup_unknown", ...base, reason: e.reason ?? "Proxmox does not know the task" },
      };
    if (o.result === "failed")
      return {
        target,
        payload: {
          event_type: "backup_failed",
          ...base,
          result: "failed",
          error: o.error ?? e.exitstatus ?? "unknown error",
        },
      };
    return { target, payload: { event_type: "backup_finished", ...base, result: o.result } };
  });
}

/**
 * backup_overrunning, once per vzdump task: for each guest whose state holds the `overrunning`
 * finding (policy/overrun.ts) of a task not announced yet. `announced` is updated.
 */
export function overrunEvents(guests: GuestState[], announced: Set<string>, now: number): DomainEvent[] {
  const out: DomainEvent[] = [];
  for (const g of guests) {
    const f = g.findings.find((x) => x.code === "overrunning");
    const upid = typeof f?.params.upid === "string" ? f.params.upid : undefined;
    if (!f || !upid || announced.has(`${g.id} ${upid}`)) continue;
    announced.add(`${g.id} ${upid}`);
    out.push({
      target: { kind: "guest", id: g.id },
      payload: { event_type: "backup_overrunning", time: isoAt(now), guest: g.id, upid, reason: f.reason },
    });
  }
  return out;
}

/** fallback_planned / fallback_started: the self-healing fallback's plan and start (extensions/fallback.ts). */
export function fallbackEvent(
  type: "fallback_planned" | "fallback_started",
  guest: string,
  fields: { reason: string; at?: string; action?: "auto" | "ask"; upid?: string },
  now: number,
): DomainEvent {
  return {
    target: { kind: "guest", id: guest },
    payload: { event_type: type, time: isoAt(now), guest, ...fields },
  };
}
