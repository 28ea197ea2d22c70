import type { Phrase } from "../../../bridge/src/words/phrase.js";
import { render, statusWord } from "../../../bridge/src/words/render.js";
import type { HassLike } from "../src/model.js";

/** Tier P1's (and the demo's P0's) maximum age, 26 hours, and P2's, 8 days. */
const DAY_AND_2H = 93_600_000;
const EIGHT_DAYS = 691_200_000;

/** The language and zone of the demo bridge (config `language`, `timezone`): its `reasons` are in these. */
export const BRIDGE = { language: "en", timeZone: "Europe/Berlin" } as const;

interface DemoGuest {
  id: string;
  name: string;
  slug: string;
  tier: string;
  status: string;
  problem: boolean;
  last: string | null;
  offsite: string | null;
  verified: string | null;
  /** The problem sensor's reason_phrases (its reasons are these, rendered by the bridge). */
  phrases: Phrase[];
  /** The problem sensor's status_phrase: what the status means (for a problem, also its first reason). */
  statusPhrase?: Phrase;
}

/**
 * A `hass` as the frontend hands it to cards (English, Home Assistant's zone Europe/Berlin), with
 * the bridge's five demo guests. Each problem sensor carries what the bridge publishes: `reasons`
 * in the bridge's language and `reason_phrases` for the card to render in Home Assistant's.
 */
export function demoHass(now = Date.parse("2026-11-26T12:00:00Z"), calls: unknown[] = []): HassLike {
  const ago = (h: number) => new Date(now - h * 3600_000).toISOString();
  const failedAt = ago(10);
  const guests: DemoGuest[] = [
    {
      id: "home_100",
      name: "homeassistant",
      slug: "homeassistant",
      tier: "P0",
      status: "ok",
      problem: false,
      last: ago(5),
      offsite: ago(20),
      verified: ago(50),
      phrases: [],
      statusPhrase: {
        key: "status.ok.until",
        params: { newest: ago(5), until: ago(5 - 26), tier: "P0", max: DAY_AND_2H },
      },
    },
    {
      id: "home_101",
      name: "immich",
      slug: "immich",
      tier: "P2",
      status: "stale",
      problem: true,
      last: ago(240),
      offsite: null,
      verified: null,
      phrases: [
        { key: "status.stale", params: { newest: ago(240), tier: "P2", max: EIGHT_DAYS } },
        { key: "unprotected.disabled", params: { count: 1, jobs: ["backup-p2-weekly"] } },
      ],
    },
    {
      id: "home_102",
      name: "vaultwarden",
      slug: "vaultwarden",
      tier: "P1",
      status: "failed",
      problem: true,
      last: ago(34),
      offsite: null,
      verified: null,
      phrases: [
        {
          key: "status.failed",
          params: { at: failedAt, error: "VM 102 qmp command 'backup' failed - got timeout", newest: ago(34) },
        },
        { key: "too_few_copies", params: { tier: "P1", want: 2, max: DAY_AND_2H, found: 0 } },
        {
          key: "no_offsite",
          params: {
            tier: "P1",
            max: DAY_AND_2H,
            why: [{ key: "offsite.nothing", params: { count: 1, storages: ["local"] } }],
          },
        },
      ],
    },
    {
      id: "home_103",
      name: "download-home",
      slug: "download_home",
      tier: "P2",
      status: "missing",
      problem: true,
      last: null,
      offsite: null,
      verified: null,
      phrases: [{ key: "status.missing" }, { key: "unprotected" }],
    },
    {
      id: "home_105",
      name: "pihole-home",
      slug: "pihole_home",
      tier: "P2",
      status: "running",
      problem: false,
      last: ago(2),
      offsite: null,
      verified: null,
      phrases: [],
      statusPhrase: { key: "status.running" },
    },
  ];
  const hass: HassLike = {
    language: "en",
    locale: { language: "en" },
    config: { time_zone: "Europe/Berlin" },
    states: {},
    entities: {},
    devices: {
      bridge: { id: "bridge", name: "backup2mqtt home", identifiers: [["mqtt", "backup2mqtt_home_bridge"]] },
      lamp: { id: "lamp", name: "Lamp", identifiers: [["mqtt", "zigbee_lamp"]] },
    },
    callService: async (domain, service, data) => {
      calls.push({ domain, service, data });
    },
  };
  const add = (
    entity_id: string,
    device_id: string,
    state: string | null,
    attributes: Record<string, unknown> = {},
  ) => {
    hass.entities[entity_id] = { entity_id, device_id, platform: "mqtt" };
    hass.states[entity_id] = { entity_id, state: state ?? "unknown", attributes };
  };
  for (const g of guests) {
    const dev = `dev_${g.id}`;
    hass.devices[dev] = {
      id: dev,
      name: g.name,
      manufacturer: "Proxmox VE",
      identifiers: [["mqtt", `backup2mqtt_${g.id}`]],
    };
    // As the bridge publishes it: the status sensor shows the word, the problem sensor carries the code.
    add(`sensor.${g.slug}_backup_status`, dev, statusWord(g.status, BRIDGE.language));
    const problem: Record<string, unknown> = {
      status: g.status,
      reasons: g.phrases.map((p) => render(p, BRIDGE)),
      reason_phrases: g.phrases,
    };
    const statusPhrase = g.statusPhrase ?? (g.problem ? g.phrases[0] : undefined);
    if (statusPhrase) problem.status_phrase = statusPhrase;
    add(`binary_sensor.${g.slug}_backup_problem`, dev, g.problem ? "on" : "off", problem);
    add(`sensor.${g.slug}_last_backup`, dev, g.last);
    add(`sensor.${g.slug}_last_off_site_copy`, dev, g.offsite);
    add(`sensor.${g.slug}_last_verified`, dev, g.verified);
    add(`select.${g.slug}_backup_tier`, dev, g.tier);
    add(`binary_sensor.${g.slug}_backup_running`, dev, g.status === "running" ? "on" : "off");
    add(`sensor.${g.slug}_backup_progress`, dev, null, { unit_of_measurement: "%" }); // unknown: containers print no progress
    add(`button.${g.slug}_back_up_now`, dev, "unknown");
  }
  // not ours: a bridge sensor and a lamp
  add("sensor.backup2mqtt_home_guests_ok", "bridge", "1");
  add("sensor.lamp_backup_status", "lamp", "ok");
  return hass;
}
