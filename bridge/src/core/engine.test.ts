/**
 * The engine with fake timers and a manual clock: no network, no real-time waits. The sources'
 * evidence is replaced by a fixture (the sources themselves have their own tests), so what is
 * tested is the engine's own work: evaluate → view → bus, and the change timer.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { archiveSet } from "../archive-set.js";
import type { Config } from "../config/load.js";
import { resolveTiers } from "../config/tiers.js";
import type { Evidence } from "../evidence.js";
import { createLogger } from "../log.js";
// biome-ignore lint/style/noRestrictedImports: the test's clock comes from the lab; the engine itself never loads it
import { ManualClock } from "backup2mqtt-lab";
import { Engine } from "./engine.js";
import type { View } from "./view.js";

const H = 3_600_000;
const D = 24 * H;
const START = Date.UTC(2026, 5, 1, 10);
const silent = createLogger("error", () => []);

function config(stateDir: string): Config {
  return {
    site: "home",
    mqtt: {
      url: "mqtt://127.0.0.1:1",
      baseTopic: "backup2mqtt",
      discoveryPrefix: "homeassistant",
      removalGraceMs: 86_400_000,
    },
    proxmox: [
      {
        name: "pve",
        url: "https://127.0.0.1:1",
        tokenId: "u@pve!t",
        tokenSecret: "s",
        timeoutMs: 1000,
        pollIntervalMs: 60_000,
        contentIntervalMs: 600_000,
        backup: { mode: "snapshot", compress: "zstd", notesTemplate: "{{guestname}}", method: "api" },
        verify: { automatic: false },
      },
    ],
    tiers: resolveTiers(undefined),
    guestTiers: {},
    http: { host: "127.0.0.1", port: 0 },
    stateDir,
    logLevel: "error",
    secrets: [],
  } as Config;
}

/** One P1 guest (daily) backed up 20 h ago: ok now, stale at exactly backup + 26 h. */
function evidence(backupMs: number): Evidence {
  return {
    sources: [{ name: "pve", kind: "proxmox", up: true, degraded: false }],
    guests: [{ source: "pve", vmid: 100, name: "web", type: "qemu", node: "n1", tags: ["backup-p1"], template: false }],
    archives: archiveSet([
      {
        source: "pve",
        volid: "local:backup/vzdump-qemu-100.vma.zst",
        storage: "local",
        vmid: 100,
        ctimeMs: backupMs,
        size: 1,
        format: "vma.zst",
        protected: false,
      },
    ]),
    attempts: [],
    jobs: [],
    jobsReadable: { pve: true },
    visibility: [],
  };
}

describe("Engine (fake timers, manual clock)", () => {
  let dir: string;
  let engine: Engine;
  beforeEach(() => {
    vi.useFakeTimers();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-engine-"));
  });
  afterEach(async () => {
    await engine?.stop();
    vi.useRealTimers();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function start(clock: ManualClock, backupMs: number): { views: View[]; statuses: string[] } {
    engine = new Engine(config(dir), silent, { clock });
    engine.evidence = () => evidence(backupMs);
    const views: View[] = [];
    const statuses: string[] = [];
    engine.bus.on("evaluated", (v) => {
      views.push(v);
      statuses.push(v.guest("home_100")!.status);
    });
    return { views, statuses };
  }

  it("evaluate announces the view on the bus, with the guest's state and the evaluation instant", () => {
    const clock = new ManualClock(START);
    const { views, statuses } = start(clock, START - 20 * H);
    engine.evaluate();
    expect(views).toHaveLength(1);
    expect(views[0]!.evaluatedAtMs).toBe(START);
    expect(statuses).toEqual(["ok"]);
    expect(views[0]!.guest("home_100")!.changes_at).toBe(new Date(START + 6 * H).toISOString());
  });

  it("the change timer re-evaluates at the exact instant a guest turns stale, without a poll", async () => {
    const clock = new ManualClock(START);
    const { statuses } = start(clock, START - 20 * H);
    engine.evaluate();
    // Keep the manual clock in step with the fake timers.
    const step = async (ms: number) => {
      clock.advance(ms);
      await vi.advanceTimersByTimeAsync(ms);
    };
    await step(6 * H - 1000);
    expect(statuses).toEqual(["ok"]);
    await step(1000 + 5);
    expect(statuses).toEqual(["ok", "stale"]);
    expect(engine.result!.nextChangeMs).toBeNull();
  });

  it("a stopped engine evaluates nothing and leaves no timer", async () => {
    const clock = new ManualClock(START);
    const { views } = start(clock, START - 20 * H);
    engine.evaluate();
    await engine.stop();
    engine.evaluate();
    expect(views).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("tier overrides set by an extension apply at the next evaluation", () => {
    const clock = new ManualClock(START);
    const { statuses } = start(clock, START - 3 * D);
    engine.evaluate();
    engine.setOverrides({ home_100: "P2" });
    engine.evaluate();
    expect(statuses).toEqual(["stale", "ok"]);
    expect(engine.guest("home_100")!.tier_source).toBe("override");
  });

  it("the view's sources say whether their devices are available", () => {
    engine = new Engine(config(dir), silent, { clock: new ManualClock(START) });
    expect(engine.proxmox.map((s) => [s.health.name, s.available])).toEqual([["pve", false]]);
    expect(engine.offsiteSources).toEqual([]);
    expect(engine.mqttConnected).toBe(false);
    engine.setMqttConnected(() => true);
    expect(engine.mqttConnected).toBe(true);
  });
});
