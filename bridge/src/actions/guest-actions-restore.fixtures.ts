/**
 * Shared by the restore-test tests of GuestActions (guest-actions-restore.test.ts,
 * guest-actions-restore-end.test.ts): fake timers and a manual clock moved in step, Proxmox as a
 * fake of the three calls the restore tester makes (GET, POST, DELETE) that keeps one scratch
 * guest and answers task status "running" for a set number of polls (the tester polls every
 * 500 ms), and a real Store on a temporary directory.
 */
import { baseGuestState, baseTier, START, useSandboxDir } from "./actions-kit.fixtures.js";
import { ManualClock } from "backup2mqtt-lab";
import { vi } from "vitest";
import type { Config, ProxmoxSourceConfig } from "../config/load.js";
import type { Tier } from "../config/tiers.js";
import type { Archive, GuestInfo, SourceHealth } from "../evidence.js";
import { createLogger } from "../log.js";
import type { GuestState } from "../policy/types.js";
import { PveError } from "../sources/pve/http.js";
import type { PveSource } from "../sources/pve/source.js";
import { Store } from "../state/store.js";
import { GuestActions } from "./guest-actions.js";

export const H = 3_600_000;
export { START } from "./actions-kit.fixtures.js";
export const iso = (ms: number) => new Date(ms).toISOString();
export const SCRATCH = 9999;
export const VOL = (vmid: number) => `local:backup/vzdump-qemu-${vmid}-2026_06_01-02_00_00.vma.zst`;

const tier = (id: string, o: Partial<Tier> = {}): Tier =>
  baseTier(id, { verifyEveryMs: null, restoreTest: true, ...o });
const TIERS = { P1: tier("P1"), P2: tier("P2", { restoreTest: false }) };
export const pveCfg = (o: Partial<ProxmoxSourceConfig> = {}): ProxmoxSourceConfig => ({
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

export function guestState(vmid: number, name: string, o: Partial<GuestState> = {}): GuestState {
  return baseGuestState(vmid, { name, ...o });
}
/** The Store's directory of the running test (a fresh one each test, see useSandbox). */
export let dir: string;
/** Fake timers from START and a fresh temporary directory around each test of the file. */
export function useSandbox(): void {
  useSandboxDir("b2m-restore-", (d) => {
    dir = d;
  });
}

export function setup(o: { cfg?: ProxmoxSourceConfig; polled?: boolean } = {}) {
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
export const RESTORE_UPID = `UPID:n1:00001111:00C0FFEE:665AE0A0:qmrestore:${SCRATCH}:b2m@pve!t:`;
