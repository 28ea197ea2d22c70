/**
 * Shared by the "Back up now" tests of GuestActions (guest-actions.test.ts,
 * guest-actions-backup-refusals.test.ts, guest-actions-backup-resume.test.ts): fake timers and a
 * manual clock, a fake Proxmox source with only the members GuestActions uses for backups (its POST
 * /vzdump answers after 200 ms of fake time), and a real Store on a temporary directory.
 */
import { baseGuestState, baseTier, START, useSandboxDir } from "./actions-kit.fixtures.js";
import { ManualClock } from "backup2mqtt-lab";
import { vi } from "vitest";
import type { Config, ProxmoxSourceConfig } from "../config/load.js";
import type { Archive, BackupJob, GuestInfo, SourceHealth } from "../evidence.js";
import { createLogger } from "../log.js";
import type { GuestState } from "../policy/types.js";
import type { PveSource, TaskEvent } from "../sources/pve/source.js";
import { Store } from "../state/store.js";
import { GuestActions } from "./guest-actions.js";

export const MIN = 60_000;
const _H = 60 * MIN;
export { START } from "./actions-kit.fixtures.js";
export const iso = (ms: number) => new Date(ms).toISOString();
export const upid = (vmid: number, n = 1) => `UPID:n1:0000A1B${n}:00C0FFEE:665AE0A${n}:vzdump:${vmid}:b2m@pve!t:`;
export const later = <T>(ms: number, v: () => T) =>
  new Promise<T>((resolve, reject) =>
    setTimeout(() => {
      try {
        resolve(v());
      } catch (e) {
        reject(e);
      }
    }, ms),
  );

const tier = baseTier;
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
  guestJob() {
    return this.job;
  }
  /** The job that selects every guest, as a test sets it (none by default). */
  job: BackupJob | undefined = undefined;
  async refresh() {}
}

export function guestState(vmid: number, name: string, o: Partial<GuestState> = {}): GuestState {
  return baseGuestState(vmid, { name, archive_count: 0, ...o });
}
/** The Store's directory of the running test (a fresh one each test, see useSandbox). */
export let dir: string;
/** Fake timers from START and a fresh temporary directory around each test of the file. */
export function useSandbox(): void {
  useSandboxDir("b2m-actions-", (d) => {
    dir = d;
  });
}

export function setup(o: { knownToSource?: boolean } = {}) {
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

export const ended = (u: string, o: Partial<TaskEvent> = {}): TaskEvent => ({
  source: "pve",
  upid: u,
  node: "n1",
  phase: "finished",
  outcomes: [{ vmid: 100, result: "ok", warnings: 0 }],
  exitstatus: "OK",
  ...o,
});
