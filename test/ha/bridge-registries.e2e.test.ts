/**
 * The bridge in a real Home Assistant (world: e2e-world.ts): the five demo guests and the bridge
 * become devices in HA's registries with exactly the README table's entities (platform, domain,
 * device class, unit, category, options, names, entity ids), and every state equals the bridge's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bridgeEntities,
  CONDITIONAL_GUEST_ENTITIES,
  GUEST_ENTITIES,
  readmeCategory,
  readmeConditional,
  readmeDeviceClass,
  readmeEntityTable,
  type ExpectedEntity,
} from "./entity-table.js";
import { BRIDGE_DEVICE, E2eWorld, guestDevice, SITE } from "./e2e-world.js";
import { deviceView, type DeviceView } from "./ha-view.js";
import { waitFor, type HaState } from "./runner.js";

const ISO_WITH_OFFSET = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$/;

/** Same slug rule as the README's "entity ids take the guest name". */
const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");

describe("backup2mqtt in a real Home Assistant: registries and states", () => {
  const w = new E2eWorld();
  beforeAll(() => w.start());
  afterAll(() => w.stop());

  /**
   * HA took every entity id from the default_entity_id we published (entity ids are the README's
   * contract, and a payload that relied on object_id would get ids HA makes up from the names).
   * object_id itself is checked on the payload: HA 2026.4+ drops it without a log line.
   */
  const checkEntityIds = (view: DeviceView, deviceIdentifier: string) => {
    const config = w.stack.observer.json<{ components: Record<string, Record<string, unknown>> }>(
      `homeassistant/device/${deviceIdentifier}/config`,
    );
    expect(config, `retained discovery of ${deviceIdentifier}`).toBeDefined();
    const components = Object.values(config!.components);
    for (const c of components) {
      expect(
        Object.keys(c).filter((k) => k === "object_id" || k === "obj_id"),
        `component ${String(c.unique_id)}`,
      ).toEqual([]);
    }
    for (const e of view.entities.values()) {
      const c = components.find((x) => x.unique_id === e.unique_id);
      expect(c?.default_entity_id, `default_entity_id of ${e.unique_id}`).toBeTypeOf("string");
      expect(e.entity_id).toBe(c!.default_entity_id);
    }
  };

  it("puts the five guests and the bridge into HA's registries, every README entity with its class, unit, category and name, states as the bridge has them", async () => {
    const { ha } = w;
    expect(ha.version).toMatch(/^2026\./);
    expect(w.labGuests).toHaveLength(5);

    // The README table is what this suite checks: same rows, same platforms and device classes.
    // Rows for some tiers only ("tiers with …") are not on the demo's guests here.
    const table = readmeEntityTable();
    const readme = table.filter((r) => !readmeConditional(r));
    expect(table.filter(readmeConditional).map((r) => [r.name, r.platform])).toEqual(
      CONDITIONAL_GUEST_ENTITIES.map((e) => [e.name, e.domain]),
    );
    expect(readme.map((r) => [r.name, r.platform])).toEqual(GUEST_ENTITIES.map((e) => [e.name, e.domain]));
    for (const row of readme) {
      const exp = GUEST_ENTITIES.find((e) => e.name === row.name)!;
      expect(readmeDeviceClass(row), `README device class of ${row.name}`).toBe(exp.deviceClass);
      expect(readmeCategory(row), `README category of ${row.name}`).toBe(exp.category);
    }

    const bridgeExpected = bridgeEntities(["pve"]);
    const bridge = await waitFor(
      async () => {
        w.failOnMqttProblems();
        const v = await deviceView(ha, BRIDGE_DEVICE);
        return v && v.entities.size >= bridgeExpected.length ? v : undefined;
      },
      { timeoutMs: 30_000, description: "the bridge device and its entities" },
    );
    expect(bridge.device.name).toBe(`backup2mqtt ${SITE}`);
    const all = await w.states();
    checkEntities(bridge, bridgeExpected, all);
    checkEntityIds(bridge, BRIDGE_DEVICE);

    const views = new Map<number, DeviceView>();
    for (const { vmid, name } of w.labGuests) {
      const view = await waitFor(
        async () => {
          w.failOnMqttProblems();
          const v = await deviceView(ha, guestDevice(vmid));
          return v && v.entities.size >= GUEST_ENTITIES.length ? v : undefined;
        },
        { timeoutMs: 30_000, description: `device and entities of guest ${vmid}` },
      );
      views.set(vmid, view);
      expect(view.device.name).toBe(name);
      expect(view.device.manufacturer).toBe("Proxmox VE");
      expect(view.device.via_device_id).toBe(bridge.device.id);
      checkEntities(view, GUEST_ENTITIES, await w.states());
      checkEntityIds(view, guestDevice(vmid));
      for (const e of view.entities.values())
        expect(e.entity_id.startsWith(`${e.entity_id.split(".")[0]}.${slug(name)}_`), e.entity_id).toBe(true);
    }
    // Exactly our devices: nothing doubled, nothing left over.
    const ours = (await ha.ws.deviceRegistry()).filter((d) =>
      d.identifiers.some(([dom, id]) => dom === "mqtt" && id.startsWith("backup2mqtt_")),
    );
    expect(ours.map((d) => d.name).sort()).toEqual([...w.labGuests.map((g) => g.name), `backup2mqtt ${SITE}`].sort());
    expect((await ha.rest.state("sensor.vaultwarden_last_backup"))?.attributes.device_class).toBe("timestamp"); // README's example id

    await w.haMatchesBridge(w.vmids, "HA states equal to the bridge's guest states");
    // The demo shows every status; HA must show them as valid states.
    const now = await w.states();
    const shown = new Set<string>();
    for (const [vmid, view] of views) {
      for (const exp of GUEST_ENTITIES) {
        const e = view.entities.get(exp.name)!;
        const s = now.get(e.entity_id)!;
        expect(s.state, e.entity_id).not.toBe("unavailable");
        if (exp.deviceClass === "timestamp" || exp.domain === "button" || exp.domain === "event")
          expect(
            s.state === "unknown" || (ISO_WITH_OFFSET.test(s.state) && Number.isFinite(Date.parse(s.state))),
            `${e.entity_id}=${s.state}`,
          ).toBe(true);
        if (exp.options && exp.domain !== "event") expect(exp.options, e.entity_id).toContain(s.state);
        if (exp.domain === "binary_sensor") expect(["on", "off"], e.entity_id).toContain(s.state);
        if (exp.name === "Backup status") shown.add(s.state);
        if (exp.name === "Backup tier") expect(s.state).toBe(w.bridgeGuest(vmid).tier);
      }
      expect(Date.parse(now.get(view.entities.get("Last backup")!.entity_id)!.state) || 0).toBeLessThanOrEqual(
        Date.now(),
      );
    }
    for (const st of ["OK", "Stale", "Failed", "Missing"]) expect(shown, `a guest with status ${st}`).toContain(st);
    expect(ha.mqttProblems()).toEqual([]);
  });

  it("HA's log has no warning or error from MQTT (or anything else) about what the bridge published", () => {
    w.expectCleanLog();
  });
});

/** Registry and state attributes of a device's entities against the expectations: nothing missing, nothing extra. */
function checkEntities(view: DeviceView, expected: readonly ExpectedEntity[], all: Map<string, HaState>): void {
  const deviceName = view.device.name!;
  expect([...view.entities.keys()].sort(), `entities of ${deviceName}`).toEqual(expected.map((e) => e.name).sort());
  for (const exp of expected) {
    const e = view.entities.get(exp.name)!;
    const where = `${deviceName} / ${exp.name} (${e.entity_id})`;
    const s = all.get(e.entity_id);
    expect(s, where).toBeDefined();
    expect(e.platform, where).toBe("mqtt");
    expect(e.entity_id.split(".")[0], where).toBe(exp.domain);
    expect(e.disabled_by, where).toBeNull();
    expect(e.original_device_class ?? undefined, where).toBe(exp.deviceClass);
    expect(s!.attributes.device_class ?? undefined, where).toBe(exp.deviceClass);
    expect(s!.attributes.unit_of_measurement ?? undefined, where).toBe(exp.unit);
    expect(e.entity_category ?? undefined, where).toBe(exp.category);
    // The name is the entity part only: HA puts the device name in front exactly once.
    expect(e.original_name!.toLowerCase().includes(deviceName.toLowerCase()), where).toBe(false);
    expect(s!.attributes.friendly_name, where).toBe(`${deviceName} ${exp.name}`);
    if (exp.options) {
      const key = exp.domain === "event" ? "event_types" : "options";
      expect([...((s!.attributes[key] as string[] | undefined) ?? [])].sort(), where).toEqual([...exp.options].sort());
    }
  }
}
