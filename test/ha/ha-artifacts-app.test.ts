/**
 * The Home Assistant app (ha-integration/app/backup2mqtt), without Docker (there is no Docker
 * engine here): its run script's config step turns /data/options.json and the Supervisor's MQTT
 * service into a bridge config, and `backup2mqtt check` accepts that config against the simulated
 * Proxmox lab and a real Mosquitto. The Supervisor's `/services/mqtt` endpoint is played by a small
 * HTTP server answering as the Supervisor API does (`{"result":"ok","data":{host,port,…}}`).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, type Lab } from "backup2mqtt-lab";
import { checkConfig } from "../../bridge/src/commands/check.js";
import { startMosquitto, type Mosquitto } from "./runner.js";

const run = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const APP = path.join(REPO, "ha-integration/app/backup2mqtt");
const MAKE_CONFIG = path.join(APP, "rootfs/usr/local/lib/backup2mqtt/make-config.mjs");

describe("the backup2mqtt Home Assistant app", () => {
  let lab: Lab;
  let broker: Mosquitto;
  let supervisor: http.Server;
  let supervisorUrl = "";
  const seenAuth: string[] = [];
  let dir = "";

  beforeAll(async () => {
    lab = await startLab({ scenario: "demo", authFailDelayMs: 0 });
    broker = await startMosquitto();
    supervisor = http.createServer((req, res) => {
      seenAuth.push(req.headers.authorization ?? "");
      if (req.url !== "/services/mqtt" || req.headers.authorization !== "Bearer sup-token")
        return void res.writeHead(401).end();
      res.writeHead(200, { "Content-Type": "application/json" }).end(
        JSON.stringify({
          result: "ok",
          data: {
            addon: "core_mosquitto",
            host: broker.host,
            port: broker.port,
            ssl: false,
            protocol: "3.1.1",
            username: "addons",
            password: "mqtt-pass-123",
          },
        }),
      );
    });
    await new Promise<void>((r) => supervisor.listen(0, "127.0.0.1", r));
    supervisorUrl = `http://127.0.0.1:${(supervisor.address() as AddressInfo).port}`;
    dir = mkdtempSync(path.join(os.tmpdir(), "b2m-app-"));
  });

  afterAll(async () => {
    await new Promise<void>((r) => (supervisor ? supervisor.close(() => r()) : r()));
    await broker?.stop();
    await lab?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const makeConfig = async (options: unknown, env: Record<string, string> = {}) => {
    writeFileSync(path.join(dir, "options.json"), JSON.stringify(options));
    return await run(process.execPath, [MAKE_CONFIG], {
      env: {
        PATH: process.env.PATH ?? "",
        SUPERVISOR_TOKEN: "sup-token",
        B2M_OPTIONS: path.join(dir, "options.json"),
        B2M_CONFIG_OUT: path.join(dir, "backup2mqtt.json"),
        B2M_SUPERVISOR_URL: supervisorUrl,
        B2M_STATE_DIR: path.join(dir, "state"),
        ...env,
      },
    });
  };

  it("turns the options and the Supervisor's MQTT service into a config the bridge's check accepts", async () => {
    const token = lab.tokens[0]!;
    await makeConfig({
      site: "home",
      log_level: "info",
      discovery_prefix: "homeassistant",
      proxmox: [
        { name: "pve", url: lab.url, token_id: token.id, token_secret: token.secret, fingerprint: lab.fingerprint },
      ],
      guests: [
        { guest: "100", tier: "P0" },
        { guest: "vaultwarden", tier: "P1" },
      ],
    });
    const out = path.join(dir, "backup2mqtt.json");
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const cfg = JSON.parse(readFileSync(out, "utf8")) as Record<string, unknown>;
    expect(cfg).toMatchObject({
      site: "home",
      mqtt: {
        url: `mqtt://${broker.host}:${broker.port}`,
        username: "addons",
        password: "mqtt-pass-123",
        discovery_prefix: "homeassistant",
      },
      proxmox: [{ name: "pve", url: lab.url, token_id: token.id, fingerprint: lab.fingerprint }],
      guests: { "100": { tier: "P0" }, vaultwarden: { tier: "P1" } },
      log: { level: "info" },
    });
    expect(seenAuth).toContain("Bearer sup-token");

    const lines = await checkConfig(out, {});
    expect(
      lines.filter((l) => !l.ok),
      JSON.stringify(lines),
    ).toEqual([]);
    expect(lines.map((l) => l.text).join("\n")).toMatch(/proxmox 'pve': reachable/);
  });

  it("fails clearly without the Supervisor's MQTT service or a token secret", async () => {
    const options = { site: "home", proxmox: [{ name: "pve", url: lab.url, token_id: "a@pve!b", token_secret: "x" }] };
    await expect(makeConfig(options, { SUPERVISOR_TOKEN: "wrong" })).rejects.toMatchObject({
      stderr: expect.stringMatching(/no MQTT service for us \(HTTP 401\)/),
    });
    await expect(
      makeConfig({ ...options, proxmox: [{ ...options.proxmox[0], token_secret: "" }] }),
    ).rejects.toMatchObject({
      stderr: expect.stringMatching(/token_secret is empty/),
    });
  });

  it("config.yaml: every option has a schema entry, needs MQTT, amd64 and aarch64; the Dockerfile names its base", () => {
    const conf = parseYaml(readFileSync(path.join(APP, "config.yaml"), "utf8")) as {
      slug: string;
      version: string;
      arch: string[];
      services: string[];
      init: boolean;
      options: Record<string, unknown>;
      schema: Record<string, unknown>;
    };
    expect(conf.slug).toBe("backup2mqtt");
    expect(conf.arch.sort()).toEqual(["aarch64", "amd64"]);
    expect(conf.services).toEqual(["mqtt:need"]);
    expect(conf.init).toBe(false);
    for (const key of Object.keys(conf.options)) expect(conf.schema, key).toHaveProperty(key);
    const pkg = JSON.parse(readFileSync(path.join(REPO, "bridge/package.json"), "utf8")) as { version: string };
    expect(conf.version).toBe(pkg.version);
    const docker = readFileSync(path.join(APP, "Dockerfile"), "utf8");
    expect(docker).toMatch(/^FROM ghcr\.io\/home-assistant\/base:\d+\.\d+$/m);
    expect(docker).not.toMatch(/^\s*(ARG|FROM)\s.*BUILD_FROM/m);
    const runScript = readFileSync(path.join(APP, "rootfs/etc/services.d/backup2mqtt/run"), "utf8");
    expect(runScript.startsWith("#!/usr/bin/with-contenv bashio")).toBe(true);
    expect(statSync(path.join(APP, "rootfs/etc/services.d/backup2mqtt/run")).mode & 0o111).not.toBe(0);
  });
});
