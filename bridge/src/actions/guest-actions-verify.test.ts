/**
 * GuestActions' verification, by command and automatic (autoVerifyTick), with fake timers and a
 * manual clock moved in step: no network, no real-time waits. SSH is replaced by a fake shell
 * (vi.mock of the SSH client) whose `pvesm path` answers after 100 ms and whose check answers
 * 60 s later, so a verification takes 60.1 s of fake time. The Store is real, on a temporary
 * directory. Also: inQuietHours, the time-of-day window automatic verification keeps out of.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Config, ProxmoxSourceConfig } from "../config/load.js";
import type { Tier } from "../config/tiers.js";
import type { Archive, Evidence, SourceHealth } from "../evidence.js";
import { createLogger } from "../log.js";
import type { GuestState } from "../policy/types.js";
import { evaluateVerification } from "../policy/verification.js";
import type { PveSource } from "../sources/pve/source.js";
import { type ExecResult, SshError, sshExec } from "../sources/ssh/client.js";
import { Store } from "../state/store.js";
import { ManualClock } from "../util/clock.js";
import { GuestActions, inQuietHours } from "./guest-actions.js";

vi.mock("../sources/ssh/client.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../sources/ssh/client.js")>()),
  preloadSsh: vi.fn(),
  sshExec: vi.fn(),
}));

const H = 3_600_000;
const D = 24 * H;
const START = new Date(2026, 5, 1, 10, 0, 0).getTime();
const at = (h: number, m = 0) => new Date(2026, 5, 1, h, m).getTime();
const iso = (ms: number) => new Date(ms).toISOString();
const CHECK_MS = 60_000;

const tier = (id: string, o: Partial<Tier> = {}): Tier => ({
  id,
  label: id,
  protect: true,
  maxAgeMs: 26 * H,
  schedule: "02:00",
  retention: {},
  minCopies: 1,
  offsite: false,
  verifyEveryMs: 30 * D,
  allowManual: true,
  restoreTest: false,
  ...o,
});
const TIERS: Record<string, Tier> = { P1: tier("P1"), none: tier("none", { protect: false, verifyEveryMs: null }) };
const SSH = {
  host: "10.0.0.1",
  port: 22,
  username: "root",
  privateKey: "KEY",
  hostKey: "SHA256:one",
  nodes: { n2: { host: "10.0.0.2", hostKey: "SHA256:two" } },
  timeoutMs: 10_000,
};

const pveCfg = (o: Partial<ProxmoxSourceConfig> = {}): ProxmoxSourceConfig => ({
  name: "pve",
  url: "https://pve.invalid:8006",
  tokenId: "b2m@pve!t",
  tokenSecret: "secret",
  timeoutMs: 1000,
  pollIntervalMs: 60_000,
  contentIntervalMs: 600_000,
  backup: { mode: "snapshot", compress: "zstd", notesTemplate: "", method: "api" },
  ssh: SSH,
  verify: { automatic: true, quietHours: "01:00-06:00" },
  ...o,
});
const volid = (vmid: number, fmt = "vma.zst") => `local:backup/vzdump-qemu-${vmid}-2026_06_01-02_00_00.${fmt}`;
const archive = (vmid: number, o: Partial<Archive> = {}): Archive => ({
  source: "pve",
  volid: volid(vmid),
  storage: "local",
  node: "n1",
  vmid,
  ctimeMs: at(2),
  size: 1,
  format: "vma.zst",
  protected: false,
  ...o,
});

/** The members of PveSource that verification uses. */
class FakeSource {
  readonly name: string;
  health: SourceHealth;
  archives: Archive[] = [];
  constructor(readonly cfg: ProxmoxSourceConfig) {
    this.name = cfg.name;
    this.health = { name: cfg.name, kind: "proxmox", up: true, degraded: false };
  }
  archivesOf(vmid: number) {
    return this.archives.filter((a) => a.vmid === vmid);
  }
  guest() {
    return undefined;
  }
}

function guestState(vmid: number, o: Partial<GuestState> = {}): GuestState {
  return {
    id: `home_${vmid}`,
    source: "pve",
    vmid,
    name: `g${vmid}`,
    type: "qemu",
    node: "n1",
    tier: "P1",
    tier_source: "config",
    status: "ok",
    status_reason: "",
    problem: false,
    reasons: [],
    findings: [],
    last_backup: null,
    last_backup_size: null,
    archive_count: 1,
    next_backup: null,
    last_verified: null,
    last_verification: null,
    last_restore_test: null,
    progress: null,
    last_offsite: null,
    copies: null,
    running: false,
    last_attempt: null,
    changes_at: null,
    ...o,
  };
}

/** The nodes' shell: `pvesm path` after 100 ms, then the check after CHECK_MS with `check`'s answer. Returns the commands run, as "host: command". */
function shell(check: (volid: string) => ExecResult | Error = () => ({ code: 0, stdout: "", stderr: "" })): string[] {
  const calls: string[] = [];
  vi.mocked(sshExec).mockImplementation((t, cmd) => {
    calls.push(`${t.host}: ${cmd}`);
    const m = /^pvesm path '(.*)'$/.exec(cmd);
    const answer = m
      ? { code: 0, stdout: `/var/lib/vz/dump/${m[1]!.split("/").pop()}\n`, stderr: "" }
      : check(/vzdump-[^']*/.exec(cmd)![0]);
    return new Promise((resolve, reject) =>
      setTimeout(() => (answer instanceof Error ? reject(answer) : resolve(answer)), m ? 100 : CHECK_MS),
    );
  });
  return calls;
}

let dir: string;
beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(START);
  vi.mocked(sshExec).mockReset();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-verify-"));
});
afterEach(() => {
  vi.useRealTimers();
  fs.rmSync(dir, { recursive: true, force: true });
});

function setup(cfg = pveCfg()) {
  const clock = new ManualClock(START);
  const pve = new FakeSource(cfg);
  const guests = new Map<string, GuestState>();
  const events: Array<Record<string, unknown>> = [];
  const store = new Store(dir);
  let publishes = 0;
  const actions = new GuestActions({
    cfg: { tiers: TIERS } as unknown as Config,
    sources: [pve as unknown as PveSource],
    store,
    log: createLogger("silent", () => []),
    clock,
    guest: (id) => guests.get(id),
    publish: () => void publishes++,
    event: (target, payload) => void events.push({ target, ...payload }),
    idOf: (_source, vmid) => `home_${vmid}`,
  });
  const add = (g: GuestState, ...a: Archive[]) => {
    guests.set(g.id, g);
    pve.archives.push(...a);
  };
  /** Fake time and the manual clock, moved together. */
  const elapse = async (ms: number, step = 100) => {
    for (let t = 0; t < ms; t += step) {
      clock.advance(step);
      await vi.advanceTimersByTimeAsync(step);
    }
  };
  return { clock, pve, guests, events, store, actions, add, elapse, published: () => publishes };
}

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
