/**
 * Proves the harness: Mosquitto + a real Home Assistant accept one device-based discovery config.
 */
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHomeAssistant, startMosquitto, waitFor, type HomeAssistant, type Mosquitto } from "./runner.js";

const DISCOVERY_TOPIC = "homeassistant/device/smoke_1/config";
const STATE_TOPIC = "b2m-smoke/smoke_1/state";

const discovery = {
  dev: { ids: ["b2m_smoke_1"], name: "Smoke device", mf: "backup2mqtt", mdl: "harness smoke test", sw: "0.0.0" },
  o: { name: "backup2mqtt-smoke", sw: "0.0.0", url: "https://example.invalid/backup2mqtt" },
  cmps: {
    temperature: {
      p: "sensor",
      uniq_id: "b2m_smoke_1_temperature",
      def_ent_id: "sensor.b2m_smoke_1_temperature",
      name: "Temperature",
      dev_cla: "temperature",
      stat_cla: "measurement",
      unit_of_meas: "°C",
      stat_t: STATE_TOPIC,
    },
  },
};

describe("Home Assistant harness smoke test", () => {
  let broker: Mosquitto;
  let ha: HomeAssistant;
  let client: mqtt.MqttClient;

  beforeAll(async () => {
    broker = await startMosquitto();
    ha = await startHomeAssistant({ mqttHost: broker.host, mqttPort: broker.port });
    client = await mqtt.connectAsync(broker.url, { clientId: "b2m-smoke" });
  });

  afterAll(async () => {
    await client?.endAsync();
    await ha?.stop();
    await broker?.stop();
  });

  it("creates the entity from a retained device discovery config and shows the published state", async () => {
    expect(ha.version).toMatch(/^2026\./);
    await client.publishAsync(DISCOVERY_TOPIC, JSON.stringify(discovery), { retain: true, qos: 1 });
    await client.publishAsync(STATE_TOPIC, "21.5", { retain: true, qos: 1 });

    const entry = await waitFor(
      async () => (await ha.ws.entityRegistry()).find((e) => e.unique_id === "b2m_smoke_1_temperature"),
      { timeoutMs: 30_000, description: "entity registry entry for b2m_smoke_1_temperature" },
    );
    expect(entry.platform).toBe("mqtt");
    expect(entry.entity_id).toBe("sensor.b2m_smoke_1_temperature");

    const device = (await ha.ws.deviceRegistry()).find((d) => d.id === entry.device_id);
    expect(device?.name).toBe("Smoke device");
    expect(device?.identifiers).toContainEqual(["mqtt", "b2m_smoke_1"]);

    const state = await waitFor(
      async () => {
        const s = await ha.rest.state(entry.entity_id);
        return s?.state === "21.5" ? s : undefined;
      },
      { timeoutMs: 30_000, description: "state 21.5" },
    );
    expect(state.attributes.unit_of_measurement).toBe("°C");
    expect(state.attributes.friendly_name).toBe("Smoke device Temperature");

    expect(ha.logText()).toContain("homeassistant.components.mqtt");
    expect(ha.mqttProblems()).toEqual([]);
  });

  it("keeps the entity across a Home Assistant restart", async () => {
    await ha.restart();
    const state = await waitFor(
      async () => {
        const s = await ha.rest.state("sensor.b2m_smoke_1_temperature");
        return s?.state === "21.5" ? s : undefined;
      },
      { timeoutMs: 60_000, description: "state 21.5 after restart" },
    );
    expect(state.state).toBe("21.5");
    expect(ha.mqttProblems()).toEqual([]);
  });
});
