/**
 * Change-driven refresh against the lab over HTTPS on a manual clock: an idle poll is
 * /cluster/resources + /cluster/tasks, a node's task list and the listings are read only for what
 * changed, a safety sweep every content_interval reads everything; without Sys.Audit on / every
 * node's task list is read on every poll, said once in the log.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ManualClock, startLab, type Lab, type Scenario } from "backup2mqtt-lab";
import type { ProxmoxSourceConfig } from "../../config/load.js";
import { createLogger } from "../../log.js";
import { PveHttp } from "./http.js";
import { PveSource } from "./source.js";

const T0 = Date.UTC(2026, 0, 14, 12, 0, 0);
const ADMIN = "root@pam!admin";
const BRIDGE = "backup2mqtt@pve!bridge";
const NO_AUDIT = "backup2mqtt@pve!noaudit";
const SECRET = "11111111-2222-3333-4444-555555555555";
const CONTENT_MS = 600_000;

const scenario: Scenario = {
  cluster: "testlab",
  backupSeconds: 60,
  nodes: [{ name: "pve1" }, { name: "pve2" }, { name: "pve3" }],
  storages: [
    { id: "local", type: "dir", content: ["backup", "iso"] },
    { id: "nas", type: "nfs", shared: 1, content: "backup" },
  ],
  guests: [
    { vmid: 100, type: "qemu", name: "web", node: "pve1" },
    { vmid: 200, type: "qemu", name: "db", node: "pve2" },
    { vmid: 300, type: "lxc", name: "dns", node: "pve3" },
  ],
  archives: [
    { vmid: 100, storage: "nas", ageSeconds: 3600 },
    { vmid: 100, storage: "nas", ageSeconds: 7200 },
    { vmid: 200, storage: "local", node: "pve2", age: "2d" },
    { vmid: 300, storage: "local", node: "pve3", age: "1d" },
  ],
  tokens: [
    { id: ADMIN, secret: "admin-secret", privsep: 0 },
    {
      id: BRIDGE,
      secret: SECRET,
      acl: [
        { path: "/", roles: ["PVEAuditor"] },
        { path: "/storage", roles: ["PVEAuditor"], privs: ["Datastore.AllocateSpace"] },
        { path: "/vms", roles: ["PVEAuditor"], privs: ["VM.Backup"] },
      ],
    },
    {
      id: NO_AUDIT,
      secret: SECRET,
      acl: [
        { path: "/nodes", roles: ["PVEAuditor"] },
        { path: "/storage", roles: ["PVEAuditor"], privs: ["Datastore.AllocateSpace"] },
        { path: "/vms", roles: ["PVEAuditor"], privs: ["VM.Backup"] },
      ],
    },
  ],
};

const cfg = (lab: Lab, tokenId: string): ProxmoxSourceConfig => ({
  name: "pve",
  url: lab.url,
  tokenId,
  tokenSecret: tokenId === ADMIN ? "admin-secret" : SECRET,
  fingerprint: lab.fingerprint,
  timeoutMs: 10_000,
  pollIntervalMs: 10_000,
  contentIntervalMs: CONTENT_MS,
  backup: { mode: "snapshot", compress: "zstd", notesTemplate: "", method: "api" },
  verify: { automatic: false },
});

let lab: Lab | undefined;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  await lab?.stop();
  lab = undefined;
});

async function setup(tokenId = BRIDGE) {
  const clock = new ManualClock(T0);
  lab = await startLab({ scenario, clock, authFailDelayMs: 0 });
  const lines: string[] = [];
  const sink = { write: (l: string) => lines.push(l) > 0 } as unknown as NodeJS.WritableStream;
  const src = new PveSource(
    cfg(lab, tokenId),
    createLogger("info", () => [], sink),
    () => clock.now(),
  );
  const admin = new PveHttp(cfg(lab, ADMIN), 0);
  closers.push(
    () => src.close(),
    () => admin.close(),
  );
  const l = lab;
  /** One poll 10 s later; returns the paths it asked for (without /api2/json). */
  const poll = async (): Promise<string[]> => {
    clock.advance(10_000);
    const from = l.requests.length;
    await src.refresh();
    expect(src.health.up, src.health.error).toBe(true);
    return l.requests.slice(from).map((r) => decodeURIComponent(r.path).replace("/api2/json", ""));
  };
  await src.refresh();
  expect(src.health.up, src.health.error).toBe(true);
  return { clock, lab: l, src, admin, lines, poll };
}

const listings = (paths: string[]) => paths.filter((p) => p.endsWith("/content"));
const taskLists = (paths: string[]) => paths.filter((p) => /^\/nodes\/[^/]+\/tasks$/.test(p));

describe("change-driven refresh", () => {
  it("an idle poll makes exactly 2 requests: /cluster/resources and /cluster/tasks", async () => {
    const { src, poll } = await setup();
    for (let i = 0; i < 5; i++) {
      expect(await poll()).toEqual(["/cluster/resources", "/cluster/tasks"]);
      expect(src.lastRefreshRequests).toBe(2);
    }
  });

  it("a vzdump started outside the bridge: that node's task list, then its listings and the shared ones", async () => {
    const { clock, src, admin, poll } = await setup();
    await poll();
    const upid = await admin.post("/nodes/pve2/vzdump", z.string(), { vmid: 200, storage: "local" });
    const started = await poll();
    expect(taskLists(started)).toEqual(["/nodes/pve2/tasks"]);
    expect(started).toContain(`/nodes/pve2/tasks/${upid}/log`);
    expect(src.hasRunningTasks()).toBe(true);
    clock.advance(120_000);
    const before = src.archivesOf(200).length;
    const ended = await poll();
    expect(taskLists(ended)).toEqual(["/nodes/pve2/tasks"]);
    // A vzdump that starts and ends between two polls: picked up from /cluster/tasks all the same.
    const short = await admin.post("/nodes/pve3/vzdump", z.string(), { vmid: 300, storage: "nas" });
    clock.advance(120_000);
    const between = await poll();
    expect(taskLists(between)).toEqual(["/nodes/pve3/tasks"]);
    expect(between).toContain(`/nodes/pve3/tasks/${short}/log`);
    expect(listings(between)).toHaveLength(2);
    expect(src.archivesOf(300).some((a) => a.storage === "nas")).toBe(true);
    expect(listings(ended).sort()).toEqual(
      expect.arrayContaining(["/nodes/pve2/storage/local/content", expect.stringMatching(/storage\/nas\/content$/)]),
    );
    expect(listings(ended)).toHaveLength(2);
    expect(src.archivesOf(200)).toHaveLength(before + 1);
    expect(src.hasRunningTasks()).toBe(false);
    expect(await poll()).toEqual(["/cluster/resources", "/cluster/tasks"]);
  });

  it("an archive deleted through the API (imgdel task): that storage's listing only, within one poll", async () => {
    const { src, admin, poll } = await setup();
    const [older] = src.archivesOf(100).sort((a, b) => a.ctimeMs - b.ctimeMs);
    await admin.delete(`/nodes/pve1/storage/nas/content/${encodeURIComponent(older!.volid)}`, z.string());
    const paths = await poll();
    expect(taskLists(paths)).toEqual([]);
    expect(listings(paths)).toEqual([expect.stringMatching(/storage\/nas\/content$/)]);
    expect(src.archivesOf(100).map((a) => a.volid)).not.toContain(older!.volid);
  });

  it("a protected flag set and a file removed by hand show no signal: the safety sweep reads them", async () => {
    const { clock, lab, src, admin, poll } = await setup();
    const a = src.archivesOf(100)[0]!;
    const gone = src.archivesOf(300)[0]!;
    await admin.put(`/nodes/pve1/storage/nas/content/${encodeURIComponent(a.volid)}`, z.null(), { protected: 1 });
    lab.control.removeArchive(gone.volid);
    const sweep = await (async () => {
      for (let t = 10_000; t < CONTENT_MS; t += 10_000) await poll();
      clock.advance(0);
      return poll();
    })();
    expect(taskLists(sweep)).toHaveLength(3);
    expect(listings(sweep)).toHaveLength(4); // local on 3 nodes + nas
    expect(sweep.filter((p) => !/^\/(cluster\/backup|storage|access\/permissions)$/.test(p))).toHaveLength(1 + 3 + 4);
    expect(src.archivesOf(100).find((x) => x.volid === a.volid)?.protected).toBe(true);
    expect(src.archivesOf(300).map((x) => x.volid)).not.toContain(gone.volid);
  });

  it("without Sys.Audit on /: every node's task list on every poll, said once in the log", async () => {
    const { src, lines, poll } = await setup(NO_AUDIT);
    for (let i = 0; i < 3; i++) {
      const paths = await poll();
      expect(paths).not.toContain("/cluster/tasks");
      expect(taskLists(paths).sort()).toEqual(["/nodes/pve1/tasks", "/nodes/pve2/tasks", "/nodes/pve3/tasks"]);
      expect(src.lastRefreshRequests).toBe(4);
    }
    expect(lines.filter((l) => l.includes("no Sys.Audit on /"))).toHaveLength(1);
  });
});
