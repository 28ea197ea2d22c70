/**
 * The self-healing fallback with `fallback: ask`, in a real Home Assistant (world: e2e-world.ts,
 * with tier P1 set to ask in the bridge's config): the demo's failed vaultwarden (P1) gets a
 * "Fallback pending" sensor that turns on with the bridge's reason and planned start; pressing its
 * "Approve fallback" button through HA's API makes the bridge run the vzdump (event entity:
 * fallback_started, backup_finished), and the guest turns OK. Then the blueprint
 * fallback_approval_notification.yaml: a guest moved into P1 from HA's tier select gets a pending
 * fallback, the automation sends its actionable notification (here to notify.persistent_notification,
 * the one notify action a test instance has), and the `mobile_app_notification_action` event the
 * companion app would fire for the Approve button presses the guest's Approve fallback.
 */
import { appendFileSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack } from "../support/stack.js";
import { E2eWorld, REMOVAL_GRACE_MS, SITE } from "./e2e-world.js";
import { BLUEPRINTS } from "./integration-world.js";
import { StateRecorder } from "./ha-view.js";
import { startHomeAssistant, startMosquitto, waitFor } from "./runner.js";

const BLUEPRINT = "fallback_approval_notification.yaml";

/** The e2e world with P1's fallback set to ask (window any, no grace), and automations + the blueprint in HA. */
class FallbackWorld extends E2eWorld {
  override async start(): Promise<void> {
    this.broker = await startMosquitto();
    this.ha = await startHomeAssistant({
      mqttHost: this.broker.host,
      mqttPort: this.broker.port,
      extraConfigYaml: "notify:\n",
    });
    // UI automations live in automations.yaml (the config API writes there); HA reads the include at start.
    writeFileSync(path.join(this.ha.configDir, "automations.yaml"), "[]\n");
    appendFileSync(path.join(this.ha.configDir, "configuration.yaml"), "\nautomation: !include automations.yaml\n");
    const dir = path.join(this.ha.configDir, "blueprints/automation/backup2mqtt");
    mkdirSync(dir, { recursive: true });
    copyFileSync(path.join(BLUEPRINTS, "automation/backup2mqtt", BLUEPRINT), path.join(dir, BLUEPRINT));
    await this.ha.restart();
    this.recorder = new StateRecorder(this.ha);
    await this.recorder.start();
    this.stack = await startStack({
      broker: this.broker,
      lab: { scenario: "demo", taskSpeed: 30 },
      pollMs: 500,
      configure: (cfg) => {
        cfg.mqtt.removalGraceMs = REMOVAL_GRACE_MS;
        cfg.tiers.P1!.fallback = { action: "ask", window: "any", graceMs: 0, maxPerDay: 1 };
      },
    });
    this.labGuests = [...this.stack.lab.control.state.guests.values()].map((g) => ({ vmid: g.vmid, name: g.name }));
  }
}

describe("backup2mqtt in a real Home Assistant: approving a fallback backup", () => {
  const w = new FallbackWorld();
  beforeAll(async () => {
    await w.start();
    await w.settled();
  });
  afterAll(() => w.stop());

  const vzdumpOf = (vmid: number, after: number) =>
    w.stack.lab.control.state.tasks.slice(after).find((t) => t.type === "vzdump" && t.id === String(vmid));

  it("'Fallback pending' turns on for the failed P1 guest with the bridge's reason; pressing 'Approve fallback' in HA runs the backup and the guest turns OK", async () => {
    const { ha, stack, recorder } = w;
    const vmid = 102; // vaultwarden: P1, its job failed
    const pending = await w.entityOf(vmid, "Fallback pending");
    const approve = await w.entityOf(vmid, "Approve fallback");
    const event = await w.entityOf(vmid, "Backup event");
    const status = await w.entityOf(vmid, "Backup status");
    const on = await waitFor(
      async () => {
        const s = await ha.rest.state(pending);
        return s?.state === "on" ? s : undefined;
      },
      { timeoutMs: 20_000, description: "HA: Fallback pending on" },
    );
    const fb = w.bridgeGuest(vmid).fallback!;
    expect(fb).toMatchObject({ state: "planned", action: "ask", approved: false });
    // (HA drops an attribute called "state": fallback_state.)
    expect(on.attributes).toMatchObject({ fallback_state: "planned", at: fb.at, reason: fb.reason, approved: false });
    // A guest of a tier that does not ask has neither entity.
    const p0 = (await w.states()).get("binary_sensor.homeassistant_fallback_pending");
    expect(p0).toBeUndefined();

    const t0 = Date.now();
    const tasksBefore = stack.lab.control.state.tasks.length;
    await ha.rest.callService("button", "press", { entity_id: approve });
    const task = await waitFor(() => vzdumpOf(vmid, tasksBefore), {
      timeoutMs: 15_000,
      description: "the fallback's vzdump of 102 in the lab",
    });
    expect(task.authid).toBe(stack.cfg.proxmox[0]!.tokenId); // the bridge's own vzdump
    await waitFor(() => task.endMs !== null, { timeoutMs: 20_000, description: "the lab task ends" });
    expect(task.exitstatus).toBe("OK");
    const types = await waitFor(
      () => {
        const seen = recorder
          .states(event, t0)
          .filter((s) => s.state !== "unavailable")
          .map((s) => s.attributes.event_type);
        return seen.includes("backup_finished") ? seen : undefined;
      },
      { timeoutMs: 20_000, description: "event entity: backup_finished" },
    );
    expect(types.indexOf("fallback_started")).toBeGreaterThanOrEqual(0);
    expect(types.indexOf("fallback_started")).toBeLessThan(types.indexOf("backup_finished"));
    await waitFor(
      async () => (await ha.rest.state(status))?.state === "OK" && (await ha.rest.state(pending))?.state === "off",
      { timeoutMs: 20_000, description: "HA: status OK, Fallback pending off" },
    );
    expect(recorder.states(pending, t0).map((s) => s.state)).toContain("off");
    await w.haMatchesBridge([vmid], "HA equal to the bridge after the fallback");
  });

  it("blueprint: a pending fallback sends an actionable notification; the companion app's Approve action presses Approve fallback and the backup runs", async () => {
    const { ha, stack } = w;
    const vmid = 101; // immich: P2 and stale; moved to P1 (ask) from HA below
    const pendingId = "binary_sensor.immich_fallback_pending";
    await ha.rest.post("/api/config/automation/config/b2m_fallback_approval", {
      alias: "Fallback approval",
      use_blueprint: {
        path: `backup2mqtt/${BLUEPRINT}`,
        input: { pending_entities: [pendingId], notify_service: "notify.persistent_notification" },
      },
    });
    await waitFor(async () => (await ha.rest.state("automation.fallback_approval"))?.state === "on", {
      timeoutMs: 15_000,
      description: "automation on",
    });
    const select = await w.entityOf(vmid, "Backup tier");
    await ha.rest.callService("select", "select_option", { entity_id: select, option: "P1" });
    await waitFor(() => w.bridgeGuest(vmid).fallback?.state === "planned", {
      timeoutMs: 20_000,
      description: "bridge: immich's fallback planned",
    });
    await waitFor(async () => (await ha.rest.state(pendingId))?.state === "on", {
      timeoutMs: 20_000,
      description: "HA: immich Fallback pending on",
    });
    const note = await waitFor(
      async () =>
        (await ha.ws.command<{ title: string; message: string }[]>({ type: "persistent_notification/get" })).find(
          (n) => n.title === "Back up immich now?",
        ),
      { timeoutMs: 20_000, description: "the fallback notification" },
    );
    expect(note.message).toContain(w.bridgeGuest(vmid).fallback!.reason);
    expect(note.message).toMatch(/The fallback backup would start \w{3} \d+ \w{3}, \d\d:\d\d once approved\./);
    const token = stack.cfg.proxmox[0]!.tokenId;
    expect(
      stack.lab.control.state.tasks.filter((t) => t.type === "vzdump" && t.id === "101" && t.authid === token),
    ).toEqual([]);

    // What the companion app fires when the notification's Approve button is tapped.
    const tasksBefore = stack.lab.control.state.tasks.length;
    await ha.rest.post("/api/events/mobile_app_notification_action", {
      action: `BACKUP2MQTT_APPROVE_${pendingId.replace(".", "_")}`,
    });
    const task = await waitFor(() => vzdumpOf(vmid, tasksBefore), {
      timeoutMs: 15_000,
      description: "the fallback's vzdump of 101 in the lab",
    });
    expect(task.authid).toBe(token);
    await waitFor(() => w.bridgeGuest(vmid).status === "ok", { timeoutMs: 30_000, description: "bridge: immich ok" });
    await waitFor(async () => (await ha.rest.state(pendingId))?.state === "off", {
      timeoutMs: 20_000,
      description: "HA: immich Fallback pending off",
    });
    expect(w.bridgeGuest(vmid).id).toBe(`${SITE}_${vmid}`);
  });
});
