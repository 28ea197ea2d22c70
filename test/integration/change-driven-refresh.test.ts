/**
 * Change-driven refresh misses nothing: with idle polls of /cluster/resources + /cluster/tasks
 * only, what happens outside the bridge still reaches the guest's state — within one poll when
 * PVE leaves a signal (a vzdump started through the API by someone else, a vzdump that pruned an
 * older archive, an archive deleted through the API, a guest migrated), within one safety sweep
 * (content_interval) when it leaves none (an archive file removed by hand, the protected flag).
 * Real lab over HTTPS, embedded broker, real bridge.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Scenario } from "backup2mqtt-lab";
import { PveHttp } from "../../bridge/src/sources/pve/http.js";
import type { PveSource } from "../../bridge/src/sources/pve/source.js";
import { startStack, type Stack } from "../support/stack.js";

const STATE = (id: string) => `backup2mqtt/guest/${id}/state`;
const ADMIN = "root@pam!admin";
const ADMIN_SECRET = "admin-secret";

interface GuestState {
  node: string;
  last_backup: string | null;
  archive_count: number;
  running: boolean;
}

const scenario: Scenario = {
  cluster: "testlab",
  backupSeconds: 20,
  nodes: [{ name: "pve1" }, { name: "pve2" }],
  storages: [
    { id: "local", type: "dir", content: ["backup", "iso"] },
    { id: "nas", type: "nfs", shared: 1, content: "backup" },
  ],
  guests: [
    { vmid: 100, type: "qemu", name: "web", node: "pve1" },
    { vmid: 101, type: "lxc", name: "dns", node: "pve1" },
    { vmid: 200, type: "qemu", name: "db", node: "pve2" },
  ],
  archives: [
    { vmid: 100, storage: "nas", age: "1d" },
    { vmid: 100, storage: "nas", age: "2d" },
    { vmid: 101, storage: "local", node: "pve1", age: "1d" },
    { vmid: 101, storage: "local", node: "pve1", age: "2d" },
    { vmid: 101, storage: "local", node: "pve1", age: "3d" },
    { vmid: 200, storage: "local", node: "pve2", age: "1d" },
    { vmid: 200, storage: "nas", age: "2d" },
  ],
  tokens: [
    {
      id: "backup2mqtt@pve!bridge",
      secret: "11111111-2222-3333-4444-555555555555",
      acl: [
        { path: "/", roles: ["PVEAuditor"] },
        { path: "/storage", roles: ["PVEAuditor"], privs: ["Datastore.AllocateSpace"] },
        { path: "/vms", roles: ["PVEAuditor"], privs: ["VM.Backup"] },
      ],
    },
    { id: ADMIN, secret: ADMIN_SECRET, privsep: 0 },
  ],
};

let stack: Stack | undefined;
let admin: PveHttp | undefined;
afterEach(async () => {
  await admin?.close();
  admin = undefined;
  await stack?.stop();
  stack = undefined;
});

async function start(pollMs: number, contentMs: number): Promise<{ s: Stack; admin: PveHttp; source: PveSource }> {
  stack = await startStack({ broker: "embedded", lab: { scenario, taskSpeed: 20 }, pollMs, contentMs });
  const s = stack;
  admin = new PveHttp(
    { url: s.lab.url, tokenId: ADMIN, tokenSecret: ADMIN_SECRET, fingerprint: s.lab.fingerprint, timeoutMs: 10_000 },
    0,
  );
  for (const id of ["home_100", "home_101", "home_200"])
    await s.observer.until(`state of ${id}`, () => s.observer.json<GuestState>(STATE(id)), 15_000);
  return { s, admin, source: s.service.engine.sources[0] as unknown as PveSource };
}

const state = (s: Stack, id: string) => s.observer.json<GuestState>(STATE(id))!;
const until = <T>(s: Stack, what: string, f: () => T | undefined | false, ms: number) => s.observer.until(what, f, ms);

describe("change-driven refresh misses nothing", () => {
  it("signals: an outside vzdump (and the prune it did), an API delete, a migration — each within one poll", async () => {
    // Sweeps every 10 min: everything below must come from a signal. Polls every 2 s; each case
    // allows two polls plus the backup's own 1 s.
    const POLL = 2_000;
    const WITHIN = 2 * POLL + 2_500;
    const { s, admin } = await start(POLL, 600_000);
    const idleFrom = s.lab.requests.length;
    await new Promise((r) => setTimeout(r, 2 * POLL + 500));
    const idle = s.lab.requests.slice(idleFrom).map((r) => r.path.replace("/api2/json", ""));
    expect(new Set(idle)).toEqual(new Set(["/cluster/resources", "/cluster/tasks"]));

    // A backup started outside the bridge, with a retention that prunes the older archives of 101.
    const before101 = state(s, "home_101");
    expect(before101.archive_count).toBe(3);
    await admin.post("/nodes/pve1/vzdump", z.string(), { vmid: 101, storage: "local", "prune-backups": "keep-last=1" });
    const after101 = await until(
      s,
      "the new archive of 101, the older ones pruned",
      () => {
        const st = state(s, "home_101");
        return st.last_backup !== before101.last_backup && !st.running && st.archive_count === 1 && st;
      },
      WITHIN + 1_000,
    );
    expect(after101.archive_count).toBe(1);

    // An archive deleted through the API (an imgdel task).
    const before200 = state(s, "home_200");
    const source = s.service.engine.sources[0] as unknown as PveSource;
    const onNas = source.archivesOf(200).find((a) => a.storage === "nas")!;
    await admin.delete(`/nodes/pve2/storage/nas/content/${encodeURIComponent(onNas.volid)}`, z.string());
    await until(
      s,
      "200's deleted archive gone",
      () => state(s, "home_200").archive_count === before200.archive_count - 1,
      WITHIN,
    );

    // A guest migrated to the other node.
    s.lab.control.moveGuest(100, "pve2");
    await until(s, "100 on pve2", () => state(s, "home_100").node === "pve2", WITHIN);
  }, 60_000);

  it("no signal: an archive removed by hand and the protected flag — within one safety sweep", async () => {
    const POLL = 1_000;
    const SWEEP = 6_000;
    const { s, admin, source } = await start(POLL, SWEEP);
    const before = state(s, "home_100");
    const [gone, kept] = source.archivesOf(100);
    s.lab.control.removeArchive(gone!.volid);
    await admin.put(`/nodes/pve1/storage/nas/content/${encodeURIComponent(kept!.volid)}`, z.null(), { protected: 1 });
    const t = Date.now();
    await until(
      s,
      "the hand-removed archive gone from 100's state",
      () => state(s, "home_100").archive_count === before.archive_count - 1,
      SWEEP + 2 * POLL + 3_000,
    );
    await until(
      s,
      "the protected flag listed",
      () => source.archivesOf(100).find((a) => a.volid === kept!.volid)?.protected === true,
      SWEEP + 2 * POLL + 3_000 - (Date.now() - t),
    );
  }, 60_000);
});
