import type { HassLike } from "../src/model.js";

/** A `hass` as the frontend hands it to cards, with the bridge's five demo guests. */
export function demoHass(now = Date.parse("2026-11-26T12:00:00Z"), calls: unknown[] = []): HassLike {
  const ago = (h: number) => new Date(now - h * 3600_000).toISOString();
  const guests = [
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
      reasons: [] as string[],
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
      reasons: ["stale: newest backup is 10d old; tier P2 allows 8d", "unprotected: job backup-p2-weekly is disabled"],
    },
    {
      id: "home_102",
      name: "vaultwarden",
      slug: "vaultwarden",
      tier: "P1",
      status: "failed",
      problem: true,
      last: ago(30),
      offsite: null,
      verified: null,
      reasons: ["failed: VM 102 qmp command 'backup' failed - got timeout"],
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
      reasons: ["missing: never backed up"],
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
      reasons: [],
    },
  ];
  const hass: HassLike = {
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
    add(`sensor.${g.slug}_backup_status`, dev, g.status);
    add(`binary_sensor.${g.slug}_backup_problem`, dev, g.problem ? "on" : "off", { reasons: g.reasons });
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
