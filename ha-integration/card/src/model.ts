/**
 * Pure part of the card: find backup2mqtt guests in Home Assistant's registries and states, and
 * order them problems first. No DOM here, so it is unit-tested directly.
 */

export interface HassEntityState {
  entity_id: string;
  state: string;
  attributes: Record<string, unknown>;
  last_changed?: string;
}

export interface HassEntityEntry {
  entity_id: string;
  device_id?: string | null;
  platform?: string;
  hidden?: boolean;
}

export interface HassDeviceEntry {
  id: string;
  name?: string | null;
  name_by_user?: string | null;
  manufacturer?: string | null;
  model?: string | null;
  identifiers?: [string, string][];
}

/** The part of the frontend's `hass` object the card reads. */
export interface HassLike {
  states: Record<string, HassEntityState>;
  entities: Record<string, HassEntityEntry>;
  devices: Record<string, HassDeviceEntry>;
  callService(domain: string, service: string, data?: Record<string, unknown>): Promise<unknown>;
  locale?: { language?: string };
}

export interface CardConfig {
  type?: string;
  title?: string;
  /** Show guests whose backups are fine (default true). */
  show_ok?: boolean;
  /** Only these guests (device names, guest ids like home_100, or device ids). */
  guests?: string[];
  /** Hide the off-site and verified columns. */
  compact?: boolean;
}

export type Status = "ok" | "stale" | "failed" | "missing" | "running" | "unknown" | "unavailable";

/** The entities of one guest device, by role (entity ids). */
export interface GuestEntities {
  status?: string;
  problem?: string;
  last_backup?: string;
  last_offsite?: string;
  last_verified?: string;
  tier?: string;
  running?: string;
  progress?: string;
  back_up_now?: string;
}

export interface GuestRow {
  deviceId: string;
  guestId: string | null;
  name: string;
  tier: string | null;
  status: Status;
  problem: boolean;
  reasons: string[];
  lastBackup: string | null;
  lastOffsite: string | null;
  lastVerified: string | null;
  running: boolean;
  /** Percent done of a running VM backup, when vzdump reports it. */
  progress: number | null;
  entities: GuestEntities;
}

/** Entity-id endings of the bridge's default entity ids (README "Home Assistant entities"). */
const ROLES: [keyof GuestEntities, RegExp][] = [
  ["status", /^sensor\..+_backup_status(_\d+)?$/],
  ["problem", /^binary_sensor\..+_backup_problem(_\d+)?$/],
  ["last_backup", /^sensor\..+_last_backup(_\d+)?$/],
  ["last_offsite", /^sensor\..+_last_off_?site(_copy)?(_\d+)?$/],
  ["last_verified", /^sensor\..+_last_verified(_\d+)?$/],
  ["tier", /^select\..+_backup_tier(_\d+)?$/],
  ["running", /^binary_sensor\..+_backup_running(_\d+)?$/],
  ["progress", /^sensor\..+_backup_progress(_\d+)?$/],
  ["back_up_now", /^button\..+_back_up_now(_\d+)?$/],
];

const STATUS_RANK: Record<Status, number> = {
  failed: 0,
  missing: 1,
  stale: 2,
  unknown: 3,
  unavailable: 3,
  running: 4,
  ok: 5,
};

const usable = (s: HassEntityState | undefined): string | null =>
  s && s.state !== "unknown" && s.state !== "unavailable" && s.state !== "" ? s.state : null;

/** A sensor state "45" / "45.0" as a whole percent in 0–100, else null. */
function percent(state: string | null): number | null {
  const n = state === null ? NaN : Number(state);
  return Number.isFinite(n) && n >= 0 && n <= 100 ? Math.round(n) : null;
}

/** The guest id (`<site>_<vmid>`) of a backup2mqtt guest device, from its MQTT identifier. */
export function guestIdOf(device: HassDeviceEntry): string | null {
  for (const [domain, id] of device.identifiers ?? []) {
    if (domain === "mqtt" && id.startsWith("backup2mqtt_") && !id.endsWith("_bridge"))
      return id.slice("backup2mqtt_".length);
  }
  return null;
}

/** All backup2mqtt guests known to Home Assistant, as rows, filtered by the card config. */
export function collectGuests(hass: HassLike, config: CardConfig = {}): GuestRow[] {
  const byDevice = new Map<string, GuestEntities>();
  for (const e of Object.values(hass.entities)) {
    if (!e.device_id || (e.platform && e.platform !== "mqtt")) continue;
    const role = ROLES.find(([, re]) => re.test(e.entity_id))?.[0];
    if (!role) continue;
    const ents = byDevice.get(e.device_id) ?? {};
    ents[role] ??= e.entity_id;
    byDevice.set(e.device_id, ents);
  }
  const wanted = config.guests?.length ? new Set(config.guests.map((g) => g.toLowerCase())) : null;
  const rows: GuestRow[] = [];
  for (const [deviceId, ents] of byDevice) {
    if (!ents.status) continue; // every guest device has a status sensor
    const device = hass.devices[deviceId];
    if (!device) continue;
    const guestId = guestIdOf(device);
    if (device.identifiers && device.identifiers.length > 0 && guestId === null) continue; // not ours
    const name = device.name_by_user || device.name || guestId || deviceId;
    if (wanted && ![name, guestId ?? "", deviceId].some((k) => wanted.has(k.toLowerCase()))) continue;
    const statusState = hass.states[ents.status];
    const status = (
      statusState?.state === "unavailable" ? "unavailable" : (usable(statusState) ?? "unknown")
    ) as Status;
    const problemState = ents.problem ? hass.states[ents.problem] : undefined;
    const reasons = Array.isArray(problemState?.attributes.reasons)
      ? (problemState.attributes.reasons as unknown[]).map(String)
      : [];
    const running = (ents.running ? hass.states[ents.running]?.state === "on" : false) || status === "running";
    rows.push({
      deviceId,
      guestId,
      name,
      tier: ents.tier ? usable(hass.states[ents.tier]) : null,
      status,
      problem: problemState?.state === "on",
      reasons,
      lastBackup: ents.last_backup ? usable(hass.states[ents.last_backup]) : null,
      lastOffsite: ents.last_offsite ? usable(hass.states[ents.last_offsite]) : null,
      lastVerified: ents.last_verified ? usable(hass.states[ents.last_verified]) : null,
      running,
      progress: running ? percent(ents.progress ? usable(hass.states[ents.progress]) : null) : null,
      entities: ents,
    });
  }
  const shown = config.show_ok === false ? rows.filter((r) => r.problem || r.status !== "ok") : rows;
  return sortGuests(shown);
}

/** Problems first (failed, missing, stale, unknown), then running, then ok; by name within. */
export function sortGuests(rows: GuestRow[]): GuestRow[] {
  return [...rows].sort(
    (a, b) =>
      Number(b.problem) - Number(a.problem) ||
      STATUS_RANK[a.status] - STATUS_RANK[b.status] ||
      a.name.localeCompare(b.name),
  );
}

/** Short age of an ISO time: "now", "12 min", "5 h", "3 d". Null/invalid → "—". */
export function formatAge(iso: string | null, now: number = Date.now()): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "—";
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return "now";
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

export const STATUS_LABEL: Record<Status, string> = {
  ok: "OK",
  stale: "Stale",
  failed: "Failed",
  missing: "Missing",
  running: "Running",
  unknown: "Unknown",
  unavailable: "Unavailable",
};

export function validateConfig(config: unknown): CardConfig {
  if (!config || typeof config !== "object") throw new Error("backup2mqtt-card: the configuration must be an object");
  const c = config as Record<string, unknown>;
  if (c.title !== undefined && typeof c.title !== "string") throw new Error("backup2mqtt-card: title must be text");
  if (c.show_ok !== undefined && typeof c.show_ok !== "boolean")
    throw new Error("backup2mqtt-card: show_ok must be true or false");
  if (c.compact !== undefined && typeof c.compact !== "boolean")
    throw new Error("backup2mqtt-card: compact must be true or false");
  if (c.guests !== undefined && !(Array.isArray(c.guests) && c.guests.every((g) => typeof g === "string")))
    throw new Error("backup2mqtt-card: guests must be a list of guest names");
  return c as CardConfig;
}
