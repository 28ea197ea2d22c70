/**
 * After a restart (also after kill -9): the in-flight records the store kept. A backup still in
 * flight gets its guard back and is followed to its end; an interrupted restore test is cleaned up
 * and recorded as failed.
 */
import { type ActionContext, backupKey } from "./action-context.js";

export async function resumeInflight(ctx: ActionContext): Promise<void> {
  for (const t of ctx.d.store.inflight) {
    const source = ctx.d.sources.find((s) => s.name === t.source);
    if (!source) continue;
    if (t.kind === "backup") {
      ctx.d.log.info({ upid: t.upid, vmid: t.vmid }, "resuming a backup started before the restart");
      // Its guard again, so "Back up now" stays refused until its end is seen.
      const g = source.guest(t.vmid);
      const id = ctx.d.idOf(source.name, t.vmid);
      if (
        !ctx.guard.claim(backupKey(id), {
          what: `a backup of ${g?.name ?? `guest ${t.vmid}`} (${t.vmid})`,
          origin: t.origin,
        })
      )
        ctx.guard.bind(backupKey(id), t.upid);
      source.resumeTask(t.upid, t.node, t.vmid);
    } else {
      const tester = ctx.restorers.get(t.source);
      // Before the first poll the guest's type is not known yet: look for a scratch VM and container both.
      const kinds = [source.guest(t.vmid)?.type ?? ["qemu", "lxc"]].flat() as Array<"qemu" | "lxc">;
      let cleaned = false;
      try {
        if (tester) {
          let all = true;
          for (const kind of kinds) all = (await tester.cleanupAfterRestart(t.node, kind)) && all;
          cleaned = all;
        }
      } catch (e) {
        ctx.d.log.error({ err: (e as Error).message }, "cleanup after an interrupted restore test failed");
      }
      ctx.d.store.addRestore({
        source: t.source,
        vmid: t.vmid,
        volid: "",
        scratchVmid: source.cfg.restoreTest?.scratchVmid ?? 0,
        timeMs: ctx.d.clock.now(),
        durationMs: ctx.d.clock.now() - t.startedMs,
        ok: false,
        reason: "interrupted by a bridge restart",
        cleanedUp: cleaned,
      });
      ctx.d.store.removeInflight(t.upid);
    }
  }
}
