/**
 * Outages and removals with a real Home Assistant (world: e2e-world.ts): the lab stops answering,
 * the bridge restarts while Proxmox is down, Home Assistant restarts, a guest leaves the lab. HA
 * must keep (or drop) exactly the right devices and entities and come back to the bridge's states.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BRIDGE_DEVICE, E2eWorld, guestDevice, REMOVAL_GRACE_MS } from "./e2e-world.js";
import { GUEST_ENTITIES } from "./entity-table.js";
import { deviceView } from "./ha-view.js";
import { waitFor } from "./runner.js";

describe("backup2mqtt in a real Home Assistant: outages, restarts, removal", () => {
  const w = new E2eWorld();
  beforeAll(async () => {
    await w.start();
    await w.settled();
  });
  afterAll(() => w.stop());

  /** Entity ids of our entities in HA's registry, sorted. */
  const ourEntityIds = async () =>
    (await w.ha.ws.entityRegistry())
      .filter((e) => e.unique_id.startsWith("backup2mqtt_"))
      .map((e) => e.entity_id)
      .sort();

  it("the lab stops answering → every guest entity unavailable, the source sensor off; the lab returns → available with the bridge's states", async () => {
    const { ha, stack } = w;
    const vmids = w.vmids;
    const guestEntities = async () => {
      const ids: string[] = [];
      for (const vmid of vmids)
        ids.push(...[...(await deviceView(ha, guestDevice(vmid)))!.entities.values()].map((e) => e.entity_id));
      return ids;
    };
    const ids = await guestEntities();
    expect(ids).toHaveLength(vmids.length * GUEST_ENTITIES.length);
    const bridge = (await deviceView(ha, BRIDGE_DEVICE))!;
    const source = bridge.entities.get("Source pve")!.entity_id;
    const refresh = bridge.entities.get("Last refresh")!.entity_id;

    stack.lab.control.setFault({ kind: "down" });
    try {
      await waitFor(
        async () => {
          const all = await w.states();
          const still = ids.filter((id) => all.get(id)?.state !== "unavailable");
          if (still.length) throw new Error(`still available: ${still.join(", ")}`);
          return all.get(source)?.state === "off";
        },
        { timeoutMs: 20_000, description: "guest entities unavailable and the source off" },
      );
      // The bridge itself stays online: its entities keep working.
      expect((await ha.rest.state(refresh))?.state).not.toBe("unavailable");
    } finally {
      stack.lab.control.setFault(null);
    }
    await waitFor(
      async () => {
        const all = await w.states();
        const still = ids.filter((id) => all.get(id)?.state === "unavailable");
        if (still.length) throw new Error(`still unavailable: ${still.join(", ")}`);
        return all.get(source)?.state === "on";
      },
      { timeoutMs: 20_000, description: "guest entities available again and the source on" },
    );
    await w.haMatchesBridge(vmids, "HA equal to the bridge after the outage");
  });

  it("the bridge restarts while Proxmox is down (a power cut) → every device and entity stays in HA, unavailable, and comes back when Proxmox answers", async () => {
    const { ha, stack } = w;
    const ourDevices = async () =>
      (await ha.ws.deviceRegistry())
        .filter((d) => JSON.stringify(d.identifiers ?? []).includes("backup2mqtt_"))
        .map((d) => d.id)
        .sort();
    const devicesBefore = await ourDevices();
    const entitiesBefore = await ourEntityIds();
    const guestEntities = (await ha.ws.entityRegistry())
      .filter((e) => /^backup2mqtt_home_\d+_/.test(e.unique_id))
      .map((e) => e.entity_id);
    await stack.stopBridge();
    stack.lab.control.setFault({ kind: "down" });
    try {
      await stack.startBridge();
      // Longer than the removal grace and the old start-up cleanup (3 s).
      await new Promise((r) => setTimeout(r, REMOVAL_GRACE_MS + 2000));
      expect(await ourDevices()).toEqual(devicesBefore);
      expect(await ourEntityIds()).toEqual(entitiesBefore);
      await waitFor(
        async () => {
          const all = await w.states();
          const still = guestEntities.filter((id) => all.get(id)?.state !== "unavailable");
          if (still.length) throw new Error(`still available: ${still.join(", ")}`);
          return true;
        },
        { timeoutMs: 20_000, description: "guest entities unavailable while Proxmox is down" },
      );
    } finally {
      stack.lab.control.setFault(null);
    }
    await w.haMatchesBridge(w.vmids, "HA equal to the bridge once Proxmox answers");
    expect(await ourEntityIds()).toEqual(entitiesBefore);
  });

  it("HA restarts → its birth message makes the bridge republish; entities and states come back without restarting the bridge", async () => {
    const { ha, stack, recorder } = w;
    const bridgeBefore = stack.service.engine;
    const entitiesBefore = await ourEntityIds();
    const logsBefore = stack.logs.length;
    const t0 = Date.now();

    await recorder.stop();
    await ha.restart();
    await recorder.start();

    await waitFor(
      () =>
        stack.observer.messages.some((m) => m.at >= t0 && m.topic === "homeassistant/status" && m.payload === "online"),
      {
        timeoutMs: 20_000,
        description: "HA's birth message on the broker",
      },
    );
    await waitFor(
      () => stack.logs.slice(logsBefore).some((l) => l.includes("Home Assistant is online: republishing")),
      {
        timeoutMs: 20_000,
        description: "the bridge republishing after the birth",
      },
    );
    await w.haMatchesBridge(w.vmids, "HA states after its restart");
    const all = await w.states();
    for (const id of entitiesBefore) expect(all.get(id)?.state, id).not.toBe("unavailable");
    // Same entities (none doubled as *_2), same bridge instance, same MQTT session.
    expect(await ourEntityIds()).toEqual(entitiesBefore);
    expect(stack.service.engine).toBe(bridgeBefore);
    expect(stack.logs.slice(logsBefore).some((l) => l.includes("MQTT reconnected"))).toBe(false);
  });

  it("a guest removed from the lab → its device stays for mqtt.removal_grace, then it and its entities leave HA", async () => {
    const { ha, stack } = w;
    const vmid = 103;
    const view = (await deviceView(ha, guestDevice(vmid)))!;
    const ids = [...view.entities.values()].map((e) => e.entity_id);
    expect(ids).toHaveLength(GUEST_ENTITIES.length);

    stack.lab.control.removeGuest(vmid);
    const removedAt = Date.now();
    await waitFor(
      async () =>
        (stack.observer.json("backup2mqtt/bridge/info")?.pending_removal ?? []).some(
          (p: { device: string }) => p.device === `home_${vmid}`,
        ),
      {
        timeoutMs: 10_000,
        description: "103 waiting for removal in the bridge info",
      },
    );
    // Still in HA during the grace period.
    expect((await ha.ws.deviceRegistry()).some((d) => d.id === view.device.id)).toBe(true);
    await waitFor(async () => !(await ha.ws.deviceRegistry()).some((d) => d.id === view.device.id), {
      timeoutMs: 20_000,
      description: "the device of 103 gone from HA's device registry",
    });
    expect(Date.now() - removedAt).toBeGreaterThanOrEqual(REMOVAL_GRACE_MS);
    const registry = await ha.ws.entityRegistry();
    expect(
      registry.filter((e) => e.unique_id.startsWith(`${guestDevice(vmid)}_`) || ids.includes(e.entity_id)),
    ).toEqual([]);
    const all = await w.states();
    expect(ids.filter((id) => all.has(id))).toEqual([]);
    // The others stay.
    const rest = w.labGuests.filter((g) => g.vmid !== vmid).map((g) => g.vmid);
    await w.haMatchesBridge(rest, "the remaining guests unchanged");
  });

  it("HA's log has no warning or error from MQTT (or anything else) about what the bridge published", () => {
    w.expectCleanLog();
  });
});
