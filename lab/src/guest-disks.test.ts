/**
 * Guests' disks (scenario `disks`): the config lines of GET /nodes/{node}/qemu|lxc/{vmid}/config
 * and vzdump's view of them, GET /cluster/backup/{id}/included_volumes (pve-manager
 * PVE/API2/Backup.pm over qemu-server / pve-container get_backup_volumes).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { type Lab, startLab } from "./index.js";
import { loadScenario } from "./scenario.js";
import { api as labApi, T0, twoNodeScenario } from "./testing.js";

const api = (l: Lab, path: string) => labApi<any>(l, path);

let lab: Lab;
beforeAll(async () => {
  const scenario = twoNodeScenario();
  scenario.storages!.push(
    { id: "local-lvm", type: "lvmthin", content: ["images", "rootdir"] },
    { id: "nas-vms", type: "nfs", content: ["images", "rootdir"], export: "/volume1/proxmox" },
  );
  scenario.guests = [
    {
      vmid: 100,
      type: "qemu",
      name: "web",
      node: "pve1",
      disks: [
        { key: "scsi0", storage: "nas-vms", size: "32G" },
        { key: "scsi1", storage: "local-lvm", size: "100G", backup: false },
        { key: "scsi2", path: "/dev/disk/by-id/ata-WDC_WD40EFRX-68N32N0_WD-WCC7K1234567", size: "3726G" },
        { key: "efidisk0", storage: "nas-vms" },
        { key: "tpmstate0", storage: "local-lvm" },
        { key: "ide2", media: "cdrom", iso: "local:iso/debian-12.iso" },
        { key: "ide0", storage: "local-lvm", cloudinit: true },
      ],
    },
    {
      vmid: 101,
      type: "lxc",
      name: "dns",
      node: "pve1",
      disks: [
        { key: "rootfs", storage: "nas-vms", size: "8G" },
        { key: "mp0", storage: "nas-vms", mp: "/data", size: "20G", backup: true },
        { key: "mp1", storage: "local-lvm", mp: "/cache", size: "4G" },
        { key: "mp2", path: "/srv/data", mp: "/data2" },
      ],
    },
    { vmid: 102, type: "qemu", name: "plain", node: "pve1", disk: "local-lvm" },
  ];
  scenario.archives = [];
  scenario.jobs = [{ id: "all", schedule: "02:00", enabled: 0, vmid: [100, 101, 102, 123], storage: "nas" }];
  lab = await startLab({ scenario, clock: new ManualClock(T0), authFailDelayMs: 0 });
});
afterAll(() => lab.stop());

describe("guest config: each disk in PVE's syntax", () => {
  it("qemu: qcow2 files on nfs, volumes on lvmthin, backup=0, passthrough, efidisk (bios ovmf), tpm, cdrom, cloud-init", async () => {
    const c = (await api(lab, "/nodes/pve1/qemu/100/config")).json.data;
    expect(c).toMatchObject({
      scsi0: "nas-vms:100/vm-100-disk-0.qcow2,size=32G",
      scsi1: "local-lvm:vm-100-disk-1,backup=0,size=100G",
      scsi2: "/dev/disk/by-id/ata-WDC_WD40EFRX-68N32N0_WD-WCC7K1234567,size=3726G",
      efidisk0: "nas-vms:100/vm-100-disk-2.qcow2,efitype=4m,pre-enrolled-keys=1,size=528K",
      tpmstate0: "local-lvm:vm-100-disk-3,size=4M,version=v2.0",
      ide2: "local:iso/debian-12.iso,media=cdrom",
      ide0: "local-lvm:vm-100-cloudinit,media=cdrom",
      bios: "ovmf",
      boot: "order=scsi0;scsi1;scsi2;ide2;net0",
    });
  });

  it("lxc: rootfs and volume mount points as .raw files on nfs, lvm volumes, a bind mount", async () => {
    const c = (await api(lab, "/nodes/pve1/lxc/101/config")).json.data;
    expect(c).toMatchObject({
      rootfs: "nas-vms:101/vm-101-disk-0.raw,size=8G",
      mp0: "nas-vms:101/vm-101-disk-1.raw,mp=/data,backup=1,size=20G",
      mp1: "local-lvm:vm-101-disk-2,mp=/cache,size=4G",
      mp2: "/srv/data,mp=/data2",
    });
  });

  it("without disks: today's single root disk", async () => {
    const c = (await api(lab, "/nodes/pve1/qemu/102/config")).json.data;
    expect(c.scsi0).toBe("local-lvm:vm-102-disk-0,iothread=1,size=32G");
    expect(c).not.toHaveProperty("bios");
  });
});

describe("GET /cluster/backup/{id}/included_volumes", () => {
  it("follows the guests' disks: cdroms left out, backup=0 excluded, mount points by backup flag, bind mounts not a volume", async () => {
    const r = await api(lab, "/cluster/backup/all/included_volumes");
    expect(r.status).toBe(200);
    expect(r.json.data).toEqual({
      children: [
        {
          id: 100,
          type: "qemu",
          name: "web",
          leaf: 0,
          children: [
            { id: "100:scsi0", name: "nas-vms:100/vm-100-disk-0.qcow2", included: 1, reason: "backup=yes", leaf: 1 },
            { id: "100:scsi1", name: "local-lvm:vm-100-disk-1", included: 0, reason: "backup=no", leaf: 1 },
            {
              id: "100:scsi2",
              name: "/dev/disk/by-id/ata-WDC_WD40EFRX-68N32N0_WD-WCC7K1234567",
              included: 1,
              reason: "backup=yes",
              leaf: 1,
            },
            { id: "100:efidisk0", name: "nas-vms:100/vm-100-disk-2.qcow2", included: 1, reason: "backup=yes", leaf: 1 },
            { id: "100:tpmstate0", name: "local-lvm:vm-100-disk-3", included: 1, reason: "backup=yes", leaf: 1 },
          ],
        },
        {
          id: 101,
          type: "lxc",
          name: "dns",
          leaf: 0,
          children: [
            { id: "101:rootfs", name: "nas-vms:101/vm-101-disk-0.raw", included: 1, reason: "rootfs", leaf: 1 },
            { id: "101:mp0", name: "nas-vms:101/vm-101-disk-1.raw", included: 1, reason: "enabled", leaf: 1 },
            { id: "101:mp1", name: "local-lvm:vm-101-disk-2", included: 0, reason: "disabled", leaf: 1 },
            { id: "101:mp2", name: "/srv/data", included: 0, reason: "not a volume", leaf: 1 },
          ],
        },
        {
          id: 102,
          type: "qemu",
          name: "plain",
          leaf: 0,
          children: [{ id: "102:scsi0", name: "local-lvm:vm-102-disk-0", included: 1, reason: "backup=yes", leaf: 1 }],
        },
        { id: 123, type: "unknown", leaf: 1 },
      ],
    });
  });
});

describe("storage usage", () => {
  it("the guests' disks count as used on their storages", async () => {
    const rows = (await api(lab, "/nodes/pve1/storage")).json.data as { storage: string; used: number }[];
    const used = Object.fromEntries(rows.map((r) => [r.storage, r.used]));
    const G = 1024 ** 3;
    // scsi0 32G + efidisk 528K + rootfs 8G + mp0 20G on nas-vms; scsi1 100G + tpm 4M + mp1 4G + default 250 GB on local-lvm.
    expect(used["nas-vms"]).toBe(250_000_000_000 + 32 * G + 528 * 1024 + 8 * G + 20 * G);
    expect(used["local-lvm"]).toBe(250_000_000_000 + 100 * G + 4 * 1024 ** 2 + 4 * G);
  });
});

describe("vzdump's task log", () => {
  it("names each volume it includes or excludes, as get_backup_volumes decided", async () => {
    const upid = (await labApi<any>(lab, "/nodes/pve1/vzdump", { form: { vmid: 100, storage: "local" } })).json.data;
    const log = (await api(lab, `/nodes/pve1/tasks/${encodeURIComponent(upid)}/log?limit=0`)).json.data.map(
      (x: { t: string }) => x.t,
    );
    expect(log.filter((l: string) => /^INFO: (in|ex)clude disk/.test(l))).toEqual([
      "INFO: include disk 'scsi0' 'nas-vms:100/vm-100-disk-0.qcow2' 32G",
      "INFO: exclude disk 'scsi1' 'local-lvm:vm-100-disk-1' (backup=no)",
      "INFO: include disk 'scsi2' '/dev/disk/by-id/ata-WDC_WD40EFRX-68N32N0_WD-WCC7K1234567' 3726G",
      "INFO: include disk 'efidisk0' 'nas-vms:100/vm-100-disk-2.qcow2' 528K",
      "INFO: include disk 'tpmstate0' 'local-lvm:vm-100-disk-3' 4M",
    ]);
  });
});

describe("hyperbackup-primary scenario", () => {
  it("every guest disk lies on nas-vms; homeassistant has an efidisk and a cdrom", async () => {
    const hb = await startLab({ scenario: loadScenario("hyperbackup-primary"), clock: new ManualClock(T0) });
    try {
      const ha = (await api(hb, "/nodes/proxmox-home/qemu/100/config")).json.data;
      expect(ha).toMatchObject({
        scsi0: "nas-vms:100/vm-100-disk-0.qcow2,size=32G",
        efidisk0: "nas-vms:100/vm-100-disk-1.qcow2,efitype=4m,pre-enrolled-keys=1,size=528K",
        ide2: "none,media=cdrom",
        bios: "ovmf",
      });
      expect((await api(hb, "/nodes/proxmox-home/lxc/105/config")).json.data.rootfs).toBe(
        "nas-vms:105/vm-105-disk-0.raw,size=8G",
      );
      const jobs = (await api(hb, "/cluster/backup")).json.data as { id: string; enabled: number }[];
      expect(jobs.map((j) => [j.id, j.enabled])).toEqual([
        ["backup-p0-daily", 0],
        ["backup-p1-daily", 0],
        ["backup-p2-weekly", 0],
      ]);
      const vols = (await api(hb, "/cluster/backup/backup-p2-weekly/included_volumes")).json.data.children;
      expect(vols.flatMap((g: { children: { name: string }[] }) => g.children.map((d) => d.name))).toEqual([
        "nas-vms:101/vm-101-disk-0.qcow2",
        "nas-vms:103/vm-103-disk-0.raw",
        "nas-vms:105/vm-105-disk-0.raw",
      ]);
    } finally {
      await hb.stop();
    }
  });
});
