/**
 * Shared by the verification tests of GuestActions (guest-actions-verify.test.ts,
 * guest-actions-auto-verify.test.ts): fake timers and a manual clock moved in step, a fake
 * Proxmox source with only the members verification uses, a real Store on a temporary directory,
 * and the nodes' shell. The shell needs the SSH client mocked: each test file that uses shell()
 * or useSandbox() calls vi.mock("../sources/ssh/client.js", …) with sshExec a vi.fn().
 */
import { baseGuestState, baseTier, START, useSandboxDir } from "./actions-kit.fixtures.js";
import { ManualClock } from "backup2mqtt-lab";
import { vi } from "vitest";
import type { Config, ProxmoxSourceConfig } from "../config/load.js";
import type { Tier } from "../config/tiers.js";
import type { Archive, SourceHealth } from "../evidence.js";
import { createLogger } from "../log.js";
import type { GuestState } from "../policy/types.js";
import type { PveSource } from "../sources/pve/source.js";
import { type ExecResult, sshExec } from "../sources/ssh/client.js";
import { Store } from "../state/store.js";
import { GuestActions } from "./guest-actions.js";

const H = 3_600_000;
export const D = 24 * H;
export { START } from "./actions-kit.fixtures.js";
export const at = (h: number, m = 0) => new Date(2026, 5, 1, h, m).getTime();
export const iso = (ms: number) => new Date(ms).toISOString();
export const CHECK_MS = 60_000;

const tier = baseTier;
export const TIERS: Record<string, Tier> = {
  P1: tier("P1"),
  none: tier("none", { protect: false, verifyEveryMs: null }),
};
const SSH = {
  host: "10.0.0.1",
  port: 22,
  username: "root",
  privateKey: "KEY",
  hostKey: "SHA256:one",
  nodes: { n2: { host: "10.0.0.2", hostKey: "SHA256:two" } },
  timeoutMs: 10_000,
};

export const pveCfg = (o: Partial<ProxmoxSourceConfig> = {}): ProxmoxSourceConfig => ({
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
export const volid = (vmid: number, fmt = "vma.zst") => `local:backup/vzdump-qemu-${vmid}-2026_06_01-02_00_00.${fmt}`;
export const archive = (vmid: number, o: Partial<Archive> = {}): Archive => ({
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

export function guestState(vmid: number, o: Partial<GuestState> = {}): GuestState {
  return baseGuestState(vmid, o);
}

/** The nodes' shell: `pvesm path` after 100 ms, then the check after CHECK_MS with `check`'s answer. Returns the commands run, as "host: command". */
export function shell(
  check: (volid: string) => ExecResult | Error = () => ({ code: 0, stdout: "", stderr: "" }),
): string[] {
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
/** The Store's directory of the running test (a fresh one each test, see useSandbox). */
export let dir: string;
/** Fake timers from START, a reset sshExec mock and a fresh temporary directory around each test of the file. */
export function useSandbox(): void {
  useSandboxDir(
    "b2m-verify-",
    (d) => {
      dir = d;
    },
    () => vi.mocked(sshExec).mockReset(),
  );
}

export function setup(cfg = pveCfg()) {
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
