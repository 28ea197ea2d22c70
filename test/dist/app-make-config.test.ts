/**
 * The Home Assistant app's config step (ha-integration/app/backup2mqtt/rootfs/usr/local/lib/
 * backup2mqtt/make-config.mjs), run with Node outside the container: the app's options
 * (/data/options.json) and the Supervisor's MQTT service become a bridge config, and the bridge's
 * own config loader (bridge/src/config/load.ts) must accept it; a mapping the bridge would refuse
 * fails here. The Supervisor's GET /services/mqtt is played by a small HTTP server answering as the
 * Supervisor does: {"result":"ok","data":{host,port,ssl,username,password,protocol}}, or HTTP 400
 * when no app provides MQTT (supervisor/api/services.py and supervisor/services/modules/mqtt.py in
 * home-assistant/supervisor). No Home Assistant, broker or Proxmox is needed: the loader checks the
 * file without connecting.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startLab } from "backup2mqtt-lab";
import { checkConfig } from "../../bridge/src/commands/check.js";
import { type Config, loadConfig } from "../../bridge/src/config/load.js";
import { brokerKinds, startBroker } from "../support/stack.js";

const run = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const APP = path.join(REPO, "ha-integration/app/backup2mqtt");
const MAKE_CONFIG = path.join(APP, "rootfs/usr/local/lib/backup2mqtt/make-config.mjs");
const appConfig = parseYaml(fs.readFileSync(path.join(APP, "config.yaml"), "utf8")) as {
  options: Record<string, unknown>;
  schema: Record<string, unknown>;
  ingress_port: number;
};

const FP = Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16).toUpperCase().padStart(2, "0")).join(":");

/** "a", "b[].c": the paths of a schema's or a value's leaves, list entries as []. */
function leafPaths(v: unknown, at = ""): string[] {
  if (Array.isArray(v)) return [...new Set(v.flatMap((x) => leafPaths(x, `${at}[]`)))];
  if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => leafPaths(x, at ? `${at}.${k}` : k));
  return v === undefined ? [] : [at];
}

interface MqttService {
  status: number;
  data?: Record<string, unknown>;
}

describe("the app's options and the Supervisor's MQTT service become a config the bridge loads", () => {
  let supervisor: http.Server;
  let supervisorUrl = "";
  let answer: MqttService = { status: 200 };
  const seenAuth: string[] = [];
  let dir = "";
  let caFile = "";

  beforeAll(async () => {
    supervisor = http.createServer((req, res) => {
      seenAuth.push(req.headers.authorization ?? "");
      if (req.url !== "/services/mqtt" || req.headers.authorization !== "Bearer sup-token")
        return void res.writeHead(401, { "Content-Type": "application/json" }).end('{"result":"error"}');
      if (answer.status !== 200)
        return void res
          .writeHead(answer.status, { "Content-Type": "application/json" })
          .end(JSON.stringify({ result: "error", message: "Service not enabled" }));
      res
        .writeHead(200, { "Content-Type": "application/json" })
        .end(JSON.stringify({ result: "ok", data: answer.data ?? {} }));
    });
    await new Promise<void>((r) => supervisor.listen(0, "127.0.0.1", r));
    supervisorUrl = `http://127.0.0.1:${(supervisor.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-app-config-"));
    caFile = path.join(dir, "pve-ca.pem");
    fs.writeFileSync(caFile, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    answer = {
      status: 200,
      data: {
        app: "core_mosquitto",
        host: "core-mosquitto",
        port: 1883,
        ssl: false,
        protocol: "3.1.1",
        username: "addons",
        password: "mqtt-pass-123",
      },
    };
  });
  afterAll(async () => {
    await new Promise<void>((r) => (supervisor ? supervisor.close(() => r()) : r()));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const out = () => path.join(dir, "backup2mqtt.json");
  const makeConfig = async (options: unknown, env: Record<string, string> = {}) => {
    fs.writeFileSync(path.join(dir, "options.json"), JSON.stringify(options));
    return await run(process.execPath, [MAKE_CONFIG], {
      env: {
        PATH: process.env.PATH ?? "",
        SUPERVISOR_TOKEN: "sup-token",
        B2M_OPTIONS: path.join(dir, "options.json"),
        B2M_CONFIG_OUT: out(),
        B2M_SUPERVISOR_URL: supervisorUrl,
        B2M_STATE_DIR: path.join(dir, "state"),
        ...env,
      },
    });
  };
  /** make-config, then the bridge's loader on what it wrote (an empty environment: nothing may lean on one). */
  const mapped = async (options: unknown): Promise<Config> => {
    await makeConfig(options);
    return loadConfig(out(), {});
  };
  const failure = async (options: unknown, env: Record<string, string> = {}) => {
    const err = (await makeConfig(options, env).then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: number; stderr?: string } | undefined;
    expect(err, "make-config should have failed").toBeDefined();
    expect(err!.code).toBe(1);
    expect(fs.existsSync(out()), "no config is written when the step fails").toBe(false);
    return err!.stderr ?? "";
  };

  /** Every option of config.yaml's schema given a value (optional ones too). */
  const allOptions = () => ({
    site: "lab_2",
    log_level: "debug",
    discovery_prefix: "ha-discovery",
    base_topic: "b2m/lab",
    http_token: "page-token-4f1c",
    proxmox: [
      {
        name: "pve",
        url: "https://pve.lan:8006",
        token_id: "backup2mqtt@pve!bridge",
        token_secret: "0f9e-secret",
        fingerprint: FP,
      },
      {
        name: "pve-office",
        url: "https://[fd00::10]:8006",
        token_id: "watch@pam!ro",
        token_secret: "second-secret",
        ca_file: caFile,
      },
    ],
    guests: [
      { guest: "100", tier: "P0" },
      { guest: "vaultwarden", tier: "P1" },
      { guest: "media.lan", tier: "none" },
    ],
  });

  it("maps every option: the bridge loads the result and each value lands where the bridge reads it", async () => {
    const cfg = await mapped(allOptions());
    expect(cfg.site).toBe("lab_2");
    expect(cfg.logLevel).toBe("debug");
    expect(cfg.mqtt).toMatchObject({
      url: "mqtt://core-mosquitto:1883",
      username: "addons",
      password: "mqtt-pass-123",
      clientId: "backup2mqtt-lab_2",
      discoveryPrefix: "ha-discovery",
      baseTopic: "b2m/lab",
    });
    expect(cfg.http).toMatchObject({ host: "0.0.0.0", port: appConfig.ingress_port, token: "page-token-4f1c" });
    expect(cfg.proxmox.map((p) => [p.name, p.url, p.tokenId, p.tokenSecret, p.fingerprint, p.caFile])).toEqual([
      ["pve", "https://pve.lan:8006", "backup2mqtt@pve!bridge", "0f9e-secret", FP, undefined],
      ["pve-office", "https://[fd00::10]:8006", "watch@pam!ro", "second-secret", undefined, caFile],
    ]);
    expect(cfg.guestTiers).toEqual({ "100": "P0", vaultwarden: "P1", "media.lan": "none" });
    expect(cfg.stateDir).toBe(path.join(dir, "state"));
    expect(seenAuth).toContain("Bearer sup-token");
    // The secrets are in files of their own, 0600, not in the config; the config is 0600 too.
    const text = fs.readFileSync(out(), "utf8");
    for (const s of ["0f9e-secret", "second-secret", "mqtt-pass-123", "page-token-4f1c"]) expect(text).not.toContain(s);
    expect(fs.statSync(out()).mode & 0o777).toBe(0o600);
    const secrets = path.join(dir, "secrets");
    expect(fs.statSync(secrets).mode & 0o777).toBe(0o700);
    for (const f of fs.readdirSync(secrets)) expect(fs.statSync(path.join(secrets, f)).mode & 0o777, f).toBe(0o600);
  });

  it("the fixture above gives every option of config.yaml's schema a value, nested ones too", () => {
    expect(leafPaths(appConfig.schema).filter((p) => !leafPaths(allOptions()).includes(p))).toEqual([]);
  });

  it("every option changes the config: none is silently dropped", async () => {
    const base = allOptions();
    await makeConfig(base);
    const reference = JSON.stringify(loadConfig(out(), {}));
    // Option path (list entries by index) and a different value for it.
    const changes: [string, string][] = [
      ["site", "other"],
      ["log_level", "warn"],
      ["discovery_prefix", "hass"],
      ["base_topic", "elsewhere"],
      ["http_token", "another-token"],
      ["proxmox.0.name", "pve2"],
      ["proxmox.0.url", "https://pve2.lan:8006"],
      ["proxmox.0.token_id", "other@pve!x"],
      ["proxmox.0.token_secret", "changed"],
      ["proxmox.0.fingerprint", FP.replace(/^../, "00")],
      ["proxmox.1.ca_file", `${caFile}.2`],
      ["guests.0.guest", "101"],
      ["guests.0.tier", "P2"],
    ];
    fs.copyFileSync(caFile, `${caFile}.2`);
    const unchanged: string[] = [];
    for (const [name, value] of changes) {
      const o = allOptions();
      const keys = name.split(".");
      const parent = keys.slice(0, -1).reduce<Record<string, unknown>>((v, k) => v[k] as Record<string, unknown>, o);
      parent[keys.at(-1)!] = value;
      await makeConfig(o);
      if (JSON.stringify(loadConfig(out(), {})) === reference) unchanged.push(name);
    }
    expect(unchanged).toEqual([]);
  });

  it("config.yaml's default options, once the token secret is filled in, give a config the bridge loads", async () => {
    const options = structuredClone(appConfig.options) as { proxmox: { token_secret: string }[] };
    options.proxmox[0]!.token_secret = "filled-in";
    const cfg = await mapped(options);
    expect(cfg.site).toBe("home");
    expect(cfg.mqtt.baseTopic).toBe("backup2mqtt");
    expect(cfg.http.token).toBeUndefined();
  });

  it("MQTT over TLS, an IPv6 broker, no credentials", async () => {
    answer.data = { app: "core_mosquitto", host: "fd00:1::5", port: 8883, ssl: true, protocol: "3.1.1" };
    const cfg = await mapped(allOptions());
    expect(cfg.mqtt.url).toBe("mqtts://[fd00:1::5]:8883");
    expect(cfg.mqtt.username).toBeUndefined();
    expect(cfg.mqtt.password).toBeUndefined();
  });

  it("MQTT over TLS with credentials", async () => {
    answer.data = { host: "broker.lan", port: 8883, ssl: true, username: "u", password: "p" };
    const cfg = await mapped(allOptions());
    expect(cfg.mqtt).toMatchObject({ url: "mqtts://broker.lan:8883", username: "u", password: "p" });
  });

  it("secrets reach the bridge exactly as typed, a dollar sign with braces and quotes included", async () => {
    // The loader expands $ followed by {NAME} in the config's strings; secrets go through *_file,
    // which it reads as is.
    const odd = ["pa$s $", '{HOME} "quoted" \\ end'].join("");
    answer.data = { host: "core-mosquitto", port: 1883, username: "addons", password: odd };
    const o = allOptions();
    o.proxmox[0]!.token_secret = odd;
    o.http_token = odd;
    const cfg = await mapped(o);
    expect(cfg.mqtt.password).toBe(odd);
    expect(cfg.proxmox[0]!.tokenSecret).toBe(odd);
    expect(cfg.http.token).toBe(odd);
  });

  it("without the Supervisor's MQTT service it stops and says to install the broker", async () => {
    answer = { status: 400 };
    expect(await failure(allOptions())).toMatch(/no MQTT service for us \(HTTP 400\).*Mosquitto broker app/);
    answer = { status: 200, data: {} };
    expect(await failure(allOptions())).toMatch(/has no host and port/);
    expect(await failure(allOptions(), { SUPERVISOR_TOKEN: "wrong" })).toMatch(/HTTP 401/);
    expect(await failure(allOptions(), { SUPERVISOR_TOKEN: "" })).toMatch(/SUPERVISOR_TOKEN is not set/);
    expect(await failure(allOptions(), { B2M_SUPERVISOR_URL: "http://127.0.0.1:1" })).toMatch(
      /cannot reach the Supervisor/,
    );
  });

  it("an empty token secret or no cluster stops it with a sentence naming the option", async () => {
    const o = allOptions();
    o.proxmox[1]!.token_secret = "";
    expect(await failure(o)).toMatch(/proxmox 'pve-office': token_secret is empty/);
    expect(await failure({ ...allOptions(), proxmox: [] })).toMatch(/at least one Proxmox VE cluster/);
  });

  it("an empty http_token leaves Back up now on the page off", async () => {
    const cfg = await mapped({ ...allOptions(), http_token: "" });
    expect(cfg.http.token).toBeUndefined();
    expect(fs.existsSync(path.join(dir, "secrets", "http-token"))).toBe(false);
  });

  it("the bridge refuses what it should: a fingerprint and a CA file together fail at its loader", async () => {
    // The options schema cannot say "one of the two"; the bridge's loader does, with the key's name.
    const o = allOptions();
    (o.proxmox[0] as Record<string, unknown>).ca_file = caFile;
    await makeConfig(o);
    expect(() => loadConfig(out(), {})).toThrow(/proxmox\[0\]\.fingerprint: give either fingerprint or ca_file/);
  });

  it("`backup2mqtt check` with the result reaches the simulated Proxmox lab and a real broker", async () => {
    const lab = await startLab({ scenario: "demo", authFailDelayMs: 0 });
    const broker = await startBroker(brokerKinds().at(-1)!);
    try {
      const url = new URL(broker.url);
      answer.data = { app: "core_mosquitto", host: url.hostname, port: Number(url.port), ssl: false };
      const token = lab.tokens[0]!;
      await makeConfig({
        site: "home",
        log_level: "info",
        discovery_prefix: "homeassistant",
        proxmox: [
          { name: "pve", url: lab.url, token_id: token.id, token_secret: token.secret, fingerprint: lab.fingerprint },
        ],
        guests: [{ guest: "100", tier: "P0" }],
      });
      const lines = await checkConfig(out(), {});
      expect(
        lines.filter((l) => !l.ok),
        JSON.stringify(lines),
      ).toEqual([]);
      expect(lines.map((l) => l.text).join("\n")).toMatch(/proxmox 'pve': reachable/);
    } finally {
      await broker.stop();
      await lab.stop();
    }
  });
});
