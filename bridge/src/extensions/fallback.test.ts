/**
 * The fallback executor with a fake clock and a fake "Back up now" (the guest actions), the real
 * planner, store (state_dir fallback.json) and command router. A restart is a new store and a new
 * extension on the same state_dir.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandRouter, type Outcome } from "../actions/router.js";
import type { Config } from "../config/load.js";
import type { Tier, TierFallback } from "../config/tiers.js";
import { Bus, type DomainEvent } from "../core/bus.js";
import { Scheduler } from "../core/scheduler.js";
import type { BackupAttempt, Evidence, GuestInfo } from "../evidence.js";
import { createLogger } from "../log.js";
import { type FallbackPlan, planFallbacks, RETRY_AFTER_MS, withFallbacks } from "../policy/fallback.js";
import type { GuestState, PolicyResult } from "../policy/types.js";
import type { View } from "../core/view.js";
import { Store } from "../state/store.js";
import type { ExtensionContext } from "./extension.js";
import { fallback } from "./fallback.js";

const H = 3_600_000;
const M = 60_000;
const NOON = Date.parse("2026-12-03T12:00:00Z");
const log = createLogger("silent");

const tier = (f: Partial<TierFallback>): Tier => ({
  id: "P0",
  label: "P0",
  protect: true,
  maxAgeMs: 26 * H,
  schedule: "02:00",
  retention: {},
  minCopies: 1,
  offsite: false,
  verifyEveryMs: null,
  allowManual: true,
  restoreTest: false,
  fallback: { action: "auto", window: "any", graceMs: H, maxPerDay: 1, ...f },
  maxRuntimeMs: null,
  stallAfterMs: 30 * 60_000,
  allowStop: false,
  accepts: ["vzdump", "hyperbackup"],
});

const guest = (o: Partial<GuestState> = {}): GuestState =>
  ({
    id: "home_100",
    source: "pve",
    vmid: 100,
    name: "vaultwarden",
    type: "qemu",
    node: "n1",
    tier: "P0",
    tier_source: "config",
    status: "stale",
    problem: true,
    reasons: [],
    reason_phrases: [],
    findings: [],
    running: false,
    last_attempt: null,
    fallback: null,
    ...o,
  }) as GuestState;

/** One bridge process: store + extension on `dir`; `evaluate()` is the engine's evaluation. */
function bridge(dir: string, clock: { t: number }, f: Partial<TierFallback> = {}) {
  const store = new Store(dir);
  const bus = new Bus(log);
  const events: DomainEvent["payload"][] = [];
  bus.on("event", (e) => events.push(e.payload));
  const backups: { id: string; opts: { storage?: string; mode?: string }; origin: string }[] = [];
  let answer: () => Outcome = () => ({ ok: true, upid: `UPID:n1:${backups.length}:vzdump:100` });
  const world = { guests: [guest()], attempts: [] as BackupAttempt[] };
  let plan: FallbackPlan | null = null;
  let result: PolicyResult | null = null;
  const cfg = { tiers: { P0: tier(f) }, language: "en", timeZone: "UTC" } as unknown as Config;
  const evaluate = () => {
    const base: PolicyResult = {
      guests: world.guests,
      orphans: [],
      counts: { unknown: 0, running: 0, failed: 0, missing: 0, stale: 0, ok: 0, problem: 0, untiered: 0, excluded: 0 },
      nextChangeMs: null,
    };
    plan = planFallbacks({
      guests: base.guests,
      tiers: cfg.tiers,
      guestInfo: world.guests.map((g) => ({ source: g.source, vmid: g.vmid, node: g.node }) as GuestInfo),
      jobs: [],
      sources: [{ name: "pve", kind: "proxmox", up: true, degraded: false }],
      records: store.fallback,
      now: clock.t,
      words: { language: "en", timeZone: "UTC" },
    });
    result = withFallbacks(base, plan);
    bus.emit("evaluated", view);
  };
  const view = {
    get result() {
      return result;
    },
    guest: (id: string) => result?.guests.find((g) => g.id === id),
    evidence: () => ({ attempts: world.attempts }) as unknown as Evidence,
  } as unknown as View;
  const router = new CommandRouter(
    {
      backup: async () => ({ ok: false, reason: "n/a" }),
      verify: async () => ({ ok: false, reason: "n/a" }),
      restoreTest: async () => ({ ok: false, reason: "n/a" }),
      setTier: async () => ({ ok: false, reason: "n/a" }),
      refresh: async () => ({ ok: true }),
      report: () => undefined,
    },
    log,
  );
  const ctx = {
    cfg,
    view,
    bus,
    router,
    scheduler: new Scheduler(log),
    clock: { now: () => clock.t },
    log,
    refresh: async () => evaluate(),
    reevaluate: evaluate,
    engine: {
      store,
      fallbackPlan: () => plan,
      actions: {
        backup: async (id: string, opts: { storage?: string; mode?: string }, origin: string) => {
          backups.push({ id, opts, origin });
          return answer();
        },
      },
    },
  } as unknown as ExtensionContext;
  const ext = fallback();
  ext.start(ctx);
  return {
    store,
    events,
    backups,
    world,
    router,
    evaluate,
    answer: (fn: () => Outcome) => {
      answer = fn;
    },
    state: () => view.guest("home_100")!,
    /** Evaluate, then let the extension's async steps (the backup's answer, its re-evaluation) run. */
    async settle() {
      evaluate();
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    },
    stop: () => ext.stop?.(),
  };
}

let dir = "";
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-fallback-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("fallback executor", () => {
  it("auto: waits out the grace, starts once through the guest actions (origin fallback), follows the run to its end", async () => {
    const clock = { t: NOON };
    const b = bridge(dir, clock, { storage: "local", mode: "stop" });
    await b.settle();
    expect(b.backups).toEqual([]);
    expect(b.store.fallback.home_100?.badSince).toBe(NOON);
    expect(b.state().fallback).toBeNull();

    clock.t = NOON + H - 1;
    await b.settle();
    expect(b.backups).toEqual([]);

    clock.t = NOON + H;
    await b.settle();
    expect(b.backups).toEqual([{ id: "home_100", opts: { storage: "local", mode: "stop" }, origin: "fallback" }]);
    const started = b.events.find((e) => e.event_type === "fallback_started")!;
    expect(started).toMatchObject({ guest: "home_100", upid: "UPID:n1:1:vzdump:100" });
    expect(started.reason).toMatch(/^The bridge started a fallback backup on node n1: /);
    expect(b.events.map((e) => e.event_type)).toEqual(["fallback_planned", "fallback_started"]);
    expect(b.state().fallback).toMatchObject({ state: "running", action: "auto" });
    // Persisted with its task id before anything else happens.
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, "fallback.json"), "utf8"));
    expect(onDisk.home_100.runs).toEqual([
      { startedMs: NOON + H, node: "n1", result: "running", upid: "UPID:n1:1:vzdump:100" },
    ]);

    // Later evaluations while it runs start nothing more.
    b.world.guests = [guest({ status: "running", running: true })];
    clock.t += M;
    await b.settle();
    expect(b.backups).toHaveLength(1);

    // The task ends well: the run is done, the guest ok.
    b.world.attempts = [
      {
        source: "pve",
        vmid: 100,
        upid: "UPID:n1:1:vzdump:100",
        node: "n1",
        startMs: NOON + H,
        endMs: NOON + H + 5 * M,
        result: "ok",
      },
    ];
    b.world.guests = [guest({ status: "ok", problem: false })];
    clock.t = NOON + H + 6 * M;
    await b.settle();
    expect(b.store.fallback.home_100?.runs[0]).toMatchObject({ result: "ok", endedMs: NOON + H + 5 * M });
    expect(b.store.fallback.home_100?.badSince).toBeUndefined();
    expect(b.state().fallback).toMatchObject({ state: "done", at: new Date(NOON + H + 5 * M).toISOString() });
    expect(b.backups).toHaveLength(1);
  });

  it("announces a plan once (fallback_planned), also across a restart", async () => {
    const clock = { t: NOON };
    fs.writeFileSync(
      path.join(dir, "fallback.json"),
      JSON.stringify({ home_100: { badSince: NOON - 2 * H, runs: [] } }),
    );
    const a = bridge(dir, clock, { window: "01:00-06:00" });
    await a.settle();
    await a.settle();
    const planned = a.events.filter((e) => e.event_type === "fallback_planned");
    expect(planned).toHaveLength(1);
    expect(planned[0]).toMatchObject({ guest: "home_100", at: "2026-12-04T01:00:00.000Z", action: "auto" });
    expect(planned[0]!.reason).toBe("A fallback backup is planned for Fri 4 Dec, 01:00 (window 01:00-06:00).");
    a.stop();

    // kill -9 and a new process: the plan is known, not announced again, and starts at the window.
    const b = bridge(dir, clock, { window: "01:00-06:00" });
    await b.settle();
    expect(b.events.filter((e) => e.event_type === "fallback_planned")).toEqual([]);
    expect(b.state().fallback).toMatchObject({ state: "planned", at: "2026-12-04T01:00:00.000Z" });
    clock.t = Date.parse("2026-12-04T01:00:00Z");
    await b.settle();
    expect(b.backups).toHaveLength(1);
  });

  it("restart mid-run: the new process follows the run by its UPID and starts nothing", async () => {
    const clock = { t: NOON };
    fs.writeFileSync(
      path.join(dir, "fallback.json"),
      JSON.stringify({ home_100: { badSince: NOON - 2 * H, runs: [] } }),
    );
    const a = bridge(dir, clock);
    await a.settle();
    expect(a.backups).toHaveLength(1);
    a.stop();

    // The task is not in the new process's first reading yet: the guest still looks stale.
    const b = bridge(dir, clock);
    clock.t += 30_000;
    await b.settle();
    await b.settle();
    expect(b.backups).toEqual([]);
    expect(b.state().fallback).toMatchObject({ state: "running" });
    b.world.attempts = [
      {
        source: "pve",
        vmid: 100,
        upid: "UPID:n1:1:vzdump:100",
        node: "n1",
        startMs: NOON,
        endMs: NOON + M,
        result: "failed",
      },
    ];
    b.world.guests = [guest({ status: "failed" })];
    clock.t = NOON + 2 * M;
    await b.settle();
    expect(b.store.fallback.home_100?.runs[0]).toMatchObject({ result: "failed" });
    // One failure today: retried after the pause, by this process.
    await b.settle();
    expect(b.backups).toHaveLength(0);
    clock.t = NOON + M + RETRY_AFTER_MS;
    await b.settle();
    expect(b.backups).toHaveLength(1);
  });

  it("restart mid-start (killed while Proxmox was asked): no second start; the task that appears is adopted", async () => {
    const clock = { t: NOON };
    fs.writeFileSync(
      path.join(dir, "fallback.json"),
      JSON.stringify({
        home_100: { badSince: NOON - 2 * H, runs: [{ startedMs: NOON - M, node: "n1", result: "running" }] },
      }),
    );
    const b = bridge(dir, clock);
    await b.settle();
    expect(b.backups).toEqual([]);
    b.world.attempts = [
      { source: "pve", vmid: 100, upid: "UPID:X", node: "n1", startMs: NOON - 50_000, result: "running" },
    ];
    b.world.guests = [guest({ status: "running", running: true })];
    await b.settle();
    expect(b.store.fallback.home_100?.runs[0]).toMatchObject({ upid: "UPID:X", result: "running" });
    expect(b.backups).toEqual([]);
  });

  it("killed while Proxmox was asked and no task ever appeared: forgotten after 5 minutes, then planned again", async () => {
    const clock = { t: NOON };
    fs.writeFileSync(
      path.join(dir, "fallback.json"),
      JSON.stringify({
        home_100: { badSince: NOON - 2 * H, runs: [{ startedMs: NOON - M, node: "n1", result: "running" }] },
      }),
    );
    const b = bridge(dir, clock);
    await b.settle();
    expect(b.backups).toEqual([]);
    clock.t = NOON + 5 * M;
    await b.settle();
    expect(b.backups).toHaveLength(1);
  });

  it("two refused or failed fallbacks in a day: stops, with the finding fallback_failed", async () => {
    const clock = { t: NOON };
    fs.writeFileSync(
      path.join(dir, "fallback.json"),
      JSON.stringify({ home_100: { badSince: NOON - 2 * H, runs: [] } }),
    );
    const b = bridge(dir, clock);
    b.answer(() => ({ ok: false, reason: "Proxmox refused the backup: no space" }));
    await b.settle();
    expect(b.backups).toHaveLength(1);
    // Retried after a pause, not at once.
    clock.t += RETRY_AFTER_MS - 1;
    await b.settle();
    expect(b.backups).toHaveLength(1);
    expect(b.state().fallback).toMatchObject({ state: "planned", at: new Date(NOON + RETRY_AFTER_MS).toISOString() });
    clock.t += 1;
    await b.settle();
    clock.t += RETRY_AFTER_MS;
    await b.settle();
    expect(b.backups).toHaveLength(2);
    const s = b.state();
    expect(s.fallback).toMatchObject({ state: "failed" });
    expect(s.problem).toBe(true);
    expect(s.findings.map((f) => f.code)).toEqual(["fallback_failed"]);
    expect(s.reasons.at(-1)).toMatch(/failed 2 times today .*stopped retrying for today\.$/);
    // The next day it tries again.
    clock.t = Date.parse("2026-12-04T00:00:00Z");
    await b.settle();
    expect(b.backups).toHaveLength(3);
  });

  describe("ask", () => {
    it("plans without starting; approve_fallback starts it; a second approval is refused", async () => {
      const clock = { t: NOON };
      fs.writeFileSync(
        path.join(dir, "fallback.json"),
        JSON.stringify({ home_100: { badSince: NOON - 2 * H, runs: [] } }),
      );
      const b = bridge(dir, clock, { action: "ask" });
      await b.settle();
      expect(b.backups).toEqual([]);
      expect(b.state().fallback).toMatchObject({ state: "planned", action: "ask", approved: false });
      expect(b.events.filter((e) => e.event_type === "fallback_planned")).toHaveLength(1);

      const out = await b.router.handle({ kind: "guest", id: "home_100" }, '{"action":"approve_fallback"}', "test");
      expect(out).toMatchObject({ ok: true, detail: "Approved: the fallback backup starts." });
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      expect(b.backups).toEqual([{ id: "home_100", opts: {}, origin: "fallback" }]);
      expect(b.state().fallback).toMatchObject({ state: "running", action: "ask" });

      const again = await b.router.handle({ kind: "guest", id: "home_100" }, '{"action":"approve_fallback"}', "test");
      expect(again).toEqual({ ok: false, reason: "No fallback backup of this guest waits for approval." });
      const audit = fs.readFileSync(path.join(dir, "audit.jsonl"), "utf8");
      expect(audit).toContain('"action":"approve_fallback","target":"home_100","origin":"mqtt","result":"accepted"');
    });

    it("an approval survives a restart", async () => {
      const clock = { t: NOON };
      fs.writeFileSync(
        path.join(dir, "fallback.json"),
        JSON.stringify({ home_100: { badSince: NOON - 2 * H, runs: [] } }),
      );
      const a = bridge(dir, clock, { action: "ask", window: "01:00-06:00" });
      await a.settle();
      expect((await a.router.handle({ kind: "guest", id: "home_100" }, '{"action":"approve_fallback"}', "t")).ok).toBe(
        true,
      );
      expect(a.backups).toEqual([]);
      a.stop();
      const b = bridge(dir, clock, { action: "ask", window: "01:00-06:00" });
      await b.settle();
      expect(b.state().fallback).toMatchObject({ state: "planned", approved: true });
      clock.t = Date.parse("2026-12-04T01:00:00Z");
      await b.settle();
      expect(b.backups).toHaveLength(1);
    });

    it("nothing pending, or a tier that does not ask: refused with a sentence", async () => {
      const clock = { t: NOON };
      const b = bridge(dir, clock, { action: "ask" });
      b.world.guests = [guest({ status: "ok" })];
      await b.settle();
      expect(await b.router.handle({ kind: "guest", id: "home_100" }, '{"action":"approve_fallback"}', "t")).toEqual({
        ok: false,
        reason: "No fallback backup of this guest waits for approval.",
      });
      b.stop();
      const c = bridge(dir, clock, { action: "auto" });
      await c.settle();
      expect(await c.router.handle({ kind: "guest", id: "home_100" }, '{"action":"approve_fallback"}', "t")).toEqual({
        ok: false,
        reason: "Tier P0 does not ask before a fallback backup (its fallback is auto), so there is nothing to approve.",
      });
    });
  });
});
