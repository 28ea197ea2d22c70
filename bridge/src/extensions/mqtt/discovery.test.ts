import { describe, expect, it } from "vitest";
import { bridgeDiscovery, entitySlugs, guestDiscovery, type DiscoveryContext } from "./discovery.js";
import { Topics } from "../../core/identity.js";
import type { GuestState } from "../../policy/types.js";
import { ENTITY_NAME_KEYS, entityName } from "../../words/entity-names.js";
import { LANGUAGES } from "../../words/language.js";

const ctx: DiscoveryContext = {
  topics: new Topics("backup2mqtt", "homeassistant", "home"),
  version: "0.1.0",
  site: "home",
  sourceUrls: { pve: "https://pve.lan:8006" },
  tierIds: ["P0", "P1", "P2", "none"],
};

const guest: GuestState = {
  id: "home_102",
  source: "pve",
  vmid: 102,
  name: "vaultwarden",
  type: "qemu",
  node: "proxmox-home",
  tier: "P1",
  tier_source: "tag",
  status: "ok",
  status_reason: "The newest backup is from Thu 26 Nov, 07:00.",
  status_phrase: { key: "status.ok", params: { newest: "2026-11-26T07:00:00.000Z" } },
  problem: false,
  reasons: [],
  reason_phrases: [],
  findings: [],
  last_backup: "2026-11-26T07:00:00.000Z",
  last_backup_size: 123456,
  archive_count: 3,
  next_backup: null,
  last_verified: null,
  last_verification: null,
  last_restore_test: null,
  progress: null,
  last_offsite: null,
  copies: null,
  running: false,
  last_attempt: null,
  changes_at: null,
  fallback: null,
  protection: null,
};

describe("guest discovery payload", () => {
  const payload = guestDiscovery(ctx, guest) as any;

  it("depends only on id, name, source, type, vmid and slug (the bridge skips rebuilding it when those are unchanged)", () => {
    const other: GuestState = {
      ...guest,
      node: "elsewhere",
      tier: "P0",
      tier_source: "override",
      status: "failed",
      status_reason: "x",
      status_phrase: { key: "text", params: { text: "x" } },
      problem: true,
      reasons: ["No scheduled backup job selects this guest."],
      reason_phrases: [{ key: "unprotected" }],
      findings: [
        { code: "unprotected", key: "unprotected", params: {}, reason: "No scheduled backup job selects this guest." },
      ],
      last_backup: null,
      last_backup_size: null,
      archive_count: 0,
      running: true,
      changes_at: "2026-11-27T00:00:00.000Z",
    };
    expect(guestDiscovery(ctx, other)).toEqual(payload);
    for (const change of [
      { id: "home_999" },
      { name: "renamed" },
      { source: "pve2" },
      { type: "lxc" as const },
      { vmid: 999 },
    ])
      expect(guestDiscovery(ctx, { ...guest, ...change })).not.toEqual(payload);
    expect(guestDiscovery(ctx, guest, "another_slug")).not.toEqual(payload);
  });

  it("is device-based with device, origin and availability on both the bridge and the source", () => {
    expect(payload.device).toEqual({
      identifiers: ["backup2mqtt_home_102"],
      name: "vaultwarden",
      manufacturer: "Proxmox VE",
      model: "Virtual machine",
      serial_number: "pve/102",
      via_device: "backup2mqtt_home_bridge",
      configuration_url: "https://pve.lan:8006/#v1:0:=qemu%2F102",
    });
    expect(payload.origin).toEqual({
      name: "backup2mqtt",
      sw_version: "0.1.0",
      support_url: "https://github.com/backup2mqtt/backup2mqtt",
    });
    expect(payload.availability).toEqual([
      { topic: "backup2mqtt/bridge/state" },
      { topic: "backup2mqtt/source/pve/availability" },
    ]);
    expect(payload.availability_mode).toBe("all");
  });

  it("has every entity the README's entity table lists", () => {
    expect(Object.keys(payload.components).sort()).toEqual(
      [
        "archives",
        "backup",
        "event",
        "last_backup",
        "last_offsite",
        "last_restore_test",
        "last_verified",
        "next_backup",
        "problem",
        "progress",
        "restore_test",
        "running",
        "size",
        "status",
        "tier",
        "verify",
      ].sort(),
    );
  });

  it("gives exact configs for the key entities", () => {
    expect(payload.components.last_backup).toEqual({
      p: "sensor",
      name: "Last backup",
      unique_id: "backup2mqtt_home_102_last_backup",
      default_entity_id: "sensor.vaultwarden_last_backup",
      state_topic: "backup2mqtt/guest/home_102/state",
      device_class: "timestamp",
      value_template: "{{ value_json.last_backup if value_json.last_backup is not none else None }}",
      icon: "mdi:backup-restore",
    });
    // The status as a word (the device page shows the raw state); the code stays in the problem's attributes.
    expect(payload.components.status).toMatchObject({
      p: "sensor",
      device_class: "enum",
      options: ["Unknown", "Running", "Failed", "Missing", "Stale", "OK"],
      value_template:
        '{% set words = {"unknown":"Unknown","running":"Running","failed":"Failed","missing":"Missing","stale":"Stale","ok":"OK"} %}{{ words.get(value_json.status, value_json.status) }}',
    });
    // Bytes in the state JSON, GiB in Home Assistant; null (no archive) stays unknown.
    expect(payload.components.size).toEqual({
      p: "sensor",
      name: "Backup size",
      unique_id: "backup2mqtt_home_102_backup_size",
      default_entity_id: "sensor.vaultwarden_backup_size",
      state_topic: "backup2mqtt/guest/home_102/state",
      device_class: "data_size",
      unit_of_measurement: "GiB",
      state_class: "measurement",
      value_template:
        "{{ (value_json.last_backup_size / 1073741824) if value_json.last_backup_size is not none else None }}",
      suggested_display_precision: 2,
    });
    expect(payload.components.backup).toEqual({
      p: "button",
      name: "Back up now",
      unique_id: "backup2mqtt_home_102_backup_now",
      default_entity_id: "button.vaultwarden_back_up_now",
      command_topic: "backup2mqtt/guest/home_102/command",
      payload_press: '{"action":"backup","origin":"home_assistant"}',
      icon: "mdi:content-save-move",
      qos: 1,
    });
    expect(payload.components.tier).toMatchObject({
      p: "select",
      options: ["P0", "P1", "P2", "none"],
      entity_category: "config",
      command_template: '{"action":"set_tier","tier":"{{ value }}"}',
    });
    expect(payload.components.event).toMatchObject({
      p: "event",
      state_topic: "backup2mqtt/guest/home_102/event",
      event_types: [
        "backup_started",
        "backup_finished",
        "backup_failed",
        "backup_unknown",
        "verify_started",
        "verify_finished",
        "verify_failed",
        "restore_test_started",
        "restore_test_finished",
        "restore_test_failed",
        "command_rejected",
        "fallback_planned",
        "fallback_started",
        "backup_overrunning",
      ],
    });
  });

  it("follows Home Assistant's rules for every component", () => {
    const ids = new Set<string>();
    for (const c of Object.values<any>(payload.components)) {
      expect(c.p).toMatch(/^(sensor|binary_sensor|button|select|event)$/);
      expect(c.object_id).toBeUndefined(); // removed in HA 2026.4
      expect(c.default_entity_id.startsWith(`${c.p}.`)).toBe(true); // domain must match the platform
      expect(c.name.toLowerCase().startsWith(payload.device.name.toLowerCase())).toBe(false);
      expect(ids.has(c.unique_id)).toBe(false);
      ids.add(c.unique_id);
      if (["timestamp", "enum"].includes(c.device_class)) expect(c.state_class).toBeUndefined();
      if (c.p === "sensor" || c.p === "binary_sensor") expect(c.entity_category).not.toBe("config");
      if (c.options && c.p === "sensor") expect(c.device_class).toBe("enum");
    }
  });

  it("adds the VMID to entity ids only where two guests share a name", () => {
    const other = { ...guest, id: "home_200", vmid: 200 };
    const third = { ...guest, id: "home_300", vmid: 300, name: "Pi-hole Home" };
    const slugs = entitySlugs([guest, other, third]);
    expect([...slugs.values()]).toEqual(["vaultwarden_102", "vaultwarden_200", "pi_hole_home"]);
  });
});

describe("entity names in the bridge's language", () => {
  const de: DiscoveryContext = { ...ctx, language: "de" };

  it("German: the whole guest payload, names in German and everything else as in English", () => {
    const payload = guestDiscovery(de, guest) as any;
    const english = guestDiscovery(ctx, guest) as any;
    expect({ ...payload, components: undefined }).toEqual({ ...english, components: undefined });
    expect(payload.components).toEqual({
      last_backup: {
        p: "sensor",
        name: "Letzte Sicherung",
        unique_id: "backup2mqtt_home_102_last_backup",
        default_entity_id: "sensor.vaultwarden_last_backup",
        state_topic: "backup2mqtt/guest/home_102/state",
        device_class: "timestamp",
        value_template: "{{ value_json.last_backup if value_json.last_backup is not none else None }}",
        icon: "mdi:backup-restore",
      },
      status: {
        p: "sensor",
        name: "Sicherungsstatus",
        unique_id: "backup2mqtt_home_102_backup_status",
        default_entity_id: "sensor.vaultwarden_backup_status",
        state_topic: "backup2mqtt/guest/home_102/state",
        device_class: "enum",
        options: ["Unbekannt", "Läuft", "Fehlgeschlagen", "Fehlt", "Veraltet", "OK"],
        value_template:
          '{% set words = {"unknown":"Unbekannt","running":"Läuft","failed":"Fehlgeschlagen","missing":"Fehlt","stale":"Veraltet","ok":"OK"} %}{{ words.get(value_json.status, value_json.status) }}',
        icon: "mdi:list-status",
      },
      problem: {
        p: "binary_sensor",
        name: "Sicherungsproblem",
        unique_id: "backup2mqtt_home_102_backup_problem",
        default_entity_id: "binary_sensor.vaultwarden_backup_problem",
        device_class: "problem",
        state_topic: "backup2mqtt/guest/home_102/state",
        value_template: "{{ 'ON' if value_json.problem else 'OFF' }}",
        json_attributes_topic: "backup2mqtt/guest/home_102/state",
        json_attributes_template:
          "{{ {'status': value_json.status, 'reasons': value_json.reasons, 'status_reason': value_json.status_reason, 'findings': value_json.findings | map(attribute='code') | list, 'reason_phrases': value_json.reason_phrases | default([]), 'status_phrase': value_json.status_phrase | default(none)} | tojson }}",
      },
      size: {
        p: "sensor",
        name: "Sicherungsgröße",
        unique_id: "backup2mqtt_home_102_backup_size",
        default_entity_id: "sensor.vaultwarden_backup_size",
        state_topic: "backup2mqtt/guest/home_102/state",
        device_class: "data_size",
        unit_of_measurement: "GiB",
        state_class: "measurement",
        value_template:
          "{{ (value_json.last_backup_size / 1073741824) if value_json.last_backup_size is not none else None }}",
        suggested_display_precision: 2,
      },
      archives: {
        p: "sensor",
        name: "Sicherungsarchive",
        unique_id: "backup2mqtt_home_102_archive_count",
        default_entity_id: "sensor.vaultwarden_archive_count",
        state_topic: "backup2mqtt/guest/home_102/state",
        state_class: "measurement",
        value_template: "{{ value_json.archive_count }}",
        icon: "mdi:archive",
      },
      next_backup: {
        p: "sensor",
        name: "Nächste geplante Sicherung",
        unique_id: "backup2mqtt_home_102_next_backup",
        default_entity_id: "sensor.vaultwarden_next_backup",
        state_topic: "backup2mqtt/guest/home_102/state",
        device_class: "timestamp",
        value_template: "{{ value_json.next_backup if value_json.next_backup is not none else None }}",
        icon: "mdi:calendar-clock",
      },
      last_verified: {
        p: "sensor",
        name: "Letzte Prüfung",
        unique_id: "backup2mqtt_home_102_last_verified",
        default_entity_id: "sensor.vaultwarden_last_verified",
        state_topic: "backup2mqtt/guest/home_102/state",
        device_class: "timestamp",
        value_template: "{{ value_json.last_verified if value_json.last_verified is not none else None }}",
        icon: "mdi:shield-check",
      },
      last_offsite: {
        p: "sensor",
        name: "Letzte externe Kopie",
        unique_id: "backup2mqtt_home_102_last_offsite",
        default_entity_id: "sensor.vaultwarden_last_offsite",
        state_topic: "backup2mqtt/guest/home_102/state",
        device_class: "timestamp",
        value_template: "{{ value_json.last_offsite if value_json.last_offsite is not none else None }}",
        icon: "mdi:cloud-upload",
      },
      tier: {
        p: "select",
        name: "Sicherungsstufe",
        unique_id: "backup2mqtt_home_102_tier",
        default_entity_id: "select.vaultwarden_backup_tier",
        entity_category: "config",
        options: ["P0", "P1", "P2", "none"],
        state_topic: "backup2mqtt/guest/home_102/state",
        value_template: "{{ value_json.tier if value_json.tier is not none else None }}",
        command_topic: "backup2mqtt/guest/home_102/command",
        command_template: '{"action":"set_tier","tier":"{{ value }}"}',
        icon: "mdi:shield-star",
      },
      running: {
        p: "binary_sensor",
        name: "Sicherung läuft",
        unique_id: "backup2mqtt_home_102_backup_running",
        default_entity_id: "binary_sensor.vaultwarden_backup_running",
        device_class: "running",
        state_topic: "backup2mqtt/guest/home_102/state",
        value_template: "{{ 'ON' if value_json.running else 'OFF' }}",
      },
      progress: {
        p: "sensor",
        name: "Sicherungsfortschritt",
        unique_id: "backup2mqtt_home_102_backup_progress",
        default_entity_id: "sensor.vaultwarden_backup_progress",
        state_topic: "backup2mqtt/guest/home_102/state",
        unit_of_measurement: "%",
        value_template: "{{ value_json.progress if value_json.progress is not none else None }}",
        icon: "mdi:progress-clock",
      },
      backup: {
        p: "button",
        name: "Jetzt sichern",
        unique_id: "backup2mqtt_home_102_backup_now",
        default_entity_id: "button.vaultwarden_back_up_now",
        command_topic: "backup2mqtt/guest/home_102/command",
        payload_press: '{"action":"backup","origin":"home_assistant"}',
        icon: "mdi:content-save-move",
        qos: 1,
      },
      verify: {
        p: "button",
        name: "Jetzt prüfen",
        unique_id: "backup2mqtt_home_102_verify_now",
        default_entity_id: "button.vaultwarden_verify_now",
        command_topic: "backup2mqtt/guest/home_102/command",
        payload_press: '{"action":"verify","origin":"home_assistant"}',
        icon: "mdi:shield-search",
        qos: 1,
      },
      restore_test: {
        p: "button",
        name: "Wiederherstellungstest",
        unique_id: "backup2mqtt_home_102_restore_test",
        default_entity_id: "button.vaultwarden_restore_test",
        command_topic: "backup2mqtt/guest/home_102/command",
        payload_press: '{"action":"restore_test","origin":"home_assistant"}',
        icon: "mdi:backup-restore",
        entity_category: "diagnostic",
        qos: 1,
      },
      last_restore_test: {
        p: "sensor",
        name: "Letzter Wiederherstellungstest",
        unique_id: "backup2mqtt_home_102_last_restore_test",
        default_entity_id: "sensor.vaultwarden_last_restore_test",
        state_topic: "backup2mqtt/guest/home_102/state",
        device_class: "timestamp",
        entity_category: "diagnostic",
        value_template: "{{ value_json.last_restore_test.time if value_json.last_restore_test else None }}",
        json_attributes_topic: "backup2mqtt/guest/home_102/state",
        json_attributes_template: "{{ (value_json.last_restore_test or {}) | tojson }}",
        icon: "mdi:backup-restore",
      },
      event: {
        p: "event",
        name: "Sicherungsereignis",
        unique_id: "backup2mqtt_home_102_backup_event",
        default_entity_id: "event.vaultwarden_backup_event",
        state_topic: "backup2mqtt/guest/home_102/event",
        event_types: [
          "backup_started",
          "backup_finished",
          "backup_failed",
          "backup_unknown",
          "verify_started",
          "verify_finished",
          "verify_failed",
          "restore_test_started",
          "restore_test_finished",
          "restore_test_failed",
          "command_rejected",
          "fallback_planned",
          "fallback_started",
          "backup_overrunning",
        ],
        icon: "mdi:history",
      },
    });
  });

  it("unique_ids and entity ids do not change with the language; English is the default", () => {
    const ids = (p: any) =>
      Object.entries<any>(p.components).map(([k, c]) => [k, c.p, c.unique_id, c.default_entity_id]);
    expect(ids(guestDiscovery(de, guest))).toEqual(ids(guestDiscovery(ctx, guest)));
    expect(ids(bridgeDiscovery(de, ["pve"]))).toEqual(ids(bridgeDiscovery(ctx, ["pve"])));
    expect(guestDiscovery({ ...ctx, language: "en" }, guest)).toEqual(guestDiscovery(ctx, guest));
  });

  it("German bridge device: every entity named, none repeating the device name", () => {
    const names = Object.fromEntries(
      Object.entries<any>((bridgeDiscovery(de, ["pve"]) as any).components).map(([k, c]) => [k, c.name]),
    );
    expect(names).toEqual({
      source_pve: "Quelle pve",
      guests_unknown: "Gäste unbekannt",
      guests_running: "Gäste in Sicherung",
      guests_failed: "Gäste fehlgeschlagen",
      guests_missing: "Gäste ohne Sicherung",
      guests_stale: "Gäste veraltet",
      guests_ok: "Gäste OK",
      guests_problem: "Gäste mit Problemen",
      guests_untiered: "Gäste ohne Stufe",
      guests_orphaned: "Verwaiste Archivgruppen",
      last_refresh: "Letzte Aktualisierung",
      missed_jobs: "Verpasste Sicherungsaufträge",
      refresh: "Aktualisieren",
    });
  });

  it("every name has an English and a German text, and no two entities of a device share a name", () => {
    for (const key of ENTITY_NAME_KEYS)
      for (const language of LANGUAGES) expect(entityName(key, language), `${key} ${language}`).toMatch(/\S/);
    for (const c of [ctx, de]) {
      for (const p of [guestDiscovery(c, guest), bridgeDiscovery(c, ["pve", "nas"])] as any[]) {
        const list = Object.values<any>(p.components).map((x) => x.name);
        expect(new Set(list).size).toBe(list.length);
      }
    }
  });
});

describe("bridge discovery payload", () => {
  const payload = bridgeDiscovery(ctx, ["pve"]) as any;
  it("has connectivity per source, counts per status, last refresh and a refresh button", () => {
    expect(payload.device).toMatchObject({ identifiers: ["backup2mqtt_home_bridge"], name: "backup2mqtt home" });
    expect(payload.availability).toEqual([{ topic: "backup2mqtt/bridge/state" }]);
    expect(payload.components.source_pve).toMatchObject({
      p: "binary_sensor",
      device_class: "connectivity",
      entity_category: "diagnostic",
      state_topic: "backup2mqtt/bridge/info",
    });
    for (const s of ["ok", "stale", "failed", "missing", "running", "unknown", "problem"])
      expect(payload.components[`guests_${s}`]).toMatchObject({ p: "sensor", state_topic: "backup2mqtt/bridge/info" });
    expect(payload.components.last_refresh).toMatchObject({ device_class: "timestamp" });
    expect(payload.components.refresh).toMatchObject({ p: "button", command_topic: "backup2mqtt/bridge/command" });
  });
  it("discovery topics match Home Assistant's topic pattern", () => {
    const re = /^homeassistant\/device\/[a-zA-Z0-9_-]+\/config$/;
    expect(ctx.topics.deviceConfig("backup2mqtt_home_bridge")).toMatch(re);
    expect(ctx.topics.deviceConfig("backup2mqtt_home_102")).toMatch(re);
  });
});

describe("watchdog entities", () => {
  it("Stop backup button only for guests whose tier has allow_stop: true", () => {
    const without = guestDiscovery(ctx, guest) as any;
    expect(without.components.stop_backup).toBeUndefined();
    const withStop = guestDiscovery({ ...ctx, stopTiers: [guest.tier!] }, guest) as any;
    expect(withStop.components.stop_backup).toMatchObject({
      p: "button",
      name: "Stop backup",
      command_topic: "backup2mqtt/guest/home_102/command",
      payload_press: '{"action":"stop_backup","origin":"home_assistant"}',
    });
    expect(guestDiscovery({ ...ctx, stopTiers: ["other"] }, guest) as any).not.toHaveProperty("components.stop_backup");
  });

  it("Missed jobs sensor on the bridge device: the count, and the jobs with when each was due as attributes", () => {
    const c = (bridgeDiscovery(ctx, ["pve"]) as any).components.missed_jobs;
    expect(c).toMatchObject({
      p: "sensor",
      name: "Missed jobs",
      state_topic: "backup2mqtt/bridge/info",
      json_attributes_topic: "backup2mqtt/bridge/info",
    });
    expect(c.value_template).toBe("{{ (value_json.missed_jobs | default([])) | length }}");
    expect(c.json_attributes_template).toBe("{{ {'jobs': value_json.missed_jobs | default([])} | tojson }}");
  });
});
