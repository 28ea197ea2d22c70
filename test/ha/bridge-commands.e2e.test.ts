/**
 * Commands from a real Home Assistant reach the bridge and the lab (world: e2e-world.ts): "Back up
 * now" starts a vzdump and HA follows it to the new last backup, the event entity shows
 * started/finished/failed/rejected, and the tier select changes the bridge's tier.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2eWorld, SITE } from "./e2e-world.js";
import { EVENT_TYPES } from "./entity-table.js";
import { sameSecond } from "./ha-view.js";
import { waitFor } from "./runner.js";

describe("backup2mqtt in a real Home Assistant: commands and events", () => {
  const w = new E2eWorld();
  beforeAll(async () => {
    await w.start();
    await w.settled();
  });
  afterAll(() => w.stop());

  it("'Back up now' pressed in HA starts vzdump in the lab; HA shows running, then the new last backup and ok; the event entity gets started/finished", async () => {
    const { ha, stack, recorder } = w;
    const vmid = 103; // download-home: missing in the demo
    expect(w.bridgeGuest(vmid).status).toBe("missing");
    const button = await w.entityOf(vmid, "Back up now");
    const running = await w.entityOf(vmid, "Backup running");
    const lastBackup = await w.entityOf(vmid, "Last backup");
    const status = await w.entityOf(vmid, "Backup status");
    const event = await w.entityOf(vmid, "Backup event");
    const t0 = Date.now();
    const tasksBefore = stack.lab.control.state.tasks.length;
    await ha.rest.callService("button", "press", { entity_id: button });

    const task = await waitFor(
      () => stack.lab.control.state.tasks.slice(tasksBefore).find((t) => t.type === "vzdump" && t.id === String(vmid)),
      { timeoutMs: 10_000, description: "a vzdump task for 103 in the lab" },
    );
    expect(task.authid).toBe(stack.cfg.proxmox[0]!.tokenId); // started by the bridge's token, not by a job
    await waitFor(() => recorder.states(running, t0).some((s) => s.state === "on"), {
      timeoutMs: 10_000,
      description: "HA: Backup running on",
    });
    await waitFor(() => task.endMs !== null, { timeoutMs: 20_000, description: "the lab task ends" });
    expect(task.exitstatus).toBe("OK");
    const archive = await waitFor(
      () => stack.lab.control.state.archives.filter((a) => a.vmid === vmid).sort((a, b) => b.ctime - a.ctime)[0],
      { timeoutMs: 5_000, description: "the new archive of 103" },
    );
    await waitFor(
      async () => {
        const [lb, st, rn] = await Promise.all([lastBackup, status, running].map((id) => ha.rest.state(id)));
        return (
          lb &&
          sameSecond(lb.state, new Date(archive.ctime * 1000).toISOString()) &&
          st?.state === "OK" &&
          rn?.state === "off"
        );
      },
      { timeoutMs: 20_000, description: "HA: new Last backup, status ok, running off" },
    );
    // The same story from HA's state_changed events (the WebSocket may deliver them just after REST shows the end).
    const seen = await waitFor(
      () => {
        const runOn = recorder.states(running, t0).find((s) => s.state === "on");
        const statusOk = recorder.states(status, t0).find((s) => s.state === "OK");
        const events = recorder.states(event, t0).filter((s) => s.state !== "unavailable");
        return runOn && statusOk && events.length >= 2 ? { runOn, statusOk, events } : undefined;
      },
      { timeoutMs: 10_000, description: "state_changed events: running on, status ok, two events" },
    );
    // Order as HA saw it (its own change times): running on before the status became ok.
    expect(Date.parse(seen.runOn.last_changed)).toBeLessThanOrEqual(Date.parse(seen.statusOk.last_changed));
    expect(recorder.states(status, t0).map((s) => s.state)).toContain("Running");

    const events = seen.events;
    expect(events.map((s) => s.attributes.event_type)).toEqual(["backup_started", "backup_finished"]);
    for (const s of events) {
      expect(s.attributes.upid).toBe(task.upid);
      expect(s.attributes.guest).toBe(`${SITE}_${vmid}`);
      expect(Number.isFinite(Date.parse(s.state))).toBe(true);
    }
    expect(events[1]!.attributes.result).toBe("ok");
    await w.haMatchesBridge([vmid], "HA equal to the bridge after the backup");
  });

  it("the event entity shows backup_failed with the error, and command_rejected with the reason", async () => {
    const { ha, stack, recorder } = w;
    const vmid = 102; // vaultwarden
    const button = await w.entityOf(vmid, "Back up now");
    const verify = await w.entityOf(vmid, "Verify now");
    const event = await w.entityOf(vmid, "Backup event");
    const reason = "simulated: synology out of space";
    stack.lab.control.failNextBackup(vmid, reason);
    const t0 = Date.now();
    await ha.rest.callService("button", "press", { entity_id: button });
    const failed = await waitFor(
      () => recorder.states(event, t0).find((s) => s.attributes.event_type === "backup_failed"),
      {
        timeoutMs: 20_000,
        description: "backup_failed on the event entity",
      },
    );
    expect(String(failed.attributes.error)).toContain(reason);
    expect(recorder.states(event, t0).map((s) => s.attributes.event_type)).toEqual(["backup_started", "backup_failed"]);

    const t1 = Date.now();
    await ha.rest.callService("button", "press", { entity_id: verify });
    const rejected = await waitFor(
      () => recorder.states(event, t1).find((s) => s.attributes.event_type === "command_rejected"),
      {
        timeoutMs: 10_000,
        description: "command_rejected on the event entity",
      },
    );
    expect(rejected.attributes.action).toBe("verify");
    expect(String(rejected.attributes.reason)).toMatch(/verification/);
    expect(EVENT_TYPES).toContain(rejected.attributes.event_type);
    // The event comes as the task ends; the guest's state follows with the next evaluation.
    const status = await w.entityOf(vmid, "Backup status");
    await waitFor(
      async () => w.bridgeGuest(vmid).status === "failed" && (await ha.rest.state(status))?.state === "Failed",
      {
        timeoutMs: 15_000,
        description: "bridge and HA: vaultwarden failed",
      },
    );
    expect(w.bridgeGuest(vmid).status_reason).toContain(reason);
    await w.haMatchesBridge([vmid], "HA equal to the bridge after the failed backup");
  });

  it("selecting a tier in HA changes the guest's tier in the bridge", async () => {
    const { ha } = w;
    const vmid = 100; // homeassistant: P0 from its tag
    expect(w.bridgeGuest(vmid)).toMatchObject({ tier: "P0", tier_source: "tag" });
    const select = await w.entityOf(vmid, "Backup tier");
    await ha.rest.callService("select", "select_option", { entity_id: select, option: "P1" });
    await waitFor(() => w.bridgeGuest(vmid).tier === "P1", { timeoutMs: 10_000, description: "bridge tier P1" });
    expect(w.bridgeGuest(vmid).tier_source).toBe("override");
    await waitFor(async () => (await ha.rest.state(select))?.state === "P1", {
      timeoutMs: 10_000,
      description: "HA select shows P1",
    });
    await w.haMatchesBridge([vmid], "HA equal to the bridge after the tier change");
  });

  it("HA's log has no warning or error from MQTT (or anything else) about what the bridge published", () => {
    w.expectCleanLog();
  });
});
