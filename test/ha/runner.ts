/**
 * Real Home Assistant (and Mosquitto) for tests.
 *
 * The Home Assistant root is built by `test/ha/build-env.sh` (Debian testing root + /opt/venv with a
 * pinned homeassistant) and cached outside the repo. startHomeAssistant() creates a throw-away
 * config dir inside the root, runs hass there (ha-process.ts), completes onboarding through HA's
 * HTTP API, creates the MQTT config entry and waits until it is loaded (ha-setup.ts). It returns
 * REST/WebSocket helpers (ha-rest.ts, ha-ws.ts), the log text, restart() and stop().
 *
 * Everything started here is also killed when the Node process exits. This module is the harness's
 * one entry point: tests import everything (types, Mosquitto, waitFor) from here.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  claimDir,
  freePort,
  killGroup,
  registerCleanup,
  sweepStaleDirs,
  Tail,
  terminate,
  waitFor,
} from "../support/process.js";
import { configurationYaml, mqttProblemLines, resolveHaRoot, spawnHass } from "./ha-process.js";
import { haHttp } from "./ha-rest.js";
import { createMqttEntry, onboard, waitReady } from "./ha-setup.js";
import type {
  HaConfigEntry,
  HaDeviceRegistryEntry,
  HaEntityRegistryEntry,
  HaWs,
  HomeAssistant,
  StartHomeAssistantOptions,
} from "./ha-types.js";
import { WsClient } from "./ha-ws.js";

// Mosquitto and the small helpers live in test/support (shared with the integration suite).
export { startMosquitto, mosquittoBinary, type Mosquitto, type StartMosquittoOptions } from "../support/mosquitto.js";
export { freePort, waitFor, type WaitForOptions } from "../support/process.js";
export { BUILD_SCRIPT, HA_COMPONENTS, mqttProblemLines, resolveHaRoot } from "./ha-process.js";
export { HA_USER } from "./ha-setup.js";
export type * from "./ha-types.js";

export async function startHomeAssistant(opts: StartHomeAssistantOptions): Promise<HomeAssistant> {
  const root = opts.root ?? resolveHaRoot({ cacheDir: opts.cacheDir, autoBuild: opts.autoBuild });
  if (!existsSync(join(root, "opt/venv/bin/hass"))) throw new Error(`no /opt/venv/bin/hass in ${root}`);
  const version = readFileSync(join(root, "opt/b2m-ha-version"), "utf8").trim();
  const startTimeoutMs = opts.startTimeoutMs ?? 240_000;
  const keepConfigDir = opts.keepConfigDir ?? process.env.B2M_HA_KEEP === "1";
  const mqttLogLevel = opts.mqttLogLevel ?? "debug";
  const prefix = "homeassistant";

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  sweepStaleDirs(join(root, "tmp"), "ha-");
  const configDirInRoot = `/tmp/ha-${randomBytes(6).toString("hex")}`;
  const configDir = join(root, configDirInRoot);
  mkdirSync(configDir, { recursive: true });
  claimDir(configDir);
  writeFileSync(
    join(configDir, "configuration.yaml"),
    configurationYaml({ port, mqttLogLevel, extra: opts.extraConfigYaml }),
  );

  let token = "";
  let child: ChildProcess | undefined;
  let output = new Tail();
  let previousLogs = "";
  let stopped = false;

  const logPath = join(configDir, "home-assistant.log");
  const currentLog = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  const logText = () => previousLogs + currentLog();

  const unregister = registerCleanup(() => {
    if (child) killGroup(child, "SIGKILL");
    if (!keepConfigDir) rmSync(configDir, { recursive: true, force: true });
  });

  const failure = (what: string, err: unknown): Error => {
    const msg = err instanceof Error ? err.message : String(err);
    return new Error(
      `${what}: ${msg}\n--- hass output (tail) ---\n${output.text().slice(-8_000)}\n` +
        `--- home-assistant.log (tail) ---\n${currentLog().slice(-8_000)}`,
    );
  };

  const http = haHttp(url, () => token);
  const wsClient = new WsClient(
    () => `ws://127.0.0.1:${port}/api/websocket`,
    () => token,
  );
  const ws: HaWs = {
    command: (msg) => wsClient.command(msg),
    deviceRegistry: () => wsClient.command<HaDeviceRegistryEntry[]>({ type: "config/device_registry/list" }),
    entityRegistry: () => wsClient.command<HaEntityRegistryEntry[]>({ type: "config/entity_registry/list" }),
    configEntries: (domain) =>
      wsClient.command<HaConfigEntry[]>(
        domain ? { type: "config_entries/get", domain } : { type: "config_entries/get" },
      ),
    subscribeEvents: (eventType, onEvent) => wsClient.subscribe(eventType, onEvent),
    close: () => wsClient.close(),
  };

  const launch = async () => {
    output = new Tail();
    const c = spawnHass(root, configDirInRoot, !opts.allowRuntimeInstalls);
    child = c;
    c.stdout?.on("data", (d: Buffer) => output.push(d));
    c.stderr?.on("data", (d: Buffer) => output.push(d));
    await waitFor(
      async () => {
        if (c.exitCode !== null || c.signalCode !== null)
          throw Object.assign(new Error(`hass exited (${c.exitCode ?? c.signalCode})`), { fatal: true });
        const res = await fetch(`${url}/api/onboarding`).catch(() => undefined);
        return res?.ok ?? false;
      },
      { timeoutMs: startTimeoutMs, intervalMs: 500, description: `hass HTTP on ${url}` },
    );
  };

  const stopProcess = async () => {
    wsClient.close();
    if (child) await terminate(child, 30_000);
    child = undefined;
  };

  const ready = () =>
    waitReady(http, wsClient, { timeoutMs: startTimeoutMs, mqttLogLevel, discoveryPrefix: prefix, currentLog });

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      await stopProcess();
    } finally {
      unregister();
      if (!keepConfigDir) rmSync(configDir, { recursive: true, force: true });
    }
  };

  try {
    await launch();
    token = await onboard(url, http, wsClient, (t) => (token = t));
    if (opts.addMqttEntry) await opts.addMqttEntry(http.rest);
    else await createMqttEntry(http, opts.mqttHost, opts.mqttPort);
    await ready();
  } catch (err) {
    const e = failure("starting Home Assistant failed", err);
    await stop().catch(() => undefined);
    throw e;
  }

  return {
    url,
    port,
    get token() {
      return token;
    },
    root,
    configDir,
    configDirInRoot,
    version,
    rest: http.rest,
    ws,
    logText,
    mqttProblems: () => mqttProblemLines(logText()),
    restart: async () => {
      if (stopped) throw new Error("restart() after stop()");
      await stopProcess();
      previousLogs += currentLog();
      try {
        await launch();
        await ready();
      } catch (err) {
        throw failure("restarting Home Assistant failed", err);
      }
    },
    stop,
  };
}
