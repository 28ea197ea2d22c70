/**
 * GuestActions' restore test, with fake timers and a manual clock moved in step: no network, no
 * real-time waits. Proxmox is a fake of the three calls the restore tester makes (GET, POST,
 * DELETE) that keeps one scratch guest and answers task status "running" for a set number of
 * polls (the tester polls every 500 ms). The Store is real, on a temporary directory. Covered
 * here: acceptance → in-flight record → result, event, audit and both guards released; one
 * restore test per source; refusals. The task's time-out, a failed task and resume() after a
 * restart mid-test are in guest-actions-restore-end.test.ts; the fakes in
 * guest-actions-restore.fixtures.ts.
 */
import { describe, expect, it, vi } from "vitest";
import type { ProxmoxSourceConfig } from "../config/load.js";
import { PveError } from "../sources/pve/http.js";
import {
  guestState,
  H,
  iso,
  pveCfg,
  RESTORE_UPID,
  SCRATCH,
  START,
  setup,
  useSandbox,
  VOL,
} from "./guest-actions-restore.fixtures.js";

useSandbox();

describe("GuestActions.restoreTest", () => {
  it("accepted: in flight while it runs, both guards held, then the record, the event and the audit line; the scratch guest is gone", async () => {
    const h = setup();
    expect(await h.actions.restoreTest("home_100", "home_assistant", "rt-1")).toEqual({
      ok: true,
      detail: `restoring ${VOL(100)} to scratch VMID ${SCRATCH}`,
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.store.inflight).toEqual([
      {
        kind: "restore_test",
        source: "pve",
        upid: RESTORE_UPID,
        node: "n1",
        vmid: 100,
        startedMs: START,
        origin: "home_assistant",
      },
    ]);
    expect(h.actions.guard.entries().map((e) => e.key)).toEqual(["restore_test:home_100", "restore_test@pve"]);
    expect(await h.actions.restoreTest("home_100", "mqtt")).toEqual({
      ok: false,
      reason:
        "a restore test of vaultwarden (100) is already running (started by home_assistant, request rt-1 at 10:00:00, just now)",
    });

    // Restore: 3 polls running, stopped at 1.5 s; destroy: 1 poll running, stopped at 2 s.
    await h.elapse(1500);
    expect(h.store.restores).toEqual([]);
    await h.elapse(500);
    expect(h.store.restores).toEqual([
      {
        source: "pve",
        vmid: 100,
        volid: VOL(100),
        scratchVmid: SCRATCH,
        timeMs: START + 2000,
        durationMs: 2000,
        ok: true,
        cleanedUp: true,
      },
    ]);
    expect(h.http.scratchExists).toBe(false);
    expect(h.http.calls.filter((c) => !c.startsWith("GET"))).toEqual([
      `POST /nodes/n1/qemu {"vmid":${SCRATCH},"archive":"${VOL(100)}","storage":"scratch","unique":1}`,
      `DELETE /nodes/n1/qemu/${SCRATCH}?purge=1&destroy-unreferenced-disks=1`,
    ]);
    expect(h.events).toEqual([
      { target: "home_100", event_type: "restore_test_started", time: iso(START), guest: "home_100", volid: VOL(100) },
      {
        target: "home_100",
        event_type: "restore_test_finished",
        time: iso(START + 2000),
        guest: "home_100",
        volid: VOL(100),
        result: "ok",
      },
    ]);
    expect(h.store.readAudit().map((r) => [r.time, r.origin, r.result, r.detail])).toEqual([
      [iso(START), "home_assistant", "accepted", VOL(100)],
      [
        iso(START),
        "mqtt",
        "rejected",
        "a restore test of vaultwarden (100) is already running (started by home_assistant, request rt-1 at 10:00:00, just now)",
      ],
      [iso(START + 2000), "home_assistant", "finished", VOL(100)],
    ]);
    expect(h.store.inflight).toEqual([]);
    expect(h.actions.guard.entries()).toEqual([]);
    expect(h.published()).toBe(1);
  });

  it("one restore test per source: another guest is refused while the first runs, and may start once it ended", async () => {
    const h = setup();
    await h.actions.restoreTest("home_100", "mqtt");
    await vi.advanceTimersByTimeAsync(0);
    h.clock.advance(1000);
    expect(await h.actions.restoreTest("home_101", "mqtt")).toEqual({
      ok: false,
      reason:
        "a restore test of vaultwarden (100) is already running on proxmox 'pve' (started by mqtt at 10:00:00, 1 second ago); one restore test at a time uses its scratch VMID",
    });
    expect(h.actions.guard.isHeld("restore_test:home_101")).toBe(false);
    await h.elapse(2000);
    expect(h.store.restores.map((r) => r.vmid)).toEqual([100]);
    expect(h.actions.guard.entries()).toEqual([]);
    expect(await h.actions.restoreTest("home_101", "mqtt")).toEqual({
      ok: true,
      detail: `restoring ${VOL(101)} to scratch VMID ${SCRATCH}`,
    });
  });

  it("while the first one's scratch VMID is still being checked, another guest's refusal names the first request", async () => {
    const h = setup();
    const get = h.http.get.bind(h.http);
    h.http.get = (p: string) => new Promise((resolve) => setTimeout(() => resolve(get(p)), 500));
    const first = h.actions.restoreTest("home_100", "home_assistant", "rt-1");
    expect(await h.actions.restoreTest("home_101", "mqtt")).toEqual({
      ok: false,
      reason:
        "a restore test of vaultwarden (100) is already running on proxmox 'pve' (started by home_assistant, request rt-1 at 10:00:00, just now); one restore test at a time uses its scratch VMID",
    });
    expect(h.actions.guard.isHeld("restore_test:home_101")).toBe(false);
    await h.elapse(500);
    expect((await first).ok).toBe(true);
  });

  it("a test still running after its guards expired (6 h) is still the only one: the scratch VMID's check refuses the next", async () => {
    const h = setup({ cfg: pveCfg({ restoreTest: { scratchVmid: SCRATCH, storage: "scratch", timeoutMs: 12 * H } }) });
    h.http.restorePolls = Number.POSITIVE_INFINITY;
    await h.actions.restoreTest("home_100", "mqtt");
    h.clock.advance(6 * H);
    expect(await h.actions.restoreTest("home_101", "mqtt")).toEqual({
      ok: false,
      reason: "a restore test is already running",
    });
    expect(h.actions.guard.isHeld("restore_test:home_101")).toBe(false);
    expect(h.http.calls.filter((c) => c.startsWith("POST"))).toHaveLength(1);
  });

  const refusals: Array<{
    name: string;
    id?: string;
    cfg?: ProxmoxSourceConfig;
    arrange?: (h: ReturnType<typeof setup>) => void;
    reason: string;
  }> = [
    {
      name: "the tier has not opted in",
      id: "home_102",
      reason: "tier P2 has not opted in to restore tests (restore_test: true)",
    },
    {
      name: "the guest has no tier",
      arrange: (h) => h.guests.set("home_100", guestState(100, "vaultwarden", { tier: null })),
      reason: "tier (none) has not opted in to restore tests (restore_test: true)",
    },
    {
      name: "no restore_test section",
      cfg: pveCfg({ restoreTest: undefined }),
      reason: "no restore_test section (scratch VMID and storage) for proxmox 'pve'",
    },
    {
      name: "the only archive failed verification",
      arrange: (h) => (h.pve.archives = h.pve.archives.map((a) => ({ ...a, verification: "failed" as const }))),
      reason: "vaultwarden has no archive to restore",
    },
    {
      name: "the scratch VMID is taken",
      arrange: (h) =>
        (h.http.resources = [{ id: `qemu/${SCRATCH}`, vmid: SCRATCH, name: "keep-me", node: "n2", type: "qemu" }]),
      reason: `scratch VMID ${SCRATCH} is in use (keep-me on n2); refusing to touch it`,
    },
    {
      name: "the scratch VMID cannot be checked",
      arrange: (h) => (h.http.failResources = new PveError("network", "connect ETIMEDOUT")),
      reason: "cannot check the scratch VMID: connect ETIMEDOUT",
    },
    {
      name: "the scratch VMID is the guest's own",
      cfg: pveCfg({ restoreTest: { scratchVmid: 100, storage: "scratch", timeoutMs: 60_000 } }),
      reason: "the scratch VMID 100 is this guest's own VMID; refusing",
    },
  ];
  for (const c of refusals) {
    it(`refused when ${c.name}: nothing restored, both guards free`, async () => {
      const h = setup(c.cfg ? { cfg: c.cfg } : {});
      c.arrange?.(h);
      const id = c.id ?? "home_100";
      expect(await h.actions.restoreTest(id, "mqtt")).toEqual({ ok: false, reason: c.reason });
      await vi.advanceTimersByTimeAsync(0);
      expect(h.http.calls.filter((x) => !x.startsWith("GET"))).toEqual([]);
      expect(h.store.readAudit()).toEqual([
        { time: iso(START), action: "restore_test", target: id, origin: "mqtt", result: "rejected", detail: c.reason },
      ]);
      expect(h.actions.guard.entries()).toEqual([]);
      expect(h.events).toEqual([]);
    });
  }
});
