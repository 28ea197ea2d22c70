/**
 * Home Assistant deletes a device when its retained discovery config is cleared. A guest that is
 * really gone loses its device only after the grace period, which a restart neither resets nor
 * skips; a gone guest's device can be forgotten on purpose, by the bridge command or by
 * `backup2mqtt forget` with the bridge stopped, and a guest that still exists cannot.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { allPublished, CLI, CONFIG, GUESTS, STATE, sleep, brokerAndStack } from "../support/device-retention.js";
import { brokerKinds, startStack } from "../support/stack.js";

for (const kind of brokerKinds()) {
  describe(`device retention (${kind})`, () => {
    const ctx = brokerAndStack(kind);

    it("a guest deleted in PVE keeps its device for the grace period, then it is removed; a restart does not reset the clock", async () => {
      const grace = 4000;
      ctx.stack = await startStack({
        broker: ctx.broker,
        lab: { scenario: "seed" },
        pollMs: 300,
        configure: (cfg) => {
          cfg.mqtt.removalGraceMs = grace;
        },
      });
      const s = ctx.stack;
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
      ctx.stack = await startStack({ broker: ctx.broker, lab: { scenario: "seed" }, pollMs: 300 });
      const s = ctx.stack;
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
      ctx.stack = await startStack({ broker: ctx.broker, lab: { scenario: "seed" }, pollMs: 300 });
      const s = ctx.stack;
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
        `site: home\nmqtt: { url: "${ctx.broker.url}" }\nproxmox:\n  - name: pve\n    url: ${s.lab.url}\n    token_id: "${s.cfg.proxmox[0]!.tokenId}"\n    token_secret: "${s.cfg.proxmox[0]!.tokenSecret}"\n    fingerprint: "${s.lab.fingerprint}"\nstate_dir: ${s.cfg.stateDir}\n`,
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
  });
}
