/**
 * Secrets never leak. Every secret the bridge holds gets a sentinel value (PVE token, PBS token,
 * DSM password, MQTT password — also inside the broker URL —, HTTP bearer token, webhook secret,
 * SSH private key); then every feature runs — polls, Back up now over MQTT and HTTP, verify over
 * SSH, set_tier, refresh, Hyper Backup run, PBS verify, the webhook, malformed and refused
 * commands, sources failing with 401/500/garbage — plus `check`, `report` and `plan`. Everything
 * that leaves the bridge is scanned for each sentinel (raw, base64, URL-encoded): the log, every
 * MQTT payload, every HTTP response (headers and body, status page, metrics, report, errors),
 * the CLI outputs and the files in state_dir. None may appear.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario, startLab, type Lab } from "backup2mqtt-lab";
import { startOffsiteLabs } from "../../bridge/src/demo/lab-wiring.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../bridge/src/demo/broker.js";
import { startSshDouble, type SshDouble } from "backup2mqtt-lab/ssh-double";
import { Observer } from "../support/observer.js";

const cli = path.resolve(import.meta.dirname, "../../bridge/dist/cli.js");

const SENTINEL = {
  pve: "SENTINEL-pve-9f3c1a77-5d2e-4b8a-a1c0-7e6f5d4c3b2a",
  pbs: "SENTINEL-pbs-2b7e4c19-8a6d-4f3e-b2c1-0d9e8f7a6b5c",
  dsm: "SENTINEL-dsm-Qx7!pW2#zR9",
  mqtt: "SENTINEL-mqtt-Lm4Nb8Vc",
  mqttUrl: "SENTINEL-mqtturl-Hg5Tf3",
  http: "SENTINEL-http-8c1d4e7f2a5b",
  hook: "SENTINEL-hook-3e6f9a2b5c8d",
};

let lab: Lab;
let offsite: Awaited<ReturnType<typeof startOffsiteLabs>>;
let broker: EmbeddedBroker;
let ssh: SshDouble;
let observer: Observer;
let bridge: ChildProcess | undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-secrets-"));
const out: string[] = [];
const http: string[] = [];
let httpUrl = "";

function variants(secret: string): string[] {
  return [secret, Buffer.from(secret).toString("base64"), encodeURIComponent(secret)];
}

/** Every place a secret could show up, with the sentinels found there. */
function leaks(corpus: Record<string, string>, secrets: string[]): string[] {
  const found: string[] = [];
  for (const [where, text] of Object.entries(corpus)) {
    for (const s of secrets)
      for (const v of variants(s)) if (text.includes(v)) found.push(`${where}: contains ${v.slice(0, 20)}…`);
  }
  return found;
}

function runCli(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env } });
    let text = "";
    c.stdout.on("data", (d) => (text += d));
    c.stderr.on("data", (d) => (text += d));
    c.on("exit", (code) => resolve(`${text}\n(exit ${code})`));
  });
}

async function get(p: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(`${httpUrl}${p}`, init);
  const body = await res.text();
  http.push(
    `${init.method ?? "GET"} ${p} → ${res.status}\n${[...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n\n${body}`,
  );
  return new Response(body, { status: res.status });
}

const env = { B2M_PVE_SECRET: SENTINEL.pve, B2M_HOOK: SENTINEL.hook };

beforeAll(async () => {
  const scenario = structuredClone(loadScenario("demo")) as any;
  for (const t of scenario.tokens) t.secret = `${SENTINEL.pve}-${t.id.replace(/[^a-z]/gi, "")}`;
  scenario.tokens[0].secret = SENTINEL.pve;
  scenario.synology.users = [{ account: "backup2mqtt", password: SENTINEL.dsm, admin: true }];
  scenario.pbs.tokens = [{ id: "backup2mqtt@pbs!bridge", secret: SENTINEL.pbs }];
  lab = await startLab({ scenario, taskSpeed: 20, authFailDelayMs: 0 });
  offsite = await startOffsiteLabs(scenario, lab.clock, 20);
  broker = await startEmbeddedBroker(0);
  ssh = await startSshDouble(lab);
  observer = await Observer.connect(broker.url);
  const w = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text, { mode: 0o600 });
    return f;
  };
  const port = broker.url.split(":").pop();
  w(
    "backup2mqtt.yaml",
    `site: home
mqtt:
  url: "mqtt://backup2mqtt:${SENTINEL.mqttUrl}@127.0.0.1:${port}"
  username: backup2mqtt
  password_file: ${w("mqtt.secret", `${SENTINEL.mqtt}\n`)}
proxmox:
  - name: pve
    url: ${lab.url}
    token_id: "${lab.tokens[0]!.id}"
    token_secret: \${B2M_PVE_SECRET}
    fingerprint: "${lab.fingerprint}"
    poll_interval: 1s
    content_interval: 5s
    timeout: 3s
    ssh:
      host: 127.0.0.1
      port: ${ssh.port}
      username: root
      private_key_file: ${w("id_test", ssh.clientPrivateKey)}
      host_key: "${ssh.hostKeyFingerprint}"
    verify: { automatic: true }
synology:
  - name: nas
    url: ${offsite.dsm!.url}
    username: backup2mqtt
    password_file: ${w("dsm.secret", SENTINEL.dsm)}
    fingerprint: "${offsite.dsm!.fingerprint}"
    timezone: ${offsite.dsm!.scenario.timezone}
    poll_interval: 2s
    tasks:
      "2": { protects: [synology], offsite: true }
pbs:
  - name: pbs
    url: ${offsite.pbs!.url}
    token_id: "backup2mqtt@pbs!bridge"
    token_secret_file: ${w("pbs.secret", SENTINEL.pbs)}
    fingerprint: "${offsite.pbs!.fingerprint}"
    poll_interval: 2s
    datastores: { store1: { storages: [pbs] } }
http:
  listen: 127.0.0.1:0
  token_file: ${w("http.secret", SENTINEL.http)}
  webhook_secret: \${B2M_HOOK}
state_dir: ${path.join(dir, "state")}
log: { level: debug }
`,
  );
}, 60_000);

afterAll(async () => {
  if (bridge && bridge.exitCode === null) bridge.kill("SIGKILL");
  await observer?.close();
  await broker?.close();
  await ssh?.stop();
  await offsite?.stop();
  await lab?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("secrets", () => {
  it("no sentinel secret appears in logs, MQTT, HTTP, CLI output or state_dir, whatever the bridge does", async () => {
    const cfg = path.join(dir, "backup2mqtt.yaml");
    bridge = spawn(process.execPath, [cli, "run", "--config", cfg], { env: { ...process.env, ...env } });
    bridge.stdout!.on("data", (d) => out.push(String(d)));
    bridge.stderr!.on("data", (d) => out.push(String(d)));
    const o = observer;
    await o.until(
      "guest states",
      () => o.json("backup2mqtt/guest/home_100/state") && o.json("backup2mqtt/guest/home_103/state"),
      20_000,
    );
    const listening = await o.until(
      "HTTP URL in the log",
      () => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out.join(""))?.[1],
      10_000,
    );
    httpUrl = listening;

    // MQTT commands: good, refused, malformed, on guests, the bridge, Hyper Backup and PBS devices.
    const cmds: [string, string][] = [
      ["backup2mqtt/guest/home_103/command", '{"action":"backup","origin":"secrets-test"}'],
      ["backup2mqtt/guest/home_100/command", '{"action":"verify"}'],
      ["backup2mqtt/guest/home_101/command", '{"action":"set_tier","tier":"P1"}'],
      ["backup2mqtt/guest/home_101/command", '{"action":"set_tier","tier":"P9"}'],
      ["backup2mqtt/guest/home_100/command", "not json at all"],
      ["backup2mqtt/bridge/command", '{"action":"refresh"}'],
      ["backup2mqtt/hyperbackup/2/command", '{"action":"run"}'],
      ["backup2mqtt/pbs/store1/command", '{"action":"verify"}'],
      ["backup2mqtt/guest/home_999/command", '{"action":"backup"}'],
    ];
    for (const [t, p] of cmds) await o.publish(t, p);
    await o.until(
      "verify result",
      () =>
        o.messages.some(
          (m) => m.topic === "backup2mqtt/guest/home_100/event" && /verify_(finished|failed)/.test(m.payload),
        ),
      20_000,
    );
    await o.until(
      "backup finished",
      () =>
        o.messages.some((m) => m.topic === "backup2mqtt/guest/home_103/event" && m.payload.includes("backup_finished")),
      30_000,
    );

    // HTTP: every route, with the right token, a wrong one and none.
    const bearer = { authorization: `Bearer ${SENTINEL.http}` };
    for (const p of [
      "/",
      "/healthz",
      "/api/v1/guests",
      "/api/v1/guests/home_100",
      "/api/v1/guests/nope",
      "/metrics",
      "/report.md",
      "/no-such-route",
    ])
      await get(p);
    await get("/api/v1/guests/home_102/backup", {
      method: "POST",
      headers: { ...bearer, "content-type": "application/json" },
      body: '{"request_id":"r1"}',
    });
    await get("/api/v1/guests/home_102/backup", { method: "POST", headers: { authorization: "Bearer wrong" } });
    await get("/api/v1/guests/home_102/backup", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{broken",
    });
    await get("/guests/home_101/backup", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `token=${encodeURIComponent(SENTINEL.http)}`,
    });
    await get("/api/v1/webhook/pve", {
      method: "POST",
      headers: { "x-backup2mqtt-secret": SENTINEL.hook, "content-type": "application/json" },
      body: '{"title":"vzdump backup status (proxmox-home): backup successful"}',
    });
    await get("/api/v1/webhook/pve", { method: "POST", headers: { "x-backup2mqtt-secret": "wrong" }, body: "x" });

    // Sources fail in every way while the bridge keeps logging at debug level.
    const faults = [
      [{ kind: "unauthorized" }, { kind: "http500" }],
      [{ kind: "http500" }, { kind: "garbage" }],
      [{ kind: "garbage" }, { kind: "down" }],
      [{ kind: "wrongTypes" }, { kind: "http500" }],
    ] as const;
    for (const [pve, other] of faults) {
      lab.control.setFault(pve);
      offsite.dsm!.control.setFault(other);
      offsite.pbs!.control.setFault(other);
      await new Promise((r) => setTimeout(r, 2500));
    }
    lab.control.setFault(null);
    offsite.dsm!.control.setFault(null);
    offsite.pbs!.control.setFault(null);
    offsite.dsm!.control.expireSessions();
    await o.until(
      "recovered",
      () =>
        o.json("backup2mqtt/bridge/info")?.sources?.pve?.up &&
        !o.json("backup2mqtt/bridge/info")?.sources?.pve?.degraded,
      15_000,
    );
    await get("/report.md");
    await get("/");
    await o.publish("homeassistant/status", "online"); // birth: everything republished
    await new Promise((r) => setTimeout(r, 1500));

    // The other commands a user runs with the same config.
    const cliOut: Record<string, string> = {};
    for (const c of ["check", "report", "plan"]) cliOut[`backup2mqtt ${c}`] = await runCli([c, "--config", cfg], env);

    bridge.kill("SIGTERM");
    await new Promise((r) => bridge!.once("exit", r));

    const stateFiles = Object.fromEntries(
      fs
        .readdirSync(path.join(dir, "state"))
        .map((f) => [`state_dir/${f}`, fs.readFileSync(path.join(dir, "state", f), "utf8")]),
    );
    const corpus: Record<string, string> = {
      "bridge log": out.join(""),
      "MQTT payloads": o.messages.map((m) => `${m.topic} ${m.payload}`).join("\n"),
      "HTTP responses": http.join("\n\n"),
      ...cliOut,
      ...stateFiles,
    };
    // The run really exercised the features (otherwise "no leak" proves nothing).
    expect(out.join("")).toMatch(/command rejected/);
    expect(out.join("")).toMatch(/Proxmox source (unreachable|degraded)/);
    expect(o.messages.some((m) => m.topic.startsWith("backup2mqtt/hyperbackup/"))).toBe(true);
    expect(o.messages.some((m) => m.topic.startsWith("backup2mqtt/pbs/"))).toBe(true);
    expect(http.some((h) => h.startsWith("POST /api/v1/guests/home_102/backup → 202"))).toBe(true);
    expect(http.some((h) => h.startsWith("POST /api/v1/webhook/pve → 2"))).toBe(true);
    expect(Object.keys(stateFiles)).toContain("state_dir/audit.jsonl");
    expect(cliOut["backup2mqtt report"]).toMatch(/homeassistant/);
    expect(ssh.commands.length).toBeGreaterThan(0);
    expect(leaks(corpus, Object.values(SENTINEL).concat([ssh.clientPrivateKey.split("\n")[1]!]))).toEqual([]);
  }, 120_000);
});
