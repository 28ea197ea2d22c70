/**
 * DeviceRegistry's grace period over fake time: a publish loop on a one-minute fake timer marks
 * what it published, sweeps with Date.now() and saves, as the bridge does after each publish.
 * The timelines below are the minutes at which a device was first seen gone and removed.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../log.js";
import { DeviceRegistry, type PresentDevice } from "./devices.js";

const T0 = Date.UTC(2026, 5, 1, 10, 0, 0);
const MIN = 60_000;
const GRACE = 30 * MIN;
const id = (vmid: number) => `backup2mqtt_home_${vmid}`;
const guest = (vmid: number): PresentDevice => ({
  deviceId: id(vmid),
  kind: "guest",
  source: "pve",
  vmid,
  name: `g${vmid}`,
  configTopic: `homeassistant/device/${id(vmid)}/config`,
  stateTopic: `backup2mqtt/guest/home_${vmid}/state`,
});

let dir: string;
let lines: Array<Record<string, unknown>>;
const log = () =>
  createLogger(
    "debug",
    () => [],
    {
      write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) > 0,
    } as unknown as NodeJS.WritableStream,
    { repeatWindowMs: 0 },
  );
beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-sweep-"));
  lines = [];
});
afterEach(() => {
  vi.useRealTimers();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Every minute: publish `present(minute)`, sweep, save. The timeline: "<minute> gone <vmid> until <minute>", "<minute> remove <vmid>". */
function publishLoop(
  reg: DeviceRegistry,
  o: { present: (min: number) => number[]; confirmed?: (min: number) => boolean; graceMs?: number },
) {
  const timeline: string[] = [];
  const timer = setInterval(() => {
    const min = (Date.now() - T0) / MIN;
    const ids = new Set<string>();
    for (const vmid of o.present(min)) {
      reg.present(guest(vmid));
      ids.add(id(vmid));
    }
    const r = reg.sweep(ids, Date.now(), o.graceMs ?? GRACE, () => o.confirmed?.(min) ?? true);
    for (const e of r.newlyGone) timeline.push(`${min} gone ${e.vmid} until ${(e.removeAtMs - T0) / MIN}`);
    for (const e of r.remove) timeline.push(`${min} remove ${e.vmid}`);
    reg.save();
  }, MIN);
  return { timeline, stop: () => clearInterval(timer) };
}
const goneAt5 = (min: number) => (min < 5 ? [100, 101] : [100]);

describe("DeviceRegistry.sweep over fake time", () => {
  it("a guest gone at minute 5 is pending for the grace period and removed at minute 35, once", () => {
    const reg = new DeviceRegistry(dir, log());
    const loop = publishLoop(reg, { present: goneAt5 });
    vi.advanceTimersByTime(20 * MIN);
    expect(reg.pending()).toEqual([{ ...guest(101), goneSinceMs: T0 + 5 * MIN }]);
    vi.advanceTimersByTime(40 * MIN);
    loop.stop();
    expect(loop.timeline).toEqual(["5 gone 101 until 35", "35 remove 101"]);
    expect(reg.get(id(101))).toBeUndefined();
    expect(reg.guestIdOf("pve", 101)).toBeUndefined();
    expect(reg.guestIdOf("pve", 100)).toBe("home_100");
  });

  it("a restart at minute 20 neither resets nor skips the wait", () => {
    const first = publishLoop(new DeviceRegistry(dir, log()), { present: goneAt5 });
    vi.advanceTimersByTime(20 * MIN);
    first.stop();
    const second = publishLoop(new DeviceRegistry(dir, log()), { present: goneAt5 });
    vi.advanceTimersByTime(40 * MIN);
    second.stop();
    expect([first.timeline, second.timeline]).toEqual([["5 gone 101 until 35"], ["35 remove 101"]]);
  });

  it("while the source cannot confirm the absence (minutes 10 to 49) the device stays; the first confirming read after the deadline removes it", () => {
    const loop = publishLoop(new DeviceRegistry(dir, log()), {
      present: goneAt5,
      confirmed: (min) => min < 10 || min >= 50,
    });
    vi.advanceTimersByTime(60 * MIN);
    loop.stop();
    expect(loop.timeline).toEqual(["5 gone 101 until 35", "50 remove 101"]);
  });

  it("back at minute 20 (one line says so), gone again at 25: a new grace period from 25", () => {
    const loop = publishLoop(new DeviceRegistry(dir, log()), {
      present: (min) => (min < 5 || (min >= 20 && min < 25) ? [100, 101] : [100]),
    });
    vi.advanceTimersByTime(60 * MIN);
    loop.stop();
    expect(loop.timeline).toEqual(["5 gone 101 until 35", "25 gone 101 until 55", "55 remove 101"]);
    expect(lines.filter((l) => String(l.msg).includes("is back")).map((l) => [l.time, l.msg])).toEqual([
      [T0 + 20 * MIN, "g101 is back; its Home Assistant device stays"],
    ]);
  });

  it("with no grace period the first confirmed absence removes it", () => {
    const loop = publishLoop(new DeviceRegistry(dir, log()), { present: goneAt5, graceMs: 0 });
    vi.advanceTimersByTime(10 * MIN);
    loop.stop();
    expect(loop.timeline).toEqual(["5 remove 101"]);
  });

  it("a save that failed is tried again at the next save, so a restart still knows when the device went", () => {
    const tmp = path.join(dir, `devices.json.${process.pid}.tmp`);
    const first = publishLoop(new DeviceRegistry(dir, log()), { present: goneAt5 });
    vi.advanceTimersByTime(4 * MIN);
    fs.mkdirSync(tmp); // minute 5's save fails …
    vi.advanceTimersByTime(1 * MIN);
    expect(lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual([
      "could not save the device list; a restart may wait longer before removing a device that is gone",
    ]);
    fs.rmdirSync(tmp); // … the disk is fine again from minute 6
    vi.advanceTimersByTime(15 * MIN);
    first.stop();
    const second = publishLoop(new DeviceRegistry(dir, log()), { present: goneAt5 });
    vi.advanceTimersByTime(40 * MIN);
    second.stop();
    expect([first.timeline, second.timeline]).toEqual([["5 gone 101 until 35"], ["35 remove 101"]]);
  });
});
