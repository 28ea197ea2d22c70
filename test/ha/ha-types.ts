/**
 * Types of the real-Home-Assistant test harness: what Home Assistant answers (states, registry
 * entries, config entries; only the fields tests commonly need, everything else is kept) and the
 * handle startHomeAssistant() returns.
 */

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
  /**
   * Adds the MQTT config entry for mqttHost:mqttPort once HA is onboarded (the REST client then
   * holds a token). Default: the harness's own config flow (ha-setup.ts createMqttEntry).
   */
  addMqttEntry?: (rest: HaRest) => Promise<void>;
}
