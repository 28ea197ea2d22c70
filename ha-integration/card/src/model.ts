/**
 * Pure part of the card: find backup2mqtt guests in Home Assistant's registries and states, and
 * order them problems first; their reasons rendered in Home Assistant's language. No DOM here, so it
 * is unit-tested directly.
 */
import type { Phrase } from "../../../bridge/src/words/phrase.js";
import { PHRASEBOOKS, render } from "../../../bridge/src/words/render.js";
import { type CardLocale, cardLocale, type HassLocaleLike, type Language, WORDS } from "./words.js";

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
export interface HassLike extends HassLocaleLike {
  states: Record<string, HassEntityState>;
  entities: Record<string, HassEntityEntry>;
  devices: Record<string, HassDeviceEntry>;
  callService(domain: string, service: string, data?: Record<string, unknown>): Promise<unknown>;
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
  /** Why the guest has a problem, as sentences in the card's language (or the bridge's, from an older bridge). */
  reasons: string[];
  /** What the status means (the bridge's status_phrase), as a sentence in the card's language. */
  statusText: string | null;
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

/** The bridge's status codes: the keys of the phrasebook's status words. */
const STATUS_CODES: readonly string[] = Object.keys(PHRASEBOOKS.en.statuses);
/** Every language's word for each status ("Failed", "Fehlgeschlagen" → failed). */
const STATUS_BY_WORD = new Map(
  Object.values(PHRASEBOOKS).flatMap((book) =>
    Object.entries(book.statuses).map(([code, word]) => [word.toLowerCase(), code] as const),
  ),
);

/**
 * The status code: the problem sensor's `status` attribute, else the status sensor's state, which
 * is the status as a word in the bridge's language since it shows on device pages (a code from an
 * older bridge).
 */
function statusCode(problem: HassEntityState | undefined, status: HassEntityState | undefined): string | null {
  const attr = problem?.attributes.status;
  if (typeof attr === "string" && STATUS_CODES.includes(attr)) return attr;
  const state = usable(status);
  if (state === null) return null;
  return STATUS_CODES.includes(state) ? state : (STATUS_BY_WORD.get(state.toLowerCase()) ?? null);
}

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

/**
 * Whether the bundled phrasebook knows a phrase and every phrase inside its parameters. A newer
 * bridge may send keys this card doesn't know yet: then the bridge's own text is shown instead.
 */
function knownPhrase(v: unknown): v is Phrase {
  if (!v || typeof v !== "object" || Array.isArray(v)) return false;
  const { key, params } = v as { key?: unknown; params?: unknown };
  if (typeof key !== "string" || !Object.hasOwn(PHRASEBOOKS.en.phrases, key)) return false;
  if (params === undefined) return true;
  return !!params && typeof params === "object" && !Array.isArray(params) && Object.values(params).every(nestedOk);
}

function nestedOk(v: unknown): boolean {
  if (Array.isArray(v)) return v.every(nestedOk);
  if (v && typeof v === "object") return "key" in v ? knownPhrase(v) : true; // a retention has no key
  return true;
}

/** A phrase as text, or null when the card can't render it (unknown key, parameters it can't read). */
function renderKnown(p: unknown, locale: CardLocale): string | null {
  if (!knownPhrase(p)) return null;
  try {
    return render(p, locale) || null;
  } catch {
    return null; // e.g. a string where the template wants a phrase: the bridge's text instead
  }
}

/**
 * The reasons of a guest's problem sensor as text: `reason_phrases` rendered in the card's language
 * and zone; the bridge's `reasons` (in the bridge's language) when there are no phrases (an older
 * bridge) or for a phrase this card can't render.
 */
export function reasonTexts(attributes: Record<string, unknown>, locale: CardLocale): string[] {
  const texts = Array.isArray(attributes.reasons) ? attributes.reasons.map(String) : [];
  const phrases = attributes.reason_phrases;
  if (!Array.isArray(phrases)) return texts;
  const out: string[] = [];
  phrases.forEach((p, i) => {
    const text = renderKnown(p, locale) ?? texts[i];
    if (text) out.push(text);
  });
  return out;
}

/** A status_phrase attribute as text in the card's language; null when absent or unknown to the card. */
export function statusText(attributes: Record<string, unknown> | undefined, locale: CardLocale): string | null {
  return renderKnown(attributes?.status_phrase, locale);
}

/** All backup2mqtt guests known to Home Assistant, as rows, filtered by the card config. */
export function collectGuests(
  hass: HassLike,
  config: CardConfig = {},
  locale: CardLocale = cardLocale(hass),
): GuestRow[] {
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
    const problemState = ents.problem ? hass.states[ents.problem] : undefined;
    const status = (
      statusState?.state === "unavailable" ? "unavailable" : (statusCode(problemState, statusState) ?? "unknown")
    ) as Status;
    const reasons = problemState ? reasonTexts(problemState.attributes, locale) : [];
    const running = (ents.running ? hass.states[ents.running]?.state === "on" : false) || status === "running";
    rows.push({
      deviceId,
      guestId,
      name,
      tier: ents.tier ? usable(hass.states[ents.tier]) : null,
      status,
      problem: problemState?.state === "on",
      reasons,
      statusText: statusText(problemState?.attributes, locale) ?? statusText(statusState?.attributes, locale),
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

/** The config, or an error in the given language that names the wrong option. */
export function validateConfig(config: unknown, language: Language = "en"): CardConfig {
  const e = WORDS[language].errors;
  const fail = (message: string) => new Error(`backup2mqtt-card: ${message}`);
  if (!config || typeof config !== "object") throw fail(e.object);
  const c = config as Record<string, unknown>;
  if (c.title !== undefined && typeof c.title !== "string") throw fail(e.title);
  if (c.show_ok !== undefined && typeof c.show_ok !== "boolean") throw fail(e.show_ok);
  if (c.compact !== undefined && typeof c.compact !== "boolean") throw fail(e.compact);
  if (c.guests !== undefined && !(Array.isArray(c.guests) && c.guests.every((g) => typeof g === "string")))
    throw fail(e.guests);
  return c as CardConfig;
}
