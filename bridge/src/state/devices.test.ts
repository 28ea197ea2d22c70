import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { Topics } from "../core/identity.js";
import { DeviceRegistry, ownFoundDevice, type PresentDevice } from "./devices.js";

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-devices-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const lines: string[] = [];
const log = createLogger("debug", () => [], {
  write: (l: string) => {
    lines.push(l);
    return true;
  },
} as unknown as NodeJS.WritableStream);

const guest = (vmid: number, id = `home_${vmid}`, source = "pve"): PresentDevice => ({
  deviceId: `backup2mqtt_${id}`,
  kind: "guest",
  source,
  vmid,
  name: `g${vmid}`,
  configTopic: `homeassistant/device/backup2mqtt_${id}/config`,
  stateTopic: `backup2mqtt/guest/${id}/state`,
});
const H = 3_600_000;

describe("DeviceRegistry.sweep: a device goes only after a confirmed absence lasting the grace period", () => {
  const cases: Array<{ name: string; confirmed: boolean[]; at: number[]; removedAt: number | null }> = [
    {
      name: "confirmed gone throughout: removed when the grace period is over",
      confirmed: [true, true, true],
      at: [0, 23 * H, 24 * H],
      removedAt: 24 * H,
    },
    {
      name: "never confirmed (source down, token refused): never removed",
      confirmed: [false, false, false],
      at: [0, 30 * H, 90 * H],
      removedAt: null,
    },
    {
      name: "confirmed, then the source goes down past the deadline: kept until it answers again",
      confirmed: [true, false, false, true],
      at: [0, 25 * H, 40 * H, 41 * H],
      removedAt: 41 * H,
    },
    {
      name: "the clock starts at the first confirmed absence, not at the first miss",
      confirmed: [false, true, true, true],
      at: [0, 10 * H, 33 * H, 34 * H],
      removedAt: 34 * H,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = new DeviceRegistry(tmp(), log);
      r.present(guest(100));
      let removedAt: number | null = null;
      c.at.forEach((t, i) => {
        const { remove } = r.sweep(new Set(), t, 24 * H, () => c.confirmed[i]!);
        if (remove.length && removedAt === null) removedAt = t;
      });
      expect(removedAt).toBe(c.removedAt);
    });
  }

  it("the moment it was first seen gone survives a restart (devices.json)", () => {
    const dir = tmp();
    const a = new DeviceRegistry(dir, log);
    a.present(guest(100));
    a.sweep(new Set(), 5 * H, 24 * H, () => true);
    a.save();
    const b = new DeviceRegistry(dir, log);
    expect(b.sweep(new Set(), 28 * H, 24 * H, () => true).remove).toEqual([]);
    expect(b.sweep(new Set(), 29 * H, 24 * H, () => true).remove.map((e) => e.deviceId)).toEqual([
      "backup2mqtt_home_100",
    ]);
  });

  it("a device that comes back is no longer gone", () => {
    const r = new DeviceRegistry(tmp(), log);
    r.present(guest(100));
    r.sweep(new Set(), 0, 24 * H, () => true);
    r.present(guest(100));
    r.sweep(new Set(["backup2mqtt_home_100"]), 1 * H, 24 * H, () => true);
    expect(r.pending()).toEqual([]);
    expect(r.sweep(new Set(), 2 * H, 24 * H, () => true).remove).toEqual([]);
  });
});

describe("DeviceRegistry.guestId: ids that do not move", () => {
  const configured = (s: string) => s === "pve" || s === "pve2";
  it("a pinned id wins over the multi-source form", () => {
    const r = new DeviceRegistry(tmp(), log);
    r.present(guest(100));
    expect(r.guestId("pve", 100, "home_pve_100", "home_100", configured)).toBe("home_100");
    expect(r.guestId("pve2", 100, "home_pve2_100", "home_100", configured)).toBe("home_pve2_100");
  });
  it("an id found on the broker is adopted once: the first source to ask claims it in the same pass", () => {
    const r = new DeviceRegistry(tmp(), log);
    r.found("backup2mqtt_home_100", { kind: "guest", vmid: 100, configTopic: "t" });
    expect(r.guestId("pve", 100, "home_pve_100", "home_100", configured)).toBe("home_100");
    expect(r.guestId("pve2", 100, "home_pve2_100", "home_100", configured)).toBe("home_pve2_100");
  });
  it("a renamed source takes over the ids of the source that is no longer configured", () => {
    const r = new DeviceRegistry(tmp(), log);
    r.present(guest(100, "home_100", "old-name"));
    expect(r.guestId("pve", 100, "home_100", "home_100", configured)).toBe("home_100");
  });
});

describe("ownFoundDevice: only this bridge's own retained configs", () => {
  const o = new Topics("backup2mqtt", "homeassistant", "home");
  const cfg = (avty: string, state = "backup2mqtt/guest/home_100/state") =>
    JSON.stringify({
      device: { name: "vaultwarden" },
      availability: [{ topic: avty }],
      components: { s: { state_topic: state } },
    });
  it("accepts a guest config naming this bridge's state topic", () => {
    expect(
      ownFoundDevice("homeassistant/device/backup2mqtt_home_100/config", cfg("backup2mqtt/bridge/state"), o),
    ).toEqual({
      deviceId: "backup2mqtt_home_100",
      entry: {
        kind: "guest",
        vmid: 100,
        name: "vaultwarden",
        configTopic: "homeassistant/device/backup2mqtt_home_100/config",
        stateTopic: "backup2mqtt/guest/home_100/state",
      },
    });
  });
  it("refuses another bridge's (site home_2 shares the id prefix backup2mqtt_home_), garbage, and the bridge device", () => {
    expect(
      ownFoundDevice("homeassistant/device/backup2mqtt_home_2_100/config", cfg("backup2mqtt_home_2/bridge/state"), o),
    ).toBeNull();
    expect(ownFoundDevice("homeassistant/device/backup2mqtt_home_100/config", "{not json", o)).toBeNull();
    expect(
      ownFoundDevice("homeassistant/device/backup2mqtt_home_bridge/config", cfg("backup2mqtt/bridge/state"), o),
    ).toBeNull();
  });
});

it("a damaged devices.json is moved aside with one line, and the bridge starts with an empty list", () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, "devices.json"), '{"version":1,"devices":{"x":{"kind":"toaster"}}}');
  lines.length = 0;
  const r = new DeviceRegistry(dir, log);
  expect(r.pending()).toEqual([]);
  expect(fs.readdirSync(dir).some((f) => f.startsWith("devices.json.corrupt-"))).toBe(true);
  expect(lines.filter((l) => l.includes("devices.json")).length).toBe(1);
});
