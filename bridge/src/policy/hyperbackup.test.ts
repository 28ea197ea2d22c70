/**
 * Hyper Backup as a guest's own backup (issue 20): the policy table for each rule — covered,
 * partly covered, a tier requiring vzdump, a stale task, disabled jobs as the fallback, copies and
 * off-site from tasks, no task at all — plus the disk-to-folder linking and the schedule gaps.
 */
import { describe, expect, it } from "vitest";
import { resolveTiers } from "../config/tiers.js";
import type { Evidence, GuestDisk, HyperBackupTaskEvidence, StorageMount } from "../evidence.js";
import { D, dailyJob, H, NOW, P0, P2, run, type Inputs } from "./evaluate.fixtures.js";
import { guestHyperBackup, taskMaxGapMs, taskStorages } from "./hyperbackup.js";

const NFS: StorageMount = {
  source: "pve",
  storage: "nas-vms",
  type: "nfs",
  server: "nas.home.arpa",
  export: "/volume1/proxmox",
};
const CIFS: StorageMount = {
  source: "pve",
  storage: "nas-smb",
  type: "cifs",
  server: "192.168.1.20",
  share: "vmdisks",
  subdir: "/pve",
};
const LVM: StorageMount = { source: "pve", storage: "local-lvm", type: "lvmthin" };
const disk = (key: string, storage: string, volume: string): GuestDisk => ({
  key,
  storage,
  volume: `${storage}:${volume}`,
});
const DISKS_100 = [
  disk("scsi0", "nas-vms", "100/vm-100-disk-0.qcow2"),
  disk("efidisk0", "nas-vms", "100/vm-100-disk-1.qcow2"),
];
const DAILY = { enabled: true, weekDays: [0, 1, 2, 3, 4, 5, 6], hour: 1, minute: 0, repeatHours: 0 };
const WEEKLY = { ...DAILY, weekDays: [0], hour: 3 };
const task = (extra: Partial<HyperBackupTaskEvidence> = {}): HyperBackupTaskEvidence => ({
  source: "nas",
  nasHosts: ["nas.home.arpa", "192.168.1.20"],
  taskId: 1,
  name: "VMs daily",
  folders: [{ folderPath: "/proxmox/images", fullPath: "/volume1/proxmox/images", valid: true }],
  excludes: [],
  configuredStorages: null,
  schedule: DAILY,
  lastSuccessMs: NOW - 10 * H,
  offsite: false,
  readable: true,
  integrity: null,
  ...extra,
});
const DISABLED = [dailyJob([100], { id: "backup-p0-daily", enabled: false })];
/** The owner's plan: disks on the NAS, a task copying them, the vzdump job kept disabled. */
const plan = (extra: Partial<Evidence> = {}, disks: GuestDisk[] = DISKS_100): Partial<Evidence> => ({
  storageMounts: [NFS, CIFS, LVM],
  guestDisks: [{ source: "pve", vmid: 100, disks, from: "included_volumes" }],
  hyperBackup: [task()],
  ...extra,
});
const tiers = (t: Record<string, object>) => ({ tiers: resolveTiers(t as never) });

interface Row {
  name: string;
  inputs: Inputs;
  status: string;
  problem: boolean;
  key?: string;
  unprotected?: string | null;
  findings?: string[];
  reason?: RegExp;
  protection?: unknown;
  copies?: number | null;
}

const ROWS: Row[] = [
  {
    name: "covered: every disk in a daily task's folder, the disabled job is the fallback",
    inputs: { guests: [P0()], jobs: DISABLED, evidence: plan() },
    status: "ok",
    problem: false,
    key: "status.ok.hyperbackup.until",
    unprotected: null,
    reason:
      /Hyper Backup task “VMs daily” on nas copied this guest's disks on Thu 26 Nov, 02:00 \(a file copy, not a point-in-time image\); without a newer copy it turns stale on Fri 27 Nov, 04:00 \(tier P0 allows 1 day and 2 hours\)\. Backup job backup-p0-daily stays disabled as the manual fallback\./,
    protection: { by: "hyperbackup", consistency: "file-copy", tasks: ["VMs daily"], nas: "nas" },
  },
  {
    name: "covered through CIFS: the share-relative folder, the server by its address",
    inputs: {
      guests: [P0()],
      jobs: DISABLED,
      evidence: plan(
        {
          hyperBackup: [
            task({ folders: [{ folderPath: "/vmdisks/pve", fullPath: "/volume2/vmdisks/pve", valid: true }] }),
          ],
        },
        [disk("scsi0", "nas-smb", "100/vm-100-disk-0.qcow2")],
      ),
    },
    status: "ok",
    problem: false,
    unprotected: null,
  },
  {
    name: "a folder per guest: /proxmox/images/100 covers guest 100",
    inputs: {
      guests: [P0()],
      jobs: DISABLED,
      evidence: plan({
        hyperBackup: [
          task({
            folders: [{ folderPath: "/proxmox/images/100", fullPath: "/volume1/proxmox/images/100", valid: true }],
          }),
        ],
      }),
    },
    status: "ok",
    problem: false,
    unprotected: null,
  },
  {
    name: "partly covered: one disk on local-lvm",
    inputs: {
      guests: [P0()],
      jobs: DISABLED,
      evidence: plan({}, [...DISKS_100, disk("scsi1", "local-lvm", "vm-100-disk-2")]),
    },
    status: "missing",
    problem: true,
    unprotected: "unprotected.hyperbackup_elsewhere",
    reason:
      /Backup job backup-p0-daily selects this guest but is disabled\. Disk scsi1 lies on storage local-lvm, which no watched Hyper Backup task copies/,
  },
  {
    name: "a passthrough disk: not covered, the disk named",
    inputs: {
      guests: [P0()],
      jobs: DISABLED,
      evidence: plan({}, [...DISKS_100, { key: "scsi2", volume: "/dev/disk/by-id/ata-ST4000", passthrough: true }]),
    },
    status: "missing",
    problem: true,
    unprotected: "unprotected.hyperbackup_passthrough",
    reason: /Disk scsi2 \(\/dev\/disk\/by-id\/ata-ST4000\) is not on a Proxmox storage/,
  },
  {
    name: "the disk's folder is in no task: the folder to add is named",
    inputs: {
      guests: [P0()],
      jobs: DISABLED,
      evidence: plan({
        hyperBackup: [task({ folders: [{ folderPath: "/docker", fullPath: "/volume1/docker", valid: true }] })],
      }),
    },
    status: "missing",
    problem: true,
    unprotected: "unprotected.hyperbackup_not_in_task",
    reason:
      /Disk scsi0 lies on storage nas-vms on nas, but no Hyper Backup task there copies it: add the folder \/proxmox\/images\/100\/vm-100-disk-0\.qcow2 to a task\./,
  },
  {
    name: "an excluded path",
    inputs: {
      guests: [P0()],
      jobs: DISABLED,
      evidence: plan({ hyperBackup: [task({ excludes: ["/proxmox/images/100"] })] }),
    },
    status: "missing",
    problem: true,
    unprotected: "unprotected.hyperbackup_excluded",
  },
  {
    name: "a missing source folder",
    inputs: {
      guests: [P0()],
      jobs: DISABLED,
      evidence: plan({
        hyperBackup: [
          task({ folders: [{ folderPath: "/proxmox/images", fullPath: "/volume1/proxmox/images", valid: false }] }),
        ],
      }),
    },
    status: "missing",
    problem: true,
    unprotected: "unprotected.hyperbackup_missing",
  },
  {
    name: "the storage's server is another NAS: no link, the vzdump reason stands",
    inputs: {
      guests: [P0()],
      jobs: DISABLED,
      evidence: plan({ storageMounts: [{ ...NFS, server: "othernas.home.arpa" }] }),
    },
    status: "missing",
    problem: true,
    unprotected: "unprotected.disabled",
  },
  {
    name: "a tier requiring vzdump does not take the file copy",
    inputs: { guests: [P0()], jobs: DISABLED, evidence: plan(), config: tiers({ P0: { accepts: ["vzdump"] } }) },
    status: "missing",
    problem: true,
    unprotected: "unprotected.disabled",
  },
  {
    name: "a stale task: the guest is stale (and so eligible for the fallback)",
    inputs: { guests: [P0()], jobs: DISABLED, evidence: plan({ hyperBackup: [task({ lastSuccessMs: NOW - 3 * D })] }) },
    status: "stale",
    problem: true,
    key: "status.stale.hyperbackup",
    unprotected: null,
    reason: /Hyper Backup on nas last copied this guest's disks on Mon 23 Nov, 12:00, longer ago than tier P0 allows/,
  },
  {
    name: "a task that never completed: missing, naming it",
    inputs: { guests: [P0()], jobs: DISABLED, evidence: plan({ hyperBackup: [task({ lastSuccessMs: null })] }) },
    status: "missing",
    problem: true,
    key: "status.missing.hyperbackup",
  },
  {
    name: "a weekly task is too rare for P0",
    inputs: { guests: [P0()], jobs: DISABLED, evidence: plan({ hyperBackup: [task({ schedule: WEEKLY })] }) },
    status: "ok",
    problem: true,
    unprotected: "unprotected.hyperbackup_rare",
    reason: /runs only every 7 days; tier P0 needs a backup at least every 1 day and 2 hours/,
  },
  {
    name: "a weekly task is enough for P2",
    inputs: { guests: [P2()], jobs: DISABLED, evidence: plan({ hyperBackup: [task({ schedule: WEEKLY })] }) },
    status: "ok",
    problem: false,
    unprotected: null,
  },
  {
    name: "a task whose schedule is off",
    inputs: {
      guests: [P0()],
      jobs: DISABLED,
      evidence: plan({ hyperBackup: [task({ schedule: { ...DAILY, enabled: false } })] }),
    },
    status: "ok",
    problem: true,
    unprotected: "unprotected.hyperbackup_unscheduled",
  },
  {
    name: "the NAS cannot be read: unknown, never a false missing",
    inputs: {
      guests: [P0()],
      jobs: DISABLED,
      evidence: plan({ hyperBackup: [task({ readable: false, lastSuccessMs: null })] }),
    },
    status: "unknown",
    problem: false, // as for an unreachable Proxmox source: unknown is said, not judged
    key: "status.unknown.nas",
    reason: /The Synology NAS nas can't be read now, and its Hyper Backup task “VMs daily” holds this guest's copies\./,
  },
  {
    name: "copies and off-site from tasks: a USB task and an off-site task are two copies",
    inputs: {
      guests: [P0()],
      jobs: DISABLED,
      evidence: plan({
        offsite: { targets: [], offsiteStorages: [] },
        hyperBackup: [task(), task({ taskId: 3, name: "VMs offsite", offsite: true, lastSuccessMs: NOW - 8 * H })],
      }),
    },
    status: "ok",
    problem: false,
    findings: [],
    copies: 2,
  },
  {
    name: "one local task for P0: too few copies and none off-site",
    inputs: { guests: [P0()], jobs: DISABLED, evidence: plan({ offsite: { targets: [], offsiteStorages: [] } }) },
    status: "ok",
    problem: true,
    findings: ["no_offsite", "too_few_copies"],
    copies: 1,
    reason: /no Hyper Backup task that copies its disks goes off-site/,
  },
  {
    name: "no task at all (the seed): missing and unprotected as before",
    inputs: { guests: [P0()], jobs: DISABLED, evidence: plan({ hyperBackup: [] }) },
    status: "missing",
    problem: true,
    unprotected: "unprotected.disabled",
    protection: null,
  },
  {
    name: "a dir storage linked by the config's protects (detection cannot see hand-made mounts)",
    inputs: {
      guests: [P0()],
      jobs: DISABLED,
      evidence: plan({ hyperBackup: [task({ folders: null, configuredStorages: ["nas-dir"] })] }, [
        disk("scsi0", "nas-dir", "100/vm-100-disk-0.qcow2"),
      ]),
    },
    status: "ok",
    problem: false,
    unprotected: null,
  },
  {
    name: "a vzdump archive newer than the file copy is the newest backup",
    inputs: {
      guests: [P0()],
      jobs: DISABLED,
      archives: [
        {
          source: "pve",
          volid: "local:backup/x.vma.zst",
          storage: "local",
          vmid: 100,
          ctimeMs: NOW - H,
          size: 5,
          format: "vma.zst",
          protected: false,
        },
      ],
      evidence: plan(),
    },
    status: "ok",
    problem: false,
    key: "status.ok.until",
    protection: { by: "vzdump", consistency: "point-in-time" },
  },
];

describe("Hyper Backup as the guest's own backup (policy table)", () => {
  for (const r of ROWS) {
    it(r.name, () => {
      const g = run(r.inputs).guests[0]!;
      expect(g.status).toBe(r.status);
      expect(g.problem).toBe(r.problem);
      if (r.key) expect(g.status_phrase.key).toBe(r.key);
      if (r.unprotected !== undefined)
        expect(g.findings.find((f) => f.code === "unprotected")?.key ?? null).toBe(r.unprotected);
      if (r.findings) expect(g.findings.map((f) => f.code)).toEqual(r.findings);
      if (r.reason) expect([g.status_reason, ...g.reasons].join("\n")).toMatch(r.reason);
      if (r.protection !== undefined) expect(g.protection).toEqual(r.protection);
      if (r.copies !== undefined) expect(g.copies).toBe(r.copies);
    });
  }
});

describe("taskMaxGapMs (DSM week_name and repeat_hour)", () => {
  it.each([
    ["daily", DAILY, D],
    ["weekly", WEEKLY, 7 * D],
    ["mon, wed, fri", { ...DAILY, weekDays: [1, 3, 5] }, 3 * D],
    ["every 6 h from 01:00 (01, 07, 13, 19)", { ...DAILY, repeatHours: 6 }, 6 * H],
    ["every 5 h from 02:00 (the night's gap is shorter)", { ...DAILY, hour: 2, repeatHours: 5 }, 5 * H],
    ["every 6 h from 20:00 (once a day)", { ...DAILY, hour: 20, repeatHours: 6 }, D],
    ["off", { ...DAILY, enabled: false }, null],
    ["no days", { ...DAILY, weekDays: [] }, null],
  ] as const)("%s", (_n, schedule, want) => {
    expect(taskMaxGapMs({ ...schedule, weekDays: [...schedule.weekDays] })).toBe(want);
  });
});

describe("guestHyperBackup", () => {
  const g = P0();
  it("takes the oldest of the disks' newest copies as the guest's copy time", () => {
    const a = task({
      name: "A",
      folders: [{ folderPath: "/proxmox/images/100", fullPath: "/volume1/proxmox/images/100", valid: true }],
      lastSuccessMs: NOW - 2 * H,
    });
    const b = task({ name: "B", taskId: 2, configuredStorages: ["local-lvm"], lastSuccessMs: NOW - 5 * H });
    const r = guestHyperBackup(g, [DISKS_100[0]!, disk("scsi1", "local-lvm", "vm-100-disk-2")], [NFS, LVM], [a, b])!;
    expect(r.covered).toBe(true);
    expect(r.lastCopyMs).toBe(NOW - 5 * H);
    expect(r.wholeTasks).toEqual([]); // neither task alone holds the whole guest
  });
  it("says nothing without disks or tasks", () => {
    expect(guestHyperBackup(g, undefined, [NFS], [task()])).toBeNull();
    expect(guestHyperBackup(g, DISKS_100, [NFS], [])).toBeNull();
  });
  it("a folder that only shares a name prefix does not cover (/proxmox/images/10 is not /proxmox/images/100)", () => {
    const t = task({
      folders: [{ folderPath: "/proxmox/images/10", fullPath: "/volume1/proxmox/images/10", valid: true }],
    });
    expect(guestHyperBackup(g, DISKS_100, [NFS], [t])!.covered).toBe(false);
  });
});

describe("Hyper Backup tasks as copies of vzdump archives, found without protects", () => {
  const BACKUP: StorageMount = {
    source: "pve",
    storage: "synology",
    type: "nfs",
    server: "nas.home.arpa",
    export: "/volume1/backup",
  };
  const offsiteTask = task({
    name: "PVE to C2",
    offsite: true,
    lastSuccessMs: NOW - 2 * H,
    folders: [{ folderPath: "/backup", fullPath: "/volume1/backup", valid: true }],
  });
  it("taskStorages: the storages whose dump directory lies in a folder; the config wins", () => {
    expect(taskStorages(offsiteTask, [NFS, BACKUP, CIFS])).toEqual(["synology"]);
    expect(taskStorages(task({ excludes: ["/backup/dump"], folders: offsiteTask.folders }), [BACKUP])).toEqual([]);
    expect(taskStorages(task({ configuredStorages: ["x"] }), [BACKUP])).toEqual(["x"]);
    expect(taskStorages(task({ folders: null }), [BACKUP])).toEqual([]);
  });
  it("an archive on that storage has an off-site copy (3-2-1), with no protects in the config", () => {
    const g = run({
      guests: [P0()],
      archives: [
        {
          source: "pve",
          volid: "synology:backup/a.vma.zst",
          storage: "synology",
          vmid: 100,
          ctimeMs: NOW - 5 * H,
          size: 5,
          format: "vma.zst",
          protected: false,
        },
      ],
      evidence: { storageMounts: [BACKUP], hyperBackup: [offsiteTask], offsite: { targets: [], offsiteStorages: [] } },
    }).guests[0]!;
    expect(g.copies).toBe(2);
    expect(g.findings.map((f) => f.code)).toEqual([]);
    expect(g.last_offsite).toBe(new Date(NOW - 2 * H).toISOString());
  });
});

describe("a folder missing on the NAS under a valid one", () => {
  it("the valid parent folder still holds the disk", () => {
    const t = task({
      folders: [
        { folderPath: "/proxmox/images/100", fullPath: "/volume1/proxmox/images/100", valid: false },
        { folderPath: "/proxmox", fullPath: "/volume1/proxmox", valid: true },
      ],
    });
    expect(guestHyperBackup(P0(), DISKS_100, [NFS], [t])!.covered).toBe(true);
  });
});
