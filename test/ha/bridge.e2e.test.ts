/**
 * The bridge against a real Home Assistant: Mosquitto + HA 2026 (chroot, test/ha/runner.ts) + the
 * simulated Proxmox lab over HTTPS + the real bridge in-process (test/support/stack.ts). One HA,
 * one broker, one lab and one bridge for the whole file; the tests run in order and each leaves
 * the world as the next one expects (the last one removes a guest).
 *
 * What HA shows is compared with what the bridge computed (Bridge.guest()), never with values
 * written down here, and HA's log must stay free of MQTT warnings throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../support/stack.js";

const REMOVAL_GRACE_MS = 4000;
import type { GuestState } from "../../bridge/src/policy/types.js";
import { startHomeAssistant, startMosquitto, waitFor, type HaState, type HomeAssistant, type Mosquitto } from "./runner.js";
import { deviceView, logProblems, sameSecond, StateRecorder, type DeviceView } from "./ha-view.js";
import { bridgeEntities, EVENT_TYPES, GUEST_ENTITIES, readmeCategory, readmeDeviceClass, readmeEntityTable, type ExpectedEntity } from "./entity-table.js";

const SITE = "home";
const BRIDGE_DEVICE = `backup2mqtt_${SITE}_bridge`;
const guestDevice = (vmid: number) => `backup2mqtt_${SITE}_${vmid}`;
/** Whole-log lines that are not about us (see README "Known noise"). */
const ALLOWED_LOG_LINES = [
  { pattern: /\[homeassistant\.bootstrap\] Skipping pip installation/, why: "hass runs with --skip-pip on purpose" },
];
const ISO_WITH_OFFSET = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$/;

/** Same slug rule as the README's "entity ids take the guest name". */
const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");

describe("backup2mqtt in a real Home Assistant", () => {
  let broker: Mosquitto;
  let ha: HomeAssistant;
  let stack: Stack;
  let recorder: StateRecorder;
  /** The lab's guests at start (vmid → name): the five demo guests. */
  let labGuests: { vmid: number; name: string }[];

  const bridgeGuest = (vmid: number): GuestState => {
    const g = stack.service.bridge.guest(`${SITE}_${vmid}`);
    if (!g) throw new Error(`the bridge has no guest ${vmid}`);
    return g;
  };
  const states = async () => new Map((await ha.rest.states()).map((s) => [s.entity_id, s]));
  /** The entity id of a guest's entity (by its README name), once HA has it and it is available. */
  const entityOf = async (vmid: number, name: string): Promise<string> =>
    await waitFor(
      async () => {
        const e = (await deviceView(ha, guestDevice(vmid)))?.entities.get(name);
        if (!e) throw new Error(`HA has no '${name}' entity for guest ${vmid}`);
        const s = await ha.rest.state(e.entity_id);
        if (!s || s.state === "unavailable") throw new Error(`${e.entity_id} is ${s?.state ?? "missing"}`);
        return e.entity_id;
      },
      { timeoutMs: 10_000, description: `'${name}' of guest ${vmid}` },
    );

  /**
   * HA took every entity id from the default_entity_id we published (entity ids are the README's
   * contract, and a payload that relied on object_id would get ids HA makes up from the names).
   * object_id itself is checked on the payload: HA 2026.4+ drops it without a log line.
   */
  const checkEntityIds = (view: DeviceView, deviceIdentifier: string) => {
    const config = stack.observer.json<{ components: Record<string, Record<string, unknown>> }>(`homeassistant/device/${deviceIdentifier}/config`);
    expect(config, `retained discovery of ${deviceIdentifier}`).toBeDefined();
    const components = Object.values(config!.components);
    for (const c of components) {
      expect(Object.keys(c).filter((k) => k === "object_id" || k === "obj_id"), `component ${String(c.unique_id)}`).toEqual([]);
    }
    for (const e of view.entities.values()) {
      const c = components.find((x) => x.unique_id === e.unique_id);
      expect(c?.default_entity_id, `default_entity_id of ${e.unique_id}`).toBeTypeOf("string");
      expect(e.entity_id).toBe(c!.default_entity_id);
    }
  };

  /** Ends a wait at once when HA logged an MQTT problem (a rejected payload would only time out). */
  const failOnMqttProblems = () => {
    const problems = ha.mqttProblems();
    if (problems.length) throw Object.assign(new Error(`HA logged MQTT problems:\n${problems.join("\n")}`), { fatal: true });
  };

  /** Where HA's states of one guest differ from the bridge's view of that guest ([] = same). */
  const differences = (view: DeviceView, g: GuestState, all: Map<string, HaState>): string[] => {
    const out: string[] = [];
    for (const exp of GUEST_ENTITIES) {
      const e = view.entities.get(exp.name);
      const s = e ? all.get(e.entity_id) : undefined;
      if (!e || !s) {
        out.push(`${g.name} '${exp.name}': no entity/state`);
        continue;
      }
      const want = exp.expect?.(g);
      if (want?.kind === "exact" && s.state !== want.value) out.push(`${e.entity_id}: HA '${s.state}', bridge '${want.value}'`);
      if (want?.kind === "timestamp") {
        const ok = want.value === null ? s.state === "unknown" : sameSecond(s.state, want.value);
        if (!ok) out.push(`${e.entity_id}: HA '${s.state}', bridge '${want.value}'`);
      }
      for (const [k, v] of Object.entries(exp.attributes?.(g) ?? {}))
        if (JSON.stringify(s.attributes[k]) !== JSON.stringify(v))
          out.push(`${e.entity_id} attribute ${k}: HA ${JSON.stringify(s.attributes[k])}, bridge ${JSON.stringify(v)}`);
    }
    return out;
  };

  /** Waits until HA shows, for every guest in `vmids`, exactly what the bridge has. */
  const haMatchesBridge = async (vmids: number[], what: string, timeoutMs = 20_000) =>
    await waitFor(
      async () => {
        failOnMqttProblems();
        const all = await states();
        const diffs: string[] = [];
        for (const vmid of vmids) {
          const view = await deviceView(ha, guestDevice(vmid));
          if (!view) diffs.push(`no device for guest ${vmid}`);
          else diffs.push(...differences(view, bridgeGuest(vmid), all));
        }
        if (diffs.length) throw new Error(diffs.join("\n"));
        return true;
      },
      { timeoutMs, intervalMs: 300, description: what },
    );

  beforeAll(async () => {
    broker = await startMosquitto();
    ha = await startHomeAssistant({ mqttHost: broker.host, mqttPort: broker.port });
    recorder = new StateRecorder(ha);
    await recorder.start();
    // taskSpeed 30: a 90 s vzdump of the lab takes 3 s; polls every 500 ms.
    // A short removal grace, so the "guest removed" test sees both the wait and the removal.
    stack = await startStack({ broker, lab: { scenario: "demo", taskSpeed: 30 }, pollMs: 500, configure: (cfg) => void (cfg.mqtt.removalGraceMs = REMOVAL_GRACE_MS) });
    labGuests = [...stack.lab.control.state.guests.values()].map((g) => ({ vmid: g.vmid, name: g.name }));
  });

  afterAll(async () => {
    await recorder?.stop();
    await stack?.stop();
    await ha?.stop();
    await broker?.stop();
  });

  it("puts the five guests and the bridge into HA's registries, every README entity with its class, unit, category and name, states as the bridge has them", async () => {
    expect(ha.version).toMatch(/^2026\./);
    expect(labGuests).toHaveLength(5);

    // The README table is what this suite checks: same rows, same platforms and device classes.
    const readme = readmeEntityTable();
    expect(readme.map((r) => [r.name, r.platform])).toEqual(GUEST_ENTITIES.map((e) => [e.name, e.domain]));
    for (const row of readme) {
      const exp = GUEST_ENTITIES.find((e) => e.name === row.name)!;
      expect(readmeDeviceClass(row), `README device class of ${row.name}`).toBe(exp.deviceClass);
      expect(readmeCategory(row), `README category of ${row.name}`).toBe(exp.category);
    }

    const bridgeExpected = bridgeEntities(["pve"]);
    const bridge = await waitFor(
      async () => {
        failOnMqttProblems();
        const v = await deviceView(ha, BRIDGE_DEVICE);
        return v && v.entities.size >= bridgeExpected.length ? v : undefined;
      },
      { timeoutMs: 30_000, description: "the bridge device and its entities" },
    );
    expect(bridge.device.name).toBe(`backup2mqtt ${SITE}`);
    const all = await states();
    checkEntities(bridge, bridgeExpected, all);
    checkEntityIds(bridge, BRIDGE_DEVICE);

    const views = new Map<number, DeviceView>();
    for (const { vmid, name } of labGuests) {
      const view = await waitFor(
        async () => {
          failOnMqttProblems();
          const v = await deviceView(ha, guestDevice(vmid));
          return v && v.entities.size >= GUEST_ENTITIES.length ? v : undefined;
        },
        { timeoutMs: 30_000, description: `device and entities of guest ${vmid}` },
      );
      views.set(vmid, view);
      expect(view.device.name).toBe(name);
      expect(view.device.manufacturer).toBe("Proxmox VE");
      expect(view.device.via_device_id).toBe(bridge.device.id);
      checkEntities(view, GUEST_ENTITIES, await states());
      checkEntityIds(view, guestDevice(vmid));
      for (const e of view.entities.values()) expect(e.entity_id.startsWith(`${e.entity_id.split(".")[0]}.${slug(name)}_`), e.entity_id).toBe(true);
    }
    // Exactly our devices: nothing doubled, nothing left over.
    const ours = (await ha.ws.deviceRegistry()).filter((d) => d.identifiers.some(([dom, id]) => dom === "mqtt" && id.startsWith("backup2mqtt_")));
    expect(ours.map((d) => d.name).sort()).toEqual([...labGuests.map((g) => g.name), `backup2mqtt ${SITE}`].sort());
    expect((await ha.rest.state("sensor.vaultwarden_last_backup"))?.attributes.device_class).toBe("timestamp"); // README's example id

    await haMatchesBridge(
      labGuests.map((g) => g.vmid),
      "HA states equal to the bridge's guest states",
    );
    // The demo shows every status; HA must show them as valid states.
    const now = await states();
    const shown = new Set<string>();
    for (const [vmid, view] of views) {
      for (const exp of GUEST_ENTITIES) {
        const e = view.entities.get(exp.name)!;
        const s = now.get(e.entity_id)!;
        expect(s.state, e.entity_id).not.toBe("unavailable");
        if (exp.deviceClass === "timestamp" || exp.domain === "button" || exp.domain === "event")
          expect(s.state === "unknown" || (ISO_WITH_OFFSET.test(s.state) && Number.isFinite(Date.parse(s.state))), `${e.entity_id}=${s.state}`).toBe(true);
        if (exp.options && exp.domain !== "event") expect(exp.options, e.entity_id).toContain(s.state);
        if (exp.domain === "binary_sensor") expect(["on", "off"], e.entity_id).toContain(s.state);
        if (exp.name === "Backup status") shown.add(s.state);
        if (exp.name === "Backup tier") expect(s.state).toBe(bridgeGuest(vmid).tier);
      }
      expect(Date.parse(now.get(view.entities.get("Last backup")!.entity_id)!.state) || 0).toBeLessThanOrEqual(Date.now());
    }
    for (const st of ["ok", "stale", "failed", "missing"]) expect(shown, `a guest with status ${st}`).toContain(st);
    expect(ha.mqttProblems()).toEqual([]);
  });

  it("'Back up now' pressed in HA starts vzdump in the lab; HA shows running, then the new last backup and ok; the event entity gets started/finished", async () => {
    const vmid = 103; // download-home: missing in the demo
    expect(bridgeGuest(vmid).status).toBe("missing");
    const button = await entityOf(vmid, "Back up now");
    const running = await entityOf(vmid, "Backup running");
    const lastBackup = await entityOf(vmid, "Last backup");
    const status = await entityOf(vmid, "Backup status");
    const event = await entityOf(vmid, "Backup event");
    const t0 = Date.now();
    const tasksBefore = stack.lab.control.state.tasks.length;
    await ha.rest.callService("button", "press", { entity_id: button });

    const task = await waitFor(
      () => stack.lab.control.state.tasks.slice(tasksBefore).find((t) => t.type === "vzdump" && t.id === String(vmid)),
      { timeoutMs: 10_000, description: "a vzdump task for 103 in the lab" },
    );
    expect(task.authid).toBe(stack.cfg.proxmox[0]!.tokenId); // started by the bridge's token, not by a job
    await waitFor(() => recorder.states(running, t0).some((s) => s.state === "on"), { timeoutMs: 10_000, description: "HA: Backup running on" });
    await waitFor(() => task.endMs !== null, { timeoutMs: 20_000, description: "the lab task ends" });
    expect(task.exitstatus).toBe("OK");
    const archive = await waitFor(
      () => stack.lab.control.state.archives.filter((a) => a.vmid === vmid).sort((a, b) => b.ctime - a.ctime)[0],
      { timeoutMs: 5_000, description: "the new archive of 103" },
    );
    await waitFor(
      async () => {
        const [lb, st, rn] = await Promise.all([lastBackup, status, running].map((id) => ha.rest.state(id)));
        return lb && sameSecond(lb.state, new Date(archive.ctime * 1000).toISOString()) && st?.state === "ok" && rn?.state === "off";
      },
      { timeoutMs: 20_000, description: "HA: new Last backup, status ok, running off" },
    );
    // The same story from HA's state_changed events (the WebSocket may deliver them just after REST shows the end).
    const seen = await waitFor(
      () => {
        const runOn = recorder.states(running, t0).find((s) => s.state === "on");
        const statusOk = recorder.states(status, t0).find((s) => s.state === "ok");
        const events = recorder.states(event, t0).filter((s) => s.state !== "unavailable");
        return runOn && statusOk && events.length >= 2 ? { runOn, statusOk, events } : undefined;
      },
      { timeoutMs: 10_000, description: "state_changed events: running on, status ok, two events" },
    );
    // Order as HA saw it (its own change times): running on before the status became ok.
    expect(Date.parse(seen.runOn.last_changed)).toBeLessThanOrEqual(Date.parse(seen.statusOk.last_changed));
    expect(recorder.states(status, t0).map((s) => s.state)).toContain("running");

    const events = seen.events;
    expect(events.map((s) => s.attributes.event_type)).toEqual(["backup_started", "backup_finished"]);
    for (const s of events) {
      expect(s.attributes.upid).toBe(task.upid);
      expect(s.attributes.guest).toBe(`${SITE}_${vmid}`);
      expect(Number.isFinite(Date.parse(s.state))).toBe(true);
    }
    expect(events[1]!.attributes.result).toBe("ok");
    await haMatchesBridge([vmid], "HA equal to the bridge after the backup");
  });

  it("the event entity shows backup_failed with the error, and command_rejected with the reason", async () => {
    const vmid = 102; // vaultwarden
    const button = await entityOf(vmid, "Back up now");
    const verify = await entityOf(vmid, "Verify now");
    const event = await entityOf(vmid, "Backup event");
    const reason = "simulated: synology out of space";
    stack.lab.control.failNextBackup(vmid, reason);
    const t0 = Date.now();
    await ha.rest.callService("button", "press", { entity_id: button });
    const failed = await waitFor(() => recorder.states(event, t0).find((s) => s.attributes.event_type === "backup_failed"), {
      timeoutMs: 20_000,
      description: "backup_failed on the event entity",
    });
    expect(String(failed.attributes.error)).toContain(reason);
    expect(recorder.states(event, t0).map((s) => s.attributes.event_type)).toEqual(["backup_started", "backup_failed"]);

    const t1 = Date.now();
    await ha.rest.callService("button", "press", { entity_id: verify });
    const rejected = await waitFor(() => recorder.states(event, t1).find((s) => s.attributes.event_type === "command_rejected"), {
      timeoutMs: 10_000,
      description: "command_rejected on the event entity",
    });
    expect(rejected.attributes.action).toBe("verify");
    expect(String(rejected.attributes.reason)).toMatch(/verification/);
    expect(EVENT_TYPES).toContain(rejected.attributes.event_type);
    // The event comes as the task ends; the guest's state follows with the next evaluation.
    const status = await entityOf(vmid, "Backup status");
    await waitFor(async () => bridgeGuest(vmid).status === "failed" && (await ha.rest.state(status))?.state === "failed", {
      timeoutMs: 15_000,
      description: "bridge and HA: vaultwarden failed",
    });
    expect(bridgeGuest(vmid).status_reason).toContain(reason);
    await haMatchesBridge([vmid], "HA equal to the bridge after the failed backup");
  });

  it("selecting a tier in HA changes the guest's tier in the bridge", async () => {
    const vmid = 100; // homeassistant: P0 from its tag
    expect(bridgeGuest(vmid)).toMatchObject({ tier: "P0", tier_source: "tag" });
    const select = await entityOf(vmid, "Backup tier");
    await ha.rest.callService("select", "select_option", { entity_id: select, option: "P1" });
    await waitFor(() => bridgeGuest(vmid).tier === "P1", { timeoutMs: 10_000, description: "bridge tier P1" });
    expect(bridgeGuest(vmid).tier_source).toBe("override");
    await waitFor(async () => (await ha.rest.state(select))?.state === "P1", { timeoutMs: 10_000, description: "HA select shows P1" });
    await haMatchesBridge([vmid], "HA equal to the bridge after the tier change");
  });

  it("the lab stops answering → every guest entity unavailable, the source sensor off; the lab returns → available with the bridge's states", async () => {
    const vmids = labGuests.map((g) => g.vmid);
    const guestEntities = async () => {
      const ids: string[] = [];
      for (const vmid of vmids) ids.push(...[...(await deviceView(ha, guestDevice(vmid)))!.entities.values()].map((e) => e.entity_id));
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
          const all = await states();
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
        const all = await states();
        const still = ids.filter((id) => all.get(id)?.state === "unavailable");
        if (still.length) throw new Error(`still unavailable: ${still.join(", ")}`);
        return all.get(source)?.state === "on";
      },
      { timeoutMs: 20_000, description: "guest entities available again and the source on" },
    );
    await haMatchesBridge(vmids, "HA equal to the bridge after the outage");
  });

  it("the bridge restarts while Proxmox is down (a power cut) → every device and entity stays in HA, unavailable, and comes back when Proxmox answers", async () => {
    const vmids = labGuests.map((g) => g.vmid);
    const devicesBefore = (await ha.ws.deviceRegistry()).filter((d) => JSON.stringify(d.identifiers ?? []).includes("backup2mqtt_")).map((d) => d.id).sort();
    const entitiesBefore = (await ha.ws.entityRegistry()).filter((e) => e.unique_id.startsWith("backup2mqtt_")).map((e) => e.entity_id).sort();
    const guestEntities = (await ha.ws.entityRegistry()).filter((e) => /^backup2mqtt_home_\d+_/.test(e.unique_id)).map((e) => e.entity_id);
    await stack.stopBridge();
    stack.lab.control.setFault({ kind: "down" });
    try {
      await stack.startBridge();
      // Longer than the removal grace and the old start-up cleanup (3 s).
      await new Promise((r) => setTimeout(r, REMOVAL_GRACE_MS + 2000));
      expect((await ha.ws.deviceRegistry()).filter((d) => JSON.stringify(d.identifiers ?? []).includes("backup2mqtt_")).map((d) => d.id).sort()).toEqual(devicesBefore);
      expect((await ha.ws.entityRegistry()).filter((e) => e.unique_id.startsWith("backup2mqtt_")).map((e) => e.entity_id).sort()).toEqual(entitiesBefore);
      await waitFor(
        async () => {
          const all = await states();
          const still = guestEntities.filter((id) => all.get(id)?.state !== "unavailable");
          if (still.length) throw new Error(`still available: ${still.join(", ")}`);
          return true;
        },
        { timeoutMs: 20_000, description: "guest entities unavailable while Proxmox is down" },
      );
    } finally {
      stack.lab.control.setFault(null);
    }
    await haMatchesBridge(vmids, "HA equal to the bridge once Proxmox answers");
    expect((await ha.ws.entityRegistry()).filter((e) => e.unique_id.startsWith("backup2mqtt_")).map((e) => e.entity_id).sort()).toEqual(entitiesBefore);
  });

  it("HA restarts → its birth message makes the bridge republish; entities and states come back without restarting the bridge", async () => {
    const vmids = labGuests.map((g) => g.vmid);
    const bridgeBefore = stack.service.bridge;
    const entitiesBefore = (await ha.ws.entityRegistry()).filter((e) => e.unique_id.startsWith("backup2mqtt_")).map((e) => e.entity_id).sort();
    const logsBefore = stack.logs.length;
    const t0 = Date.now();

    await recorder.stop();
    await ha.restart();
    await recorder.start();

    await waitFor(() => stack.observer.messages.some((m) => m.at >= t0 && m.topic === "homeassistant/status" && m.payload === "online"), {
      timeoutMs: 20_000,
      description: "HA's birth message on the broker",
    });
    await waitFor(() => stack.logs.slice(logsBefore).some((l) => l.includes("Home Assistant is online: republishing")), {
      timeoutMs: 20_000,
      description: "the bridge republishing after the birth",
    });
    await haMatchesBridge(vmids, "HA states after its restart");
    const all = await states();
    for (const id of entitiesBefore) expect(all.get(id)?.state, id).not.toBe("unavailable");
    // Same entities (none doubled as *_2), same bridge instance, same MQTT session.
    expect((await ha.ws.entityRegistry()).filter((e) => e.unique_id.startsWith("backup2mqtt_")).map((e) => e.entity_id).sort()).toEqual(entitiesBefore);
    expect(stack.service.bridge).toBe(bridgeBefore);
    expect(stack.logs.slice(logsBefore).some((l) => l.includes("MQTT reconnected"))).toBe(false);
  });

  it("a guest removed from the lab → its device stays for mqtt.removal_grace, then it and its entities leave HA", async () => {
    const vmid = 103;
    const view = (await deviceView(ha, guestDevice(vmid)))!;
    const ids = [...view.entities.values()].map((e) => e.entity_id);
    expect(ids).toHaveLength(GUEST_ENTITIES.length);

    stack.lab.control.removeGuest(vmid);
    const removedAt = Date.now();
    await waitFor(async () => (stack.observer.json("backup2mqtt/bridge/info")?.pending_removal ?? []).some((p: { device: string }) => p.device === `home_${vmid}`), {
      timeoutMs: 10_000,
      description: "103 waiting for removal in the bridge info",
    });
    // Still in HA during the grace period.
    expect((await ha.ws.deviceRegistry()).some((d) => d.id === view.device.id)).toBe(true);
    await waitFor(async () => !(await ha.ws.deviceRegistry()).some((d) => d.id === view.device.id), {
      timeoutMs: 20_000,
      description: "the device of 103 gone from HA's device registry",
    });
    expect(Date.now() - removedAt).toBeGreaterThanOrEqual(REMOVAL_GRACE_MS);
    const registry = await ha.ws.entityRegistry();
    expect(registry.filter((e) => e.unique_id.startsWith(`${guestDevice(vmid)}_`) || ids.includes(e.entity_id))).toEqual([]);
    const all = await states();
    expect(ids.filter((id) => all.has(id))).toEqual([]);
    // The others stay.
    const rest = labGuests.filter((g) => g.vmid !== vmid).map((g) => g.vmid);
    await haMatchesBridge(rest, "the remaining guests unchanged");
  });

  it("HA's log has no warning or error from MQTT (or anything else) about what the bridge published", () => {
    expect(ha.logText()).toMatch(/Processing device discovery for 'backup2mqtt_home_bridge'/); // the log is the right one
    expect(ha.mqttProblems()).toEqual([]);
    expect(logProblems(ha.logText(), ALLOWED_LOG_LINES)).toEqual([]);
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
