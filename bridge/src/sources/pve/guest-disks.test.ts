import { describe, expect, it } from "vitest";
import type { BackupJob, GuestInfo } from "../../evidence.js";
import { createLogger } from "../../log.js";
import { GuestDiskReads, MAX_CONFIG_READS } from "./guest-disk-reads.js";
import { disksFromConfig, parseDriveString, parseIncludedVolumes } from "./guest-disks.js";
import { PveError, type PveHttp } from "./http.js";

describe("parseDriveString", () => {
  it.each([
    ["local-lvm:vm-100-disk-0,size=32G", { volume: "local-lvm:vm-100-disk-0", opts: { size: "32G" } }],
    ["file=nas:100/vm-100-disk-0.qcow2,backup=0", { volume: "nas:100/vm-100-disk-0.qcow2", opts: { backup: "0" } }],
    ["volume=local:subvol-101-disk-0,size=8G", { volume: "local:subvol-101-disk-0", opts: { size: "8G" } }],
    ["none,media=cdrom", { volume: "none", opts: { media: "cdrom" } }],
  ])("%s", (input, expected) => expect(parseDriveString(input)).toEqual(expected));
  it("not a string", () => expect(parseDriveString(4096)).toBeNull());
});

describe("disksFromConfig", () => {
  it.each([
    {
      name: "qemu: disks on storages, EFI and TPM state counted, CD-ROM, cloud-init, backup=0, none and unused left out",
      type: "qemu" as const,
      config: {
        scsi0: "nas-nfs:100/vm-100-disk-0.qcow2,iothread=1,size=32G",
        scsi10: "local-lvm:vm-100-disk-3,size=1G",
        scsi2: "local-lvm:vm-100-disk-2,backup=0,size=100G",
        virtio1: "nas-cifs:100/vm-100-disk-1.raw,size=8G",
        sata0: "local-lvm:vm-100-disk-4,backup=no",
        ide2: "local:iso/debian-12.iso,media=cdrom,size=600M",
        ide0: "none,media=cdrom",
        ide1: "local-lvm:vm-100-cloudinit,media=cdrom",
        ide3: "local-lvm:vm-100-cloudinit",
        efidisk0: "local-lvm:vm-100-disk-5,efitype=4m,pre-enrolled-keys=1,size=4M",
        tpmstate0: "local-lvm:vm-100-disk-6,size=4M,version=v2.0",
        unused0: "local-lvm:vm-100-disk-9",
        net0: "virtio=BC:24:11:00:00:01,bridge=vmbr0",
        memory: "4096",
        cores: 2,
        digest: "abc",
      },
      disks: [
        { key: "efidisk0", storage: "local-lvm", volume: "local-lvm:vm-100-disk-5" },
        { key: "scsi0", storage: "nas-nfs", volume: "nas-nfs:100/vm-100-disk-0.qcow2" },
        { key: "scsi10", storage: "local-lvm", volume: "local-lvm:vm-100-disk-3" },
        { key: "tpmstate0", storage: "local-lvm", volume: "local-lvm:vm-100-disk-6" },
        { key: "virtio1", storage: "nas-cifs", volume: "nas-cifs:100/vm-100-disk-1.raw" },
      ],
    },
    {
      name: "qemu: a passed-through physical disk lies on no storage",
      type: "qemu" as const,
      config: { scsi0: "local-lvm:vm-101-disk-0,size=8G", scsi1: "/dev/disk/by-id/ata-WDC_WD40EFRX-1234,size=3T" },
      disks: [
        { key: "scsi0", storage: "local-lvm", volume: "local-lvm:vm-101-disk-0" },
        { key: "scsi1", volume: "/dev/disk/by-id/ata-WDC_WD40EFRX-1234", passthrough: true },
      ],
    },
    {
      name: "lxc: rootfs always, a mount point only with backup=1, bind and device mounts as passthrough",
      type: "lxc" as const,
      config: {
        rootfs: "nas-nfs:102/vm-102-disk-0.raw,size=8G",
        mp0: "nas-nfs:102/vm-102-disk-1.raw,mp=/data,backup=1,size=32G",
        mp1: "local-lvm:vm-102-disk-2,mp=/scratch,size=10G",
        mp2: "/srv/media,mp=/media",
        mp3: "/dev/sdb1,mp=/mnt/usb",
        memory: 512,
        hostname: "ct",
      },
      disks: [
        { key: "rootfs", storage: "nas-nfs", volume: "nas-nfs:102/vm-102-disk-0.raw" },
        { key: "mp0", storage: "nas-nfs", volume: "nas-nfs:102/vm-102-disk-1.raw" },
        { key: "mp2", volume: "/srv/media", passthrough: true },
        { key: "mp3", volume: "/dev/sdb1", passthrough: true },
      ],
    },
    { name: "a guest without disks", type: "qemu" as const, config: { memory: "512" }, disks: [] },
  ])("$name", ({ type, config, disks }) => {
    expect(disksFromConfig(type, config)).toEqual(disks);
  });
});

/** The shape pve-manager PVE/API2/Backup.pm answers (brief's capture, extended). */
const included = {
  children: [
    {
      id: 100,
      type: "qemu",
      name: "web",
      leaf: 0,
      children: [
        { id: "100:scsi0", name: "local-lvm:vm-100-disk-0", included: 1, reason: "backup=yes", leaf: 1 },
        { id: "100:scsi1", name: "nas-nfs:100/vm-100-disk-1.qcow2", included: 0, reason: "backup=no", leaf: 1 },
        { id: "100:efidisk0", name: "local-lvm:vm-100-disk-2", included: 1, reason: "backup=yes", leaf: 1 },
        { id: "100:scsi2", name: "/dev/disk/by-id/nvme-X", included: 1, reason: "backup=yes", leaf: 1 },
        { id: "100:scsi3", name: "/dev/disk/by-id/nvme-Y", included: 0, reason: "backup=no", leaf: 1 },
      ],
    },
    {
      id: 101,
      type: "lxc",
      name: "ct",
      leaf: 0,
      children: [
        { id: "101:rootfs", name: "nas-nfs:101/vm-101-disk-0.raw", included: 1, reason: "rootfs", leaf: 1 },
        { id: "101:mp0", name: "local-lvm:vm-101-disk-1", included: 0, reason: "disabled", leaf: 1 },
        { id: "101:mp1", name: "/srv/data", included: 0, reason: "not a volume", leaf: 1 },
      ],
    },
    { id: 102, type: "qemu", name: "empty", leaf: 1 },
    { id: 123, type: "unknown", leaf: 1 },
  ],
};

describe("parseIncludedVolumes", () => {
  it("takes the included volumes, keeps passthrough and bind mounts, names the vmids that are gone", () => {
    expect(parseIncludedVolumes(included)).toEqual({
      guests: [
        {
          vmid: 100,
          type: "qemu",
          disks: [
            { key: "scsi0", storage: "local-lvm", volume: "local-lvm:vm-100-disk-0" },
            { key: "efidisk0", storage: "local-lvm", volume: "local-lvm:vm-100-disk-2" },
            { key: "scsi2", volume: "/dev/disk/by-id/nvme-X", passthrough: true },
          ],
        },
        {
          vmid: 101,
          type: "lxc",
          disks: [
            { key: "rootfs", storage: "nas-nfs", volume: "nas-nfs:101/vm-101-disk-0.raw" },
            { key: "mp1", volume: "/srv/data", passthrough: true },
          ],
        },
        { vmid: 102, type: "qemu", disks: [] },
      ],
      gone: [123],
    });
  });

  it.each([
    ["no children", {}],
    ["children not a list", { children: "x" }],
    ["a guest without id", { children: [{ type: "qemu" }] }],
    ["a volume without name", { children: [{ id: 1, type: "qemu", children: [{ id: "1:scsi0" }] }] }],
    ["null", null],
  ])("rejects %s", (_, answer) => {
    expect(() => parseIncludedVolumes(answer)).toThrow(/included_volumes/);
  });
});

describe("GuestDiskReads", () => {
  const guest = (vmid: number, type: "qemu" | "lxc" = "qemu"): GuestInfo => ({
    source: "pve",
    vmid,
    name: `g${vmid}`,
    type,
    node: "pve1",
    tags: [],
    template: false,
  });
  const job = (id: string): BackupJob => ({ source: "pve", id, enabled: true, all: true });
  function fakeHttp(answers: Record<string, unknown>) {
    const paths: string[] = [];
    const http = {
      get: async (path: string) => {
        paths.push(path);
        const a = answers[path];
        if (a instanceof Error) throw a;
        if (a === undefined) throw new PveError("http", `HTTP 404 for ${path}`, 404);
        return a;
      },
    } as unknown as PveHttp;
    return { http, paths };
  }
  const silent = createLogger("silent");

  it("reads included_volumes per job and the configs only of guests no job listed", async () => {
    const { http, paths } = fakeHttp({
      "/cluster/backup/daily/included_volumes": included,
      "/cluster/backup/weekly/included_volumes": { children: [] },
      "/nodes/pve1/lxc/200/config": { rootfs: "nas-nfs:200/vm-200-disk-0.raw,size=4G", digest: "d" },
    });
    const reads = new GuestDiskReads("pve", http, silent);
    expect(reads.all()).toBeUndefined();
    const guests = new Map([100, 101, 102].map((v) => [v, guest(v)] as const));
    guests.set(200, guest(200, "lxc"));
    await reads.read([job("daily"), job("weekly")], true, guests);
    expect(paths).toEqual([
      "/cluster/backup/daily/included_volumes",
      "/cluster/backup/weekly/included_volumes",
      "/nodes/pve1/lxc/200/config",
    ]);
    const all = reads.all()!;
    expect(all.map((g) => [g.vmid, g.from, g.disks.length])).toEqual([
      [100, "included_volumes", 3],
      [101, "included_volumes", 2],
      [102, "included_volumes", 0],
      [200, "config", 1],
    ]);
    expect(all[3]).toEqual({
      source: "pve",
      vmid: 200,
      from: "config",
      disks: [{ key: "rootfs", storage: "nas-nfs", volume: "nas-nfs:200/vm-200-disk-0.raw" }],
      config: { rootfs: "nas-nfs:200/vm-200-disk-0.raw,size=4G" },
    });
  });

  it("also reads the config of a listed guest with a disk on a network storage, and keeps it beside the listed disks", async () => {
    const { http, paths } = fakeHttp({
      "/cluster/backup/daily/included_volumes": included,
      "/nodes/pve1/lxc/101/config": { rootfs: "nas-nfs:101/vm-101-disk-0.raw,size=8G", hostname: "ct", digest: "d" },
    });
    const reads = new GuestDiskReads("pve", http, silent);
    const guests = new Map([100, 102].map((v) => [v, guest(v)] as const));
    guests.set(101, guest(101, "lxc"));
    await reads.read([job("daily")], true, guests, () => true, new Set(["nas-nfs"]));
    // 100's only nas-nfs disk has backup=no (not a disk the backup holds); 101's rootfs is on nas-nfs.
    expect(paths).toEqual(["/cluster/backup/daily/included_volumes", "/nodes/pve1/lxc/101/config"]);
    const ct = reads.all()!.find((g) => g.vmid === 101)!;
    expect(ct.from).toBe("included_volumes");
    expect(ct.config).toEqual({ rootfs: "nas-nfs:101/vm-101-disk-0.raw,size=8G", hostname: "ct" });
    // Its node offline next round: the config read before stands.
    await reads.read([job("daily")], true, guests, () => false, new Set(["nas-nfs"]));
    expect(reads.all()!.find((g) => g.vmid === 101)!.config?.hostname).toBe("ct");
  });

  it("a refused or malformed answer leaves those guests unknown and is logged once", async () => {
    const lines: string[] = [];
    const log = { warn: (m: string) => lines.push(m), debug: () => undefined } as unknown as typeof silent;
    const { http, paths } = fakeHttp({
      "/cluster/backup/daily/included_volumes": { nope: 1 },
      "/nodes/pve1/qemu/100/config": new PveError("permission", "HTTP 403: Permission check failed", 403),
      "/nodes/pve1/qemu/101/config": new PveError("permission", "HTTP 403: Permission check failed", 403),
      "/nodes/pve1/qemu/102/config": { scsi0: "local-lvm:vm-102-disk-0" },
    });
    const reads = new GuestDiskReads("pve", http, log);
    const guests = new Map([100, 101, 102].map((v) => [v, guest(v)] as const));
    await reads.read([job("daily")], true, guests);
    await reads.read([job("daily")], true, guests);
    expect(paths.length).toBe(8);
    expect(reads.all()!.map((g) => g.vmid)).toEqual([102]);
    expect(lines.length).toBe(2); // one for the job's answer, one for the refused configs
  });

  it("without the job list no included_volumes is asked for; a network failure keeps the last round", async () => {
    const { http, paths } = fakeHttp({ "/nodes/pve1/qemu/100/config": { scsi0: "nas:vm-100-disk-0" } });
    const reads = new GuestDiskReads("pve", http, silent);
    const guests = new Map([[100, guest(100)]]);
    await reads.read([job("daily")], false, guests);
    expect(paths).toEqual(["/nodes/pve1/qemu/100/config"]);
    const down = fakeHttp({ "/nodes/pve1/qemu/100/config": new PveError("network", "ECONNREFUSED") });
    const before = reads.all();
    Object.assign(reads, { http: down.http });
    await reads.read([job("daily")], false, guests);
    expect(reads.all()).toEqual(before);
  });

  it(`reads at most ${MAX_CONFIG_READS} configs a round, the longest unread first`, async () => {
    const answers: Record<string, unknown> = {};
    const guests = new Map<number, GuestInfo>();
    for (let v = 1000; v < 1000 + MAX_CONFIG_READS + 10; v++) {
      guests.set(v, guest(v));
      answers[`/nodes/pve1/qemu/${v}/config`] = { scsi0: `nas:vm-${v}-disk-0` };
    }
    const { http, paths } = fakeHttp(answers);
    let now = 1;
    const reads = new GuestDiskReads("pve", http, silent, () => now);
    await reads.read([], true, guests);
    expect(paths.length).toBe(MAX_CONFIG_READS);
    expect(reads.all()!.length).toBe(MAX_CONFIG_READS);
    now = 2;
    await reads.read([], true, guests);
    expect(paths.length).toBe(2 * MAX_CONFIG_READS);
    expect(paths.slice(MAX_CONFIG_READS, MAX_CONFIG_READS + 10)).toEqual(
      Array.from({ length: 10 }, (_, i) => `/nodes/pve1/qemu/${1000 + MAX_CONFIG_READS + i}/config`),
    );
    expect(reads.all()!.length).toBe(MAX_CONFIG_READS + 10);
  });
});

describe("GuestDiskReads on an offline node", () => {
  it("does not ask for the config of a guest whose node is offline; keeps what it knew", async () => {
    const g = (vmid: number, node: string): GuestInfo => ({
      source: "pve",
      vmid,
      name: `g${vmid}`,
      type: "qemu",
      node,
      tags: [],
      template: false,
    });
    const paths: string[] = [];
    const http = {
      get: async (path: string) => {
        paths.push(path);
        return { scsi0: "nas:vm-1-disk-0" };
      },
    } as unknown as PveHttp;
    const reads = new GuestDiskReads("pve", http, createLogger("silent"));
    const guests = new Map([
      [1, g(1, "pve1")],
      [2, g(2, "pve2")],
    ]);
    await reads.read([], true, guests);
    expect(paths.length).toBe(2);
    await reads.read([], true, guests, (n) => n !== "pve2");
    expect(paths.slice(2)).toEqual(["/nodes/pve1/qemu/1/config"]);
    expect(reads.all()!.map((d) => d.vmid)).toEqual([1, 2]);
  });
});
