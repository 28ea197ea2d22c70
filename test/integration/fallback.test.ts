/**
 * The self-healing fallback end to end: the simulated lab over HTTPS, a real (embedded) broker,
 * the bridge in between. The demo's vaultwarden (102) failed its last backup; here it is tier P0.
 * - auto, inside the window: the bridge backs it up itself (fallback_started, then the usual
 *   backup_finished), audited with origin fallback, and the guest turns ok — once.
 * - auto, outside the window: planned for the window's opening (fallback_planned), nothing runs.
 * - ask: planned and waiting; {"action":"approve_fallback"} over MQTT starts it.
 * - a restart while the fallback runs: the new bridge follows it and does not run it again.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { TierFallback } from "../../bridge/src/config/tiers.js";
import { describeErrors, schemaValidator } from "../../bridge/src/util/schemas.js";
import { wallTime } from "../../bridge/src/words/time.js";
import { type Stack, startStack } from "../support/stack.js";

const ID = "home_102";
const STATE = `backup2mqtt/guest/${ID}/state`;
const CMD = `backup2mqtt/guest/${ID}/command`;
const EVENT = `backup2mqtt/guest/${ID}/event`;

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/** "HH:MM-HH:MM" in UTC around now: open from `fromMin` minutes from now for `lenMin` minutes. */
function windowFromNow(fromMin: number, lenMin: number): string {
  const hhmm = (ms: number) => {
    const w = wallTime(ms, "UTC");
    return `${String(w.hour).padStart(2, "0")}:${String(w.minute).padStart(2, "0")}`;
  };
  const now = Date.now();
  return `${hhmm(now + fromMin * 60_000)}-${hhmm(now + (fromMin + lenMin) * 60_000)}`;
}

async function start(fallback: Partial<TierFallback>): Promise<Stack> {
  stack = await startStack({
    broker: "embedded",
    lab: { scenario: "demo", taskSpeed: 20 },
    guestTiers: { "102": "P0" },
    configure: (cfg) => {
      cfg.timeZone = "UTC";
      cfg.tiers.P0!.fallback = { action: "auto", window: "any", graceMs: 0, maxPerDay: 1, ...fallback };
    },
  });
  return stack;
}

const events = (s: Stack, type?: string) =>
  s.observer.messages
    .filter((m) => m.topic === EVENT)
    .map((m) => JSON.parse(m.payload) as Record<string, any>)
    .filter((e) => !type || e.event_type === type);
const vzdumps = (s: Stack) => s.lab.requests.filter((r) => r.method === "POST" && r.path.endsWith("/vzdump"));
const state = (s: Stack) => s.observer.json(STATE) as Record<string, any> | undefined;
const valid = (name: string, v: unknown) => {
  const check = schemaValidator(name);
  if (!check(v)) throw new Error(describeErrors(check));
};

describe("self-healing fallback (lab + broker)", () => {
  it("auto inside the window: the bridge backs the failed P0 guest up itself, once, and it turns ok", async () => {
    const s = await start({ window: windowFromNow(-60, 180), storage: "local" });
    const started = await s.observer.until("fallback_started", () => events(s, "fallback_started")[0], 20_000);
    valid("event", started);
    expect(started.reason).toMatch(/^The bridge started a fallback backup on node /);
    expect(started.upid).toMatch(/^UPID:/);
    const finished = await s.observer.until(
      "backup_finished",
      () => events(s, "backup_finished").find((e) => e.upid === started.upid),
      30_000,
    );
    expect(finished.result).toBe("ok");
    const ok = await s.observer.until("ok", () => (state(s)?.status === "ok" ? state(s) : undefined), 20_000);
    valid("guest-state", ok);
    expect(ok.findings.map((f: { code: string }) => f.code)).not.toContain("fallback_failed");
    await s.observer.until("fallback done", () => state(s)?.fallback?.state === "done");
    expect(state(s)!.fallback).toMatchObject({ state: "done", action: "auto", approved: false });
    expect(vzdumps(s)).toHaveLength(1);
    const audit = s.service.engine.store.readAudit().filter((a) => a.target === ID && a.action === "backup");
    expect(audit.map((a) => [a.origin, a.result])).toEqual([
      ["fallback", "accepted"],
      ["fallback", "finished"],
    ]);
    // The order a watcher sees: planned → started → finished.
    const order = events(s)
      .map((e) => e.event_type)
      .filter((t) => ["fallback_planned", "fallback_started", "backup_finished"].includes(t));
    expect(order).toEqual(["fallback_planned", "fallback_started", "backup_finished"]);
  });

  it("auto outside the window: planned for its opening, nothing runs", async () => {
    const s = await start({ window: windowFromNow(120, 60) });
    const planned = await s.observer.until("fallback_planned", () => events(s, "fallback_planned")[0], 20_000);
    valid("event", planned);
    expect(planned.reason).toMatch(/^A fallback backup is planned for .* \(window \d\d:\d\d-\d\d:\d\d\)\.$/);
    const st = await s.observer.until("planned", () =>
      state(s)?.fallback?.state === "planned" ? state(s) : undefined,
    );
    expect(Date.parse(st.fallback.at)).toBeGreaterThan(Date.now() + 100 * 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(vzdumps(s)).toEqual([]);
    expect(events(s, "fallback_planned")).toHaveLength(1);
  });

  it("ask: waits for approval; approve_fallback over MQTT starts it and the guest turns ok", async () => {
    const s = await start({ action: "ask" });
    await s.observer.until("pending", () => state(s)?.fallback?.state === "planned", 20_000);
    expect(state(s)!.fallback).toMatchObject({ action: "ask", approved: false });
    expect(state(s)!.fallback.reason).toMatch(/it starts once approved\.$/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(vzdumps(s)).toEqual([]);

    await s.observer.publish(CMD, '{"action":"approve_fallback","origin":"test","request_id":"ap-1"}');
    const started = await s.observer.until("fallback_started", () => events(s, "fallback_started")[0], 20_000);
    await s.observer.until(
      "backup_finished",
      () => events(s, "backup_finished").find((e) => e.upid === started.upid),
      30_000,
    );
    await s.observer.until("ok", () => state(s)?.status === "ok", 20_000);
    expect(vzdumps(s)).toHaveLength(1);
    const audit = s.service.engine.store.readAudit().filter((a) => a.target === ID);
    expect(audit.map((a) => [a.action, a.origin, a.result])).toEqual(
      expect.arrayContaining([
        ["approve_fallback", "test", "accepted"],
        ["backup", "fallback", "accepted"],
      ]),
    );
    // Nothing pending any more: a second approval is refused, with a sentence.
    await s.observer.publish(CMD, '{"action":"approve_fallback"}');
    const rej = await s.observer.until("rejected", () => events(s, "command_rejected")[0]);
    expect(rej.reason).toBe("No fallback backup of this guest waits for approval.");
  });

  it("a restart while the fallback runs: the new bridge follows it to its end and does not run it again", async () => {
    stack = await startStack({
      broker: "embedded",
      // Slow tasks: the vzdump still runs when the bridge is restarted.
      lab: { scenario: "demo", taskSpeed: 5 },
      guestTiers: { "102": "P0" },
      configure: (cfg) => {
        cfg.timeZone = "UTC";
        cfg.tiers.P0!.fallback = { action: "auto", window: "any", graceMs: 0, maxPerDay: 1 };
      },
    });
    const s = stack;
    const started = await s.observer.until("fallback_started", () => events(s, "fallback_started")[0], 20_000);
    await s.stopBridge();
    // Still running when the bridge went away (fallback.json says so).
    expect(events(s, "backup_finished").filter((e) => e.upid === started.upid)).toEqual([]);
    expect(s.service.engine.store.fallback[ID]?.runs).toEqual([
      expect.objectContaining({ result: "running", upid: started.upid }),
    ]);
    await s.startBridge();
    await s.observer
      .until("backup_finished", () => events(s, "backup_finished").find((e) => e.upid === started.upid), 60_000)
      .catch((e: Error) => {
        throw new Error(`${e.message}\nevents: ${JSON.stringify(events(s))}\nstate: ${JSON.stringify(state(s))}`);
      });
    await s.observer.until("ok", () => state(s)?.status === "ok", 20_000);
    expect(vzdumps(s)).toHaveLength(1);
    expect(events(s, "fallback_started")).toHaveLength(1);
  }, 120_000);
});
