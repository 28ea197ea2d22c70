import fs from "node:fs";
import mqtt, { type MqttClient } from "mqtt";
import type { Config } from "../config/load.js";
import { createLogger } from "../log.js";
import { DEVICE_ID_PREFIX, deviceId, Topics } from "../core/identity.js";
import { DeviceRegistry, ownFoundDevice } from "../state/devices.js";

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** How long to wait for retained messages and for a running bridge's answer. */
const RETAINED_WAIT_MS = 1_500;
const ANSWER_WAIT_MS = 10_000;

/**
 * `backup2mqtt forget <id>`: removes a device from Home Assistant at once instead of waiting for
 * mqtt.removal_grace. When the bridge runs (its retained state is "online"), it is asked over MQTT
 * (bridge command `forget`), so its own list stays right; otherwise the retained config and state are
 * cleared here and the device is dropped from state_dir/devices.json.
 */
export async function forgetCommand(cfg: Config, id: string, opts: { force?: boolean } = {}): Promise<CommandResult> {
  const t = new Topics(cfg.mqtt.baseTopic, cfg.mqtt.discoveryPrefix, cfg.site);
  const objectId = id.startsWith(DEVICE_ID_PREFIX) ? id.slice(DEVICE_ID_PREFIX.length) : id;
  if (!/^[A-Za-z0-9_.-]+$/.test(objectId))
    return fail(`'${id}' is not a device id (expected something like ${cfg.site}_100)`);
  let client: MqttClient;
  try {
    client = await mqtt.connectAsync(cfg.mqtt.url, {
      username: cfg.mqtt.username,
      password: cfg.mqtt.password,
      clientId: `backup2mqtt_forget_${Math.random().toString(16).slice(2, 8)}`,
      ...(cfg.mqtt.caFile ? { ca: fs.readFileSync(cfg.mqtt.caFile) } : {}),
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
  } catch (e) {
    return fail(`cannot reach the MQTT broker: ${(e as Error).message}`);
  }
  try {
    const configTopic = t.deviceConfig(deviceId(objectId));
    const retained = await readRetained(client, [t.bridgeState, t.bridgeInfo, configTopic]);
    const info = parse(retained.get(t.bridgeInfo));
    if (typeof info?.site === "string" && info.site !== cfg.site)
      return fail(`the topics under '${t.base}' belong to the bridge of site '${info.site}', not '${cfg.site}'`);
    if (retained.get(t.bridgeState) === "online") return await askBridge(client, t, objectId);

    // The bridge is not running: do it here.
    const registry = new DeviceRegistry(
      cfg.stateDir,
      createLogger("error", () => cfg.secrets, process.stderr),
    );
    const known = registry.get(deviceId(objectId));
    const payload = retained.get(configTopic);
    const found = payload ? ownFoundDevice(configTopic, payload, t) : null;
    if (!known && !found)
      return fail(`there is no device '${objectId}' of this bridge on the broker (nothing retained on ${configTopic})`);
    // The bridge saw it in its source when it last ran: deleting it now would only make Home Assistant
    // create it again, as a new device, at the next start.
    if (known && known.goneSinceMs === undefined && !opts.force)
      return fail(
        `${known.name ? `${known.name} (${objectId})` : objectId} still existed in Proxmox${known.source ? ` '${known.source}'` : ""} when the bridge last ran, so its device would come back at the next start; start the bridge to let it notice the guest is gone, or add --force if you are sure`,
      );
    const stateTopic = known?.stateTopic ?? found?.entry.stateTopic;
    await client.publishAsync(configTopic, "", { retain: true, qos: 1 });
    if (stateTopic) await client.publishAsync(stateTopic, "", { retain: true, qos: 1 });
    registry.forget(deviceId(objectId));
    registry.save();
    const name = known?.name ?? found?.entry.name;
    return {
      exitCode: 0,
      stdout: `Forgot ${name ? `${name} (${objectId})` : objectId}: its Home Assistant device is removed.\n`,
      stderr: "",
    };
  } finally {
    await client.endAsync().catch(() => undefined);
  }
}

async function askBridge(client: MqttClient, t: Topics, objectId: string): Promise<CommandResult> {
  const requestId = `forget-${Math.random().toString(16).slice(2, 10)}`;
  const answer = new Promise<Record<string, unknown> | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ANSWER_WAIT_MS);
    client.on("message", (topic, payload) => {
      if (topic !== t.bridgeEvent) return;
      const ev = parse(payload.toString("utf8"));
      if (!ev) return;
      if (
        (ev.event_type === "device_forgotten" && ev.device === objectId) ||
        (ev.event_type === "command_rejected" && ev.request_id === requestId)
      ) {
        clearTimeout(timer);
        resolve(ev);
      }
    });
  });
  await client.subscribeAsync(t.bridgeEvent, { qos: 1 });
  await client.publishAsync(
    t.bridgeCommand,
    JSON.stringify({ action: "forget", guest: objectId, request_id: requestId, origin: "cli" }),
    { qos: 1 },
  );
  const ev = await answer;
  if (!ev) return fail(`the bridge is online but did not answer within ${ANSWER_WAIT_MS / 1000} s`);
  if (ev.event_type === "command_rejected") return fail(`the bridge refused: ${String(ev.reason)}`);
  return { exitCode: 0, stdout: `Forgot ${objectId}: the bridge removed its Home Assistant device.\n`, stderr: "" };
}

/** The retained payloads of some topics ("" or absent: nothing retained). */
async function readRetained(client: MqttClient, topics: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const onMessage = (topic: string, payload: Buffer, packet: { retain: boolean }) => {
    if (packet.retain && topics.includes(topic)) out.set(topic, payload.toString("utf8"));
  };
  client.on("message", onMessage);
  await client.subscribeAsync(topics, { qos: 1 });
  await new Promise((r) => setTimeout(r, RETAINED_WAIT_MS));
  client.off("message", onMessage);
  await client.unsubscribeAsync(topics);
  return out;
}

function parse(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const fail = (msg: string): CommandResult => ({ exitCode: 1, stdout: "", stderr: `backup2mqtt forget: ${msg}\n` });
