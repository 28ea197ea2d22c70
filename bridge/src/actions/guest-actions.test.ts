/**
 * GuestActions' "Back up now" on its own, with fake timers and a manual clock: no network, no
 * real-time waits. The Proxmox source is a fake with only the members GuestActions uses (its POST
 * /vzdump answers after 200 ms of fake time); the Store is real, on a temporary directory, so what
 * is durable is read back from disk. Covered: acceptance → in-flight record → the task's end
 * (in-flight cleared, result audited, guard released); refusals as sentences; a second press
 * naming the first request; resume() after a restart; the guard's safety expiry.
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
import type { PveSource, TaskEvent } from "../sources/pve/source.js";
import { Store } from "../state/store.js";
import { ManualClock } from "../util/clock.js";
import { GUARD_MAX_HOLD_MS } from "./guard.js";
import { GuestActions } from "./guest-actions.js";

const MIN = 60_000;
const H = 60 * MIN;
/** Local time, so the guard's "at 10:00:00" reads the same in every time zone. */
const START = new Date(2026, 5, 1, 10, 0, 0).getTime();
const iso = (ms: number) => new Date(ms).toISOString();
const upid = (vmid: number, n = 1) => `UPID:n1:0000A1B${n}:00C0FFEE:665AE0A${n}:vzdump:${vmid}:b2m@pve!t:`;
const later = <T>(ms: number, v: () => T) =>
  new Promise<T>((resolve, reject) =>
    setTimeout(() => {
      try {
        resolve(v());
      } catch (e) {
        reject(e);
      }
    }, ms),
  );

const tier = (id: string, o: Partial<Tier> = {}): Tier => ({
  id,
  label: id,
  protect: true,
  maxAgeMs: 26 * H,
  schedule: "02:00",
  retention: {},
  minCopies: 1,
  offsite: false,
  verifyEveryMs: 30 * 24 * H,
  allowManual: true,
  restoreTest: false,
  ...o,
});
const TIERS = { P1: tier("P1"), P3: tier("P3", { allowManual: false }) };

const pveCfg = (): ProxmoxSourceConfig => ({
  name: "pve",
  url: "https://pve.invalid:8006",
  tokenId: "b2m@pve!t",
  tokenSecret: "secret",
  timeoutMs: 1000,
  pollIntervalMs: 60_000,
  contentIntervalMs: 600_000,
  backup: { storage: "local", mode: "snapshot", compress: "zstd", notesTemplate: "{{guestname}}", method: "api" },
  verify: { automatic: false },
});

/** The members of PveSource that GuestActions uses for backups, and nothing else. */
class FakeSource {
  readonly name: string;
  health: SourceHealth;
  readonly guests = new Map<number, GuestInfo>();
  readonly ended = new Set<string>();
  readonly resumed: string[] = [];
  readonly backupCalls: Array<{ vmid: number; opts: unknown }> = [];
  private seq = 0;
  /** How POST /vzdump answers: by default a fresh UPID after 200 ms. */
  answer: (vmid: number, upid: string) => Promise<string | null> = (_vmid, u) => later(200, () => u);
  constructor(readonly cfg: ProxmoxSourceConfig) {
    this.name = cfg.name;
    this.health = { name: cfg.name, kind: "proxmox", up: true, degraded: false };
  }
  guest(vmid: number) {
    return this.guests.get(vmid);
  }
  archivesOf(_vmid: number): Archive[] {
    return [];
  }
  taskEnded(u: string) {
    return this.ended.has(u);
  }
  resumeTask(u: string, node: string, vmid: number) {
    this.resumed.push(`${u} ${node} ${vmid}`);
  }
  startBackup(vmid: number, opts: unknown) {
    this.backupCalls.push({ vmid, opts });
    return this.answer(vmid, upid(vmid, ++this.seq));
  }
  defaultBackupStorage() {
    return this.cfg.backup.storage;
  }
  async refresh() {}
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
    archive_count: 0,
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
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-actions-"));
});
afterEach(() => {
  vi.useRealTimers();
  fs.rmSync(dir, { recursive: true, force: true });
});

function setup(o: { knownToSource?: boolean } = {}) {
  const clock = new ManualClock(START);
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger(
    "debug",
    () => [],
    {
      write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) > 0,
    } as unknown as NodeJS.WritableStream,
    { repeatWindowMs: 0 },
  );
  const pve = new FakeSource(pveCfg());
  if (o.knownToSource !== false)
    pve.guests.set(100, {
      source: "pve",
      vmid: 100,
      name: "vaultwarden",
      type: "qemu",
      node: "n1",
      tags: [],
      template: false,
    });
  const guests = new Map(
    [guestState(100, "vaultwarden"), guestState(101, "web"), guestState(102, "legacy", { tier: "P3" })].map((g) => [
      g.id,
      g,
    ]),
  );
  const store = new Store(dir, { log });
  let publishes = 0;
  const actions = new GuestActions({
    cfg: { tiers: TIERS } as unknown as Config,
    sources: [pve as unknown as PveSource],
    store,
    log,
    clock,
    guest: (id) => guests.get(id),
    publish: () => void publishes++,
    event: () => undefined,
    idOf: (_source, vmid) => `home_${vmid}`,
  });
  /** Presses "Back up now" and lets Proxmox answer (200 ms of fake time). */
  const press = async (id: string, origin = "mqtt", requestId?: string) => {
    const p = actions.backup(id, requestId ? { requestId } : {}, origin);
    await vi.advanceTimersByTimeAsync(200);
    return p;
  };
  return { clock, lines, pve, guests, store, actions, press, published: () => publishes };
}

const ended = (u: string, o: Partial<TaskEvent> = {}): TaskEvent => ({
  source: "pve",
  upid: u,
  node: "n1",
  phase: "finished",
  outcomes: [{ vmid: 100, result: "ok", warnings: 0 }],
  exitstatus: "OK",
  ...o,
});

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
