import { describe, expect, it } from "vitest";
import { bridgeDiscovery, entitySlugs, guestDiscovery, type DiscoveryContext } from "./discovery.js";
import { Topics } from "../../core/identity.js";
import type { GuestState } from "../../policy/types.js";

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
  status_reason: "newest backup is 5h old",
  problem: false,
  reasons: [],
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
      problem: true,
      reasons: ["y"],
      findings: [{ code: "unprotected", reason: "z" }],
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
    expect(payload.components.status).toMatchObject({
      p: "sensor",
      device_class: "enum",
      options: ["unknown", "running", "failed", "missing", "stale", "ok"],
    });
    expect(payload.components.size).toMatchObject({ device_class: "data_size", unit_of_measurement: "B" });
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
