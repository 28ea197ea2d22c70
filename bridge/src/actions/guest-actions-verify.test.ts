/**
 * GuestActions' verification by command, with fake timers and a manual clock moved in step: no
 * network, no real-time waits. SSH is replaced by a fake shell (vi.mock of the SSH client) whose
 * `pvesm path` answers after 100 ms and whose check answers 60 s later, so a verification takes
 * 60.1 s of fake time. The Store is real, on a temporary directory. Automatic verification
 * (autoVerifyTick) and its quiet hours are in guest-actions-auto-verify.test.ts; the fakes in
 * guest-actions-verify.fixtures.ts.
 */
import { describe, expect, it, vi } from "vitest";
import type { ProxmoxSourceConfig } from "../config/load.js";
import { SshError } from "../sources/ssh/client.js";
import {
  archive,
  at,
  CHECK_MS,
  guestState,
  iso,
  pveCfg,
  START,
  setup,
  shell,
  useSandbox,
  volid,
} from "./guest-actions-verify.fixtures.js";

vi.mock("../sources/ssh/client.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../sources/ssh/client.js")>()),
  preloadSsh: vi.fn(),
  sshExec: vi.fn(),
}));

useSandbox();

describe("GuestActions.verify (by command)", () => {
  it("accepted: a started event at once, the record and a finished event at the check's end, the guard held in between", async () => {
    const h = setup();
    h.add(
      guestState(100, { name: "vaultwarden" }),
      archive(100, { ctimeMs: at(1) }),
      archive(100, { volid: volid(100).replace("02_00", "03_00") }),
    );
    const calls = shell();
    const newest = volid(100).replace("02_00", "03_00");
    expect(await h.actions.verify("home_100", "home_assistant", "v-1")).toEqual({
      ok: true,
      detail: `verifying ${newest}`,
    });
    expect(h.events).toEqual([
      { target: "home_100", event_type: "verify_started", time: iso(START), guest: "home_100", volid: newest },
    ]);
    expect(await h.actions.verify("home_100", "mqtt")).toEqual({
      ok: false,
      reason:
        "a verification of vaultwarden (100) is already running (started by home_assistant, request v-1 at 10:00:00, just now)",
    });

    await h.elapse(CHECK_MS);
    expect(h.store.verifications).toEqual([]);
    expect(h.actions.guard.isHeld("verify:home_100")).toBe(true);
    await h.elapse(100);
    expect(h.store.verifications).toEqual([
      { source: "pve", vmid: 100, volid: newest, method: "ssh", timeMs: START + 60_100, ok: true },
    ]);
    expect(h.events.at(-1)).toEqual({
      target: "home_100",
      event_type: "verify_finished",
      time: iso(START + 60_100),
      guest: "home_100",
      volid: newest,
      result: "ok",
    });
    expect(h.store.readAudit().map((r) => [r.time, r.origin, r.result, r.detail])).toEqual([
      [iso(START), "home_assistant", "accepted", newest],
      [
        iso(START),
        "mqtt",
        "rejected",
        "a verification of vaultwarden (100) is already running (started by home_assistant, request v-1 at 10:00:00, just now)",
      ],
      [iso(START + 60_100), "home_assistant", "finished", newest],
    ]);
    expect(h.actions.guard.entries()).toEqual([]);
    expect(h.published()).toBe(1);
    const file = `/var/lib/vz/dump/vzdump-qemu-100-2026_06_01-03_00_00.vma.zst`;
    expect(calls).toEqual([
      `10.0.0.1: pvesm path '${newest}'`,
      `10.0.0.1: set -o pipefail; zstd -q -t -- '${file}' && zstd -q -d -c -- '${file}' | vma verify -v -`,
    ]);
  });

  it("a damaged archive: a failed record with the checker's last line, a failed event, the guard free", async () => {
    const h = setup();
    h.add(guestState(100), archive(100));
    shell(() => ({ code: 1, stdout: "", stderr: "reading...\nzstd: corrupted block detected\n" }));
    await h.actions.verify("home_100", "mqtt");
    await h.elapse(60_100);
    expect(h.store.verifications).toEqual([
      {
        source: "pve",
        vmid: 100,
        volid: volid(100),
        method: "ssh",
        timeMs: START + 60_100,
        ok: false,
        reason: "zstd: corrupted block detected",
      },
    ]);
    expect(h.events.at(-1)).toEqual({
      target: "home_100",
      event_type: "verify_failed",
      time: iso(START + 60_100),
      guest: "home_100",
      volid: volid(100),
      result: "failed",
      error: "zstd: corrupted block detected",
    });
    expect(h.store.readAudit().at(-1)).toMatchObject({ result: "failed", detail: "zstd: corrupted block detected" });
    expect(h.actions.guard.entries()).toEqual([]);
  });

  it("SSH trouble says nothing about the archive: no record, a not_run event, a failed audit line, the guard free", async () => {
    const h = setup();
    h.add(guestState(100), archive(100));
    shell(() => new SshError("hostkey", "host key of 10.0.0.1 does not match the pinned SHA256:one"));
    await h.actions.verify("home_100", "mqtt");
    await h.elapse(60_100);
    expect(h.store.verifications).toEqual([]);
    expect(h.events.at(-1)).toEqual({
      target: "home_100",
      event_type: "verify_failed",
      time: iso(START + 60_100),
      guest: "home_100",
      volid: volid(100),
      result: "not_run",
      error: "host key of 10.0.0.1 does not match the pinned SHA256:one",
    });
    expect(h.store.readAudit().at(-1)).toMatchObject({
      result: "failed",
      detail: "host key of 10.0.0.1 does not match the pinned SHA256:one",
    });
    expect(h.actions.guard.entries()).toEqual([]);
    expect(h.published()).toBe(1);
  });

  const refusals: Array<{
    name: string;
    arrange: (h: ReturnType<typeof setup>) => void;
    cfg?: ProxmoxSourceConfig;
    reason: string;
  }> = [
    { name: "no archive", arrange: (h) => h.add(guestState(100)), reason: "g100 has no archive to verify" },
    {
      name: "the newest archive is on PBS",
      arrange: (h) =>
        h.add(
          guestState(100),
          archive(100, { ctimeMs: at(1) }),
          archive(100, { volid: "pbs:backup/vm/100/2026-06-01T02:00:00Z", format: "pbs-vm" }),
        ),
      reason: "the newest archive is on Proxmox Backup Server, which verifies it itself (state: not verified yet)",
    },
    {
      name: "the newest archive is on PBS, verified there",
      arrange: (h) =>
        h.add(
          guestState(100),
          archive(100, { volid: "pbs:backup/vm/100/2026-06-01T02:00:00Z", format: "pbs-vm", verification: "failed" }),
        ),
      reason: "the newest archive is on Proxmox Backup Server, which verifies it itself (state: failed)",
    },
    {
      name: "no ssh section",
      cfg: pveCfg({ ssh: undefined }),
      arrange: (h) => h.add(guestState(100), archive(100)),
      reason: "verification needs SSH to the nodes: add an ssh section to proxmox 'pve'",
    },
  ];
  for (const c of refusals) {
    it(`refused when ${c.name}, with a sentence and no SSH command`, async () => {
      const h = setup(c.cfg);
      c.arrange(h);
      const calls = shell();
      expect(await h.actions.verify("home_100", "mqtt")).toEqual({ ok: false, reason: c.reason });
      expect(calls).toEqual([]);
      expect(h.store.readAudit()).toEqual([
        {
          time: iso(START),
          action: "verify",
          target: "home_100",
          origin: "mqtt",
          result: "rejected",
          detail: c.reason,
        },
      ]);
      expect(h.actions.guard.entries()).toEqual([]);
    });
  }

  it("one check at a time per node: another guest's archive on the same node is refused and its guard freed; another node is not blocked", async () => {
    const h = setup();
    h.add(guestState(100), archive(100));
    h.add(guestState(101), archive(101));
    h.add(guestState(102, { node: "n2" }), archive(102, { node: undefined }));
    shell();
    expect((await h.actions.verify("home_100", "mqtt")).ok).toBe(true);
    expect(await h.actions.verify("home_101", "mqtt")).toEqual({
      ok: false,
      reason: "a verification is already running on node 'n1'",
    });
    expect(h.actions.guard.isHeld("verify:home_101")).toBe(false);
    expect((await h.actions.verify("home_102", "mqtt")).ok).toBe(true);
    await h.elapse(60_100);
    expect((await h.actions.verify("home_101", "mqtt")).ok).toBe(true);
  });
});
