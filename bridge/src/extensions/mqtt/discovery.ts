import { GUEST_EVENT_TYPES } from "../../schemas/event.js";
import type { GuestState } from "../../policy/types.js";
import { STATUSES } from "../../policy/types.js";
import { bridgeObjectId, deviceId, slug, type Topics } from "../../core/identity.js";
import { entityName, type EntityNameKey } from "../../words/entity-names.js";
import type { Language } from "../../words/language.js";
import { statusWord } from "../../words/render.js";

export { slug };

/**
 * Home Assistant device-based discovery payloads (HA 2024.11+), built as pure data so tests can
 * assert them exactly. Rules of Home Assistant's MQTT discovery (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery): origin filled, every entity a stable
 * unique_id and a default_entity_id (never object_id), names without the device name, no
 * state_class on timestamp/enum, sensors never entity_category config, retained configs.
 * Entity names are in the bridge's language (words/entity-names.ts); ids never depend on it.
 */

export interface DiscoveryContext {
  topics: Topics;
  version: string;
  site: string;
  /** Base URL of the Proxmox UI per source, for configuration_url. */
  sourceUrls: Record<string, string>;
  tierIds: string[];
  /** The language of entity names (config `language`); absent = en. */
  language?: Language;
  /** Tiers whose `fallback` is `ask`: their guests get "Fallback pending" and "Approve fallback". */
  fallbackAskTiers?: string[];
  /** Tiers with `allow_stop: true`: their guests get the "Stop backup" button. */
  stopTiers?: string[];
}

/** Does this guest get the Stop backup button (its tier has allow_stop: true)? */
export const allowsStop = (ctx: DiscoveryContext, g: GuestState): boolean =>
  g.tier !== null && (ctx.stopTiers ?? []).includes(g.tier);

/** Does this guest get the fallback approval entities (its tier's fallback is `ask`)? */
export const asksForFallback = (ctx: DiscoveryContext, g: GuestState): boolean =>
  g.tier !== null && (ctx.fallbackAskTiers ?? []).includes(g.tier);

/**
 * The fallback approval entities of a guest whose tier's fallback is `ask`: a binary sensor that is
 * on while a planned fallback waits for approval (its attributes: the fallback's state, when it is
 * planned to start, and why, as a sentence), and the button that approves it.
 */
function fallbackComponents(
  ctx: DiscoveryContext,
  uid: (key: string) => string,
  eid: (domain: string, key: string) => string,
  state: string,
  command: string,
): Record<string, Component> {
  return {
    fallback_pending: {
      p: "binary_sensor",
      name: nameOf(ctx, "fallback_pending"),
      unique_id: uid("fallback_pending"),
      default_entity_id: eid("binary_sensor", "fallback_pending"),
      state_topic: state,
      value_template:
        "{% set f = value_json.fallback or {} %}{{ 'ON' if f.action == 'ask' and f.state == 'planned' and not f.approved else 'OFF' }}",
      json_attributes_topic: state,
      json_attributes_template:
        "{% set f = value_json.fallback or {} %}{{ {'fallback_state': f.state | default(none), 'at': f.at | default(none), 'reason': f.reason | default(none), 'approved': f.approved | default(false)} | tojson }}",
      icon: "mdi:backup-restore",
    },
    approve_fallback: {
      p: "button",
      name: nameOf(ctx, "approve_fallback"),
      unique_id: uid("approve_fallback"),
      default_entity_id: eid("button", "approve_fallback"),
      command_topic: command,
      payload_press: '{"action":"approve_fallback","origin":"home_assistant"}',
      icon: "mdi:check-decagram",
      qos: 1,
    },
  };
}

/** An entity's name in the context's language. */
export const nameOf = (ctx: DiscoveryContext, key: EntityNameKey, vars?: Record<string, string>) =>
  entityName(key, ctx.language ?? "en", vars);

type Component = Record<string, unknown> & { p: string; unique_id: string };

export const origin = (ctx: DiscoveryContext) => ({
  name: "backup2mqtt",
  sw_version: ctx.version,
  support_url: "https://github.com/backup2mqtt/backup2mqtt",
});

export const jsonValue = (field: string) => `{{ value_json.${field} if value_json.${field} is not none else None }}`;

/** Bytes in a GiB. */
export const GIB = 1073741824;

/**
 * A size sensor on a bytes field of a state: the JSON keeps bytes, Home Assistant shows GiB
 * (discovery cannot suggest a display unit, and "1,717,986,918 B" reads badly). null stays
 * unknown. Long-term statistics recorded in B by earlier versions carry on: B and GiB are both
 * units of data_size, so the recorder converts instead of raising a repair (test/ha/statistics-units).
 */
export function gibSensor(field: string, precision: number): Record<string, unknown> {
  return {
    device_class: "data_size",
    unit_of_measurement: "GiB",
    state_class: "measurement",
    value_template: `{{ (value_json.${field} / ${GIB}) if value_json.${field} is not none else None }}`,
    suggested_display_precision: precision,
  };
}

/** A `problem` binary sensor on a device's JSON state, its reasons as attributes. */
export function problemComponent(
  name: string,
  uniqueId: string,
  entityId: string,
  stateTopic: string,
  attributesTemplate: string,
): Component {
  return {
    p: "binary_sensor",
    name,
    unique_id: uniqueId,
    default_entity_id: entityId,
    device_class: "problem",
    state_topic: stateTopic,
    value_template: "{{ 'ON' if value_json.problem else 'OFF' }}",
    json_attributes_topic: stateTopic,
    json_attributes_template: attributesTemplate,
  };
}

/** The discovery payload for one guest device. */
export function guestDiscovery(
  ctx: DiscoveryContext,
  g: GuestState,
  entitySlug = slug(g.name),
): Record<string, unknown> {
  const t = ctx.topics;
  const devId = deviceId(g.id);
  const uid = (key: string) => `${devId}_${key}`;
  const eid = (domain: string, key: string) => `${domain}.${entitySlug}_${key}`;
  const state = t.guestState(g.id);
  const command = t.guestCommand(g.id);
  const sensor = (key: string, name: EntityNameKey, extra: Record<string, unknown>): Component => ({
    p: "sensor",
    name: nameOf(ctx, name),
    unique_id: uid(key),
    default_entity_id: eid("sensor", key),
    state_topic: state,
    ...extra,
  });
  const cmps: Record<string, Component> = {
    last_backup: sensor("last_backup", "last_backup", {
      device_class: "timestamp",
      value_template: jsonValue("last_backup"),
      icon: "mdi:backup-restore",
    }),
    // The status as a word in the bridge's language ("Failed", "Fehlgeschlagen"): MQTT discovery cannot
    // label enum options, and the device page shows the raw state. Automations read the code from the
    // problem sensor's `status` attribute (or the state topic's `status`).
    status: sensor("backup_status", "backup_status", {
      device_class: "enum",
      options: STATUSES.map((s) => statusWord(s, ctx.language ?? "en")),
      value_template: `{% set words = ${JSON.stringify(Object.fromEntries(STATUSES.map((s) => [s, statusWord(s, ctx.language ?? "en")])))} %}{{ words.get(value_json.status, value_json.status) }}`,
      icon: "mdi:list-status",
    }),
    problem: problemComponent(
      nameOf(ctx, "backup_problem"),
      uid("backup_problem"),
      eid("binary_sensor", "backup_problem"),
      state,
      "{{ {'status': value_json.status, 'reasons': value_json.reasons, 'status_reason': value_json.status_reason, 'findings': value_json.findings | map(attribute='code') | list, 'reason_phrases': value_json.reason_phrases | default([]), 'status_phrase': value_json.status_phrase | default(none)} | tojson }}",
    ),
    size: sensor("backup_size", "backup_size", gibSensor("last_backup_size", 2)),
    archives: sensor("archive_count", "archive_count", {
      state_class: "measurement",
      value_template: "{{ value_json.archive_count }}",
      icon: "mdi:archive",
    }),
    next_backup: sensor("next_backup", "next_backup", {
      device_class: "timestamp",
      value_template: jsonValue("next_backup"),
      icon: "mdi:calendar-clock",
    }),
    last_verified: sensor("last_verified", "last_verified", {
      device_class: "timestamp",
      value_template: jsonValue("last_verified"),
      icon: "mdi:shield-check",
    }),
    last_offsite: sensor("last_offsite", "last_offsite", {
      device_class: "timestamp",
      value_template: jsonValue("last_offsite"),
      icon: "mdi:cloud-upload",
    }),
    tier: {
      p: "select",
      name: nameOf(ctx, "backup_tier"),
      unique_id: uid("tier"),
      default_entity_id: eid("select", "backup_tier"),
      entity_category: "config",
      options: ctx.tierIds,
      state_topic: state,
      value_template: jsonValue("tier"),
      command_topic: command,
      command_template: '{"action":"set_tier","tier":"{{ value }}"}',
      icon: "mdi:shield-star",
    },
    running: {
      p: "binary_sensor",
      name: nameOf(ctx, "backup_running"),
      unique_id: uid("backup_running"),
      default_entity_id: eid("binary_sensor", "backup_running"),
      device_class: "running",
      state_topic: state,
      value_template: "{{ 'ON' if value_json.running else 'OFF' }}",
    },
    // vzdump's own percentage while a VM backup runs (containers' tar prints none): unknown otherwise.
    progress: sensor("backup_progress", "backup_progress", {
      unit_of_measurement: "%",
      value_template: jsonValue("progress"),
      icon: "mdi:progress-clock",
    }),
    backup: {
      p: "button",
      name: nameOf(ctx, "back_up_now"),
      unique_id: uid("backup_now"),
      default_entity_id: eid("button", "back_up_now"),
      command_topic: command,
      payload_press: '{"action":"backup","origin":"home_assistant"}',
      icon: "mdi:content-save-move",
      qos: 1,
    },
    verify: {
      p: "button",
      name: nameOf(ctx, "verify_now"),
      unique_id: uid("verify_now"),
      default_entity_id: eid("button", "verify_now"),
      command_topic: command,
      payload_press: '{"action":"verify","origin":"home_assistant"}',
      icon: "mdi:shield-search",
      qos: 1,
    },
    restore_test: {
      p: "button",
      name: nameOf(ctx, "restore_test"),
      unique_id: uid("restore_test"),
      default_entity_id: eid("button", "restore_test"),
      command_topic: command,
      payload_press: '{"action":"restore_test","origin":"home_assistant"}',
      icon: "mdi:backup-restore",
      entity_category: "diagnostic",
      qos: 1,
    },
    last_restore_test: sensor("last_restore_test", "last_restore_test", {
      device_class: "timestamp",
      entity_category: "diagnostic",
      value_template: "{{ value_json.last_restore_test.time if value_json.last_restore_test else None }}",
      json_attributes_topic: state,
      json_attributes_template: "{{ (value_json.last_restore_test or {}) | tojson }}",
      icon: "mdi:backup-restore",
    }),
    event: {
      p: "event",
      name: nameOf(ctx, "backup_event"),
      unique_id: uid("backup_event"),
      default_entity_id: eid("event", "backup_event"),
      state_topic: t.guestEvent(g.id),
      event_types: [...GUEST_EVENT_TYPES],
      icon: "mdi:history",
    },
  };
  if (asksForFallback(ctx, g)) Object.assign(cmps, fallbackComponents(ctx, uid, eid, state, command));
  if (allowsStop(ctx, g))
    cmps.stop_backup = {
      p: "button",
      name: nameOf(ctx, "stop_backup"),
      unique_id: uid("stop_backup"),
      default_entity_id: eid("button", "stop_backup"),
      command_topic: command,
      payload_press: '{"action":"stop_backup","origin":"home_assistant"}',
      icon: "mdi:stop-circle-outline",
      qos: 1,
    };
  const url = ctx.sourceUrls[g.source];
  return {
    device: {
      identifiers: [devId],
      name: g.name,
      manufacturer: "Proxmox VE",
      model: g.type === "qemu" ? "Virtual machine" : "LXC container",
      serial_number: `${g.source}/${g.vmid}`,
      via_device: deviceId(bridgeObjectId(ctx.site)),
      ...(url ? { configuration_url: `${url}/#v1:0:=${g.type}%2F${g.vmid}` } : {}),
    },
    origin: origin(ctx),
    availability: [{ topic: t.bridgeState }, { topic: t.sourceAvailability(g.source) }],
    availability_mode: "all",
    components: cmps,
    qos: 1,
  };
}

/** The discovery payload for the bridge device. */
export function bridgeDiscovery(ctx: DiscoveryContext, sources: string[]): Record<string, unknown> {
  const t = ctx.topics;
  const devId = deviceId(bridgeObjectId(ctx.site));
  const uid = (key: string) => `${devId}_${key}`;
  const cmps: Record<string, Component> = {};
  for (const s of sources) {
    const key = `source_${s.replace(/-/g, "_")}`;
    cmps[key] = {
      p: "binary_sensor",
      name: nameOf(ctx, "source", { source: s }),
      unique_id: uid(key),
      default_entity_id: `binary_sensor.backup2mqtt_${ctx.site}_${key}`,
      device_class: "connectivity",
      entity_category: "diagnostic",
      state_topic: t.bridgeInfo,
      value_template: `{{ 'ON' if value_json.sources['${s}'].up and not value_json.sources['${s}'].degraded else 'OFF' }}`,
      json_attributes_topic: t.bridgeInfo,
      json_attributes_template: `{{ value_json.sources['${s}'] | tojson }}`,
    };
  }
  for (const status of [...STATUSES, "problem", "untiered", "orphaned"] as const) {
    cmps[`guests_${status}`] = {
      p: "sensor",
      name: nameOf(ctx, `guests_${status}`),
      unique_id: uid(`guests_${status}`),
      default_entity_id: `sensor.backup2mqtt_${ctx.site}_guests_${status}`,
      state_topic: t.bridgeInfo,
      state_class: "measurement",
      value_template: `{{ value_json.counts.${status} }}`,
      icon: status === "problem" ? "mdi:alert" : "mdi:counter",
    };
  }
  cmps.missed_jobs = {
    p: "sensor",
    name: nameOf(ctx, "missed_jobs"),
    unique_id: uid("missed_jobs"),
    default_entity_id: `sensor.backup2mqtt_${ctx.site}_missed_jobs`,
    state_topic: t.bridgeInfo,
    state_class: "measurement",
    value_template: "{{ (value_json.missed_jobs | default([])) | length }}",
    json_attributes_topic: t.bridgeInfo,
    json_attributes_template: "{{ {'jobs': value_json.missed_jobs | default([])} | tojson }}",
    icon: "mdi:calendar-alert",
  };
  cmps.last_refresh = {
    p: "sensor",
    name: nameOf(ctx, "last_refresh"),
    unique_id: uid("last_refresh"),
    default_entity_id: `sensor.backup2mqtt_${ctx.site}_last_refresh`,
    device_class: "timestamp",
    entity_category: "diagnostic",
    state_topic: t.bridgeInfo,
    value_template: jsonValue("last_refresh"),
  };
  cmps.refresh = {
    p: "button",
    name: nameOf(ctx, "refresh"),
    unique_id: uid("refresh"),
    default_entity_id: `button.backup2mqtt_${ctx.site}_refresh`,
    command_topic: t.bridgeCommand,
    payload_press: '{"action":"refresh","origin":"home_assistant"}',
    entity_category: "diagnostic",
    icon: "mdi:refresh",
    qos: 1,
  };
  return {
    device: {
      identifiers: [devId],
      name: `backup2mqtt ${ctx.site}`,
      manufacturer: "backup2mqtt",
      model: "Backup bridge",
      sw_version: ctx.version,
    },
    origin: origin(ctx),
    availability: [{ topic: t.bridgeState }],
    components: cmps,
    qos: 1,
  };
}

/** Entity-id slugs per guest: the guest name, with the VMID added where two guests share a name. */
export function entitySlugs(guests: GuestState[]): Map<string, string> {
  const count = new Map<string, number>();
  for (const g of guests) count.set(slug(g.name), (count.get(slug(g.name)) ?? 0) + 1);
  return new Map(guests.map((g) => [g.id, count.get(slug(g.name))! > 1 ? `${slug(g.name)}_${g.vmid}` : slug(g.name)]));
}
