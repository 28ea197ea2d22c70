import { describe, expect, it } from "vitest";
import type { Config } from "../config/load.js";
import type { GuestDisk, HyperBackupTaskEvidence } from "../evidence.js";
import { evaluate } from "../policy/evaluate.js";
import { dailyJob, H, input, NOW, P0 } from "../policy/evaluate.fixtures.js";
import { fileCopyRestoreSection } from "./file-copy-restore.js";
import type { ReportInput } from "./render.js";

const task: HyperBackupTaskEvidence = {
  source: "nas",
  nasHosts: ["nas.home.arpa"],
  taskId: 1,
  name: "VMs daily",
  folders: [{ folderPath: "/proxmox/images", fullPath: "/volume1/proxmox/images", valid: true }],
  excludes: [],
  configuredStorages: null,
  schedule: { enabled: true, weekDays: [0, 1, 2, 3, 4, 5, 6], hour: 1, minute: 0, repeatHours: 0 },
  lastSuccessMs: NOW - 10 * H,
  offsite: false,
  readable: true,
  integrity: { timeMs: NOW - 30 * H, ok: true },
};
const disks: GuestDisk[] = [{ key: "scsi0", storage: "nas-vms", volume: "nas-vms:100/vm-100-disk-0.qcow2" }];

function section(config?: Record<string, string | number>): string {
  const inp = input({
    guests: [P0(100, { name: "homeassistant" })],
    jobs: [dailyJob([100], { enabled: false })],
    evidence: {
      storageMounts: [
        { source: "pve", storage: "nas-vms", type: "nfs", server: "nas.home.arpa", export: "/volume1/proxmox" },
      ],
      guestDisks: [{ source: "pve", vmid: 100, disks, from: "included_volumes", ...(config ? { config } : {}) }],
      hyperBackup: [task],
    },
  });
  const report: ReportInput = {
    cfg: { timeZone: "UTC" } as Config,
    result: evaluate(inp),
    evidence: inp.evidence,
    now: NOW,
    versions: { bridge: "x", node: "x", pve: {} },
  };
  const out: string[] = [];
  fileCopyRestoreSection(report, out);
  return out.join("\n");
}

describe("report: restoring from a Hyper Backup file copy", () => {
  it("names each disk's file on the NAS, the task with its last success and integrity check, and keeps the configuration", () => {
    const md = section({
      name: "homeassistant",
      memory: "4096",
      scsi0: "nas-vms:100/vm-100-disk-0.qcow2,size=32G",
      digest: "abc",
    });
    expect(md).toContain("### homeassistant (VM 100)");
    expect(md).toContain(
      "| scsi0 | `nas-vms:100/vm-100-disk-0.qcow2` | `/volume1/proxmox/images/100/vm-100-disk-0.qcow2` | “VMs daily” on nas (last success Thu 26 Nov, 02:00; integrity check passed Wed 25 Nov, 06:00) |",
    );
    expect(md).toContain("folder `/volume1/proxmox/images/100`");
    expect(md).toContain(
      "```\nmemory: 4096\nname: homeassistant\nscsi0: nas-vms:100/vm-100-disk-0.qcow2,size=32G\n```",
    );
    expect(md).not.toContain("digest");
    expect(md).toContain("`qm stop 100`");
  });
  it("says where to find the configuration when the bridge could not read it", () => {
    expect(section()).toContain(
      "has not read its configuration (yet, or without VM.Audit on the guest); copy `/etc/pve/qemu-server/100.conf` from node n1 somewhere safe",
    );
  });
});
