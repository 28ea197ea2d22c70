#!/usr/bin/env node
// make-config.mjs: the app's options (/data/options.json) and the Supervisor's MQTT service
// (GET http://supervisor/services/mqtt with $SUPERVISOR_TOKEN) become the bridge's config file
// (/data/backup2mqtt.json). Secrets (the Proxmox token secrets, the MQTT password, the HTTP token)
// go into files of their own under /data/secrets, mode 0600, and the config names them with the
// bridge's *_file keys: the bridge reads a secret file as it is, while it would expand ${NAME} in a
// secret written into the config itself.
//
// The bridge listens on 0.0.0.0:8099, the app's ingress_port (config.yaml): Home Assistant's
// ingress proxy reaches the app over the Supervisor's internal network, and no port is published
// on the host.
//
// Paths and the Supervisor's URL can be overridden (B2M_OPTIONS, B2M_CONFIG_OUT, B2M_SECRETS_DIR,
// B2M_STATE_DIR, B2M_SUPERVISOR_URL) so the script runs outside the container in the tests
// (test/dist/app-make-config.test.ts).
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const optionsPath = process.env.B2M_OPTIONS ?? "/data/options.json";
const outPath = process.env.B2M_CONFIG_OUT ?? "/data/backup2mqtt.json";
const secretsDir = process.env.B2M_SECRETS_DIR ?? path.join(path.dirname(outPath), "secrets");
const stateDir = process.env.B2M_STATE_DIR ?? "/data/state";
const supervisor = process.env.B2M_SUPERVISOR_URL ?? "http://supervisor";
const token = process.env.SUPERVISOR_TOKEN;
const LISTEN = "0.0.0.0:8099";

function fail(msg) {
  process.stderr.write(`backup2mqtt app: ${msg}\n`);
  process.exit(1);
}

let options;
try {
  options = JSON.parse(readFileSync(optionsPath, "utf8"));
} catch (e) {
  fail(`cannot read the app's options (${optionsPath}): ${e.message}`);
}
if (!token) fail("SUPERVISOR_TOKEN is not set (the Supervisor gives it to every app)");

// The Supervisor answers {"result":"ok","data":{host,port,ssl,username,password,protocol,…}}, or
// an error (HTTP 400) when no app provides MQTT (supervisor/api/services.py,
// supervisor/services/modules/mqtt.py in home-assistant/supervisor).
let res;
try {
  res = await fetch(`${supervisor}/services/mqtt`, { headers: { Authorization: `Bearer ${token}` } });
} catch (e) {
  fail(`cannot reach the Supervisor at ${supervisor}: ${e.cause?.message ?? e.message}`);
}
if (!res.ok)
  fail(`the Supervisor has no MQTT service for us (HTTP ${res.status}); install and start the Mosquitto broker app`);
const body = await res.json();
const mqtt = body.data ?? {};
if (!mqtt.host || !mqtt.port)
  fail("the Supervisor's MQTT service has no host and port; install and start the Mosquitto broker app");

mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
chmodSync(secretsDir, 0o700);
/** Writes one secret to its own file (0600) and returns the path for the config's *_file key. */
function secretFile(name, value) {
  const file = path.join(secretsDir, name);
  writeFileSync(file, value, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

const scheme = mqtt.ssl ? "mqtts" : "mqtt";
const host = String(mqtt.host).includes(":") ? `[${mqtt.host}]` : String(mqtt.host);
const site = options.site || "home";

const proxmox = (options.proxmox ?? []).map((p, i) => {
  if (!p.token_secret)
    fail(`proxmox '${p.name}': token_secret is empty; paste the secret Proxmox showed when it created the token`);
  const out = {
    name: p.name,
    url: p.url,
    token_id: p.token_id,
    token_secret_file: secretFile(`proxmox-${i}-token-secret`, p.token_secret),
  };
  if (p.fingerprint) out.fingerprint = p.fingerprint;
  if (p.ca_file) out.ca_file = p.ca_file;
  return out;
});
if (proxmox.length === 0) fail("configure at least one Proxmox VE cluster under 'proxmox'");

const guests = {};
for (const g of options.guests ?? []) guests[String(g.guest)] = { tier: g.tier };

const http = { listen: LISTEN };
if (options.http_token) http.token_file = secretFile("http-token", options.http_token);

const config = {
  site,
  mqtt: {
    url: `${scheme}://${host}:${mqtt.port}`,
    ...(mqtt.username ? { username: mqtt.username } : {}),
    ...(mqtt.password ? { password_file: secretFile("mqtt-password", mqtt.password) } : {}),
    client_id: `backup2mqtt-${site}`,
    discovery_prefix: options.discovery_prefix || "homeassistant",
    ...(options.base_topic ? { base_topic: options.base_topic } : {}),
  },
  proxmox,
  guests,
  http,
  state_dir: stateDir,
  log: { level: options.log_level || "info" },
};
writeFileSync(outPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
chmodSync(outPath, 0o600);
process.stdout.write(
  `backup2mqtt app: wrote ${outPath} (MQTT ${scheme}://${host}:${mqtt.port}, ${proxmox.length} Proxmox ` +
    `${proxmox.length === 1 ? "cluster" : "clusters"}, ` +
    `Back up now on the status page ${options.http_token ? "on" : "off: no http_token"})\n`,
);
