/**
 * What a newcomer does after `npm start`: add Home Assistant's MQTT integration, type the demo
 * broker's host and port, leave everything else as the form offers it, and submit. Home Assistant
 * 2026 offers MQTT 5 by default (DEFAULT_PROTOCOL = PROTOCOL_5 in
 * homeassistant/components/mqtt/const.py), so this works only when the demo's embedded broker
 * (aedes, not Mosquitto) accepts MQTT 5. Then every device of the demo shows up, with no MQTT
 * warning or error in Home Assistant's log and no MQTT repair issue (such as "MQTT protocol
 * migration failed", which Home Assistant raises for an entry left on 3.1.1).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo } from "../../bridge/src/commands/demo.js";
import { startHomeAssistant, waitFor, type HaRest, type HomeAssistant } from "./runner.js";

/** A field of a config flow form, as Home Assistant's REST API describes it (voluptuous-serialize). */
interface FormField {
  name: string;
  type?: string;
  required?: boolean;
  default?: unknown;
  description?: { suggested_value?: unknown } | null;
  selector?: Record<string, { options?: (string | { value: string })[] } | null>;
  /** A section ("expandable"): its own fields. */
  schema?: FormField[];
}

interface FlowStep {
  flow_id: string;
  type: string;
  step_id?: string;
  data_schema?: FormField[];
  errors?: Record<string, string> | null;
  result?: { entry_id: string };
}

/**
 * The values Home Assistant's frontend puts in a form before the person types anything
 * (computeInitialHaFormData in home-assistant/frontend, src/components/ha-form/compute-initial-ha-form-data.ts):
 * a field's suggested value, else its default; a section's own initial values; for a required field without a default,
 * false for a boolean selector and the first option of a select selector. Optional fields
 * without a default stay out.
 */
function initialFormData(fields: FormField[]): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const f of fields) {
    const suggested = f.description?.suggested_value;
    if (suggested !== undefined && suggested !== null) data[f.name] = suggested;
    else if (f.default !== undefined) data[f.name] = f.default;
    else if (f.type === "expandable" && f.schema) data[f.name] = initialFormData(f.schema);
    else if (!f.required) continue;
    else if (f.selector && "boolean" in f.selector) data[f.name] = false;
    else if (f.selector?.select?.options?.length) {
      const first = f.selector.select.options[0]!;
      data[f.name] = typeof first === "string" ? first : first.value;
    }
  }
  return data;
}

let demo: Awaited<ReturnType<typeof runDemo>>;
let ha: HomeAssistant;
/** What was submitted in the MQTT config flow. */
let submitted: Record<string, unknown> = {};
let formDefaults: Record<string, unknown> = {};

/** Settings → Devices & services → Add integration → MQTT: broker host and port typed in, the rest as offered. */
async function addMqttWithDefaults(rest: HaRest, host: string, port: number): Promise<void> {
  const form = await rest.post<FlowStep>("/api/config/config_entries/flow", {
    handler: "mqtt",
    show_advanced_options: false,
  });
  if (form.type !== "form" || form.step_id !== "broker" || !form.data_schema)
    throw new Error(`the MQTT config flow did not open its broker form: ${JSON.stringify(form)}`);
  formDefaults = initialFormData(form.data_schema);
  submitted = { ...formDefaults, broker: host, port };
  const done = await rest.post<FlowStep>(`/api/config/config_entries/flow/${form.flow_id}`, submitted);
  if (done.type !== "create_entry")
    throw new Error(`the MQTT config flow did not create an entry: ${JSON.stringify(done)}`);
}

describe("Home Assistant with its default MQTT settings, on the demo's embedded broker", () => {
  beforeAll(async () => {
    demo = await runDemo({
      scenario: "demo",
      mqttPort: 0,
      httpPort: 0,
      taskSpeed: 10,
      logLevel: "warn",
      pollSeconds: 2,
    });
    const host = "127.0.0.1";
    ha = await startHomeAssistant({
      mqttHost: host,
      mqttPort: demo.broker.port,
      addMqttEntry: (rest) => addMqttWithDefaults(rest, host, demo.broker.port),
    });
  });

  afterAll(async () => {
    await ha?.stop();
    await demo?.stop();
  });

  it("the MQTT entry is made from the broker's host and port only, and uses MQTT 5", async () => {
    // The form's own defaults, as the frontend shows them: MQTT 5, port 1883, TCP, no TLS, no client certificate.
    expect(formDefaults).toEqual({
      port: 1883,
      protocol: "5",
      other_settings: { set_client_cert: false, set_ca_cert: "off", transport: "tcp" },
    });
    // Submitted: those, with the host typed in and the port changed; no other field.
    expect(submitted).toEqual({ ...formDefaults, broker: "127.0.0.1", port: demo.broker.port });
    expect(demo.broker.port).not.toBe(1883);
    // The entry as Home Assistant stored it (it writes .storage a moment after a change).
    const file = join(ha.configDir, ".storage/core.config_entries");
    const mqtt = await waitFor(
      () => {
        if (!existsSync(file)) return undefined;
        const stored = JSON.parse(readFileSync(file, "utf8")) as {
          data: { entries: { domain: string; data: Record<string, unknown> }[] };
        };
        const entries = stored.data.entries.filter((e) => e.domain === "mqtt");
        return entries.length ? entries : undefined;
      },
      { timeoutMs: 30_000, description: "the MQTT entry in .storage/core.config_entries" },
    );
    expect(mqtt).toHaveLength(1);
    expect(mqtt[0]!.data).toMatchObject({ broker: "127.0.0.1", port: demo.broker.port, protocol: "5" });
  });

  it("shows every device of the demo: the five guests, the Hyper Backup tasks, the PBS datastore and the bridge", async () => {
    const expected = [
      ...[100, 101, 102, 103, 105].map((vmid) => `backup2mqtt_home_${vmid}`),
      "backup2mqtt_home_hyperbackup_2",
      "backup2mqtt_home_hyperbackup_3",
      "backup2mqtt_home_pbs_store1",
      "backup2mqtt_home_bridge",
    ].sort();
    const ids = await waitFor(
      async () => {
        const found = (await ha.ws.deviceRegistry())
          .flatMap((d) => d.identifiers)
          .filter(([domain]) => domain === "mqtt")
          .map(([, id]) => id)
          .sort();
        return expected.every((id) => found.includes(id)) ? found : undefined;
      },
      { timeoutMs: 60_000, description: "the demo's devices in HA's device registry" },
    );
    expect(ids).toEqual(expected);
    // And states arrive: the entity of a guest's status has a value, not "unavailable" or "unknown".
    const status = await waitFor(
      async () => {
        const entry = (await ha.ws.entityRegistry()).find((e) => e.unique_id === "backup2mqtt_home_102_backup_status");
        const s = entry && (await ha.rest.state(entry.entity_id));
        return s && !["unavailable", "unknown"].includes(s.state) ? s : undefined;
      },
      { timeoutMs: 30_000, description: "a state for vaultwarden's status" },
    );
    expect(status.state).toBeTruthy();
  });

  it("logs no MQTT warning or error and raises no MQTT repair issue", async () => {
    // Give the connection a moment more: a protocol problem would show as a disconnect and a warning.
    await new Promise((r) => setTimeout(r, 3000));
    expect(ha.logText()).toContain("homeassistant.components.mqtt");
    expect(ha.mqttProblems()).toEqual([]);
    const { issues } = await ha.ws.command<{ issues: { domain: string; issue_id: string }[] }>({
      type: "repairs/list_issues",
    });
    expect(issues.filter((i) => i.domain === "mqtt")).toEqual([]);
  });
});
