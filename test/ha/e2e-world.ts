/**
 * The world of the end-to-end files (`bridge-*.e2e.test.ts`): Mosquitto + HA 2026 (chroot,
 * runner.ts) + the simulated Proxmox lab (`demo` scenario) over HTTPS + the real bridge in-process
 * (test/support/stack.ts). Each file starts one world for all its tests; the tests of a file run in
 * order and each leaves the world as the next one expects.
 *
 * What HA shows is compared with what the bridge computed (the engine's guest states), never with
 * values written down in a test, and every wait ends at once when HA logs an MQTT problem.
 */
import { expect } from "vitest";
import type { GuestState } from "../../bridge/src/policy/types.js";
import { startStack, type Stack } from "../support/stack.js";
import { GUEST_ENTITIES } from "./entity-table.js";
import { deviceView, logProblems, sameSecond, StateRecorder, type DeviceView } from "./ha-view.js";
import {
  startHomeAssistant,
  startMosquitto,
  waitFor,
  type HaState,
  type HomeAssistant,
  type Mosquitto,
} from "./runner.js";

export const SITE = "home";
export const BRIDGE_DEVICE = `backup2mqtt_${SITE}_bridge`;
export const guestDevice = (vmid: number) => `backup2mqtt_${SITE}_${vmid}`;
/** The bridge's mqtt.removal_grace here: short, so a test sees both the wait and the removal. */
export const REMOVAL_GRACE_MS = 4000;
/** Whole-log lines that are not about us (see README "Known noise"). */
const ALLOWED_LOG_LINES = [
  { pattern: /\[homeassistant\.bootstrap\] Skipping pip installation/, why: "hass runs with --skip-pip on purpose" },
];

export class E2eWorld {
  broker!: Mosquitto;
  ha!: HomeAssistant;
  stack!: Stack;
  recorder!: StateRecorder;
  /** The lab's guests at start (vmid → name): the five demo guests. */
  labGuests: { vmid: number; name: string }[] = [];

  async start(): Promise<void> {
    this.broker = await startMosquitto();
    this.ha = await startHomeAssistant({ mqttHost: this.broker.host, mqttPort: this.broker.port });
    this.recorder = new StateRecorder(this.ha);
    await this.recorder.start();
    // taskSpeed 30: a 90 s vzdump of the lab takes 3 s; polls every 500 ms.
    this.stack = await startStack({
      broker: this.broker,
      lab: { scenario: "demo", taskSpeed: 30 },
      pollMs: 500,
      configure: (cfg) => {
        cfg.mqtt.removalGraceMs = REMOVAL_GRACE_MS;
      },
    });
    this.labGuests = [...this.stack.lab.control.state.guests.values()].map((g) => ({ vmid: g.vmid, name: g.name }));
  }

  async stop(): Promise<void> {
    await this.recorder?.stop();
    await this.stack?.stop();
    await this.ha?.stop();
    await this.broker?.stop();
  }

  get vmids(): number[] {
    return this.labGuests.map((g) => g.vmid);
  }

  /** The bridge's state of a guest. */
  bridgeGuest(vmid: number): GuestState {
    const g = this.stack.service.engine.guest(`${SITE}_${vmid}`);
    if (!g) throw new Error(`the bridge has no guest ${vmid}`);
    return g;
  }

  /** HA's states by entity id. */
  async states(): Promise<Map<string, HaState>> {
    return new Map((await this.ha.rest.states()).map((s) => [s.entity_id, s]));
  }

  /** The entity id of a guest's entity (by its README name), once HA has it and it is available. */
  async entityOf(vmid: number, name: string): Promise<string> {
    return await waitFor(
      async () => {
        const e = (await deviceView(this.ha, guestDevice(vmid)))?.entities.get(name);
        if (!e) throw new Error(`HA has no '${name}' entity for guest ${vmid}`);
        const s = await this.ha.rest.state(e.entity_id);
        if (!s || s.state === "unavailable") throw new Error(`${e.entity_id} is ${s?.state ?? "missing"}`);
        return e.entity_id;
      },
      { timeoutMs: 10_000, description: `'${name}' of guest ${vmid}` },
    );
  }

  /** Ends a wait at once when HA logged an MQTT problem (a rejected payload would only time out). */
  failOnMqttProblems(): void {
    const problems = this.ha.mqttProblems();
    if (problems.length)
      throw Object.assign(new Error(`HA logged MQTT problems:\n${problems.join("\n")}`), { fatal: true });
  }

  /** Where HA's states of one guest differ from the bridge's view of that guest ([] = same). */
  differences(view: DeviceView, g: GuestState, all: Map<string, HaState>): string[] {
    const out: string[] = [];
    for (const exp of GUEST_ENTITIES) {
      const e = view.entities.get(exp.name);
      const s = e ? all.get(e.entity_id) : undefined;
      if (!e || !s) {
        out.push(`${g.name} '${exp.name}': no entity/state`);
        continue;
      }
      const want = exp.expect?.(g);
      if (want?.kind === "exact" && s.state !== want.value)
        out.push(`${e.entity_id}: HA '${s.state}', bridge '${want.value}'`);
      if (want?.kind === "timestamp") {
        const ok = want.value === null ? s.state === "unknown" : sameSecond(s.state, want.value);
        if (!ok) out.push(`${e.entity_id}: HA '${s.state}', bridge '${want.value}'`);
      }
      // HA's `tojson` sorts object keys: compare the values, not their key order.
      for (const [k, v] of Object.entries(exp.attributes?.(g) ?? {}))
        if (canonicalJson(s.attributes[k]) !== canonicalJson(v))
          out.push(`${e.entity_id} attribute ${k}: HA ${JSON.stringify(s.attributes[k])}, bridge ${JSON.stringify(v)}`);
    }
    return out;
  }

  /** Waits until HA shows, for every guest in `vmids`, exactly what the bridge has. */
  async haMatchesBridge(vmids: number[], what: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      async () => {
        this.failOnMqttProblems();
        const all = await this.states();
        const diffs: string[] = [];
        for (const vmid of vmids) {
          const view = await deviceView(this.ha, guestDevice(vmid));
          if (!view) diffs.push(`no device for guest ${vmid}`);
          else diffs.push(...this.differences(view, this.bridgeGuest(vmid), all));
        }
        if (diffs.length) throw new Error(diffs.join("\n"));
        return true;
      },
      { timeoutMs, intervalMs: 300, description: what },
    );
  }

  /** For files that start past the registry test: every guest's device and entities are in HA, states equal to the bridge's. */
  async settled(): Promise<void> {
    await this.haMatchesBridge(this.vmids, "HA states equal to the bridge's guest states", 30_000);
  }

  /** HA's whole log has no warning or error from MQTT, nor from any other logger except the allowed lines. */
  expectCleanLog(): void {
    expect(this.ha.logText()).toMatch(/Processing device discovery for 'backup2mqtt_home_bridge'/); // the log is the right one
    expect(this.ha.mqttProblems()).toEqual([]);
    expect(logProblems(this.ha.logText(), ALLOWED_LOG_LINES)).toEqual([]);
  }
}

/** JSON with every object's keys sorted. */
function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : x,
  );
}
