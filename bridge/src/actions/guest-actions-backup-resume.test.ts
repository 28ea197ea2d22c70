/**
 * How a "Back up now" guard ends other than by the task's end event: the safety expiry of a
 * backup whose end is never seen, and resume() after a restart, which follows the backups started
 * before it. Fake timers, a manual clock, a fake Proxmox source and a real Store
 * (guest-actions.fixtures.ts).
 */
import { describe, expect, it } from "vitest";
import { Store } from "../state/store.js";
import { GUARD_MAX_HOLD_MS } from "./guard.js";
import { dir, ended, iso, MIN, START, setup, upid, useSandbox } from "./guest-actions.fixtures.js";

useSandbox();

describe("GuestActions: the guard's end", () => {
  it("a backup whose end is never seen stops blocking after the safety expiry, with one warning; its late end does not free the new claim", async () => {
    const h = setup();
    await h.press("home_100", "mqtt", "req-1");
    h.clock.advance(GUARD_MAX_HOLD_MS - 1);
    expect(await h.press("home_100")).toEqual({
      ok: false,
      reason:
        "a backup of vaultwarden (100) is already running (started by mqtt, request req-1 at 10:00:00, 6 hours ago)",
    });
    expect(h.lines.filter((l) => l.level === 40)).toEqual([]);
    h.clock.advance(1);
    expect(await h.press("home_100")).toEqual({ ok: true, upid: upid(100, 2) });
    expect(h.lines.filter((l) => l.level === 40).map((l) => [l.msg, l.key, l.upid, l.request_id])).toEqual([
      [
        "no end was seen of a backup of vaultwarden (100) 6 hours after it started; it no longer blocks new commands",
        "backup:home_100",
        upid(100),
        "req-1",
      ],
    ]);
    // The first task's end, late: its record goes and its result is audited; the second backup keeps its guard.
    h.actions.onTaskEvent(ended(upid(100)));
    expect(h.actions.guard.entries()).toEqual([
      { key: "backup:home_100", upid: upid(100, 2), sinceMs: START + GUARD_MAX_HOLD_MS },
    ]);
    expect(h.store.inflight.map((t) => t.upid)).toEqual([upid(100, 2)]);
    expect(h.store.readAudit().map((r) => r.result)).toEqual(["accepted", "rejected", "accepted", "finished"]);
    h.actions.onTaskEvent(ended(upid(100, 2)));
    expect(h.actions.guard.entries()).toEqual([]);
  });
});

describe("GuestActions.resume: backups started before a restart", () => {
  function leftBehind(): void {
    const before = new Store(dir);
    before.addInflight({
      kind: "backup",
      source: "pve",
      upid: upid(100),
      node: "n1",
      vmid: 100,
      startedMs: START - 5 * MIN,
      origin: "home_assistant",
    });
    before.addInflight({
      kind: "backup",
      source: "removed-source",
      upid: "UPID:x:1:1:1:vzdump:100:u:",
      node: "x",
      vmid: 100,
      startedMs: START - 5 * MIN,
      origin: "mqtt",
    });
  }

  it("follows each backup of a configured source again, refuses a new press until its end, then audits the end with the original origin", async () => {
    leftBehind();
    const h = setup();
    await h.actions.resume();
    expect(h.pve.resumed).toEqual([`${upid(100)} n1 100`]);
    expect(h.actions.guard.entries()).toEqual([{ key: "backup:home_100", upid: upid(100), sinceMs: START }]);
    h.clock.advance(2 * MIN);
    expect(await h.press("home_100")).toEqual({
      ok: false,
      reason: "a backup of vaultwarden (100) is already running (started by home_assistant at 10:00:00, 2 minutes ago)",
    });
    expect(h.pve.backupCalls).toEqual([]);

    h.actions.onTaskEvent(ended(upid(100)));
    expect(h.store.readAudit().at(-1)).toEqual({
      time: iso(START + 2 * MIN),
      action: "backup",
      target: "home_100",
      origin: "home_assistant",
      result: "finished",
      detail: "OK",
    });
    // The record of a source no longer configured is left alone.
    expect(h.store.inflight.map((t) => t.source)).toEqual(["removed-source"]);
    expect(h.actions.guard.entries()).toEqual([]);
    expect((await h.press("home_100")).ok).toBe(true);
  });

  it("before the source's first read the guard names the guest by its VMID", async () => {
    leftBehind();
    const h = setup({ knownToSource: false });
    await h.actions.resume();
    h.clock.advance(1000);
    expect(await h.press("home_100")).toEqual({
      ok: false,
      reason: "a backup of guest 100 (100) is already running (started by home_assistant at 10:00:00, 1 second ago)",
    });
  });
});
