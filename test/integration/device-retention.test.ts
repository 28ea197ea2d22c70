/**
 * Home Assistant deletes a device — entity ids, history links, dashboard references — when its
 * retained discovery config is cleared. These tests hold the bridge to "never clear a device it
 * cannot prove gone": restarts with Proxmox down, a refused token, missing privileges or garbage
 * answers; the power-cut order (broker first, bridge, PVE minutes later); a grace period that a
 * restart neither resets nor skips; forgetting a device on purpose; ids that survive a second
 * Proxmox source; and two bridges on one broker.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeAll, afterAll, describe, expect, it } from "vitest";
import { startService } from "../../bridge/src/commands/run.js";
import { createLogger } from "../../bridge/src/log.js";
import type { Config } from "../../bridge/src/config/load.js";
import type { LabFault } from "backup2mqtt-lab";
import { brokerKinds, startBroker, startStack, type Broker, type Stack } from "../support/stack.js";
import type { Observer } from "../support/observer.js";

const CONFIG = (id: string) => `homeassistant/device/backup2mqtt_${id}/config`;
const STATE = (id: string) => `backup2mqtt/guest/${id}/state`;
const GUESTS = ["home_100", "home_101", "home_102", "home_103", "home_105"];
const CLI = path.resolve("bridge/dist/cli.js");

/** Every retained device config and guest state of this bridge, as last seen. */
function retainedDevices(o: Observer, base = "backup2mqtt", site = "home"): Map<string, string> {
  return new Map(
    [...o.last].filter(
      ([t]) =>
        t.startsWith(`homeassistant/device/backup2mqtt_${site}_`) ||
        (t.startsWith(`${base}/guest/`) && t.endsWith("/state")),
    ),
  );
}

/** What Home Assistant keys a device and its entities by: identifiers, unique ids and the topics they read. */
function identity(config: string | undefined): unknown {
  if (!config) return config;
  const c = JSON.parse(config) as {
    device: { identifiers: string[] };
    components: Record<string, { unique_id: string; state_topic?: string; command_topic?: string }>;
  };
  return {
    ids: c.device.identifiers,
    cmps: Object.values(c.components).map((x) => [x.unique_id, x.state_topic, x.command_topic]),
  };
}

/** Messages on device topics since `t` that cleared or changed what was retained before. */
function changedSince(o: Observer, before: Map<string, string>, t: number): string[] {
  return o.messages
    .filter(
      (m) => m.at >= t && before.has(m.topic) && m.topic.includes("/device/") && m.payload !== before.get(m.topic),
    )
    .map((m) => `${m.topic} → ${m.payload.slice(0, 40) || "(cleared)"}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until this bridge itself (live messages, not retained ones from an earlier run) published every guest. */
async function allPublished(s: Stack): Promise<Map<string, string>> {
  const live = (topic: string) => s.observer.messages.some((m) => !m.retain && m.topic === topic && m.payload);
  await s.observer.until("every guest's config and state", () =>
    GUESTS.every((id) => live(CONFIG(id)) && live(STATE(id)) && s.observer.json(STATE(id))?.status !== "unknown"),
  );
  await s.observer.until("the bridge's config", () => live("homeassistant/device/backup2mqtt_home_bridge/config"));
  return retainedDevices(s.observer);
}

/** A config fixed by the user is read at the next start. */
async function restartWithGoodConfig(s: Stack, good: Config["proxmox"][number]): Promise<void> {
  await s.stopBridge();
  s.cfg.proxmox[0] = good;
  await s.startBridge();
}

/** Clears everything retained on the shared broker, so the next test starts from an empty one. */
async function clearBroker(s: Stack): Promise<void> {
  await s.service?.stop().catch(() => undefined);
  for (const [topic, payload] of s.observer.last) if (payload) await s.observer.publish(topic, "", true);
}

for (const kind of brokerKinds()) {
  describe(`device retention (${kind})`, () => {
    let broker: Broker;
    let stack: Stack | undefined;
    beforeAll(async () => {
      broker = await startBroker(kind);
    });
    afterAll(async () => {
      await broker.stop();
    });
    afterEach(async () => {
      if (stack) await clearBroker(stack);
      await stack?.stop();
      stack = undefined;
    });

    // `heal` may restart the bridge (a fixed config is read at start).
    const restartCases: Array<{
      name: string;
      sourceUp: boolean;
      spoil: (s: Stack) => void;
      heal: (s: Stack, good: Config["proxmox"][number]) => Promise<void> | void;
    }> = [
      {
        name: "PVE host down",
        sourceUp: false,
        spoil: (s) => (s.cfg.proxmox[0]!.url = "https://127.0.0.1:1"),
        heal: restartWithGoodConfig,
      },
      {
        name: "wrong token secret",
        sourceUp: false,
        spoil: (s) => (s.cfg.proxmox[0]!.tokenSecret = "00000000-0000-0000-0000-000000000000"),
        heal: restartWithGoodConfig,
      },
      {
        // PVE answers 200 with the guests left out: the source is readable, but cannot vouch that they are gone.
        name: "token without VM.Audit (PVE lists no guests, 200)",
        sourceUp: true,
        spoil: (s) =>
          s.lab.control.setTokenPrivileges(s.cfg.proxmox[0]!.tokenId, [
            { path: "/storage", roles: ["PVEDatastoreUser"] },
          ]),
        heal: (s) =>
          s.lab.control.setTokenPrivileges(s.cfg.proxmox[0]!.tokenId, [
            { path: "/", roles: ["PVEAuditor"] },
            { path: "/storage", roles: ["PVEAuditor"], privs: ["Datastore.AllocateSpace"] },
            { path: "/vms", roles: ["PVEAuditor"], privs: ["VM.Backup"] },
          ]),
      },
      {
        name: "garbage answers",
        sourceUp: false,
        spoil: (s) => s.lab.control.setFault({ kind: "garbage" } as LabFault),
        heal: (s) => s.lab.control.setFault(null),
      },
    ];

    for (const c of restartCases) {
      it(`a restart with ${c.name} keeps every retained device config and state byte-identical`, async () => {
        // A short grace shows that nothing but a confirmed absence starts the clock.
        stack = await startStack({
          broker,
          lab: { scenario: "seed" },
          pollMs: 300,
          configure: (cfg) => {
            cfg.mqtt.removalGraceMs = 500;
          },
        });
        const s = stack;
        const before = await allPublished(s);
        expect(before.size).toBe(11); // 5 guest configs, 5 guest states, the bridge's config
        const good = structuredClone(s.cfg.proxmox[0]!);
        await s.stopBridge();
        c.spoil(s);
        const t = Date.now();
        await s.startBridge();
        // Past the moment the old start-up cleanup struck (3 s), and several polls.
        await sleep(4500);
        expect(changedSince(s.observer, before, t)).toEqual([]);
        expect(retainedDevices(s.observer)).toEqual(before);
        // Unavailable in every case, also when PVE answers but hides the guests.
        expect(s.observer.last.get("backup2mqtt/source/pve/availability")).toBe("offline");
        if (c.sourceUp)
          expect(s.logs.join("")).toMatch(
            /the token of Proxmox 'pve' may no longer see 5 guests it saw before \(home_100, home_101, home_102, home_103, home_105\); grant VM.Audit on \/vms/,
          );
        expect(s.service.engine.devices.pending()).toEqual([]);
        expect(s.logs.join("")).not.toMatch(/removing the Home Assistant device/);
        const healed = Date.now();
        await c.heal(s, good);
        await s.observer.until(
          "states after healing",
          () =>
            GUESTS.every((id) =>
              s.observer.messages.some(
                (m) =>
                  m.at >= healed && m.topic === STATE(id) && m.payload && JSON.parse(m.payload).status !== "unknown",
              ),
            ),
          15_000,
        );
        await sleep(1000);
        expect(changedSince(s.observer, before, t)).toEqual([]);
        for (const id of GUESTS) expect(s.observer.last.get(CONFIG(id))).toBe(before.get(CONFIG(id)));
      });
    }

    it("power-cut order: broker with retained configs, bridge starts, PVE answers only later — nothing is removed, everything comes back", async () => {
      stack = await startStack({
        broker,
        lab: { scenario: "seed" },
        pollMs: 300,
        configure: (cfg) => {
          cfg.mqtt.removalGraceMs = 500;
        },
      });
      const s = stack;
      const before = await allPublished(s);
      await s.stopBridge();
      s.lab.control.setFault({ kind: "down" });
      const t = Date.now();
      await s.startBridge();
      // The real order has PVE up about two minutes after the bridge; what matters is that the
      // bridge polled a down PVE for longer than the grace period and the old cleanup delay.
      await sleep(5000);
      expect(changedSince(s.observer, before, t)).toEqual([]);
      s.lab.control.setFault(null);
      await s.observer.until(
        "states back",
        () =>
          GUESTS.every((id) =>
            s.observer.messages.some(
              (m) =>
                m.at > t &&
                m.topic === STATE(id) &&
                JSON.parse(m.payload || "{}").status &&
                JSON.parse(m.payload).status !== "unknown",
            ),
          ),
        15_000,
      );
      expect(changedSince(s.observer, before, t)).toEqual([]);
      expect(retainedDevices(s.observer).size).toBe(11);
    });

    it("a guest deleted in PVE keeps its device for the grace period, then it is removed; a restart does not reset the clock", async () => {
      const grace = 4000;
      stack = await startStack({
        broker,
        lab: { scenario: "seed" },
        pollMs: 300,
        configure: (cfg) => {
          cfg.mqtt.removalGraceMs = grace;
        },
      });
      const s = stack;
      await allPublished(s);
      s.lab.control.removeGuest(103);
      const pending = await s.observer.until("pending removal in bridge info", () =>
        s.observer
          .json("backup2mqtt/bridge/info")
          ?.pending_removal?.find((p: { device: string }) => p.device === "home_103"),
      );
      expect(pending.name).toBe("download-home");
      const goneSince = Date.parse(pending.gone_since);
      expect(s.observer.last.get(CONFIG("home_103"))).toBeTruthy();
      expect(s.logs.join("")).toMatch(
        /download-home \(home_103\) is gone from 'pve'; its Home Assistant device will be removed/,
      );
      await s.stopBridge();
      await sleep(Math.max(0, goneSince + 2500 - Date.now()));
      await s.startBridge();
      expect(
        JSON.parse(fs.readFileSync(path.join(s.cfg.stateDir, "devices.json"), "utf8")).devices.backup2mqtt_home_103
          .goneSinceMs,
      ).toBe(goneSince);
      await s.observer.until("config cleared", () => s.observer.last.get(CONFIG("home_103")) === "", 10_000);
      const clearedAt = s.observer.messages.find((m) => m.topic === CONFIG("home_103") && m.payload === "")!.at;
      // Had the restart reset the clock, removal would come at restart + grace (≥ goneSince + 6.5 s).
      expect(clearedAt - goneSince).toBeGreaterThanOrEqual(grace - 50);
      expect(clearedAt - goneSince).toBeLessThan(grace + 2000);
      await s.observer.until("state cleared", () => s.observer.last.get(STATE("home_103")) === "");
      for (const id of GUESTS.filter((g) => g !== "home_103")) expect(s.observer.last.get(CONFIG(id))).toBeTruthy();
      expect(s.logs.join("")).toMatch(
        /removing the Home Assistant device of download-home \(home_103\): gone from 'pve' since/,
      );
    });

    it("forget: the bridge command removes a gone guest's device at once and refuses a guest that still exists", async () => {
      stack = await startStack({ broker, lab: { scenario: "seed" }, pollMs: 300 });
      const s = stack;
      await allPublished(s);
      s.lab.control.removeGuest(103);
      await s.observer.until(
        "pending",
        () => s.observer.json("backup2mqtt/bridge/info")?.pending_removal?.length === 1,
      );
      await sleep(1000);
      expect(s.observer.last.get(CONFIG("home_103"))).toBeTruthy(); // default grace: 24 h
      let t = Date.now();
      await s.observer.publish("backup2mqtt/bridge/command", JSON.stringify({ action: "forget", guest: "home_100" }));
      const refused = await s.observer.until("refusal", () =>
        s.observer.messages.find(
          (m) => m.at >= t && m.topic === "backup2mqtt/bridge/event" && m.payload.includes("command_rejected"),
        ),
      );
      expect(JSON.parse(refused.payload).reason).toMatch(/homeassistant \(home_100\) still exists in Proxmox 'pve'/);
      expect(s.observer.last.get(CONFIG("home_100"))).toBeTruthy();
      t = Date.now();
      await s.observer.publish("backup2mqtt/bridge/command", JSON.stringify({ action: "forget", guest: "home_103" }));
      await s.observer.until("forgotten event", () =>
        s.observer.messages.find(
          (m) => m.at >= t && m.topic === "backup2mqtt/bridge/event" && m.payload.includes("device_forgotten"),
        ),
      );
      expect(s.observer.last.get(CONFIG("home_103"))).toBe("");
      expect(s.observer.last.get(STATE("home_103"))).toBe("");
      await s.observer.until(
        "nothing pending",
        () => s.observer.json("backup2mqtt/bridge/info")?.pending_removal?.length === 0,
      );
    });

    it("backup2mqtt forget <id> with the bridge stopped clears the device and the bridge's memory of it", async () => {
      stack = await startStack({ broker, lab: { scenario: "seed" }, pollMs: 300 });
      const s = stack;
      await allPublished(s);
      s.lab.control.removeGuest(103);
      await s.observer.until(
        "pending",
        () => s.observer.json("backup2mqtt/bridge/info")?.pending_removal?.length === 1,
      );
      await s.stopBridge();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-forget-"));
      const file = path.join(dir, "config.yaml");
      fs.writeFileSync(
        file,
        `site: home\nmqtt: { url: "${broker.url}" }\nproxmox:\n  - name: pve\n    url: ${s.lab.url}\n    token_id: "${s.cfg.proxmox[0]!.tokenId}"\n    token_secret: "${s.cfg.proxmox[0]!.tokenSecret}"\n    fingerprint: "${s.lab.fingerprint}"\nstate_dir: ${s.cfg.stateDir}\n`,
      );
      const run = (args: string[]) =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const p = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
          let out = "";
          let err = "";
          p.stdout.on("data", (d) => (out += d));
          p.stderr.on("data", (d) => (err += d));
          p.on("close", (code) => resolve({ code, out, err }));
        });
      const live = await run(["forget", "home_100", "--config", file]);
      expect(live.code).toBe(1);
      expect(live.err).toBe(
        "backup2mqtt forget: homeassistant (home_100) still existed in Proxmox 'pve' when the bridge last ran, so its device would come back at the next start; start the bridge to let it notice the guest is gone, or add --force if you are sure\n",
      );
      expect(s.observer.last.get(CONFIG("home_100"))).toBeTruthy();
      const nothing = await run(["forget", "home_999", "--config", file]);
      expect(nothing.code).toBe(1);
      expect(nothing.err).toMatch(/there is no device 'home_999' of this bridge/);
      const r = await run(["forget", "home_103", "--config", file]);
      expect(r.err).toBe("");
      expect(r.out).toBe("Forgot download-home (home_103): its Home Assistant device is removed.\n");
      expect(r.code).toBe(0);
      await s.observer.until(
        "cleared",
        () => s.observer.last.get(CONFIG("home_103")) === "" && s.observer.last.get(STATE("home_103")) === "",
      );
      expect(
        JSON.parse(fs.readFileSync(path.join(s.cfg.stateDir, "devices.json"), "utf8")).devices.backup2mqtt_home_103,
      ).toBeUndefined();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    // The same lab under a second name: the same VMIDs appear in two sources. Nothing is cleared and
    // each device keeps its identifiers, unique ids and topics. (The same lab twice means every name
    // twice, so the suggested entity ids gain the VMID — Home Assistant keeps the ids it assigned.)
    const secondSourceCases = [
      {
        name: "adding a second Proxmox source keeps every existing guest id (no device is renamed or removed)",
        withoutDevicesFile: false,
      },
      {
        name: "an upgrade that adds the second source in the same step adopts the ids found on the broker (no devices.json yet)",
        withoutDevicesFile: true,
      },
    ];
    for (const c of secondSourceCases) {
      it(c.name, async () => {
        stack = await startStack({
          broker,
          lab: { scenario: "seed" },
          pollMs: 300,
          configure: (cfg) => {
            cfg.mqtt.removalGraceMs = 0;
          },
        });
        const s = stack;
        const before = await allPublished(s);
        await s.stopBridge();
        if (c.withoutDevicesFile) fs.rmSync(path.join(s.cfg.stateDir, "devices.json"));
        s.cfg.proxmox.push({ ...structuredClone(s.cfg.proxmox[0]!), name: "pve2" });
        const t = Date.now();
        await s.startBridge();
        await s.observer.until("second source's guests", () =>
          [100, 101, 102, 103, 105].every((v) => s.observer.last.get(CONFIG(`home_pve2_${v}`))),
        );
        await sleep(1500);
        expect(s.observer.messages.filter((m) => m.at >= t && m.payload === "").map((m) => m.topic)).toEqual([]);
        for (const id of GUESTS)
          expect(identity(s.observer.last.get(CONFIG(id)))).toEqual(identity(before.get(CONFIG(id))));
        expect(s.observer.last.get(CONFIG("home_pve_100"))).toBeUndefined();
        expect(s.observer.json("backup2mqtt/bridge/info").counts.guests).toBe(10);
      });
    }

    it("two bridges of different sites on one broker: the same base topic is refused before anything is published; separate base topics never touch each other", async () => {
      stack = await startStack({
        broker,
        lab: { scenario: "seed" },
        pollMs: 300,
        configure: (cfg) => {
          cfg.mqtt.removalGraceMs = 300;
        },
      });
      const s = stack;
      const before = await allPublished(s);
      const beforeInfo = s.observer.last.get("backup2mqtt/bridge/info");
      const other = (site: string, base: string): Config => ({
        ...structuredClone(s.cfg),
        site,
        mqtt: { ...s.cfg.mqtt, baseTopic: base, removalGraceMs: 86_400_000 },
        stateDir: fs.mkdtempSync(path.join(os.tmpdir(), "b2m-site2-")),
      });
      const log = createLogger("silent");
      const t = Date.now();
      await expect(
        startService(other("home_2", "backup2mqtt"), { log, fastPollMs: 200, birthDelayMs: 100, http: false }),
      ).rejects.toThrow(
        /the MQTT topics under 'backup2mqtt' belong to the bridge of site 'home'.*mqtt\.base_topic: backup2mqtt_home_2/,
      );
      await sleep(500);
      expect(
        s.observer.messages
          .filter(
            (m) =>
              m.at >= t &&
              m.topic.startsWith("backup2mqtt/") &&
              !m.topic.startsWith("backup2mqtt/bridge/info") &&
              !m.topic.endsWith("/state"),
          )
          .map((m) => m.topic),
      ).toEqual([]);
      expect(s.observer.last.get("backup2mqtt/bridge/state")).toBe("online");
      expect(s.observer.count((m) => m.at >= t && m.topic === "backup2mqtt/bridge/state")).toBe(0);

      // Site home_2 under its own base topic: its device ids share the prefix backup2mqtt_home_.
      const second = await startService(other("home_2", "backup2mqtt_home_2"), {
        log,
        fastPollMs: 200,
        birthDelayMs: 100,
        http: false,
      });
      try {
        await s.observer.until(
          "second site's devices",
          () =>
            s.observer.last.get(CONFIG("home_2_100")) &&
            s.observer.last.get("backup2mqtt_home_2/guest/home_2_100/state"),
        );
        const secondBefore = new Map(
          [...s.observer.last].filter(
            ([k]) => k.startsWith("homeassistant/device/backup2mqtt_home_2_") || k.startsWith("backup2mqtt_home_2/"),
          ),
        );
        // Restart site home with a guest gone: it sweeps its own devices only.
        await s.stopBridge();
        s.lab.control.removeGuest(103);
        const t2 = Date.now();
        await s.startBridge();
        await s.observer.until(
          "home_103 removed by its own bridge",
          () => s.observer.last.get(CONFIG("home_103")) === "",
          10_000,
        );
        await sleep(1000);
        const touched = s.observer.messages.filter(
          (m) =>
            m.at >= t2 &&
            secondBefore.has(m.topic) &&
            m.payload !== secondBefore.get(m.topic) &&
            !(m.topic.startsWith("backup2mqtt_home_2/") && m.payload !== ""),
        );
        expect(touched.filter((m) => m.topic.includes("/device/") || m.payload === "").map((m) => m.topic)).toEqual([]);
        expect(s.observer.last.get(CONFIG("home_2_103"))).toBe(secondBefore.get(CONFIG("home_2_103")));
        expect(beforeInfo).toBeTruthy();
        for (const id of GUESTS.filter((g) => g !== "home_103"))
          expect(s.observer.last.get(CONFIG(id))).toBe(before.get(CONFIG(id)));
      } finally {
        await second.stop();
      }
    });
  });
}
