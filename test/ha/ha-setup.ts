/**
 * Bringing a fresh Home Assistant to where tests need it: onboarding through its HTTP API (admin
 * user → login token → long-lived token), the MQTT config entry for the test broker, and the wait
 * until that entry is loaded, Home Assistant is RUNNING and MQTT discovery is subscribed.
 */
import { sleep, waitFor } from "../support/process.js";
import type { HaHttp } from "./ha-rest.js";
import type { HaConfigEntry } from "./ha-types.js";
import type { WsClient } from "./ha-ws.js";

export const HA_USER = { name: "Test", username: "test", password: "test-password-b2m", language: "en" } as const;

/**
 * Onboards the admin user and returns a long-lived access token. `setToken` is called with the login
 * token as soon as there is one, since the later onboarding steps need it.
 */
export async function onboard(
  url: string,
  http: HaHttp,
  ws: WsClient,
  setToken: (token: string) => void,
): Promise<string> {
  const { rawFetch, checked, rest } = http;
  const clientId = `${url}/`;
  const user = await checked<{ auth_code: string }>(
    await rawFetch(
      "/api/onboarding/users",
      {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ client_id: clientId, ...HA_USER }),
      },
      false,
    ),
    "onboarding user step",
  );
  const tok = await checked<{ access_token: string }>(
    await rawFetch(
      "/auth/token",
      {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "authorization_code", code: user.auth_code, client_id: clientId }),
      },
      false,
    ),
    "auth token",
  );
  setToken(tok.access_token);
  // Remaining onboarding steps (the integration step needs a token that came from a login, so it
  // runs before the switch to a long-lived token). core_config is left open on purpose: finishing
  // it starts config flows for google_translate, met, radio_browser and shopping_list (network +
  // runtime installs), and nothing here needs it.
  await rest.post("/api/onboarding/analytics");
  await rest.post("/api/onboarding/integration", { client_id: clientId, redirect_uri: `${clientId}?auth_callback=1` });
  // The access token from the login expires after 30 min: switch to a long-lived one.
  const longLived = await ws.command<string>({
    type: "auth/long_lived_access_token",
    client_name: "backup2mqtt tests",
    lifespan: 365,
  });
  ws.close();
  return longLived;
}

/** Creates the MQTT config entry for the broker at host:port through the MQTT config flow. */
export async function createMqttEntry(http: HaHttp, mqttHost: string, mqttPort: number): Promise<void> {
  const { rest } = http;
  const flow = await rest.post<{ flow_id: string; type: string; step_id?: string }>("/api/config/config_entries/flow", {
    handler: "mqtt",
    show_advanced_options: false,
  });
  if (flow.type !== "form" || flow.step_id !== "broker")
    throw new Error(`unexpected MQTT flow start: ${JSON.stringify(flow)}`);
  const done = await rest.post<{ type: string; errors?: unknown; result?: { entry_id: string } }>(
    `/api/config/config_entries/flow/${flow.flow_id}`,
    {
      broker: mqttHost,
      port: mqttPort,
      other_settings: { set_client_cert: false, set_ca_cert: "off", transport: "tcp" },
    },
  );
  if (done.type !== "create_entry")
    throw new Error(`MQTT config flow did not create an entry: ${JSON.stringify(done)}`);
}

export interface ReadyOptions {
  timeoutMs: number;
  mqttLogLevel: string;
  /** MQTT discovery prefix whose subscriptions are waited for (with debug logging only). */
  discoveryPrefix: string;
  /** The current home-assistant.log text. */
  currentLog(): string;
}

/** Waits until the REST API answers, the MQTT entry is loaded, HA is RUNNING and (debug logging) discovery is subscribed. */
export async function waitReady(http: HaHttp, ws: WsClient, o: ReadyOptions): Promise<void> {
  const { rest } = http;
  await waitFor(async () => (await rest.get<{ message: string }>("/api/")).message === "API running.", {
    timeoutMs: o.timeoutMs,
    description: "HA REST API",
  });
  await waitFor(
    async () => {
      const entries = await ws.command<HaConfigEntry[]>({ type: "config_entries/get", domain: "mqtt" });
      const e = entries[0];
      if (e && (e.state === "setup_error" || e.state === "setup_retry"))
        throw new Error(`mqtt config entry state ${e.state}: ${String(e.reason ?? "")}`);
      return e?.state === "loaded";
    },
    { timeoutMs: o.timeoutMs, intervalMs: 500, description: "MQTT config entry loaded" },
  );
  await waitFor(async () => (await ws.command<{ state: string }>({ type: "get_config" })).state === "RUNNING", {
    timeoutMs: o.timeoutMs,
    intervalMs: 500,
    description: "HA state RUNNING",
  });
  if (o.mqttLogLevel === "debug") {
    // Discovery subscriptions are made shortly after the client connects; with debug logging we
    // can see the last one (device discovery with a node id) go out.
    const subscribed = new RegExp(`Subscribing with mid: \\d+ to topic ${o.discoveryPrefix}/device/\\+/\\+/config`);
    await waitFor(() => subscribed.test(o.currentLog()), {
      timeoutMs: 30_000,
      intervalMs: 100,
      description: "MQTT discovery subscriptions",
    });
    await sleep(200);
  }
}
