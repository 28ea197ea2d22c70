/**
 * GuestActions' restore test, with fake timers and a manual clock moved in step: no network, no
 * real-time waits. Proxmox is a fake of the three calls the restore tester makes (GET, POST,
 * DELETE) that keeps one scratch guest and answers task status "running" for a set number of
 * polls (the tester polls every 500 ms). The Store is real, on a temporary directory. Covered:
 * acceptance → in-flight record → result, event, audit and both guards released; refusals;
 * one restore test per source; the task's time-out; resume() after a restart mid-test.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Config, ProxmoxSourceConfig } from "../config/load.js";
import type { Tier } from "../config/tiers.js";
import type { Archive, GuestInfo, SourceHealth } from "../evidence.js";
import { createLogger } from "../log.js";
import type { GuestState } from "../policy/types.js";
import { PveError } from "../sources/pve/http.js";
import type { PveSource } from "../sources/pve/source.js";
import { Store } from "../state/store.js";
import { ManualClock } from "../util/clock.js";
import { GuestActions } from "./guest-actions.js";

const H = 3_600_000;
const START = new Date(2026, 5, 1, 10, 0, 0).getTime();
const iso = (ms: number) => new Date(ms).toISOString();
const SCRATCH = 9999;
const VOL = (vmid: number) => `local:backup/vzdump-qemu-${vmid}-2026_06_01-02_00_00.vma.zst`;

const tier = (id: string, o: Partial<Tier> = {}): Tier => ({
  id,
  label: id,
  protect: true,
  maxAgeMs: 26 * H,
  schedule: "02:00",
  retention: {},
  minCopies: 1,
  offsite: false,
  verifyEveryMs: null,
  allowManual: true,
  restoreTest: true,
  ...o,
});
const TIERS = { P1: tier("P1"), P2: tier("P2", { restoreTest: false }) };
const pveCfg = (o: Partial<ProxmoxSourceConfig> = {}): ProxmoxSourceConfig => ({
  name: "pve",
  url: "https://pve.invalid:8006",
  tokenId: "b2m@pve!t",
  tokenSecret: "secret",
  timeoutMs: 1000,
  pollIntervalMs: 60_000,
  contentIntervalMs: 600_000,
  backup: { mode: "snapshot", compress: "zstd", notesTemplate: "", method: "api" },
  verify: { automatic: false },
  restoreTest: { scratchVmid: SCRATCH, storage: "scratch", timeoutMs: 10 * 60_000 },
  ...o,
});

/** Proxmox as the restore tester sees it: one scratch guest, tasks that run for `polls` status requests. */
class FakePve {
  readonly calls: string[] = [];
  scratchExists = false;
  resources: Array<{ id: string; vmid: number; name: string; node: string; type: string }> = [];
  restorePolls = 3;
  restoreExit = "OK";
  failResources?: Error;
  failDelete?: Error;
  private readonly tasks = new Map<string, { polls: number; exit: string; done?: () => void }>();
  async get(p: string): Promise<unknown> {
    this.calls.push(`GET ${p}`);
    if (p === "/cluster/resources") {
      if (this.failResources) throw this.failResources;
      return this.resources;
    }
    const task = /\/tasks\/([^/]+)\/status$/.exec(p);
    if (task) {
      const t = this.tasks.get(decodeURIComponent(task[1]!))!;
      if (t.polls-- > 0) return { status: "running" };
      t.done?.();
      return { status: "stopped", exitstatus: t.exit };
    }
    if (new RegExp(`/qemu/${SCRATCH}/config$`).test(p) && this.scratchExists) return { name: "scratch" };
    throw new PveError("http", `500 Configuration file 'nodes/n1/qemu-server/${SCRATCH}.conf' does not exist`, 500);
  }
  async post(p: string, _schema: unknown, body: Record<string, unknown>): Promise<string> {
    this.calls.push(`POST ${p} ${JSON.stringify(body)}`);
    this.scratchExists = true;
    const upid = `UPID:n1:00001111:00C0FFEE:665AE0A0:qmrestore:${SCRATCH}:b2m@pve!t:`;
    this.tasks.set(upid, { polls: this.restorePolls, exit: this.restoreExit });
    return upid;
  }
  async delete(p: string): Promise<string> {
    this.calls.push(`DELETE ${p}`);
    if (this.failDelete) throw this.failDelete;
    const upid = `UPID:n1:00002222:00C0FFEE:665AE0A0:qmdestroy:${SCRATCH}:b2m@pve!t:`;
    this.tasks.set(upid, { polls: 1, exit: "OK", done: () => (this.scratchExists = false) });
    return upid;
  }
}

/** The members of PveSource that restore tests use. */
class FakeSource {
  readonly name: string;
  health: SourceHealth;
  readonly http = new FakePve();
  readonly guests = new Map<number, GuestInfo>();
  archives: Archive[] = [];
  constructor(readonly cfg: ProxmoxSourceConfig) {
    this.name = cfg.name;
    this.health = { name: cfg.name, kind: "proxmox", up: true, degraded: false };
  }
  guest(vmid: number) {
    return this.guests.get(vmid);
  }
  archivesOf(vmid: number) {
    return this.archives.filter((a) => a.vmid === vmid);
  }
}

function guestState(vmid: number, name: string, o: Partial<GuestState> = {}): GuestState {
  return {
    id: `home_${vmid}`,
    source: "pve",
    vmid,
    name,
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

let dir: string;
beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(START);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-restore-"));
});
afterEach(() => {
  vi.useRealTimers();
  fs.rmSync(dir, { recursive: true, force: true });
});

function setup(o: { cfg?: ProxmoxSourceConfig; polled?: boolean } = {}) {
  const clock = new ManualClock(START);
  const pve = new FakeSource(o.cfg ?? pveCfg());
  const guests = new Map<string, GuestState>();
  for (const [vmid, name, t] of [
    [100, "vaultwarden", "P1"],
    [101, "web", "P1"],
    [102, "media", "P2"],
  ] as const) {
    guests.set(`home_${vmid}`, guestState(vmid, name, { tier: t }));
    if (o.polled !== false)
      pve.guests.set(vmid, { source: "pve", vmid, name, type: "qemu", node: "n1", tags: [], template: false });
    pve.archives.push({
      source: "pve",
      volid: VOL(vmid),
      storage: "local",
      node: "n1",
      vmid,
      ctimeMs: START - 8 * H,
      size: 1,
      format: "vma.zst",
      protected: false,
    });
  }
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger(
    "debug",
    () => [],
    {
      write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) > 0,
    } as unknown as NodeJS.WritableStream,
    { repeatWindowMs: 0 },
  );
  const events: Array<Record<string, unknown>> = [];
  const store = new Store(dir);
  let publishes = 0;
  const actions = new GuestActions({
    cfg: { tiers: TIERS } as unknown as Config,
    sources: [pve as unknown as PveSource],
    store,
    log,
    clock,
    guest: (id) => guests.get(id),
    publish: () => void publishes++,
    event: (target, payload) => void events.push({ target, ...payload }),
    idOf: (_source, vmid) => `home_${vmid}`,
  });
  /** Fake time and the manual clock, moved together (every delay here is a multiple of 500 ms). */
  const elapse = async (ms: number, step = 500) => {
    for (let t = 0; t < ms; t += step) {
      clock.advance(step);
      await vi.advanceTimersByTimeAsync(step);
    }
  };
  return { clock, pve, http: pve.http, guests, lines, events, store, actions, elapse, published: () => publishes };
}
const RESTORE_UPID = `UPID:n1:00001111:00C0FFEE:665AE0A0:qmrestore:${SCRATCH}:b2m@pve!t:`;

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
