import { describe, expect, it } from "vitest";
import { guestDiscovery, type DiscoveryContext } from "./discovery.js";
import { Topics } from "../../core/identity.js";
import type { GuestState } from "../../policy/types.js";

const ctx: DiscoveryContext = {
  topics: new Topics("backup2mqtt", "homeassistant", "home"),
  version: "0.1.0",
  site: "home",
  sourceUrls: { pve: "https://pve.lan:8006" },
  tierIds: ["P0", "P1", "P2", "none"],
  fallbackAskTiers: ["P0"],
};

const guest = {
  id: "home_102",
  source: "pve",
  vmid: 102,
  name: "vaultwarden",
  type: "qemu",
  node: "proxmox-home",
  tier: "P0",
  tier_source: "tag",
  status: "stale",
  status_reason: "The newest backup is from Thu 26 Nov, 07:00.",
  status_phrase: { key: "status.ok", params: { newest: "2026-11-26T07:00:00.000Z" } },
  problem: true,
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
} as GuestState;

const components = (c: DiscoveryContext, g: GuestState) =>
  (guestDiscovery(c, g) as { components: Record<string, Record<string, unknown>> }).components;

describe("fallback approval entities", () => {
  it("a guest whose tier's fallback is ask gets the Fallback pending sensor and the Approve fallback button, exactly", () => {
    const c = components(ctx, guest);
    expect(c.fallback_pending).toEqual({
      p: "binary_sensor",
      name: "Fallback pending",
      unique_id: "backup2mqtt_home_102_fallback_pending",
      default_entity_id: "binary_sensor.vaultwarden_fallback_pending",
      state_topic: "backup2mqtt/guest/home_102/state",
      value_template:
        "{% set f = value_json.fallback or {} %}{{ 'ON' if f.action == 'ask' and f.state == 'planned' and not f.approved else 'OFF' }}",
      json_attributes_topic: "backup2mqtt/guest/home_102/state",
      json_attributes_template:
        "{% set f = value_json.fallback or {} %}{{ {'fallback_state': f.state | default(none), 'at': f.at | default(none), 'reason': f.reason | default(none), 'approved': f.approved | default(false)} | tojson }}",
      icon: "mdi:backup-restore",
    });
    expect(c.approve_fallback).toEqual({
      p: "button",
      name: "Approve fallback",
      unique_id: "backup2mqtt_home_102_approve_fallback",
      default_entity_id: "button.vaultwarden_approve_fallback",
      command_topic: "backup2mqtt/guest/home_102/command",
      payload_press: '{"action":"approve_fallback","origin":"home_assistant"}',
      icon: "mdi:check-decagram",
      qos: 1,
    });
  });

  it("the button's payload is a valid approve_fallback command", () => {
    const press = JSON.parse(String(components(ctx, guest).approve_fallback!.payload_press));
    expect(press).toEqual({ action: "approve_fallback", origin: "home_assistant" });
  });

  it("guests of other tiers, untiered guests and a bridge without ask tiers get neither", () => {
    for (const [c, g] of [
      [ctx, { ...guest, tier: "P1" }],
      [ctx, { ...guest, tier: null }],
      [{ ...ctx, fallbackAskTiers: [] }, guest],
      [{ ...ctx, fallbackAskTiers: undefined }, guest],
    ] as [DiscoveryContext, GuestState][]) {
      const cmps = components(c, g);
      expect(cmps.fallback_pending).toBeUndefined();
      expect(cmps.approve_fallback).toBeUndefined();
      expect(cmps.backup).toBeDefined();
    }
  });

  it("does not depend on the fallback's current state (entities stay while nothing is pending)", () => {
    const planned = {
      ...guest,
      fallback: { state: "planned", at: "2026-11-27T01:00:00.000Z", reason: "x", action: "ask", approved: false },
    } as GuestState;
    expect(guestDiscovery(ctx, planned)).toEqual(guestDiscovery(ctx, guest));
  });

  it("German names; ids stay the same", () => {
    const de = components({ ...ctx, language: "de" }, guest);
    const en = components(ctx, guest);
    expect(de.fallback_pending!.name).toBe("Ersatzsicherung ausstehend");
    expect(de.approve_fallback!.name).toBe("Ersatzsicherung freigeben");
    for (const k of ["fallback_pending", "approve_fallback"]) {
      expect(de[k]!.unique_id).toBe(en[k]!.unique_id);
      expect(de[k]!.default_entity_id).toBe(en[k]!.default_entity_id);
    }
  });
});
