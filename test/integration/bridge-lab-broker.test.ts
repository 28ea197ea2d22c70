/**
 * Bridge ↔ simulated lab ↔ real broker (embedded aedes, and Mosquitto where installed; CI installs it).
 * Exact topic and payload assertions, every published payload validated against bridge/schemas/.
 */
import { afterEach, describe, expect, it } from "vitest";
import { brokerKinds, startStack, type Stack } from "../support/stack.js";
import { schemaValidator, describeErrors } from "../../bridge/src/util/schemas.js";
import { loadScenario, type Scenario } from "backup2mqtt-lab";

const STATE = (id: string) => `backup2mqtt/guest/${id}/state`;
const CONFIG = (id: string) => `homeassistant/device/backup2mqtt_${id}/config`;
const IDS = ["home_100", "home_101", "home_102", "home_103", "home_105"];

function expectValid(schema: string, payload: unknown) {
  const v = schemaValidator(schema);
  if (!v(payload)) throw new Error(`${schema}: ${describeErrors(v)}\n${JSON.stringify(payload)}`);
}

const states = (s: Stack) => Object.fromEntries(IDS.map((id) => [id, s.observer.json(STATE(id))]));
const haveAllStates = (s: Stack) => IDS.every((id) => s.observer.json(STATE(id)));

for (const broker of brokerKinds()) {
  describe(`bridge with the ${broker} broker`, () => {
    let stack: Stack | undefined;
    afterEach(async () => {
      await stack?.stop();
      stack = undefined;
    });

    it("publishes retained discovery for 5 guests + the bridge and states with every status", async () => {
      stack = await startStack({ broker, lab: { scenario: "demo", taskSpeed: 20 } });
      const s = stack;
      await s.observer.until("all guest states", () => haveAllStates(s));
      for (const id of IDS) {
        const cfg = s.observer.json(CONFIG(id));
        expect(cfg.device.identifiers).toEqual([`backup2mqtt_${id}`]);
        expect(cfg.origin.name).toBe("backup2mqtt");
      }
      expect(s.observer.json("homeassistant/device/backup2mqtt_home_bridge/config").device.name).toBe(
        "backup2mqtt home",
      );
      expect(s.observer.last.get("backup2mqtt/bridge/state")).toBe("online");
      expect(s.observer.last.get("backup2mqtt/source/pve/availability")).toBe("online");
      const st = states(s);
      expect(st.home_100.status).toBe("ok");
      expect(st.home_101.status).toBe("stale");
      expect(st.home_102.status).toBe("failed");
      expect(st.home_103.status).toBe("missing");
      expect(["running", "ok"]).toContain(st.home_105.status);
      expect(st.home_102.reasons.join()).toMatch(/got timeout/);
      for (const id of IDS) expectValid("guest-state", st[id]);
      expectValid("bridge-info", s.observer.json("backup2mqtt/bridge/info"));
      // The running backup of 105 ends: ok, with a new archive.
      const finished = await s.observer.until(
        "105 ok",
        () => s.observer.json(STATE("home_105"))?.status === "ok" && s.observer.json(STATE("home_105")),
        20_000,
      );
      expect(finished.running).toBe(false);
      // Retained: a newcomer sees everything at once.
      const { Observer } = await import("../support/observer.js");
      const late = await Observer.connect(s.broker.url, ["homeassistant/device/+/config", "backup2mqtt/guest/+/state"]);
      await late.until(
        "retained configs",
        () => late.messages.filter((m) => m.retain && m.topic.endsWith("/config")).length >= 6,
      );
      expect(late.messages.every((m) => m.retain)).toBe(true);
      await late.close();
    });

    it("publishes only what changed, and the bridge info stays valid", async () => {
      // The demo lab has guests of every age: a reason that quoted an age would change every poll.
      stack = await startStack({ broker, lab: { scenario: "demo", taskSpeed: 20 }, pollMs: 300 });
      const s = stack;
      await s.observer.until("states", () => haveAllStates(s));
      await s.observer.until("105 done", () => s.observer.json(STATE("home_105"))?.status === "ok", 20_000);
      await new Promise((r) => setTimeout(r, 1000));
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 1500)); // several polls, nothing changes in the seed lab
      const guestTopics = (m: { topic: string }) =>
        m.topic.includes("/guest/") || m.topic.startsWith("homeassistant/device/");
      expect(s.observer.count(guestTopics, t0)).toBe(0);
    });

    it("seed scenario: every guest missing and unprotected, naming the disabled jobs, tiers from tags", async () => {
      stack = await startStack({ broker, lab: { scenario: "seed" } });
      const s = stack;
      await s.observer.until("states", () => haveAllStates(s));
      const st = states(s);
      const tiers = Object.fromEntries(IDS.map((id) => [id, st[id].tier]));
      expect(tiers).toEqual({ home_100: "P0", home_101: "P2", home_102: "P1", home_103: "P2", home_105: "P2" });
      // The seed's jobs by tier, all disabled: each guest's reasons say it has no backup and name its job.
      const jobs: Record<string, string> = {
        home_100: "backup-p0-daily",
        home_101: "backup-p2-weekly",
        home_102: "backup-p1-daily",
        home_103: "backup-p2-weekly",
        home_105: "backup-p2-weekly",
      };
      for (const id of IDS) {
        expect(st[id].status).toBe("missing");
        expect(st[id].problem).toBe(true);
        const disabled = `Backup job ${jobs[id]} selects this guest but is disabled.`;
        expect(st[id].status_reason).toBe("No backup of this guest exists on any storage.");
        expect(st[id].reasons, id).toEqual(["No backup of this guest exists on any storage.", disabled]);
        expect(
          st[id].findings.map((f: { code: string; reason: string }) => [f.code, f.reason]),
          id,
        ).toEqual([["unprotected", disabled]]);
      }
    });

    it("turns a guest stale at the deadline by timer, not at the next poll", async () => {
      const sc = loadScenario("seed") as unknown as Scenario & Record<string, any>;
      const scenario = structuredClone(sc) as any;
      scenario.archives = [{ vmid: 100, storage: "local", ageSeconds: 26 * 3600 - 3 }];
      stack = await startStack({ broker, lab: { scenario }, pollMs: 3_600_000 });
      const s = stack;
      await s.observer.until("100 state", () => s.observer.json(STATE("home_100")));
      expect(s.observer.json(STATE("home_100")).status).toBe("ok");
      const changesAt = Date.parse(s.observer.json(STATE("home_100")).changes_at);
      const stale = await s.observer.until(
        "100 stale",
        () => s.observer.json(STATE("home_100"))?.status === "stale" && Date.now(),
        8000,
      );
      expect(stale - changesAt).toBeGreaterThanOrEqual(0);
      expect(stale - changesAt).toBeLessThan(1500);
      expect(s.lab.requests.filter((r) => r.path.endsWith("/cluster/resources")).length).toBe(1); // no poll did it
    });

    it("permission trap: a read-only token sees 200 [] and guests are unknown, naming the privilege", async () => {
      stack = await startStack({ broker, lab: { scenario: "demo", taskSpeed: 20 }, tokenIndex: 1 });
      const s = stack;
      await s.observer.until("states", () => haveAllStates(s));
      for (const id of IDS) {
        const g = s.observer.json(STATE(id));
        expect(g.status).toBe("unknown");
        expect(g.status_reason).toMatch(/VM\.Backup on \/vms\/\d+/);
        expect(g.status_reason).toMatch(/Datastore\.AllocateSpace/);
      }
      // The lab really answered 200 with an empty list (the trap), not 403.
      expect(s.lab.requests.some((r) => r.path.includes("/content") && r.status === 200)).toBe(true);
    });

    it("Proxmox down → unknown and unavailable; back → recovered within one poll", async () => {
      stack = await startStack({ broker, lab: { scenario: "demo", taskSpeed: 20 }, pollMs: 400 });
      const s = stack;
      await s.observer.until("states", () => haveAllStates(s));
      s.lab.control.setFault({ kind: "down" });
      await s.observer.until(
        "source offline",
        () => s.observer.last.get("backup2mqtt/source/pve/availability") === "offline",
      );
      await s.observer.until("unknown", () => s.observer.json(STATE("home_100"))?.status === "unknown");
      expect(s.observer.json("backup2mqtt/bridge/info").sources.pve.up).toBe(false);
      expect(s.observer.last.get(CONFIG("home_100"))).not.toBe(""); // an outage removes nothing
      const t = Date.now();
      s.lab.control.setFault(null);
      await s.observer.until(
        "online again",
        () => s.observer.last.get("backup2mqtt/source/pve/availability") === "online",
      );
      await s.observer.until("ok again", () => s.observer.json(STATE("home_100"))?.status === "ok");
      expect(Date.now() - t).toBeLessThan(400 * 2 + 2000);
    });

    it("malformed PVE JSON → source degraded with one clear log line, the rest keeps running", async () => {
      stack = await startStack({ broker, lab: { scenario: "demo", taskSpeed: 20 }, pollMs: 300 });
      const s = stack;
      await s.observer.until("states", () => haveAllStates(s));
      s.lab.control.setFault({ kind: "garbage", pathPrefix: "/api2/json/cluster/resources" });
      await s.observer.until("degraded", () => s.observer.json("backup2mqtt/bridge/info")?.sources.pve.degraded);
      expect(s.observer.last.get("backup2mqtt/source/pve/availability")).toBe("offline");
      expect(s.observer.json(STATE("home_100")).status).toBe("unknown");
      expect(s.observer.last.get("backup2mqtt/bridge/state")).toBe("online");
      await new Promise((r) => setTimeout(r, 1000));
      const degradedLines = s.logs.filter((l) => l.includes("Proxmox source degraded"));
      expect(degradedLines).toHaveLength(1);
      expect(degradedLines[0]).toMatch(/not JSON/);
      s.lab.control.setFault({ kind: "wrongTypes", pathPrefix: "/api2/json/cluster/resources" });
      await s.observer.until("schema error", () =>
        /unexpected answer/.test(s.observer.json("backup2mqtt/bridge/info")?.sources.pve.error ?? ""),
      );
      s.lab.control.setFault(null);
      await s.observer.until(
        "recovered",
        () =>
          s.observer.json("backup2mqtt/bridge/info")?.sources.pve.up &&
          !s.observer.json("backup2mqtt/bridge/info")?.sources.pve.degraded,
      );
    });

    it("LWT: offline when the bridge dies, explicit offline when it stops", async () => {
      stack = await startStack({ broker, lab: { scenario: "seed" } });
      const s = stack;
      await s.observer.until("online", () => s.observer.last.get("backup2mqtt/bridge/state") === "online");
      // Kill the connection without a DISCONNECT: the broker publishes the will.
      (s.service.mqtt.publisher as any).client.stream.destroy();
      await s.observer.until("will", () => s.observer.last.get("backup2mqtt/bridge/state") === "offline");
      await s.observer.until("reconnected", () => s.observer.last.get("backup2mqtt/bridge/state") === "online");
      await s.stopBridge();
      expect(s.observer.last.get("backup2mqtt/bridge/state")).toBe("offline");
      stack = undefined;
      await s.observer.close();
      await s.broker.stop();
      await s.lab.stop();
    });

    it("republishes discovery and states when Home Assistant announces itself (birth)", async () => {
      stack = await startStack({ broker, lab: { scenario: "seed" } });
      const s = stack;
      await s.observer.until("states", () => haveAllStates(s));
      const t = Date.now();
      await s.observer.publish("homeassistant/status", "online");
      await s.observer.until(
        "configs again",
        () => s.observer.count((m) => m.topic.startsWith("homeassistant/device/backup2mqtt_"), t) >= 6,
      );
      await s.observer.until(
        "states again",
        () => s.observer.count((m) => m.topic.startsWith("backup2mqtt/guest/"), t) >= 5,
      );
      expect(
        s.observer.count((m) => m.topic === "backup2mqtt/bridge/state" && m.payload === "online", t),
      ).toBeGreaterThanOrEqual(1);
    });

    it("a guest removed from the lab leaves (after mqtt.removal_grace, here 0): retained config and state cleared", async () => {
      stack = await startStack({
        broker,
        lab: { scenario: "seed" },
        pollMs: 300,
        configure: (cfg) => {
          cfg.mqtt.removalGraceMs = 0;
        },
      });
      const s = stack;
      await s.observer.until("states", () => haveAllStates(s));
      s.lab.control.removeGuest(103);
      await s.observer.until("config cleared", () => s.observer.last.get(CONFIG("home_103")) === "");
      await s.observer.until("state cleared", () => s.observer.last.get(STATE("home_103")) === "");
      // Cleared once, and not published again afterwards (a device that flickers back would be re-created in HA).
      const clearedAt = s.observer.messages.findIndex((m) => m.topic === CONFIG("home_103") && m.payload === "");
      await new Promise((r) => setTimeout(r, 1000));
      expect(
        s.observer.messages
          .slice(clearedAt + 1)
          .filter((m) => (m.topic === CONFIG("home_103") || m.topic === STATE("home_103")) && m.payload !== ""),
      ).toEqual([]);
      expect(s.observer.json("backup2mqtt/bridge/info").counts.guests).toBe(4);
    });

    it("clears left-over retained discovery of guests removed while the bridge was down (once PVE confirms them gone for mqtt.removal_grace)", async () => {
      const ghost = CONFIG("home_999");
      stack = await startStack({
        broker,
        lab: { scenario: "seed" },
        configure: (cfg) => {
          cfg.mqtt.removalGraceMs = 500;
        },
        beforeBridge: async (o) => {
          // What this bridge published for a guest in an earlier run (its availability names this bridge's state topic).
          const config = {
            device: { identifiers: ["backup2mqtt_home_999"], name: "ghost" },
            origin: { name: "backup2mqtt" },
            availability: [{ topic: "backup2mqtt/bridge/state" }, { topic: "backup2mqtt/source/pve/availability" }],
            components: { status: { p: "sensor", state_topic: STATE("home_999") } },
          };
          await o.publish(ghost, JSON.stringify(config), true);
          // Not this bridge's: another bridge's device under the same id prefix stays.
          await o.publish(
            CONFIG("home_2_100"),
            JSON.stringify({ ...config, availability: [{ topic: "elsewhere/bridge/state" }] }),
            true,
          );
          await o.publish(STATE("home_999"), JSON.stringify({ vmid: 999 }), true);
        },
      });
      const s = stack;
      await s.observer.until("ghost cleared", () => s.observer.last.get(ghost) === "", 10_000);
      await s.observer.until("ghost state cleared", () => s.observer.last.get(STATE("home_999")) === "");
      expect(s.observer.last.get(CONFIG("home_2_100"))).toContain("elsewhere/bridge/state");
      await s.observer.publish(CONFIG("home_2_100"), "", true);
    });

    it("'back up now' runs vzdump and reports started → running → finished; malformed commands are rejected", async () => {
      stack = await startStack({ broker, lab: { scenario: "seed", taskSpeed: 30 } });
      const s = stack;
      await s.observer.until("states", () => haveAllStates(s));
      await s.observer.publish("backup2mqtt/guest/home_103/command", '{"action":"backup","origin":"test"}');
      const started = await s.observer.until("started", () =>
        s.observer.messages.find(
          (m) => m.topic === "backup2mqtt/guest/home_103/event" && m.payload.includes("backup_started"),
        ),
      );
      expectValid("event", JSON.parse(started.payload));
      await s.observer.until("running", () => s.observer.json(STATE("home_103"))?.running === true);
      const done = await s.observer.until(
        "finished",
        () =>
          s.observer.messages.find(
            (m) => m.topic === "backup2mqtt/guest/home_103/event" && m.payload.includes("backup_finished"),
          ),
        20_000,
      );
      expectValid("event", JSON.parse(done.payload));
      await s.observer.until("status ok", () => s.observer.json(STATE("home_103"))?.status === "ok");
      expect(s.observer.json(STATE("home_103")).archive_count).toBe(1);
      expect(s.lab.requests.some((r) => r.method === "POST" && r.path.endsWith("/vzdump"))).toBe(true);

      for (const bad of [
        "not json",
        '{"action":"explode"}',
        '{"action":"set_tier","tier":"P9"}',
        '{"action":"verify"}',
      ]) {
        const t = Date.now();
        await s.observer.publish("backup2mqtt/guest/home_100/command", bad);
        const ev = await s.observer.until(`rejection of ${bad}`, () =>
          s.observer.messages.find(
            (m) =>
              m.at >= t && m.topic === "backup2mqtt/guest/home_100/event" && m.payload.includes("command_rejected"),
          ),
        );
        expectValid("event", JSON.parse(ev.payload));
        expect(JSON.parse(ev.payload).reason.length).toBeGreaterThan(10);
      }
      // set_tier via the select entity's command template
      await s.observer.publish("backup2mqtt/guest/home_100/command", '{"action":"set_tier","tier":"P2"}');
      await s.observer.until("tier P2", () => s.observer.json(STATE("home_100"))?.tier === "P2");
      expect(s.observer.json(STATE("home_100")).tier_source).toBe("override");
    });
  });
}
