/**
 * Real Home Assistant (and Mosquitto) for tests.
 *
 * The Home Assistant root is built by `test/ha/build-env.sh` (Debian testing root + /opt/venv with a
 * pinned homeassistant) and cached outside the repo. This module:
 *  - startMosquitto(): runs Debian's `mosquitto` on a free loopback port;
 *  - startHomeAssistant(): creates a throw-away config dir inside the root, runs
 *    `chroot <root> /opt/venv/bin/hass -c <dir>` in a private mount namespace (proc/dev/sys are
 *    mounted only inside that namespace, so they vanish with the process even after SIGKILL),
 *    completes onboarding through HA's HTTP API, creates the MQTT config entry and waits until it is
 *    loaded. It returns REST/WebSocket helpers, the log text, restart() and stop().
 *
 * Everything started here is also killed when the Node process exits.
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { claimDir, freePort, killGroup, registerCleanup, sleep, spawnOwned, sweepStaleDirs, Tail, terminate, waitFor } from "../support/process.js";

// Mosquitto and the small helpers live in test/support (shared with the integration suite).
export { startMosquitto, mosquittoBinary, type Mosquitto, type StartMosquittoOptions } from "../support/mosquitto.js";
export { freePort, waitFor, type WaitForOptions } from "../support/process.js";

const HERE = dirname(fileURLToPath(import.meta.url));
export const BUILD_SCRIPT = join(HERE, "build-env.sh");

/** Integrations the test configuration loads explicitly (no default_config). Same list as build-env.sh. */
export const HA_COMPONENTS = [
  "http",
  "api",
  "websocket_api",
  "auth",
  "onboarding",
  "config",
  "mqtt",
  "logger",
  "system_log",
  "button",
  "sensor",
  "binary_sensor",
  "select",
  "event",
] as const;

export const HA_USER = { name: "Test", username: "test", password: "test-password-b2m", language: "en" } as const;

// ---------------------------------------------------------------------------------------------
// Home Assistant types (only the fields tests commonly need; everything else is kept)

export interface HaState {
  entity_id: string;
  state: string;
  attributes: Record<string, unknown>;
  last_changed: string;
  last_updated: string;
  [k: string]: unknown;
}

export interface HaEntityRegistryEntry {
  entity_id: string;
  unique_id: string;
  platform: string;
  device_id: string | null;
  config_entry_id: string | null;
  name: string | null;
  original_name?: string | null;
  entity_category: string | null;
  disabled_by: string | null;
  has_entity_name?: boolean;
  [k: string]: unknown;
}

export interface HaDeviceRegistryEntry {
  id: string;
  identifiers: [string, string][];
  connections: [string, string][];
  name: string | null;
  name_by_user: string | null;
  manufacturer: string | null;
  model: string | null;
  model_id?: string | null;
  sw_version: string | null;
  hw_version: string | null;
  serial_number?: string | null;
  via_device_id: string | null;
  configuration_url: string | null;
  config_entries: string[];
  [k: string]: unknown;
}

export interface HaConfigEntry {
  entry_id: string;
  domain: string;
  title: string;
  state: string;
  [k: string]: unknown;
}

export interface HaRest {
  /** GET <url><path> with the bearer token; throws on non-2xx. */
  get<T = unknown>(path: string): Promise<T>;
  /** POST JSON; throws on non-2xx. */
  post<T = unknown>(path: string, body?: unknown): Promise<T>;
  /** Raw fetch with the bearer token (no status check). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  states(): Promise<HaState[]>;
  /** null when HA answers 404 */
  state(entityId: string): Promise<HaState | null>;
  callService(domain: string, service: string, data?: Record<string, unknown>): Promise<unknown>;
}

export interface HaWs {
  /** Sends `{id, ...msg}` and resolves with `result`; rejects with HA's error. */
  command<T = unknown>(msg: { type: string; [k: string]: unknown }): Promise<T>;
  deviceRegistry(): Promise<HaDeviceRegistryEntry[]>;
  entityRegistry(): Promise<HaEntityRegistryEntry[]>;
  configEntries(domain?: string): Promise<HaConfigEntry[]>;
  /** Subscribes to HA events (optionally of one type); resolves with an unsubscribe function. */
  subscribeEvents(
    eventType: string | undefined,
    onEvent: (event: { event_type: string; data: Record<string, unknown>; [k: string]: unknown }) => void,
  ): Promise<() => Promise<void>>;
  close(): void;
}

export interface HomeAssistant {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** long-lived access token of the onboarded admin user */
  token: string;
  /** the chroot root in use and the config dir (host path, and path inside the root) */
  root: string;
  configDir: string;
  configDirInRoot: string;
  version: string;
  rest: HaRest;
  ws: HaWs;
  /** home-assistant.log of this instance, across restarts (oldest first). */
  logText(): string;
  /** WARNING/ERROR/CRITICAL log lines from `homeassistant.components.mqtt*` loggers. */
  mqttProblems(): string[];
  /** Stops hass (SIGTERM), starts it again on the same config dir and port, waits until MQTT is loaded. */
  restart(): Promise<void>;
  /** Stops hass and removes the config dir (unless keepConfigDir). Idempotent. */
  stop(): Promise<void>;
}

export interface StartHomeAssistantOptions {
  mqttHost: string;
  mqttPort: number;
  /** cache folder of build-env.sh (default $B2M_HA_CACHE or /var/cache/backup2mqtt-ha) */
  cacheDir?: string;
  /** use this prebuilt root instead of asking build-env.sh */
  root?: string;
  /** run build-env.sh when the root is missing (slow: minutes). Default: $B2M_HA_AUTOBUILD === "1" */
  autoBuild?: boolean;
  /** log level of homeassistant.components.mqtt (default "debug") */
  mqttLogLevel?: "debug" | "info" | "warning";
  /** extra YAML appended to configuration.yaml */
  extraConfigYaml?: string;
  /** time allowed for hass to start and MQTT to load (default 240 s) */
  startTimeoutMs?: number;
  /**
   * Let hass pip-install missing requirements at runtime (needs PyPI, and changes the shared cached
   * root). Default false: hass runs with --skip-pip, so everything must come from build-env.sh.
   */
  allowRuntimeInstalls?: boolean;
  /** keep the config dir after stop() (default $B2M_HA_KEEP === "1") */
  keepConfigDir?: boolean;
}

// ---------------------------------------------------------------------------------------------
// root resolution

export function resolveHaRoot(opts: { cacheDir?: string; autoBuild?: boolean } = {}): string {
  const env = { ...process.env };
  if (opts.cacheDir) env.B2M_HA_CACHE = opts.cacheDir;
  const probe = spawnSync("bash", [BUILD_SCRIPT, "--print-root"], { env, encoding: "utf8" });
  const root = probe.stdout.trim().split("\n").pop() ?? "";
  if (probe.status === 0 && root) return root;
  if (probe.status !== 3) throw new Error(`build-env.sh --print-root failed (${probe.status}): ${probe.stderr}`);
  const autoBuild = opts.autoBuild ?? process.env.B2M_HA_AUTOBUILD === "1";
  if (!autoBuild) {
    throw new Error(
      `Home Assistant test root is not built (${root}). Build it once with: sudo bash ${BUILD_SCRIPT}` +
        (opts.cacheDir ? ` (with B2M_HA_CACHE=${opts.cacheDir})` : "") +
        " — or set B2M_HA_AUTOBUILD=1.",
    );
  }
  const build = spawnSync("bash", [BUILD_SCRIPT], { env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const built = build.stdout.trim().split("\n").pop() ?? "";
  if (build.status !== 0 || !built) throw new Error(`build-env.sh failed with ${build.status}`);
  return built;
}

// ---------------------------------------------------------------------------------------------
// Home Assistant

const MQTT_PROBLEM_RE =
  /^\S+ \S+ (WARNING|ERROR|CRITICAL) \([^)]*\) \[homeassistant\.components\.mqtt(?:\.[\w.]+)?\]/;

/** WARNING/ERROR/CRITICAL lines of the `homeassistant.components.mqtt*` loggers in a HA log text. */
export function mqttProblemLines(logText: string): string[] {
  return logText.split("\n").filter((l) => MQTT_PROBLEM_RE.test(l));
}

function configurationYaml(o: {
  port: number;
  mqttLogLevel: string;
  extra?: string;
}): string {
  const components = HA_COMPONENTS.filter((c) => c !== "http" && c !== "logger");
  return [
    "homeassistant:",
    "  name: b2m-test",
    "  latitude: 52.52",
    "  longitude: 13.40",
    "  elevation: 34",
    "  unit_system: metric",
    "  time_zone: UTC",
    "  country: DE",
    "  currency: EUR",
    "  language: en",
    "http:",
    "  server_host: 127.0.0.1",
    `  server_port: ${o.port}`,
    "logger:",
    "  default: warning",
    "  logs:",
    `    homeassistant.components.mqtt: ${o.mqttLogLevel}`,
    // runtime installs of missing requirements would show up here
    "    homeassistant.util.package: info",
    "    homeassistant.requirements: info",
    // tts (a base platform HA always loads) pulls in ffmpeg, which logs an ERROR at start because
    // the root has no ffmpeg binary; nothing here uses it.
    "    haffmpeg: critical",
    ...components.map((c) => `${c}:`),
    o.extra ?? "",
    "",
  ].join("\n");
}

function chrootEnv(): string[] {
  const vars = [
    "PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
    "LANG=C.UTF-8",
    "LC_ALL=C.UTF-8",
    "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
    "REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt",
  ];
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith("PIP_") && v !== undefined) vars.push(`${k}=${v}`);
  return vars;
}

/** Spawns hass chrooted into `root`, in a private mount namespace with proc, dev, sys. */
function spawnHass(root: string, configDirInRoot: string, skipPip: boolean): ChildProcess {
  const script =
    'set -e; r="$1"; shift; ' +
    'mount -t proc proc "$r/proc"; mount --rbind /dev "$r/dev"; mount -t sysfs sysfs "$r/sys"; ' +
    'exec chroot "$r" /usr/bin/env -i "$@"';
  const args = [
    "--mount",
    "--propagation",
    "private",
    "--",
    "sh",
    "-c",
    script,
    "b2m-hass",
    root,
    ...chrootEnv(),
    "/opt/venv/bin/hass",
    "-c",
    configDirInRoot,
    "--log-no-color",
    ...(skipPip ? ["--skip-pip"] : []),
  ];
  return spawnOwned("unshare", args);
}

class WsClient {
  private sock: WebSocket | undefined;
  private ready: Promise<void> | undefined;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private listeners = new Map<number, (event: never) => void>();

  constructor(
    private readonly wsUrl: () => string,
    private readonly token: () => string,
  ) {}

  private connect(): Promise<void> {
    if (this.ready) return this.ready;
    this.ready = new Promise<void>((resolve, reject) => {
      const sock = new WebSocket(this.wsUrl());
      this.sock = sock;
      let authed = false;
      sock.on("message", (raw: WebSocket.RawData) => {
        const msgs: unknown = JSON.parse(raw.toString());
        for (const m of (Array.isArray(msgs) ? msgs : [msgs]) as Record<string, unknown>[]) {
          if (m.type === "auth_required") {
            sock.send(JSON.stringify({ type: "auth", access_token: this.token() }));
          } else if (m.type === "auth_ok") {
            authed = true;
            resolve();
          } else if (m.type === "auth_invalid") {
            reject(new Error(`websocket auth failed: ${String(m.message)}`));
            sock.close();
          } else if (m.type === "result" && typeof m.id === "number") {
            const p = this.pending.get(m.id);
            if (!p) continue;
            if (m.success) {
              p.resolve(m.result);
            } else {
              this.pending.delete(m.id);
              const e = m.error as { code?: string; message?: string } | undefined;
              p.reject(new Error(`HA websocket error ${e?.code ?? "?"}: ${e?.message ?? JSON.stringify(m)}`));
            }
            if (!this.listeners.has(m.id)) this.pending.delete(m.id);
          } else if (m.type === "event" && typeof m.id === "number") {
            this.listeners.get(m.id)?.(m.event as never);
          }
        }
      });
      sock.on("error", (err: Error) => {
        if (!authed) reject(err);
      });
      sock.on("close", () => {
        for (const p of this.pending.values()) p.reject(new Error("websocket closed"));
        this.pending.clear();
        this.listeners.clear();
        this.sock = undefined;
        this.ready = undefined;
        if (!authed) reject(new Error("websocket closed before auth"));
      });
    });
    this.ready.catch(() => {
      this.ready = undefined;
    });
    return this.ready;
  }

  async command<T>(msg: { type: string; [k: string]: unknown }): Promise<T> {
    await this.connect();
    const id = this.nextId++;
    const sock = this.sock;
    if (!sock) throw new Error("websocket not connected");
    return await new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      sock.send(JSON.stringify({ ...msg, id }));
    });
  }

  async subscribe(
    eventType: string | undefined,
    onEvent: (event: { event_type: string; data: Record<string, unknown> }) => void,
  ): Promise<() => Promise<void>> {
    await this.connect();
    const id = this.nextId++;
    const sock = this.sock;
    if (!sock) throw new Error("websocket not connected");
    this.listeners.set(id, onEvent as (event: never) => void);
    await new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const msg: Record<string, unknown> = { id, type: "subscribe_events" };
      if (eventType) msg.event_type = eventType;
      sock.send(JSON.stringify(msg));
    }).catch((err: unknown) => {
      this.listeners.delete(id);
      throw err;
    });
    return async () => {
      this.listeners.delete(id);
      this.pending.delete(id);
      if (this.sock) await this.command({ type: "unsubscribe_events", subscription: id }).catch(() => undefined);
    };
  }

  close(): void {
    this.sock?.close();
    this.sock = undefined;
    this.ready = undefined;
  }
}

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

  // ---- HTTP
  const rawFetch = async (path: string, init: RequestInit = {}, auth = true): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (auth && token) headers.set("Authorization", `Bearer ${token}`);
    return await fetch(url + path, { ...init, headers });
  };
  const checked = async <T>(res: Response, what: string): Promise<T> => {
    const text = await res.text();
    if (!res.ok) throw new Error(`${what} → HTTP ${res.status}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const rest: HaRest = {
    fetch: (path, init) => rawFetch(path, init),
    get: async <T>(path: string) => await checked<T>(await rawFetch(path), `GET ${path}`),
    post: async <T>(path: string, body?: unknown) =>
      await checked<T>(
        await rawFetch(path, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
        `POST ${path}`,
      ),
    states: async () => await rest.get<HaState[]>("/api/states"),
    state: async (entityId) => {
      const res = await rawFetch(`/api/states/${encodeURIComponent(entityId)}`);
      if (res.status === 404) return null;
      return await checked<HaState>(res, `GET /api/states/${entityId}`);
    },
    callService: async (domain, service, data = {}) => await rest.post(`/api/services/${domain}/${service}`, data),
  };

  // ---- WebSocket
  const wsClient = new WsClient(
    () => `ws://127.0.0.1:${port}/api/websocket`,
    () => token,
  );
  const ws: HaWs = {
    command: (msg) => wsClient.command(msg),
    deviceRegistry: () => wsClient.command<HaDeviceRegistryEntry[]>({ type: "config/device_registry/list" }),
    entityRegistry: () => wsClient.command<HaEntityRegistryEntry[]>({ type: "config/entity_registry/list" }),
    configEntries: (domain) =>
      wsClient.command<HaConfigEntry[]>(domain ? { type: "config_entries/get", domain } : { type: "config_entries/get" }),
    subscribeEvents: (eventType, onEvent) => wsClient.subscribe(eventType, onEvent),
    close: () => wsClient.close(),
  };

  // ---- process
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

  const onboard = async () => {
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
    token = tok.access_token;
    // Remaining onboarding steps (the integration step needs a token that came from a login, so it
    // runs before the switch to a long-lived token). core_config is left open on purpose: finishing
    // it starts config flows for google_translate, met, radio_browser and shopping_list (network +
    // runtime installs), and nothing here needs it.
    await rest.post("/api/onboarding/analytics");
    await rest.post("/api/onboarding/integration", { client_id: clientId, redirect_uri: `${clientId}?auth_callback=1` });
    // The access token from the login expires after 30 min: switch to a long-lived one.
    token = await wsClient.command<string>({
      type: "auth/long_lived_access_token",
      client_name: "backup2mqtt tests",
      lifespan: 365,
    });
    wsClient.close();
  };

  const createMqttEntry = async () => {
    const flow = await rest.post<{ flow_id: string; type: string; step_id?: string }>("/api/config/config_entries/flow", {
      handler: "mqtt",
      show_advanced_options: false,
    });
    if (flow.type !== "form" || flow.step_id !== "broker")
      throw new Error(`unexpected MQTT flow start: ${JSON.stringify(flow)}`);
    const done = await rest.post<{ type: string; errors?: unknown; result?: { entry_id: string } }>(
      `/api/config/config_entries/flow/${flow.flow_id}`,
      {
        broker: opts.mqttHost,
        port: opts.mqttPort,
        other_settings: { set_client_cert: false, set_ca_cert: "off", transport: "tcp" },
      },
    );
    if (done.type !== "create_entry") throw new Error(`MQTT config flow did not create an entry: ${JSON.stringify(done)}`);
  };

  const waitReady = async () => {
    await waitFor(async () => (await rest.get<{ message: string }>("/api/")).message === "API running.", {
      timeoutMs: startTimeoutMs,
      description: "HA REST API",
    });
    await waitFor(
      async () => {
        const entries = await ws.configEntries("mqtt");
        const e = entries[0];
        if (e && (e.state === "setup_error" || e.state === "setup_retry"))
          throw new Error(`mqtt config entry state ${e.state}: ${String(e.reason ?? "")}`);
        return e?.state === "loaded";
      },
      { timeoutMs: startTimeoutMs, intervalMs: 500, description: "MQTT config entry loaded" },
    );
    await waitFor(async () => (await ws.command<{ state: string }>({ type: "get_config" })).state === "RUNNING", {
      timeoutMs: startTimeoutMs,
      intervalMs: 500,
      description: "HA state RUNNING",
    });
    if (mqttLogLevel === "debug") {
      // Discovery subscriptions are made shortly after the client connects; with debug logging we
      // can see the last one (device discovery with a node id) go out.
      const subscribed = new RegExp(`Subscribing with mid: \\d+ to topic ${prefix}/device/\\+/\\+/config`);
      await waitFor(() => subscribed.test(currentLog()), {
        timeoutMs: 30_000,
        intervalMs: 100,
        description: "MQTT discovery subscriptions",
      });
      await sleep(200);
    }
  };

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
    await onboard();
    await createMqttEntry();
    await waitReady();
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
    rest,
    ws,
    logText,
    mqttProblems: () => mqttProblemLines(logText()),
    restart: async () => {
      if (stopped) throw new Error("restart() after stop()");
      await stopProcess();
      previousLogs += currentLog();
      try {
        await launch();
        await waitReady();
      } catch (err) {
        throw failure("restarting Home Assistant failed", err);
      }
    },
    stop,
  };
}

