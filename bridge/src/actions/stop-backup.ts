/**
 * "Stop backup" (opt-in per tier, `allow_stop: true`): stops the guest's running vzdump with
 * DELETE /nodes/{node}/tasks/{upid}, PVE's own stop (pve-manager PVE/API2/Tasks.pm `stop_task`: the
 * task's worker gets SIGTERM and the vzdump ends "interrupted by signal"). PVE lets the user or token
 * that started a task stop it; any other task (a scheduled job's runs as root@pam) needs Sys.Modify on
 * /nodes/<node>. Refused with a sentence when nothing runs or the tier does not allow it; every
 * request is audited. The task's end is then reported like any other (backup_failed).
 */
import { PveError } from "../sources/pve/http.js";
import { phrase } from "../words/phrase.js";
import { render, wordsOf } from "../words/render.js";
import { type ActionContext, locate, refuse } from "./action-context.js";
import type { Outcome } from "./router.js";

export async function stopBackup(ctx: ActionContext, id: string, origin: string): Promise<Outcome> {
  const words = wordsOf(ctx.d.cfg);
  const say = (key: string, params: Record<string, string | number | undefined> = {}) =>
    render(phrase(key, params), words);
  const at = locate(ctx, id);
  if ("refusal" in at) return refuse(ctx, "stop_backup", id, origin, at.refusal);
  const { g, source } = at;
  const tier = g.tier ? ctx.d.cfg.tiers[g.tier] : undefined;
  if (!tier) return refuse(ctx, "stop_backup", id, origin, say("stop_backup.untiered"));
  if (!tier.allowStop) return refuse(ctx, "stop_backup", id, origin, say("stop_backup.not_allowed", { tier: tier.id }));
  const task = source.runningBackup(g.vmid);
  if (!task) return refuse(ctx, "stop_backup", id, origin, say("stop_backup.nothing"));
  try {
    await source.stopTask(task.node, task.upid);
  } catch (e) {
    const msg =
      e instanceof PveError && e.kind === "permission"
        ? `${e.message} — stopping a task the token did not start needs Sys.Modify on /nodes/${task.node}`
        : (e as Error).message;
    return refuse(ctx, "stop_backup", id, origin, say("stop_backup.failed", { error: msg }));
  }
  const detail = say("stop_backup.stopped", { since: new Date(task.startMs).toISOString() });
  ctx.d.store.audit({
    time: new Date(ctx.d.clock.now()).toISOString(),
    action: "stop_backup",
    target: id,
    origin,
    result: "accepted",
    detail: `${task.upid}: ${detail}`,
  });
  // Its end ("interrupted by signal") comes with the next poll of the running task (the fast loop).
  return { ok: true, detail, upid: task.upid };
}
