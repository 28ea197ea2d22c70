/**
 * Verification of a guest's newest archive over SSH: the "verify" command, the automatic
 * verification outside quiet hours, and the run both share (record, audit, events, guard release).
 */
import type { Archive } from "../evidence.js";
import type { GuestState } from "../policy/types.js";
import { SshError } from "../sources/ssh/client.js";
import { type ActionContext, locate, refuse, reportCheckEnd, verifyKey } from "./action-context.js";
import type { Outcome } from "./router.js";
import type { Verifier } from "./verifier.js";
import { minuteInWindow, parseWindow } from "../policy/window.js";

/** "01:00-06:00" → is `at` (local time) inside it? Windows may wrap midnight. */
export function inQuietHours(window: string | undefined, at: Date): boolean {
  const w = parseWindow(window);
  return !!w && minuteInWindow(w, at.getHours() * 60 + at.getMinutes());
}

export async function verifyGuest(
  ctx: ActionContext,
  id: string,
  origin: string,
  requestId?: string,
): Promise<Outcome> {
  const at = locate(ctx, id);
  if ("refusal" in at) return refuse(ctx, "verify", id, origin, at.refusal);
  const { g, source } = at;
  const archives = source.archivesOf(g.vmid).sort((a, b) => b.ctimeMs - a.ctimeMs);
  const newest = archives[0];
  if (!newest) return refuse(ctx, "verify", id, origin, `${g.name} has no archive to verify`);
  if (newest.format.startsWith("pbs-")) {
    return refuse(
      ctx,
      "verify",
      id,
      origin,
      `the newest archive is on Proxmox Backup Server, which verifies it itself (state: ${newest.verification ?? "not verified yet"})`,
    );
  }
  const verifier = ctx.verifiers.get(source.name);
  if (!verifier)
    return refuse(
      ctx,
      "verify",
      id,
      origin,
      `verification needs SSH to the nodes: add an ssh section to proxmox '${source.name}'`,
    );
  const node = newest.node ?? g.node;
  const key = verifyKey(g.id);
  const busy = ctx.guard.claim(key, {
    what: `a verification of ${g.name} (${g.vmid})`,
    origin,
    ...(requestId ? { requestId } : {}),
  });
  if (busy) return refuse(ctx, "verify", id, origin, busy);
  if (verifier.isBusy(node)) {
    ctx.guard.release(key);
    return refuse(ctx, "verify", id, origin, `a verification is already running on node '${node}'`);
  }
  ctx.d.store.audit({
    time: new Date(ctx.d.clock.now()).toISOString(),
    action: "verify",
    target: id,
    origin,
    result: "accepted",
    detail: newest.volid,
  });
  void runVerify(ctx, verifier, g, newest, node, origin, key);
  return { ok: true, detail: `verifying ${newest.volid}` };
}

/** Runs one verification; releases the guard `key` (claimed by the caller) at its end, whatever happens. */
async function runVerify(
  ctx: ActionContext,
  verifier: Verifier,
  g: GuestState,
  archive: Archive,
  node: string,
  origin: string,
  key: string,
): Promise<void> {
  const time = () => new Date(ctx.d.clock.now()).toISOString();
  try {
    ctx.d.event(g.id, { event_type: "verify_started", time: time(), guest: g.id, volid: archive.volid });
    const rec = await verifier.verify(archive, node);
    ctx.d.store.addVerification(rec);
    reportCheckEnd(ctx, "verify", {
      target: g.id,
      guest: g.id,
      origin,
      volid: archive.volid,
      ok: rec.ok,
      reason: rec.reason,
    });
  } catch (e) {
    // SSH trouble (wrong host key, auth, network) says nothing about the archive: no record, an event.
    const reason = e instanceof SshError ? e.message : `verification could not run: ${(e as Error).message}`;
    ctx.d.log.warn({ vmid: g.vmid, reason }, "verification did not run");
    ctx.d.store.audit({ time: time(), action: "verify", target: g.id, origin, result: "failed", detail: reason });
    ctx.d.event(g.id, {
      event_type: "verify_failed",
      time: time(),
      guest: g.id,
      volid: archive.volid,
      result: "not_run",
      error: reason,
    });
  } finally {
    ctx.guard.release(key);
  }
  ctx.d.publish();
}

/** Automatic verification: archives whose tier wants it and that have not been verified, one per node, outside quiet hours. */
export async function autoVerify(ctx: ActionContext, guests: GuestState[]): Promise<void> {
  for (const source of ctx.d.sources) {
    const verifier = ctx.verifiers.get(source.name);
    if (!verifier || !source.cfg.verify.automatic || !source.health.up || source.health.degraded) continue;
    if (inQuietHours(source.cfg.verify.quietHours, new Date(ctx.d.clock.now()))) continue;
    // The last verdict per archive: a failed archive stays failed, so checking it again cannot clear verify_overdue.
    const verdicts = new Map(
      ctx.d.store.verifications.filter((v) => v.source === source.name).map((v) => [v.volid, v.ok]),
    );
    const startedOn = new Set<string>();
    for (const g of guests.filter(
      (x) => x.source === source.name && x.tier && ctx.d.cfg.tiers[x.tier]?.verifyEveryMs && !x.running,
    )) {
      const overdue = g.findings.some((f) => f.code === "verify_overdue");
      const newest = source
        .archivesOf(g.vmid)
        .filter((a) => !a.format.startsWith("pbs-"))
        .sort((a, b) => b.ctimeMs - a.ctimeMs)[0];
      if (!newest || (verdicts.has(newest.volid) && (!overdue || verdicts.get(newest.volid) === false))) continue;
      const node = newest.node ?? g.node;
      if (verifier.isBusy(node) || startedOn.has(node)) continue;
      // A verification of this guest that a command started is not repeated beside it.
      if (ctx.guard.claim(verifyKey(g.id), { what: `a verification of ${g.name} (${g.vmid})`, origin: "scheduler" }))
        continue;
      startedOn.add(node);
      void runVerify(ctx, verifier, g, newest, node, "scheduler", verifyKey(g.id));
    }
  }
}
