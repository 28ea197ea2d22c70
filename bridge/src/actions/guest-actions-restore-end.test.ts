/**
 * How a restore test of GuestActions ends other than well: a restore task that does not end
 * within its time-out, a failed restore task, and a test interrupted by a bridge restart, which
 * resume() cleans up. Fake timers and a manual clock moved in step, a fake Proxmox and a real
 * Store (guest-actions-restore.fixtures.ts).
 */
import { describe, expect, it } from "vitest";
import { PveError } from "../sources/pve/http.js";
import { Store } from "../state/store.js";
import { dir, RESTORE_UPID, SCRATCH, START, setup, useSandbox, VOL } from "./guest-actions-restore.fixtures.js";

useSandbox();

describe("GuestActions.restoreTest", () => {
  it("a restore task that does not end within its time-out: a failed record, the scratch guest removed, the guards held until then", async () => {
    const h = setup();
    h.http.restorePolls = Number.POSITIVE_INFINITY;
    await h.actions.restoreTest("home_100", "mqtt");
    await h.elapse(10 * 60_000);
    expect(h.actions.guard.entries().map((e) => e.key)).toEqual(["restore_test:home_100", "restore_test@pve"]);
    expect(h.store.restores).toEqual([]);
    // The poll at 10 min 0.5 s is past the deadline; the destroy task ends one poll later.
    await h.elapse(1000);
    expect(h.store.restores).toEqual([
      {
        source: "pve",
        vmid: 100,
        volid: VOL(100),
        scratchVmid: SCRATCH,
        timeMs: START + 601_000,
        durationMs: 601_000,
        ok: false,
        cleanedUp: true,
        reason: `task ${RESTORE_UPID} did not finish within 600000 ms`,
      },
    ]);
    expect(h.http.scratchExists).toBe(false);
    expect(h.events.at(-1)).toMatchObject({
      event_type: "restore_test_failed",
      result: "failed",
      error: `task ${RESTORE_UPID} did not finish within 600000 ms`,
    });
    expect(h.actions.guard.entries()).toEqual([]);
    expect(h.store.inflight).toEqual([]);
  });

  it("a failed restore task: the reason, and the scratch guest is still removed", async () => {
    const h = setup();
    h.http.restoreExit = "command 'zstd -q -d -c' failed: exit code 1";
    await h.actions.restoreTest("home_100", "mqtt");
    await h.elapse(2000);
    expect(h.store.restores).toMatchObject([
      { ok: false, cleanedUp: true, reason: "restore task failed: command 'zstd -q -d -c' failed: exit code 1" },
    ]);
    expect(h.store.readAudit().at(-1)).toMatchObject({
      result: "failed",
      detail: "restore task failed: command 'zstd -q -d -c' failed: exit code 1",
    });
  });
});

describe("GuestActions.resume: a restore test interrupted by a restart", () => {
  function leftBehind(): void {
    new Store(dir).addInflight({
      kind: "restore_test",
      source: "pve",
      upid: RESTORE_UPID,
      node: "n1",
      vmid: 100,
      startedMs: START - 3 * 60_000,
      origin: "home_assistant",
    });
  }

  it("removes the scratch guest it left, records the test as interrupted and forgets the in-flight record", async () => {
    leftBehind();
    const h = setup();
    h.http.scratchExists = true;
    const resumed = h.actions.resume();
    await h.elapse(500);
    await resumed;
    expect(h.http.scratchExists).toBe(false);
    expect(h.store.restores).toEqual([
      {
        source: "pve",
        vmid: 100,
        volid: "",
        scratchVmid: SCRATCH,
        timeMs: START + 500,
        durationMs: 3 * 60_000 + 500,
        ok: false,
        reason: "interrupted by a bridge restart",
        cleanedUp: true,
      },
    ]);
    expect(h.store.inflight).toEqual([]);
    expect(new Store(dir).inflight).toEqual([]);
  });

  it("a cleanup that fails is logged; the test is recorded as not cleaned up and the in-flight record is still forgotten", async () => {
    leftBehind();
    const h = setup();
    h.http.scratchExists = true;
    h.http.failDelete = new PveError("permission", "Permission check failed (/vms/9999, VM.Allocate)", 403);
    await h.actions.resume();
    expect(h.lines.filter((l) => l.level === 50).map((l) => [l.msg, l.err])).toEqual([
      ["cleanup after an interrupted restore test failed", "Permission check failed (/vms/9999, VM.Allocate)"],
    ]);
    expect(h.store.restores).toMatchObject([
      { ok: false, reason: "interrupted by a bridge restart", cleanedUp: false },
    ]);
    expect(h.store.inflight).toEqual([]);
  });

  it("cleans up also when the source has not been read yet (the engine resumes before its first poll)", async () => {
    // Engine.start runs resume() before the sources' first read, so source.guest(vmid) is still
    // undefined there: resume() then looks for a scratch VM and a scratch container both.
    leftBehind();
    const h = setup({ polled: false });
    h.http.scratchExists = true;
    const resumed = h.actions.resume();
    await h.elapse(500);
    await resumed;
    expect(h.http.scratchExists).toBe(false);
    expect(h.store.restores).toMatchObject([{ ok: false, reason: "interrupted by a bridge restart", cleanedUp: true }]);
  });
});
