/**
 * What the watchdogs (policy/missed-jobs.ts, policy/overrun.ts) and Stop backup need from a Proxmox
 * source, read from the lab over HTTPS on a manual clock: when the bridge last read a new line of a
 * running vzdump's log, whether it waits for the node's global vzdump lock, a job's repeat-missed,
 * the nodes that are not online, and stopping a task (it ends "interrupted by signal").
 */
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, startLab, type Lab, type Scenario } from "backup2mqtt-lab";
import type { ProxmoxSourceConfig } from "../../config/load.js";
import { createLogger } from "../../log.js";
import { PveSource } from "./source.js";

const T0 = Date.UTC(2026, 0, 14, 12, 0, 0);
const BRIDGE = "backup2mqtt@pve!bridge";
const SECRET = "11111111-2222-3333-4444-555555555555";

const scenario: Scenario = {
  cluster: "testlab",
  nodes: [{ name: "pve1" }, { name: "pve2" }],
  storages: [{ id: "nas", type: "nfs", shared: 1, content: "backup" }],
  guests: [
    { vmid: 100, type: "qemu", name: "web", node: "pve1", backupSeconds: 600 },
    { vmid: 101, type: "lxc", name: "dns", node: "pve1", backupSeconds: 60 },
    { vmid: 200, type: "qemu", name: "db", node: "pve2" },
  ],
  jobs: [
    { id: "catch-up", schedule: "02:00", enabled: 1, vmid: [100], storage: "nas", "repeat-missed": 1 },
    { id: "plain", schedule: "03:00", enabled: 1, vmid: [101], storage: "nas" },
  ],
  tokens: [
    {
      id: BRIDGE,
      secret: SECRET,
      acl: [
        { path: "/", roles: ["PVEAuditor"] },
        { path: "/storage", roles: ["PVEAuditor"], privs: ["Datastore.AllocateSpace"] },
        { path: "/vms", roles: ["PVEAuditor"], privs: ["VM.Backup"] },
      ],
    },
  ],
} as Scenario;

const cfg = (lab: Lab): ProxmoxSourceConfig => ({
  name: "pve",
  url: lab.url,
  tokenId: BRIDGE,
  tokenSecret: SECRET,
  fingerprint: lab.fingerprint,
  timeoutMs: 10_000,
  pollIntervalMs: 10_000,
  contentIntervalMs: 600_000,
  backup: { mode: "snapshot", compress: "zstd", notesTemplate: "", method: "api" },
  verify: { automatic: false },
});

let lab: Lab | undefined;
let src: PveSource | undefined;
afterEach(async () => {
  await src?.close();
  await lab?.stop();
  lab = src = undefined;
});

async function setup(sc: Scenario = scenario) {
  const clock = new ManualClock(T0);
  lab = await startLab({ scenario: sc, clock, authFailDelayMs: 0 });
  const sink = { write: () => true } as unknown as NodeJS.WritableStream;
  src = new PveSource(
    cfg(lab),
    createLogger("info", () => [], sink),
    () => clock.now(),
  );
  await src.refresh({ content: true });
  expect(src.health.up, src.health.error).toBe(true);
  return { clock, lab, src };
}

const running = (s: PveSource, vmid: number) =>
  s.evidence().attempts.find((a) => a.vmid === vmid && a.result === "running");

describe("watchdog evidence from a Proxmox source", () => {
  it("a running vzdump's attempt carries when a new log line was last read; a second one waits for the node's lock", async () => {
    const { clock, src } = await setup();
    const upid = (await src.startBackup(100, { mode: "snapshot", compress: "zstd", notesTemplate: "" }))!;
    await src.pollRunningTasks();
    const first = running(src, 100)!;
    expect(first.upid).toBe(upid);
    expect(first.lastLogMs).toBe(T0);
    expect(first.waitingForLock).toBeUndefined();
    // A minute on: the qemu backup printed progress lines, read now.
    clock.advance(60_000);
    await src.pollRunningTasks();
    expect(running(src, 100)!.lastLogMs).toBe(T0 + 60_000);
    // Another vzdump on the same node waits for the global lock and prints nothing more.
    await src.startBackup(101, { mode: "snapshot", compress: "zstd", notesTemplate: "" });
    await src.pollRunningTasks();
    expect(running(src, 101)).toMatchObject({ waitingForLock: true, lastLogMs: T0 + 60_000 });
    expect(src.runningBackup(100)).toEqual({ upid, node: "pve1", startMs: T0 });
    expect(src.runningBackup(200)).toBeUndefined();
  });

  it("stopTask ends the vzdump as PVE's stop does: the guest's attempt fails 'interrupted by signal'", async () => {
    const { clock, src } = await setup();
    const upid = (await src.startBackup(100, { mode: "snapshot", compress: "zstd", notesTemplate: "" }))!;
    clock.advance(30_000);
    await src.pollRunningTasks();
    await src.stopTask("pve1", upid);
    await src.pollRunningTasks();
    const a = src.evidence().attempts.find((x) => x.upid === upid)!;
    expect(a.result).toBe("failed");
    expect(a.error).toMatch(/interrupted by signal/);
    expect(src.runningBackup(100)).toBeUndefined();
  });

  it("jobs carry repeat-missed; nodes that are not online are listed", async () => {
    const { clock, lab, src } = await setup();
    const jobs = src.evidence().jobs;
    expect(jobs.find((j) => j.id === "catch-up")?.repeatMissed).toBe(true);
    expect(jobs.find((j) => j.id === "plain")?.repeatMissed).toBeUndefined();
    expect(src.evidence().offlineNodes).toEqual([]);
    // PVEAuditor on / (propagating): every node's tasks are visible.
    expect(src.evidence().hiddenTaskNodes).toEqual([]);
    lab.control.setNodeStatus("pve2", "offline");
    clock.advance(10_000);
    await src.refresh();
    expect(src.evidence().offlineNodes).toEqual(["pve2"]);
  });

  it("reads the nodes' time zone (GET /nodes/{node}/time) for job schedules, once with the jobs", async () => {
    const inNewYork = {
      ...scenario,
      nodes: scenario.nodes.map((n) => ({ ...n, timezone: "America/New_York" })),
    } as Scenario;
    const { src } = await setup(inNewYork);
    expect(src.evidence().jobTimeZone).toBe("America/New_York");
  });

  it("no enabled scheduled job: the time zone is not asked for", async () => {
    const noJobs = { ...scenario, jobs: [] } as Scenario;
    const { src } = await setup(noJobs);
    expect(src.evidence().jobTimeZone).toBeUndefined();
  });
});
