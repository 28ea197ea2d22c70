/**
 * The "restore_test" command: its checks (tier opt-in, a restore_test section, an archive), the
 * guest's and the source's guards, the scratch VMID's precheck, and the test's run with its
 * in-flight record, record, audit and events.
 */
import { type ActionContext, locate, refuse, reportCheckEnd, restoreKey } from "./action-context.js";
import type { Outcome } from "./router.js";

export async function restoreTestGuest(
  ctx: ActionContext,
  id: string,
  origin: string,
  requestId?: string,
): Promise<Outcome> {
  const at = locate(ctx, id);
  if ("refusal" in at) return refuse(ctx, "restore_test", id, origin, at.refusal);
  const { g, source } = at;
  const tier = g.tier ? ctx.d.cfg.tiers[g.tier] : undefined;
  if (!tier?.restoreTest)
    return refuse(
      ctx,
      "restore_test",
      id,
      origin,
      `tier ${g.tier ?? "(none)"} has not opted in to restore tests (restore_test: true)`,
    );
  const tester = ctx.restorers.get(source.name);
  if (!tester)
    return refuse(
      ctx,
      "restore_test",
      id,
      origin,
      `no restore_test section (scratch VMID and storage) for proxmox '${source.name}'`,
    );
  const info = source.guest(g.vmid)!;
  const archive = source
    .archivesOf(g.vmid)
    .filter((a) => a.verification !== "failed")
    .sort((a, b) => b.ctimeMs - a.ctimeMs)[0];
  if (!archive) return refuse(ctx, "restore_test", id, origin, `${g.name} has no archive to restore`);
  // The guest's guard and the source's (one scratch VMID per source), claimed before the first await.
  const claim = { what: `a restore test of ${g.name} (${g.vmid})`, origin, ...(requestId ? { requestId } : {}) };
  const key = restoreKey(g.id);
  const sourceKey = `restore_test@${source.name}`;
  const busy = ctx.guard.claim(key, claim);
  if (busy) return refuse(ctx, "restore_test", id, origin, busy);
  const sourceBusy = ctx.guard.claim(sourceKey, claim);
  if (sourceBusy) {
    ctx.guard.release(key);
    return refuse(
      ctx,
      "restore_test",
      id,
      origin,
      `${sourceBusy.replace(/ is already running/, ` is already running on proxmox '${source.name}'`)}; one restore test at a time uses its scratch VMID`,
    );
  }
  const release = () => {
    ctx.guard.release(key);
    ctx.guard.release(sourceKey);
  };
  let refusal: string | undefined;
  try {
    refusal = await tester.precheck(info);
  } catch (e) {
    refusal = `cannot check the scratch VMID: ${(e as Error).message}`;
  }
  if (refusal) {
    release();
    return refuse(ctx, "restore_test", id, origin, refusal);
  }
  const time = () => new Date(ctx.d.clock.now()).toISOString();
  ctx.d.store.audit({
    time: time(),
    action: "restore_test",
    target: id,
    origin,
    result: "accepted",
    detail: archive.volid,
  });
  ctx.d.event(g.id, { event_type: "restore_test_started", time: time(), guest: g.id, volid: archive.volid });
  let inflight: string | undefined;
  void tester
    .run(info, archive, {
      started: (upid, node) => {
        inflight = upid;
        ctx.d.store.addInflight({
          kind: "restore_test",
          source: source.name,
          upid,
          node,
          vmid: g.vmid,
          startedMs: ctx.d.clock.now(),
          origin,
        });
      },
    })
    .then((rec) => {
      ctx.d.store.addRestore(rec);
      reportCheckEnd(ctx, "restore_test", {
        target: id,
        guest: g.id,
        origin,
        volid: archive.volid,
        ok: rec.ok,
        reason: rec.reason,
      });
    })
    .catch((e: Error) => {
      ctx.d.log.error({ vmid: g.vmid, err: e.message }, "restore test could not run");
      ctx.d.event(g.id, {
        event_type: "restore_test_failed",
        time: time(),
        guest: g.id,
        volid: archive.volid,
        result: "not_run",
        error: e.message,
      });
    })
    .finally(() => {
      release();
      if (inflight) ctx.d.store.removeInflight(inflight);
      ctx.d.publish();
    });
  return { ok: true, detail: `restoring ${archive.volid} to scratch VMID ${source.cfg.restoreTest!.scratchVmid}` };
}
