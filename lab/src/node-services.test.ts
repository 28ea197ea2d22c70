import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { startLab, type Lab } from "./index.js";
import { ADMIN, api as labApi, type ApiRequest, READONLY, T0, twoNodeScenario } from "./testing.js";

/** The lab's JSON answers, which these tests walk freely (test files may use `any`: biome.json). */
const api = (l: Lab, path: string, req?: ApiRequest) => labApi<any>(l, path, req);

const labs: Lab[] = [];
afterEach(async () => {
  await Promise.all(labs.splice(0).map((l) => l.stop()));
});

async function start(scenario = twoNodeScenario()): Promise<{ lab: Lab; clock: ManualClock }> {
  const clock = new ManualClock(T0);
  const lab = await startLab({ scenario, clock, authFailDelayMs: 0 });
  labs.push(lab);
  return { lab, clock };
}

const localOn = async (lab: Lab, node: string) =>
  (await api(lab, `/nodes/${node}/storage?storage=local`)).json.data[0] as {
    used: number;
    total: number;
    avail: number;
  };

describe("local storage usage follows its archives", () => {
  it("grows when vzdump writes an archive, shrinks on delete; each node counts its own copy; the node's rootfs agrees", async () => {
    const scenario = twoNodeScenario();
    scenario.storages = [
      {
        id: "local",
        type: "dir",
        content: ["backup", "iso"],
        path: "/var/lib/vz",
        total: 100_000_000_000,
        used: 10_000_000_000,
      },
      { id: "nas", type: "nfs", shared: 1, content: "backup" },
    ];
    const { lab, clock } = await start(scenario);
    const archive200 = (await api(lab, "/nodes/pve2/storage/local/content")).json.data[0];
    expect((await localOn(lab, "pve1")).used).toBe(10_000_000_000);
    expect((await localOn(lab, "pve2")).used).toBe(10_000_000_000 + archive200.size);

    const upid = (await api(lab, "/nodes/pve1/vzdump", { form: { vmid: 101, storage: "local" } })).json.data;
    clock.advance(600_000);
    expect((await api(lab, `/nodes/pve1/tasks/${encodeURIComponent(upid)}/status`)).json.data.exitstatus).toBe("OK");
    const [written] = (await api(lab, "/nodes/pve1/storage/local/content")).json.data;
    const grown = await localOn(lab, "pve1");
    expect(grown.used).toBe(10_000_000_000 + written.size);
    expect(grown.avail).toBe(grown.total - grown.used);
    const nodeRow = (await api(lab, "/cluster/resources?type=node")).json.data.find((r: any) => r.node === "pve1");
    expect(nodeRow).toMatchObject({ disk: grown.used, maxdisk: grown.total, "cgroup-mode": 2 });
    expect(nodeRow).not.toHaveProperty("cgroup_mode");

    const del = await api(lab, `/nodes/pve1/storage/local/content/${encodeURIComponent(written.volid)}`, {
      method: "DELETE",
    });
    expect(del.status).toBe(200);
    expect((await localOn(lab, "pve1")).used).toBe(10_000_000_000);
  });
});

describe("node endpoints prometheus-pve-exporter reads", () => {
  it("subscription: notfound without a key; serverid only with Sys.Audit on the node", async () => {
    const { lab } = await start();
    const full = (await api(lab, "/nodes/pve1/subscription", { token: ADMIN })).json.data;
    expect(full).toEqual({
      status: "notfound",
      message: "There is no subscription key",
      url: "https://www.proxmox.com/en/proxmox-virtual-environment/pricing",
      serverid: expect.stringMatching(/^[0-9A-F]{32}$/),
    });
    const scenario = twoNodeScenario();
    scenario.tokens = [{ id: "vm@pve!only", secret: "s", acl: [{ path: "/vms", roles: ["PVEAuditor"] }] }];
    const { lab: lab2 } = await start(scenario);
    const bare = await api(lab2, "/nodes/pve1/subscription", { token: "vm@pve!only" });
    expect(bare.status).toBe(200);
    expect(bare.json.data).not.toHaveProperty("serverid");
    expect((await api(lab2, "/cluster/status", { token: "vm@pve!only" })).status).toBe(403);
  });

  it("guest configs: full keys with PVE's types, the root disk's size= is /cluster/resources' maxdisk", async () => {
    const scenario = twoNodeScenario();
    scenario.guests = [
      { vmid: 100, type: "qemu", name: "web", node: "pve1", tags: ["a", "b"], onboot: 1, maxdisk: 68_719_476_736 },
      { vmid: 101, type: "lxc", name: "dns", node: "pve1", maxdisk: 8_589_934_592 + 536_870_912 },
    ];
    scenario.archives = [];
    scenario.storages = [
      ...(scenario.storages ?? []),
      { id: "local-lvm", type: "lvmthin", content: ["images", "rootdir"] },
    ];
    const { lab } = await start(scenario);
    const qemu = (await api(lab, "/nodes/pve1/qemu/100/config")).json.data;
    expect(qemu).toMatchObject({
      name: "web",
      onboot: 1,
      tags: "a;b",
      ostype: "l26",
      memory: "4096",
      cores: 2,
      scsi0: "local-lvm:vm-100-disk-0,iothread=1,size=64G",
      net0: expect.stringMatching(/^virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr0,firewall=1$/),
      digest: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    const lxc = (await api(lab, "/nodes/pve1/lxc/101/config")).json.data;
    expect(lxc).toMatchObject({
      hostname: "dns",
      ostype: "debian",
      memory: 4096,
      rootfs: "local-lvm:vm-101-disk-0,size=8704M",
    });
    expect(lxc).not.toHaveProperty("onboot");
    expect(lxc.net0).toMatch(/^name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:/);
  });

  it("replication: jobs of the node's guests with config, state and next_sync; they run on schedule and retry after failures", async () => {
    const scenario = twoNodeScenario();
    scenario.replication = [
      { guest: 100, target: "pve2", schedule: "*/15", age: "5m", durationSeconds: 4.5, comment: "web to pve2" },
      { guest: 101, jobnum: 1, target: "pve2", error: "zfs error: cannot receive new filesystem stream", failCount: 2 },
      { guest: 200, target: "pve1", disable: 1 },
    ];
    const { lab, clock } = await start(scenario);
    const list = (await api(lab, "/nodes/pve1/replication")).json.data;
    expect(list.map((j: any) => j.id)).toEqual(["100-0", "101-1"]);
    const t0 = Math.floor(T0 / 1000);
    expect(list[0]).toEqual({
      id: "100-0",
      type: "local",
      guest: 100,
      jobnum: 0,
      target: "pve2",
      source: "pve1",
      vmtype: "qemu",
      schedule: "*/15",
      comment: "web to pve2",
      // Synced 11:55 before the lab started; T0 is 12:00, a schedule event: synced again, next 12:15.
      last_sync: t0,
      last_try: t0,
      fail_count: 0,
      duration: 4.5,
      next_sync: t0 + 15 * 60,
    });
    expect(list[1]).toMatchObject({
      fail_count: 2,
      error: expect.stringContaining("zfs error"),
      next_sync: t0 - 60 + 600,
    });
    expect((await api(lab, "/nodes/pve2/replication")).json.data).toMatchObject([
      { id: "200-0", disable: 1, vmtype: "qemu" },
    ]);

    clock.advance(16 * 60_000);
    const status = (await api(lab, "/nodes/pve1/replication/100-0/status")).json.data;
    expect(status).toMatchObject({ last_sync: t0 + 900, last_try: t0 + 900, next_sync: t0 + 1800 });
    const failing = (await api(lab, "/nodes/pve1/replication/101-1/status")).json.data;
    expect(failing).toMatchObject({ fail_count: 3, last_try: t0 - 60 + 600 });
    expect((await api(lab, "/nodes/pve1/replication/100-9/status")).status).toBe(500);
    expect((await api(lab, "/nodes/pve1/replication", { token: READONLY })).json.data).toHaveLength(2);
  });
});
