/**
 * GuestActions' automatic verification (autoVerifyTick), with fake timers and a manual clock moved
 * in step: no network, no real-time waits. SSH is replaced by a fake shell (vi.mock of the SSH
 * client) whose `pvesm path` answers after 100 ms and whose check answers 60 s later, so a
 * verification takes 60.1 s of fake time. The Store is real, on a temporary directory. Also:
 * inQuietHours, the time-of-day window automatic verification keeps out of. The fakes are in
 * guest-actions-verify.fixtures.ts.
 */
import { describe, expect, it, vi } from "vitest";
import type { ProxmoxSourceConfig } from "../config/load.js";
import type { Evidence, SourceHealth } from "../evidence.js";
import { evaluateVerification } from "../policy/verification.js";
import { inQuietHours } from "./guest-actions.js";
import {
  archive,
  at,
  D,
  guestState,
  pveCfg,
  setup,
  shell,
  TIERS,
  useSandbox,
  volid,
} from "./guest-actions-verify.fixtures.js";

vi.mock("../sources/ssh/client.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../sources/ssh/client.js")>()),
  preloadSsh: vi.fn(),
  sshExec: vi.fn(),
}));

useSandbox();

describe("GuestActions.autoVerifyTick", () => {
  /** Which guests are due: only tiered, not running, whose newest non-PBS archive is not verified yet (or overdue). */
  function fleet(h: ReturnType<typeof setup>) {
    h.add(guestState(100), archive(100)); // due, n1
    h.add(guestState(101), archive(101)); // verified already
    h.add(guestState(102, { node: "n2" }), archive(102, { node: undefined, ctimeMs: at(2) - 40 * D })); // verified 31 days ago: overdue, due on n2
    h.add(guestState(103, { tier: "none" }), archive(103)); // its tier never verifies
    h.add(guestState(104, { running: true }), archive(104)); // a backup runs
    h.add(guestState(105), archive(105, { volid: "pbs:backup/vm/105/x", format: "pbs-vm" })); // PBS verifies it
    h.add(guestState(106)); // no archive
    h.add(guestState(107), archive(107)); // due, but n1 is taken by 100
    h.add(guestState(108, { tier: null }), archive(108)); // untiered
    h.store.addVerification({ source: "pve", vmid: 101, volid: volid(101), timeMs: at(3), ok: true, method: "ssh" });
    h.store.addVerification({
      source: "pve",
      vmid: 102,
      volid: volid(102),
      timeMs: at(3) - 31 * D,
      ok: true,
      method: "ssh",
    });
  }
  const started = (h: ReturnType<typeof setup>) =>
    h.events.filter((e) => e.event_type === "verify_started").map((e) => e.target);
  /** The guests as the engine publishes them after each change: findings from the store's verifications, by the policy's own function. */
  const current = (h: ReturnType<typeof setup>) =>
    [...h.guests.values()].map((g) => {
      const evidence = { verifications: h.store.verifications, verifiable: { pve: true } } as unknown as Evidence;
      return {
        ...g,
        findings: evaluateVerification(
          g,
          h.pve.archivesOf(g.vmid),
          g.tier ? (TIERS[g.tier] ?? null) : null,
          evidence,
          h.clock.now(),
          { language: "en", timeZone: "UTC" },
        ).findings,
      };
    });

  it("keeps out of the quiet hours; then one due guest per node, the next one when its node is free, until nothing is due", async () => {
    const h = setup();
    fleet(h);
    const calls = shell();
    for (const t of [at(1), at(3), at(5, 59)]) {
      h.clock.set(t);
      await h.actions.autoVerifyTick(current(h));
    }
    expect(calls).toEqual([]);
    expect(h.events).toEqual([]);

    h.clock.set(at(6));
    await h.actions.autoVerifyTick(current(h));
    expect(started(h)).toEqual(["home_100", "home_102"]);
    expect(calls.map((c) => c.split(":")[0])).toEqual(["10.0.0.1", "10.0.0.2"]);
    await h.actions.autoVerifyTick(current(h)); // both nodes busy: nothing more
    expect(started(h)).toEqual(["home_100", "home_102"]);

    await h.elapse(60_100);
    expect(h.store.verifications.slice(2).map((v) => [v.vmid, v.timeMs, v.ok])).toEqual([
      [100, at(6) + 60_100, true],
      [102, at(6) + 60_100, true],
    ]);
    expect(h.store.readAudit().map((r) => `${r.target} ${r.origin} ${r.result}`)).toEqual([
      "home_100 scheduler finished",
      "home_102 scheduler finished",
    ]);
    await h.actions.autoVerifyTick(current(h));
    expect(started(h)).toEqual(["home_100", "home_102", "home_107"]);
    await h.elapse(60_100);
    await h.actions.autoVerifyTick(current(h));
    expect(started(h)).toEqual(["home_100", "home_102", "home_107"]);
    expect(h.actions.guard.entries()).toEqual([]);
  });

  it("a guest whose verification a command started is not verified beside it", async () => {
    const h = setup();
    h.add(
      guestState(100, { node: "n2" }),
      archive(100, { node: "n1" }),
      archive(100, { volid: volid(100, "tar.zst"), format: "tar.zst", node: "n2", ctimeMs: at(1) }),
    );
    shell();
    h.clock.set(at(7));
    // The command verifies on n1; the guard keeps the scheduler away although its node (n1) is the one checked.
    expect((await h.actions.verify("home_100", "mqtt")).ok).toBe(true);
    await h.actions.autoVerifyTick(current(h));
    expect(h.events.filter((e) => e.event_type === "verify_started")).toHaveLength(1);
  });

  it("a newest archive whose check failed is not checked again at every tick while the guest stays overdue", async () => {
    const h = setup();
    // An older archive (kept monthly) last verified 31 days ago makes the guest overdue; the newest is not verified yet.
    const older = archive(110, { volid: volid(110).replace("2026_06_01", "2026_04_20"), ctimeMs: at(2) - 42 * D });
    h.add(guestState(110), older, archive(110));
    h.store.addVerification({
      source: "pve",
      vmid: 110,
      volid: older.volid,
      timeMs: at(3) - 31 * D,
      ok: true,
      method: "ssh",
    });
    shell((file) =>
      file.includes("2026_06_01")
        ? { code: 1, stdout: "", stderr: "zstd: corrupted block detected" }
        : { code: 0, stdout: "", stderr: "" },
    );
    h.clock.set(at(7));
    await h.actions.autoVerifyTick(current(h));
    await h.elapse(60_100);
    expect(h.store.verifications.at(-1)).toMatchObject({ volid: volid(110), ok: false });
    // As the policy sees it now: the newest failed, and the guest is still overdue (its last success is 31 days old).
    expect(current(h)[0]!.findings.map((f) => f.code)).toEqual(["verify_failed", "verify_overdue"]);
    for (let tick = 0; tick < 3; tick++) {
      await h.actions.autoVerifyTick(current(h));
      await h.elapse(60_100);
    }
    // A failed check of the newest archive cannot clear verify_overdue (only a successful check of a
    // good archive can), so that same archive is not read again in full at every tick.
    expect(h.events.filter((e) => e.event_type === "verify_started" && e.volid === volid(110))).toHaveLength(1);
  });

  const off: Array<{ name: string; cfg: ProxmoxSourceConfig; health?: Partial<SourceHealth> }> = [
    { name: "automatic verification is off", cfg: pveCfg({ verify: { automatic: false } }) },
    { name: "no ssh section", cfg: pveCfg({ ssh: undefined }) },
    { name: "the source is down", cfg: pveCfg(), health: { up: false, error: "timeout" } },
    { name: "the source answers garbage", cfg: pveCfg(), health: { degraded: true } },
  ];
  for (const c of off) {
    it(`does nothing when ${c.name}`, async () => {
      const h = setup(c.cfg);
      fleet(h);
      Object.assign(h.pve.health, c.health);
      const calls = shell();
      h.clock.set(at(12));
      await h.actions.autoVerifyTick(current(h));
      expect(calls).toEqual([]);
      expect(h.events).toEqual([]);
    });
  }

  it("without quiet hours it runs at any time of day", async () => {
    const h = setup(pveCfg({ verify: { automatic: true } }));
    h.add(guestState(100), archive(100));
    shell();
    h.clock.set(at(3));
    await h.actions.autoVerifyTick(current(h));
    expect(started(h)).toEqual(["home_100"]);
  });
});

describe("inQuietHours (local time; the start is inside, the end is not)", () => {
  const cases: Array<[string | undefined, [number, number], boolean]> = [
    ["01:00-06:00", [0, 59], false],
    ["01:00-06:00", [1, 0], true],
    ["01:00-06:00", [5, 59], true],
    ["01:00-06:00", [6, 0], false],
    ["22:00-02:00", [21, 59], false],
    ["22:00-02:00", [22, 0], true],
    ["22:00-02:00", [0, 0], true],
    ["22:00-02:00", [1, 59], true],
    ["22:00-02:00", [2, 0], false],
    ["22:00-02:00", [12, 0], false],
    ["00:00-00:00", [0, 0], false],
    [undefined, [3, 0], false],
  ];
  for (const [window, [hh, mm], inside] of cases) {
    it(`${window ?? "(none)"} at ${String(hh).padStart(2, "0")}:${String(mm).padStart(2, "0")}: ${inside ? "quiet" : "not quiet"}`, () => {
      expect(inQuietHours(window, new Date(at(hh, mm)))).toBe(inside);
    });
  }
});
