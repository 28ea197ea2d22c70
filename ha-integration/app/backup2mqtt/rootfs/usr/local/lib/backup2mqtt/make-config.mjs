#!/usr/bin/env node
// make-config.mjs — the app's options (/data/options.json) + the Supervisor's MQTT service
// (GET http://supervisor/services/mqtt with $SUPERVISOR_TOKEN) → the bridge's config file
// (/data/backup2mqtt.json, mode 0600: it holds the Proxmox token secret and MQTT password).
//
// Paths and the Supervisor URL can be overridden (B2M_OPTIONS, B2M_CONFIG_OUT, B2M_SUPERVISOR_URL)
// so the script is tested outside the container (test/ha/ha-artifacts-app.test.ts).
import { readFileSync, writeFileSync, chmodSync } from "node:fs";

const optionsPath = process.env.B2M_OPTIONS ?? "/data/options.json";
const outPath = process.env.B2M_CONFIG_OUT ?? "/data/backup2mqtt.json";
const supervisor = process.env.B2M_SUPERVISOR_URL ?? "http://supervisor";
const token = process.env.SUPERVISOR_TOKEN;

function fail(msg) {
  process.stderr.write(`backup2mqtt app: ${msg}\n`);
  process.exit(1);
}

const options = JSON.parse(readFileSync(optionsPath, "utf8"));
if (!token) fail("SUPERVISOR_TOKEN is not set (the Supervisor provides it to apps)");

const res = await fetch(`${supervisor}/services/mqtt`, { headers: { Authorization: `Bearer ${token}` } });
if (!res.ok) fail(`the Supervisor has no MQTT service for us (HTTP ${res.status}); install and start the Mosquitto broker app`);
const body = await res.json();
const mqtt = body.data ?? body;
if (!mqtt.host || !mqtt.port) fail("the Supervisor's MQTT service has no host/port");

const scheme = mqtt.ssl ? "mqtts" : "mqtt";
const host = String(mqtt.host).includes(":") ? `[${mqtt.host}]` : mqtt.host;
const proxmox = (options.proxmox ?? []).map((p) => {
  if (!p.token_secret) fail(`proxmox '${p.name}': token_secret is empty`);
  const out = { name: p.name, url: p.url, token_id: p.token_id, token_secret: p.token_secret };
  if (p.fingerprint) out.fingerprint = p.fingerprint;
  if (p.ca_file) out.ca_file = p.ca_file;
  return out;
});
if (proxmox.length === 0) fail("configure at least one Proxmox VE cluster under 'proxmox'");

const guests = {};
for (const g of options.guests ?? []) guests[String(g.guest)] = { tier: g.tier };

const config = {
  site: options.site ?? "home",
  mqtt: {
    url: `${scheme}://${host}:${mqtt.port}`,
    ...(mqtt.username ? { username: mqtt.username } : {}),
    ...(mqtt.password ? { password: mqtt.password } : {}),
    client_id: `backup2mqtt-${options.site ?? "home"}`,
    discovery_prefix: options.discovery_prefix ?? "homeassistant",
    ...(options.base_topic ? { base_topic: options.base_topic } : {}),
  },
  proxmox,
  guests,
  http: { listen: "127.0.0.1:8080" },
  state_dir: process.env.B2M_STATE_DIR ?? "/data/state",
  log: { level: options.log_level ?? "info" },
};
writeFileSync(outPath, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
chmodSync(outPath, 0o600);
process.stdout.write(`backup2mqtt app: wrote ${outPath} (MQTT ${scheme}://${host}:${mqtt.port}, ${proxmox.length} Proxmox source(s))\n`);
