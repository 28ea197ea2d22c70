/**
 * GuestActions' "Back up now" on its own, with fake timers and a manual clock: no network, no
 * real-time waits. The Proxmox source is a fake with only the members GuestActions uses (its POST
 * /vzdump answers after 200 ms of fake time); the Store is real, on a temporary directory, so what
 * is durable is read back from disk. Covered here: acceptance → in-flight record → the task's end
 * (in-flight cleared, result audited, guard released); a second press naming the first request.
 * Refusals are in guest-actions-backup-refusals.test.ts; resume() after a restart and the guard's
 * safety expiry in guest-actions-backup-resume.test.ts; the fakes in guest-actions.fixtures.ts.
 */
import { describe, expect, it, vi } from "vitest";
import type { TaskEvent } from "../sources/pve/source.js";
import { Store } from "../state/store.js";
import { dir, ended, iso, MIN, START, setup, upid, useSandbox } from "./guest-actions.fixtures.js";

useSandbox();

describe("GuestActions.backup: from the press to the task's end", () => {
  it("accepted: the guard is taken at the press, the in-flight record is written when Proxmox answers, and the task's end clears it and audits the result", async () => {
    const h = setup();
    const pending = h.actions.backup("home_100", { requestId: "req-1" }, "home_assistant");
    // The POST is still on its way: the guard is already taken, nothing is recorded yet.
    expect(h.actions.guard.entries()).toEqual([{ key: "backup:home_100", sinceMs: START }]);
    expect(h.store.inflight).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(await pending).toEqual({ ok: true, upid: upid(100) });
    expect(h.pve.backupCalls).toEqual([
      {
        vmid: 100,
        opts: {
          storage: "local",
          mode: "snapshot",
          compress: "zstd",
          notesTemplate: "{{guestname}}",
          requestId: "req-1",
        },
      },
    ]);
    const record = {
      kind: "backup",
      source: "pve",
      upid: upid(100),
      node: "n1",
      vmid: 100,
      startedMs: START,
      origin: "home_assistant",
    };
    expect(h.store.inflight).toEqual([record]);
    expect(new Store(dir).inflight).toEqual([record]); // durable: a restart now would follow it
    expect(h.actions.guard.entries()).toEqual([{ key: "backup:home_100", upid: upid(100), sinceMs: START }]);
    expect(h.published()).toBe(1);

    h.clock.advance(20 * MIN);
    h.actions.onTaskEvent(
      ended(upid(100), {
        phase: "started",
        outcomes: [{ vmid: 100, result: "running", warnings: 0 }],
        exitstatus: undefined,
      }),
    );
    expect(h.actions.guard.isHeld("backup:home_100")).toBe(true);
    expect(h.store.inflight).toEqual([record]);

    h.actions.onTaskEvent(ended(upid(100)));
    expect(h.store.inflight).toEqual([]);
    expect(new Store(dir).inflight).toEqual([]);
    expect(h.actions.guard.entries()).toEqual([]);
    expect(h.store.readAudit()).toEqual([
      {
        time: iso(START),
        action: "backup",
        target: "home_100",
        origin: "home_assistant",
        result: "accepted",
        detail: upid(100),
      },
      {
        time: iso(START + 20 * MIN),
        action: "backup",
        target: "home_100",
        origin: "home_assistant",
        result: "finished",
        detail: "OK",
      },
    ]);
  });

  const endings: Array<{
    name: string;
    event: Partial<TaskEvent>;
    audit: Array<{ target: string; result: string; detail: string }>;
  }> = [
    {
      name: "warnings: finished, with the exit status",
      event: { outcomes: [{ vmid: 100, result: "warnings", warnings: 2 }], exitstatus: "WARNINGS: 2" },
      audit: [{ target: "home_100", result: "finished", detail: "WARNINGS: 2" }],
    },
    {
      name: "failed: failed, with the guest's error",
      event: {
        outcomes: [{ vmid: 100, result: "failed", error: "unable to create temporary directory", warnings: 0 }],
        exitstatus: "job errors",
      },
      audit: [{ target: "home_100", result: "failed", detail: "unable to create temporary directory" }],
    },
    {
      name: "no exit status: the guest's result",
      event: { exitstatus: undefined },
      audit: [{ target: "home_100", result: "finished", detail: "ok" }],
    },
    {
      name: "unknown to Proxmox: finished, with the reason",
      event: { phase: "unknown", exitstatus: undefined, reason: "Proxmox does not know the task on node 'n1'" },
      audit: [{ target: "home_100", result: "finished", detail: "Proxmox does not know the task on node 'n1'" }],
    },
    {
      name: "unknown without a reason: a default sentence",
      event: { phase: "unknown", exitstatus: undefined },
      audit: [{ target: "home_100", result: "finished", detail: "Proxmox does not know the task" }],
    },
    {
      name: "one task, two guests: one line each",
      event: {
        outcomes: [
          { vmid: 100, result: "ok", warnings: 0 },
          { vmid: 101, result: "failed", error: "no space left", warnings: 0 },
        ],
      },
      audit: [
        { target: "home_100", result: "finished", detail: "OK" },
        { target: "home_101", result: "failed", detail: "no space left" },
      ],
    },
  ];
  for (const c of endings) {
    it(`the task's end is audited — ${c.name}`, async () => {
      const h = setup();
      await h.press("home_100");
      h.actions.onTaskEvent(ended(upid(100), c.event));
      expect(
        h.store
          .readAudit()
          .slice(1)
          .map(({ target, result, detail }) => ({ target, result, detail })),
      ).toEqual(c.audit);
      expect(h.store.inflight).toEqual([]);
      expect(h.actions.guard.entries()).toEqual([]);
    });
  }

  it("runs vzdump with the mode, compress and notes-template of the job that selects the guest (a disabled job is the manual fallback), never its prune-backups", async () => {
    const h = setup();
    h.pve.job = {
      source: "pve",
      id: "backup-p0-daily",
      enabled: false,
      vmids: [100],
      storage: "synology",
      mode: "stop",
      compress: "lzo",
      notesTemplate: "{{guestname}} manual",
      pruneBackups: { "keep-daily": 7 },
    };
    const pending = h.actions.backup("home_100", {}, "home_assistant");
    await vi.advanceTimersByTimeAsync(200);
    expect(await pending).toMatchObject({ ok: true });
    // storage: the config's (set here) wins; without it PveSource.defaultBackupStorage takes the job's.
    expect(h.pve.backupCalls).toEqual([
      { vmid: 100, opts: { storage: "local", mode: "stop", compress: "lzo", notesTemplate: "{{guestname}} manual" } },
    ]);
  });

  it("the end of a task this bridge did not start (a scheduled job) is not audited and frees no guard", async () => {
    const h = setup();
    await h.press("home_100");
    h.actions.onTaskEvent(ended("UPID:n1:0000FFFF:00000001:665AE000:vzdump::root@pam:"));
    expect(h.store.readAudit().map((r) => r.result)).toEqual(["accepted"]);
    expect(h.actions.guard.isHeld("backup:home_100")).toBe(true);
    expect(h.store.inflight.map((t) => t.upid)).toEqual([upid(100)]);
  });

  it("a second press while the first runs is refused with a sentence naming the first request; another guest is not blocked", async () => {
    const h = setup();
    const first = h.actions.backup("home_100", { requestId: "req-1" }, "home_assistant");
    h.clock.advance(3000);
    // While the first POST is still unanswered …
    expect(await h.actions.backup("home_100", {}, "mqtt")).toEqual({
      ok: false,
      reason:
        "a backup of vaultwarden (100) is already running (started by home_assistant, request req-1 at 10:00:00, 3 seconds ago)",
    });
    await vi.advanceTimersByTimeAsync(200);
    expect((await first).ok).toBe(true);
    // … and while its task runs.
    h.clock.advance(10 * MIN);
    expect(await h.press("home_100", "http")).toEqual({
      ok: false,
      reason:
        "a backup of vaultwarden (100) is already running (started by home_assistant, request req-1 at 10:00:00, 10 minutes ago)",
    });
    expect(h.pve.backupCalls.map((c) => c.vmid)).toEqual([100]);
    expect(await h.press("home_101")).toEqual({ ok: true, upid: upid(101, 2) });
    expect(h.store.readAudit().map((r) => `${r.target} ${r.origin} ${r.result}`)).toEqual([
      "home_100 mqtt rejected",
      "home_100 home_assistant accepted",
      "home_100 http rejected",
      "home_101 mqtt accepted",
    ]);
  });
});
