/**
 * The self-healing fallback, carried out: after each evaluation the engine's fallback plan
 * (policy/fallback.ts) is acted on — a planned fallback is announced (event fallback_planned), one
 * that may start now is started as a vzdump through the guest actions (the same path, guard and
 * audit as "Back up now", origin "fallback"; event fallback_started, then the usual
 * backup_finished / backup_failed), and each run is followed to its end by its task (UPID).
 *
 * Everything it decides is kept in state_dir fallback.json before it acts: a fallback planned or
 * running when the bridge is killed is known again at the next start and never run twice (a
 * running one is followed by its UPID; the guest actions resume its task like any backup the
 * bridge started). `{"action":"approve_fallback"}` approves the pending plan of an `ask` tier.
 */
import { backupKey } from "../actions/action-context.js";
import type { Outcome } from "../actions/router.js";
import { fallbackEvent } from "../core/events.js";
import type { Evidence } from "../evidence.js";
import { type FallbackRecord, type FallbackRecords, fallbackTier, needsFallback } from "../policy/fallback.js";
import type { GuestState } from "../policy/types.js";
import { phrase, type Phrase } from "../words/phrase.js";
import { render, wordsOf } from "../words/render.js";
import type { Extension, ExtensionContext } from "./extension.js";

/** Runs kept per guest (older ones only count for nothing). */
const KEEP_MS = 3 * 86_400_000;
/** A run whose start was recorded but whose task id never was (killed during the POST): looked for this long. */
const UNBOUND_RUN_MS = 5 * 60_000;

export function fallback(): Extension {
  let ctx: ExtensionContext;
  let records: FallbackRecords = {};
  const starting = new Set<string>();
  let reevaluateQueued = false;
  let stopped = false;

  const words = () => wordsOf(ctx.cfg);
  const say = (p: Phrase) => render(p, words());
  const iso = (ms: number) => new Date(ms).toISOString();
  const save = () => {
    if (!ctx.engine.store.setFallback(records))
      ctx.log.error(
        { err: ctx.engine.store.lastError },
        "could not save fallback.json; a restart now may forget a planned fallback",
      );
  };
  const reevaluate = () => {
    if (reevaluateQueued || stopped) return;
    reevaluateQueued = true;
    setImmediate(() => {
      reevaluateQueued = false;
      if (!stopped) ctx.reevaluate();
    });
  };
  const recordOf = (id: string): FallbackRecord => (records[id] ??= { runs: [] });
  const event = (
    g: GuestState,
    type: "fallback_planned" | "fallback_started",
    fields: Parameters<typeof fallbackEvent>[2],
  ) => ctx.bus.emit("event", fallbackEvent(type, g.id, fields, ctx.clock.now()));

  /** Ends runs whose task ended; returns whether anything changed. */
  const follow = (guests: Map<string, GuestState>, readEvidence: () => Evidence, now: number): boolean => {
    let changed = false;
    // Built only while a fallback runs (the evidence is assembled afresh on each call).
    let evidence: Evidence | undefined;
    const attempts = () => {
      evidence ??= readEvidence();
      return evidence.attempts;
    };
    for (const [id, rec] of Object.entries(records)) {
      for (const run of rec.runs) {
        if (run.result !== "running") continue;
        const g = guests.get(id);
        const attempt = run.upid
          ? attempts().find((a) => a.upid === run.upid)
          : g &&
            attempts().find((a) => a.source === g.source && a.vmid === g.vmid && a.startMs >= run.startedMs - 5000);
        if (!run.upid && attempt) {
          run.upid = attempt.upid;
          changed = true;
        }
        if (attempt && attempt.result !== "running") {
          run.result = attempt.result === "failed" ? "failed" : "ok";
          run.endedMs = attempt.endMs ?? now;
          changed = true;
          ctx.log.info({ guest: id, upid: run.upid, result: run.result }, "fallback backup ended");
        } else if (!run.upid && !starting.has(id) && now - run.startedMs > UNBOUND_RUN_MS) {
          // Killed while asking Proxmox to start it, and no task of it appeared: it never ran.
          rec.runs = rec.runs.filter((r) => r !== run);
          changed = true;
          ctx.log.warn({ guest: id }, "a fallback backup recorded as starting has no task on Proxmox; it is forgotten");
        } else if (
          run.upid &&
          !attempt &&
          !ctx.engine.store.inflight.some((t) => t.upid === run.upid) &&
          g &&
          !g.running &&
          now - run.startedMs > UNBOUND_RUN_MS
        ) {
          // Its task is gone from Proxmox's list and no longer followed: judge by the guest.
          run.result = g.status === "ok" ? "ok" : "failed";
          run.endedMs = now;
          changed = true;
        }
      }
      const kept = rec.runs.filter((r) => r.result === "running" || now - (r.endedMs ?? r.startedMs) < KEEP_MS);
      if (kept.length !== rec.runs.length) {
        rec.runs = kept;
        changed = true;
      }
    }
    return changed;
  };

  const start = (g: GuestState, storage: string | undefined, mode: string | undefined, why: Phrase) => {
    const now = ctx.clock.now();
    const rec = recordOf(g.id);
    const run = { startedMs: now, node: g.node, result: "running" as const };
    rec.runs.push(run);
    rec.approved = false;
    starting.add(g.id);
    // Durable before Proxmox is asked: a restart now finds it and does not start a second one.
    save();
    ctx.log.info({ guest: g.id, node: g.node }, "starting a fallback backup");
    void ctx.engine.actions
      .backup(g.id, { ...(storage ? { storage } : {}), ...(mode ? { mode } : {}) }, "fallback")
      .then((out: Outcome) => {
        const r = records[g.id]?.runs.find((x) => x === run);
        if (!r) return;
        if (out.ok) {
          if (out.upid) r.upid = out.upid;
          event(g, "fallback_started", {
            ...(out.upid ? { upid: out.upid } : {}),
            reason: say(phrase("fallback.started", { node: g.node, why })),
          });
        } else {
          r.result = "failed";
          r.endedMs = ctx.clock.now();
          ctx.log.warn({ guest: g.id, reason: out.reason }, "the fallback backup could not be started");
        }
      })
      .catch((e: Error) => ctx.log.error({ guest: g.id, err: e.message }, "the fallback backup could not be started"))
      .finally(() => {
        starting.delete(g.id);
        save();
        reevaluate();
      });
  };

  const onEvaluated = () => {
    const result = ctx.view.result;
    const plan = ctx.engine.fallbackPlan();
    if (!result || !plan) return;
    const now = ctx.clock.now();
    const guests = new Map(result.guests.map((g) => [g.id, g]));
    let changed = follow(guests, () => ctx.view.evidence(), now);
    let replan = changed;
    for (const g of result.guests) {
      if (!fallbackTier(g, ctx.cfg.tiers)) continue;
      const rec = records[g.id];
      if (needsFallback(g)) {
        if (rec?.badSince === undefined) {
          recordOf(g.id).badSince = now;
          changed = replan = true;
        }
      } else if (g.status === "ok" && rec && (rec.badSince !== undefined || rec.approved || rec.announced)) {
        delete rec.badSince;
        delete rec.approved;
        delete rec.announced;
        changed = true;
      }
    }
    if (!replan)
      for (const d of plan.decisions.values()) {
        const g = guests.get(d.id);
        if (!g) continue;
        // Every fallback is announced as planned once, also one that starts at once.
        const key = `${d.fallback.state}@${d.fallback.at}`;
        if (d.fallback.state === "planned" && records[d.id]?.announced !== key) {
          recordOf(d.id).announced = key;
          changed = true;
          event(g, "fallback_planned", { at: d.fallback.at, reason: d.fallback.reason, action: d.fallback.action });
        }
        // A backup of it that a command is starting right now (Back up now): not a second one beside it.
        if (d.start && !starting.has(d.id) && !ctx.engine.actions.guard?.isHeld(backupKey(d.id))) {
          start(g, d.storage, d.mode, d.phrase);
          replan = true;
        }
      }
    if (changed) save();
    if (replan) reevaluate();
  };

  return {
    name: "fallback",
    start(c: ExtensionContext) {
      ctx = c;
      records = structuredClone(ctx.engine.store.fallback);
      ctx.bus.on("evaluated", onEvaluated);
      ctx.router.register({
        approveFallback: async (id, cmd) => {
          const origin = cmd.origin ?? "mqtt";
          const g = ctx.view.guest(id);
          if (!g) return { ok: false, reason: `unknown guest '${id}'` };
          const tier = g.tier ? ctx.cfg.tiers[g.tier] : undefined;
          const refuse = (p: Phrase): Outcome => {
            const reason = say(p);
            ctx.engine.store.audit({
              time: iso(ctx.clock.now()),
              action: "approve_fallback",
              target: id,
              origin,
              result: "rejected",
              detail: reason,
            });
            return { ok: false, reason };
          };
          if (tier?.fallback.action !== "ask")
            return refuse(
              phrase("approve_fallback.not_ask", { tier: g.tier ?? "—", action: tier?.fallback.action ?? "off" }),
            );
          const f = g.fallback;
          if (f?.state !== "planned" || f.approved || starting.has(id))
            return refuse(phrase("approve_fallback.nothing"));
          recordOf(id).approved = true;
          save();
          ctx.engine.store.audit({
            time: iso(ctx.clock.now()),
            action: "approve_fallback",
            target: id,
            origin,
            result: "accepted",
            ...(cmd.request_id ? { detail: `request ${cmd.request_id}` } : {}),
          });
          ctx.reevaluate();
          const atMs = Date.parse(f.at);
          return {
            ok: true,
            detail: say(phrase("approve_fallback.approved", { at: atMs > ctx.clock.now() ? f.at : undefined })),
          };
        },
      });
      // The records as the planner sees them are the ones kept here.
      ctx.engine.store.fallback = records;
    },
    stop() {
      stopped = true;
    },
  };
}
