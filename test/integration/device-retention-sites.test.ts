/**
 * Home Assistant deletes a device when its retained discovery config is cleared. Ids survive a
 * second Proxmox source (also when it comes with an upgrade, before devices.json exists), and two
 * bridges of different sites on one broker never touch each other's topics and devices.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { startService } from "../../bridge/src/commands/run.js";
import type { Config } from "../../bridge/src/config/load.js";
import { createLogger } from "../../bridge/src/log.js";
import { allPublished, CONFIG, GUESTS, identity, sleep, brokerAndStack } from "../support/device-retention.js";
import { brokerKinds, startStack } from "../support/stack.js";

for (const kind of brokerKinds()) {
  describe(`device retention (${kind})`, () => {
    const ctx = brokerAndStack(kind);

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
        ctx.stack = await startStack({
          broker: ctx.broker,
          lab: { scenario: "seed" },
          pollMs: 300,
          configure: (cfg) => {
            cfg.mqtt.removalGraceMs = 0;
          },
        });
        const s = ctx.stack;
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
      ctx.stack = await startStack({
        broker: ctx.broker,
        lab: { scenario: "seed" },
        pollMs: 300,
        configure: (cfg) => {
          cfg.mqtt.removalGraceMs = 300;
        },
      });
      const s = ctx.stack;
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
