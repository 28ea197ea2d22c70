/**
 * "Back up now": the command's checks and guard, the vzdump task through the API (or vzdump over
 * SSH with backup.method: ssh), its durable in-flight record and its audit. The task's end is
 * followed by GuestActions.onTaskEvent.
 */
import type { GuestState } from "../policy/types.js";
import { PveError } from "../sources/pve/http.js";
import type { PveSource } from "../sources/pve/source.js";
import { sshExec, sshTargetFor, shq } from "../sources/ssh/client.js";
import { type ActionContext, backupKey, locate, refuse } from "./action-context.js";
import type { Outcome } from "./router.js";

export async function backupGuest(
  ctx: ActionContext,
  id: string,
  opts: { storage?: string; mode?: string; requestId?: string },
  origin: string,
): Promise<Outcome> {
  const at = locate(ctx, id);
  if ("refusal" in at) return refuse(ctx, "backup", id, origin, at.refusal);
  const { g, source } = at;
  const tier = g.tier ? ctx.d.cfg.tiers[g.tier] : undefined;
  if (tier && !tier.allowManual)
    return refuse(ctx, "backup", id, origin, `tier ${tier.id} does not allow manual backups (allow_manual: false)`);
  const what = `a backup of ${g.name} (${g.vmid})`;
  // Check and claim in one synchronous step, before the first await: a burst of presses while
  // Proxmox still answers the first POST finds the guard taken, and its refusal names the first request.
  const key = backupKey(g.id);
  const busy = ctx.guard.claim(key, { what, origin, ...(opts.requestId ? { requestId: opts.requestId } : {}) });
  if (busy) return refuse(ctx, "backup", id, origin, busy);
  if (g.running) {
    // Not ours (ours hold the guard until their task ends): a scheduled job, the GUI, another client.
    ctx.guard.release(key);
    return refuse(
      ctx,
      "backup",
      id,
      origin,
      `${what} is already running (started outside this bridge, e.g. by a backup job or in the Proxmox web interface)`,
    );
  }
  const b = source.cfg.backup;
  // The job that selects the guest says how it is backed up (not its prune-backups, which needs
  // Datastore.Allocate: the storage's retention applies); the config's backup settings otherwise.
  const info = source.guest(g.vmid);
  const job = info ? source.guestJob(info) : undefined;
  const options = {
    storage: opts.storage ?? b.storage,
    mode: opts.mode ?? job?.mode ?? b.mode,
    compress: job?.compress ?? b.compress,
    notesTemplate: job?.notesTemplate ?? b.notesTemplate,
    ...(opts.requestId ? { requestId: opts.requestId } : {}),
  };
  // Released here unless handed to the task's end (onTaskEvent) or to the SSH session's end.
  let handedOver = false;
  try {
    if (b.method === "ssh") {
      const out = await backupOverSsh(ctx, g, source, options, origin, key);
      handedOver = out.ok;
      return out;
    }
    const upid = await source.startBackup(g.vmid, options);
    if (!upid)
      return refuse(
        ctx,
        "backup",
        id,
        origin,
        `Proxmox answered "OK" without starting a task: guest ${g.vmid} is not on node '${g.node}' any more`,
      );
    ctx.guard.bind(key, upid);
    // A poll may have seen the task end while the POST's answer was on its way.
    handedOver = !source.taskEnded(upid);
    if (
      handedOver &&
      !ctx.d.store.addInflight({
        kind: "backup",
        source: source.name,
        upid,
        node: g.node,
        vmid: g.vmid,
        startedMs: ctx.d.clock.now(),
        origin,
      })
    ) {
      ctx.d.log.error(
        { err: ctx.d.store.lastError, upid },
        "could not persist the running backup; a restart now would not report its end",
      );
    }
    ctx.d.store.audit({
      time: new Date(ctx.d.clock.now()).toISOString(),
      action: "backup",
      target: id,
      origin,
      result: "accepted",
      detail: upid,
    });
    ctx.d.publish();
    return { ok: true, upid };
  } catch (e) {
    const msg =
      e instanceof PveError && e.kind === "permission"
        ? `${e.message} — the token needs VM.Backup on /vms/${g.vmid} and Datastore.AllocateSpace on the target storage`
        : (e as Error).message;
    return refuse(ctx, "backup", id, origin, `Proxmox refused the backup: ${msg}`);
  } finally {
    if (!handedOver) ctx.guard.release(key);
  }
}

/** method: ssh — vzdump on the node; the task it registers is followed like any other (the poll sees it running). */
async function backupOverSsh(
  ctx: ActionContext,
  g: GuestState,
  source: PveSource,
  o: { storage?: string; mode: string; compress: string; notesTemplate: string; requestId?: string },
  origin: string,
  key: string,
): Promise<Outcome> {
  const ssh = source.cfg.ssh;
  if (!ssh) return refuse(ctx, "backup", g.id, origin, "backup.method is ssh but no ssh section is configured");
  const storage = o.storage ?? source.defaultBackupStorage(source.guest(g.vmid)!);
  const flags: [string, string][] = [
    ["mode", o.mode],
    ["compress", o.compress],
    ...(storage
      ? ([["storage", storage], ...(o.notesTemplate ? [["notes-template", o.notesTemplate]] : [])] as [
          string,
          string,
        ][])
      : []),
  ];
  const cmd = `vzdump ${g.vmid} ${flags.map(([k, v]) => `--${k} ${shq(v)}`).join(" ")}`;
  ctx.d.store.audit({
    time: new Date(ctx.d.clock.now()).toISOString(),
    action: "backup",
    target: g.id,
    origin,
    result: "accepted",
    detail: "ssh",
  });
  ctx.d.event(g.id, {
    event_type: "backup_started",
    time: new Date(ctx.d.clock.now()).toISOString(),
    guest: g.id,
    ...(o.requestId ? { request_id: o.requestId } : {}),
  });
  void sshExec(sshTargetFor(ssh, g.node), cmd)
    .then((r) => {
      if (r.code !== 0) ctx.d.log.warn({ vmid: g.vmid, code: r.code }, "vzdump over SSH ended with an error");
    })
    .catch((e: Error) =>
      ctx.d.event(g.id, {
        event_type: "backup_failed",
        time: new Date(ctx.d.clock.now()).toISOString(),
        guest: g.id,
        result: "failed",
        error: e.message,
      }),
    )
    .finally(() => {
      // vzdump over SSH returns when the backup ended: the guard's end.
      ctx.guard.release(key);
      void source.refresh({ content: true }).then(() => ctx.d.publish());
    });
  // Let the next poll find the task PVE registered for it.
  setTimeout(() => void source.refresh().then(() => ctx.d.publish()), 500).unref();
  return { ok: true, detail: "vzdump started over SSH" };
}
