import { describe, expect, it } from "vitest";
import { collectGuests, formatAge, guestIdOf, sortGuests, validateConfig } from "../src/model.js";
import { demoHass } from "./fixtures.js";

const NOW = Date.parse("2026-11-26T12:00:00Z");

describe("collectGuests", () => {
  it("finds every backup2mqtt guest device and none of the others, problems first", () => {
    const rows = collectGuests(demoHass(NOW));
    expect(rows.map((r) => [r.name, r.status, r.problem])).toEqual([
      ["vaultwarden", "failed", true],
      ["download-home", "missing", true],
      ["immich", "stale", true],
      ["pihole-home", "running", false],
      ["homeassistant", "ok", false],
    ]);
    const immich = rows.find((r) => r.name === "immich")!;
    expect(immich).toMatchObject({ guestId: "home_101", tier: "P2", lastOffsite: null });
    expect(immich.reasons).toHaveLength(2);
    expect(immich.entities.back_up_now).toBe("button.immich_back_up_now");
    expect(rows.find((r) => r.name === "download-home")!.lastBackup).toBeNull();
    expect(rows.find((r) => r.name === "pihole-home")!.running).toBe(true);
  });

  it("reads a running VM backup's progress; none when unknown, out of range, or not running", () => {
    const rowOf = (hass: ReturnType<typeof demoHass>, name: string) =>
      collectGuests(hass).find((r) => r.name === name)!;
    const hass = demoHass(NOW);
    expect(rowOf(hass, "pihole-home")).toMatchObject({
      running: true,
      progress: null,
      entities: { progress: "sensor.pihole_home_backup_progress" },
    });
    hass.states["sensor.pihole_home_backup_progress"]!.state = "45.4";
    expect(rowOf(hass, "pihole-home").progress).toBe(45);
    hass.states["sensor.pihole_home_backup_progress"]!.state = "140";
    expect(rowOf(hass, "pihole-home").progress).toBeNull();
    hass.states["sensor.homeassistant_backup_progress"]!.state = "30";
    expect(rowOf(hass, "homeassistant")).toMatchObject({ running: false, progress: null });
  });

  it("hides ok guests when asked, and filters by name or guest id", () => {
    expect(collectGuests(demoHass(NOW), { show_ok: false }).map((r) => r.name)).toEqual([
      "vaultwarden",
      "download-home",
      "immich",
      "pihole-home",
    ]);
    expect(collectGuests(demoHass(NOW), { guests: ["Immich", "home_100"] }).map((r) => r.name)).toEqual([
      "immich",
      "homeassistant",
    ]);
  });

  it("shows an unavailable status sensor as unavailable (bridge or Proxmox down)", () => {
    const hass = demoHass(NOW);
    hass.states["sensor.homeassistant_backup_status"]!.state = "unavailable";
    expect(collectGuests(hass).find((r) => r.name === "homeassistant")!.status).toBe("unavailable");
  });

  it("ignores entities of other integrations", () => {
    const hass = demoHass(NOW);
    hass.entities["sensor.vaultwarden_backup_status"]!.platform = "template";
    expect(collectGuests(hass).map((r) => r.name)).not.toContain("vaultwarden");
  });
});

describe("helpers", () => {
  it("guestIdOf reads the MQTT identifier and skips the bridge device", () => {
    expect(guestIdOf({ id: "x", identifiers: [["mqtt", "backup2mqtt_home_104"]] })).toBe("home_104");
    expect(guestIdOf({ id: "x", identifiers: [["mqtt", "backup2mqtt_home_bridge"]] })).toBeNull();
    expect(guestIdOf({ id: "x", identifiers: [["zha", "backup2mqtt_home_104"]] })).toBeNull();
  });

  it("formatAge", () => {
    expect(formatAge(null, NOW)).toBe("—");
    expect(formatAge("garbage", NOW)).toBe("—");
    expect(formatAge(new Date(NOW - 20_000).toISOString(), NOW)).toBe("now");
    expect(formatAge(new Date(NOW - 12 * 60_000).toISOString(), NOW)).toBe("12 min");
    expect(formatAge(new Date(NOW - 30 * 3600_000).toISOString(), NOW)).toBe("30 h");
    expect(formatAge(new Date(NOW - 10 * 86400_000).toISOString(), NOW)).toBe("10 d");
  });

  it("sortGuests keeps problems first even when the status is ok (unprotected)", () => {
    const rows = collectGuests(demoHass(NOW));
    const ok = { ...rows.find((r) => r.name === "homeassistant")!, name: "aaa", problem: true };
    expect(sortGuests([...rows, ok]).map((r) => r.name)).toEqual([
      "vaultwarden",
      "download-home",
      "immich",
      "aaa",
      "pihole-home",
      "homeassistant",
    ]);
  });

  it("validateConfig refuses wrong types with a readable message", () => {
    expect(() => validateConfig({ show_ok: "yes" })).toThrow(/show_ok/);
    expect(() => validateConfig({ guests: "immich" })).toThrow(/guests/);
    expect(() => validateConfig(null)).toThrow(/object/);
    expect(validateConfig({ title: "B", guests: ["immich"] })).toEqual({ title: "B", guests: ["immich"] });
  });
});
