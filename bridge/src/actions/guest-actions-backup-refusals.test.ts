/**
 * GuestActions' "Back up now" refused (a sentence, a rejected audit line, the guard free again),
 * and the two ways a backup's bookkeeping can go astray: an in-flight record that cannot be made
 * durable, and a task whose end was seen before Proxmox answered the POST. Fake timers, a manual
 * clock, a fake Proxmox source and a real Store (guest-actions.fixtures.ts).
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PveError } from "../sources/pve/http.js";
import { Store } from "../state/store.js";
import { dir, ended, guestState, iso, later, START, setup, upid, useSandbox } from "./guest-actions.fixtures.js";

useSandbox();

describe("GuestActions.backup: from the press to the task's end", () => {
  const refusals: Array<{
    name: string;
    id?: string;
    arrange?: (h: ReturnType<typeof setup>) => void;
    posted: number;
    reason: string;
  }> = [
    { name: "an unknown guest", id: "home_999", posted: 0, reason: "unknown guest 'home_999'" },
    {
      name: "a guest of a source that is not configured",
      arrange: (h) => h.guests.set("home_100", guestState(100, "vaultwarden", { source: "old" })),
      posted: 0,
      reason: "unknown source 'old'",
    },
    {
      name: "the source is down",
      arrange: (h) =>
        (h.pve.health = {
          name: "pve",
          kind: "proxmox",
          up: false,
          degraded: false,
          error: "connect ECONNREFUSED 10.0.0.1:8006",
        }),
      posted: 0,
      reason: "Proxmox source 'pve' is not reachable: connect ECONNREFUSED 10.0.0.1:8006",
    },
    {
      name: "the source answers garbage",
      arrange: (h) => (h.pve.health = { name: "pve", kind: "proxmox", up: true, degraded: true }),
      posted: 0,
      reason: "Proxmox source 'pve' is not reachable: unknown error",
    },
    {
      name: "the tier forbids manual backups",
      id: "home_102",
      posted: 0,
      reason: "tier P3 does not allow manual backups (allow_manual: false)",
    },
    {
      name: "a backup started elsewhere runs",
      arrange: (h) => h.guests.set("home_100", guestState(100, "vaultwarden", { running: true })),
      posted: 0,
      reason:
        "a backup of vaultwarden (100) is already running (started outside this bridge, e.g. by a backup job or in the Proxmox web interface)",
    },
    {
      name: "the token lacks a privilege",
      arrange: (h) =>
        (h.pve.answer = () =>
          later(200, () => {
            throw new PveError("permission", "Permission check failed (/vms/100, VM.Backup)", 403);
          })),
      posted: 1,
      reason:
        "Proxmox refused the backup: Permission check failed (/vms/100, VM.Backup) — the token needs VM.Backup on /vms/100 and Datastore.AllocateSpace on the target storage",
    },
    {
      name: "another Proxmox error",
      arrange: (h) =>
        (h.pve.answer = () =>
          later(200, () => {
            throw new PveError("http", "500 Internal Server Error", 500);
          })),
      posted: 1,
      reason: "Proxmox refused the backup: 500 Internal Server Error",
    },
    {
      name: "Proxmox answers OK without a task",
      arrange: (h) => (h.pve.answer = () => later(200, () => null)),
      posted: 1,
      reason: `Proxmox answered "OK" without starting a task: guest 100 is not on node 'n1' any more`,
    },
  ];
  for (const c of refusals) {
    it(`refused when ${c.name}: a sentence, a rejected audit line, and the guard is free again`, async () => {
      const h = setup();
      c.arrange?.(h);
      const id = c.id ?? "home_100";
      expect(await h.press(id, "home_assistant")).toEqual({ ok: false, reason: c.reason });
      expect(h.pve.backupCalls).toHaveLength(c.posted);
      expect(h.store.readAudit()).toEqual([
        {
          time: iso(START),
          action: "backup",
          target: id,
          origin: "home_assistant",
          result: "rejected",
          detail: c.reason,
        },
      ]);
      expect(h.actions.guard.entries()).toEqual([]);
      expect(h.store.inflight).toEqual([]);
      expect(h.published()).toBe(0);
    });
  }

  it("a record that cannot be made durable is logged; the backup still runs and its end is still audited", async () => {
    const h = setup();
    // A directory where the temp file goes makes the write fail (also for root, which ignores permission bits).
    fs.mkdirSync(path.join(dir, `inflight.json.${process.pid}.tmp`));
    expect(await h.press("home_100")).toEqual({ ok: true, upid: upid(100) });
    expect(h.lines.filter((l) => l.level === 50).map((l) => [l.msg, l.upid, String(l.err).includes("EISDIR")])).toEqual(
      [["could not persist the running backup; a restart now would not report its end", upid(100), true]],
    );
    expect(h.store.inflight.map((t) => t.upid)).toEqual([upid(100)]);
    h.actions.onTaskEvent(ended(upid(100)));
    expect(h.store.readAudit().map((r) => r.result)).toEqual(["accepted", "finished"]);
    expect(h.actions.guard.entries()).toEqual([]);
  });

  it("a task whose end a poll saw before the POST's answer arrived frees the guard and leaves no in-flight record behind", async () => {
    const h = setup();
    // The end event already went by (nothing was in flight then): no later event will clear a record.
    h.pve.answer = (_vmid, u) =>
      later(200, () => {
        h.pve.ended.add(u);
        return u;
      });
    expect(await h.press("home_100")).toEqual({ ok: true, upid: upid(100) });
    expect(h.actions.guard.entries()).toEqual([]);
    expect(h.store.inflight).toEqual([]);
    expect(new Store(dir).inflight).toEqual([]);
  });
});
