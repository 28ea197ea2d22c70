/**
 * Home Assistant deletes a device — entity ids, history links, dashboard references — when its
 * retained discovery config is cleared. These tests hold the bridge to "never clear a device it
 * cannot prove gone": restarts with Proxmox down, a refused token, missing privileges or garbage
 * answers, and the power-cut order (broker first, bridge, PVE minutes later). The grace period
 * and forgetting a device on purpose are in device-retention-removal.test.ts; a second Proxmox
 * source and two bridges on one broker in device-retention-sites.test.ts.
 */
import type { LabFault } from "backup2mqtt-lab";
import { describe, expect, it } from "vitest";
import type { Config } from "../../bridge/src/config/load.js";
import {
  allPublished,
  CONFIG,
  changedSince,
  GUESTS,
  restartWithGoodConfig,
  retainedDevices,
  STATE,
  sleep,
  brokerAndStack,
} from "../support/device-retention.js";
import { brokerKinds, type Stack, startStack } from "../support/stack.js";

for (const kind of brokerKinds()) {
  describe(`device retention (${kind})`, () => {
    const ctx = brokerAndStack(kind);

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
        ctx.stack = await startStack({
          broker: ctx.broker,
          lab: { scenario: "seed" },
          pollMs: 300,
          configure: (cfg) => {
            cfg.mqtt.removalGraceMs = 500;
          },
        });
        const s = ctx.stack;
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
      ctx.stack = await startStack({
        broker: ctx.broker,
        lab: { scenario: "seed" },
        pollMs: 300,
        configure: (cfg) => {
          cfg.mqtt.removalGraceMs = 500;
        },
      });
      const s = ctx.stack;
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
  });
}
