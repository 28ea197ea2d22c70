/** The events the engine announces, built from what happened (pure: time is a parameter). */
import type { Target } from "../actions/router.js";
import type { TaskEvent } from "../sources/pve/source.js";
import type { DomainEvent } from "./bus.js";

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
