/**
 * One test per task log variant real Proxmox VE writes, with the log text as PVE prints it (the
 * sources are named in tasklog.ts). Each row: the log, the UPID's id field, the exit status, and
 * the outcome per guest that a user expects.
 */
import { describe, expect, it } from "vitest";
import { cmdlineVmids, parseTaskLog } from "./tasklog.js";

type Row = [vmid: number, result: string, error?: string];

const TAR_FAILED =
  "command 'set -o pipefail && lxc-usernsexec -m u:0:100000:65536 -m g:0:100000:65536 -- tar cpf - --totals --one-file-system -p --sparse --numeric-owner --acls --xattrs '--directory=/mnt/vzsnap0' ./ | zstd '--threads=1' >/var/lib/vz/dump/vzdump-lxc-101-2024_01_31-02_01_00.tar.dat' failed: exit code 2";
const LIMIT =
  "There is a max backup limit of 1 enforced by the target storage or the vzdump parameters. Either increase the limit or delete old backups.";

const variants: { name: string; log: string[]; id: string; exit: string | undefined; want: Row[] }[] = [
  {
    name: "rbd's unprefixed output of a container snapshot, and an empty line before TASK ERROR",
    log: [
      "INFO: starting new backup job: vzdump 100 101 --storage local --mode snapshot --compress zstd",
      "INFO: Starting Backup of VM 100 (qemu)",
      "INFO: Backup started at 2024-01-31 02:00:03",
      "INFO: status = running",
      "INFO: VM Name: homeassistant",
      "INFO: include disk 'scsi0' 'local-lvm:vm-100-disk-0' 32G",
      "INFO: backup mode: snapshot",
      "INFO: ionice priority: 7",
      "INFO: creating vzdump archive '/var/lib/vz/dump/vzdump-qemu-100-2024_01_31-02_00_03.vma.zst'",
      "INFO: started backup task '0f2c5a8e-7f3b-4bb6-9f0e-4e8f0e1a2b3c'",
      "INFO: 100% (32.0 GiB of 32.0 GiB) in 57s, read: 574.9 MiB/s, write: 540.4 MiB/s",
      "INFO: transferred 32.00 GiB in 57 seconds (574.9 MiB/s)",
      "INFO: archive file size: 1.60GB",
      "INFO: Finished Backup of VM 100 (00:00:57)",
      "INFO: Backup finished at 2024-01-31 02:01:00",
      "INFO: Starting Backup of VM 101 (lxc)",
      "INFO: Backup started at 2024-01-31 02:01:00",
      "INFO: status = running",
      "INFO: CT Name: nextcloud",
      "INFO: including mount point rootfs ('/') in backup",
      "INFO: backup mode: snapshot",
      "INFO: ionice priority: 7",
      "INFO: create storage snapshot 'vzdump'",
      "/dev/rbd12",
      "INFO: creating vzdump archive '/var/lib/vz/dump/vzdump-lxc-101-2024_01_31-02_01_00.tar.zst'",
      "INFO: cleanup temporary 'vzdump' snapshot",
      "Removing snap: 100% complete...done.",
      `ERROR: Backup of VM 101 failed - ${TAR_FAILED}`,
      "INFO: Failed at 2024-01-31 02:01:40",
      "INFO: Backup job finished with errors",
      "INFO: notified via target `mail-to-root`",
      "",
      "TASK ERROR: job errors",
    ],
    id: "",
    exit: "job errors",
    want: [
      [100, "ok"],
      [101, "failed", "command 'tar … | zstd …' failed: exit code 2"],
    ],
  },
  {
    name: "skip external VMs: a job on both nodes fails here as a whole, the other node's guests are not touched",
    log: [
      "INFO: starting new backup job: vzdump 106 112 123 --storage local --mode snapshot --compress zstd --mailnotification failure",
      "INFO: skip external VMs: 112, 123",
      "ERROR: Backup job failed - command '/usr/local/bin/offsite-hook.sh job-start' failed: exit code 1",
      "TASK ERROR: command '/usr/local/bin/offsite-hook.sh job-start' failed: exit code 1",
    ],
    id: "106",
    exit: "command '/usr/local/bin/offsite-hook.sh job-start' failed: exit code 1",
    want: [[106, "failed", "command '/usr/local/bin/offsite-hook.sh job-start' failed: exit code 1"]],
  },
  {
    name: "skip external VMs on a job that succeeds here",
    log: [
      "INFO: starting new backup job: vzdump 106 112 123 --storage local --mode snapshot --compress zstd",
      "INFO: skip external VMs: 106",
      "INFO: Starting Backup of VM 112 (qemu)",
      "INFO: Finished Backup of VM 112 (00:00:50)",
      "INFO: Starting Backup of VM 123 (lxc)",
      "INFO: Finished Backup of VM 123 (00:00:15)",
      "INFO: Backup job finished successfully",
      "TASK OK",
    ],
    id: "",
    exit: "OK",
    want: [
      [112, "ok"],
      [123, "ok"],
    ],
  },
  {
    name: "the max backup limit fails a guest before its 'Starting Backup' line (current PVE)",
    log: [
      "INFO: starting new backup job: vzdump 104 --storage nas --mode snapshot --compress zstd --remove 0 --prune-backups keep-last=1",
      `ERROR: Backup of VM 104 failed - ${LIMIT}`,
      "INFO: Failed at 2024-01-31 04:00:00",
      "INFO: Backup job finished with errors",
      "TASK ERROR: job errors",
    ],
    id: "104",
    exit: "job errors",
    want: [[104, "failed", LIMIT]],
  },
  {
    name: "the max backup limit as a job failure (older PVE), for every guest the job names",
    log: [
      "INFO: starting new backup job: vzdump 104 105 --storage nas --mode snapshot",
      "ERROR: Backup job failed - There is a max backup limit of 1 enforced by the target storage or the vzdump parameters. Either increase the limit or delete old backup(s).",
      "TASK ERROR: There is a max backup limit of 1 enforced by the target storage or the vzdump parameters. Either increase the limit or delete old backup(s).",
    ],
    id: "",
    exit: "There is a max backup limit of 1 enforced by the target storage or the vzdump parameters. Either increase the limit or delete old backup(s).",
    want: [
      [
        104,
        "failed",
        "There is a max backup limit of 1 enforced by the target storage or the vzdump parameters. Either increase the limit or delete old backup(s).",
      ],
      [
        105,
        "failed",
        "There is a max backup limit of 1 enforced by the target storage or the vzdump parameters. Either increase the limit or delete old backup(s).",
      ],
    ],
  },
  {
    name: "a task that dies before its first line (storage not activated) fails its one guest with the exit status",
    log: ["TASK ERROR: could not activate storage 'nas': storage 'nas' is not online"],
    id: "105",
    exit: "could not activate storage 'nas': storage 'nas' is not online",
    want: [[105, "failed", "could not activate storage 'nas': storage 'nas' is not online"]],
  },
  {
    name: "a job-wide failure after one guest: the finished guest keeps its result, the rest fail",
    log: [
      "INFO: starting new backup job: vzdump 100 111 --storage pbs --mode snapshot",
      "INFO: Starting Backup of VM 100 (qemu)",
      "INFO: Finished Backup of VM 100 (00:01:00)",
      "INFO: Starting Backup of VM 111 (qemu)",
      "ERROR: Backup of VM 111 failed - VM 111 qmp command 'backup' failed - got timeout",
      "INFO: Failed at 2024-01-31 02:02:00",
      "INFO: Backup job finished with errors",
      "TASK ERROR: job errors",
    ],
    id: "",
    exit: "job errors",
    want: [
      [100, "ok"],
      [111, "failed", "VM 111 qmp command 'backup' failed - got timeout"],
    ],
  },
  {
    name: "a VM to PBS: incremental and transferred lines",
    log: [
      "INFO: starting new backup job: vzdump 100 --storage pbs --mode snapshot --notes-template '{{guestname}}'",
      "INFO: Starting Backup of VM 100 (qemu)",
      "INFO: creating Proxmox Backup Server archive 'vm/100/2024-01-31T01:00:03Z'",
      "INFO: started backup task '9e5b6392-06c0-4a1a-843e-43b2513c8af6'",
      "INFO:  93% (29.8 GiB of 32.0 GiB) in 55s, read: 1.2 GiB/s, write: 0 B/s",
      "INFO: 100% (32.0 GiB of 32.0 GiB) in 60s, read: 453.3 MiB/s, write: 0 B/s",
      "INFO: backup is sparse: 12.50 GiB (39%) total zero data",
      "INFO: backup was done incrementally, reused 30.00 GiB (93%)",
      "INFO: transferred 32.00 GiB in 60 seconds (546.1 MiB/s)",
      "INFO: adding notes to backup",
      "INFO: Finished Backup of VM 100 (00:01:00)",
      "INFO: Backup job finished successfully",
      "TASK OK",
    ],
    id: "100",
    exit: "OK",
    want: [[100, "ok"]],
  },
  {
    name: "a container to PBS: the client's 'had to backup' lines",
    log: [
      "INFO: starting new backup job: vzdump 101 --storage pbs --mode snapshot",
      "INFO: Starting Backup of VM 101 (lxc)",
      "INFO: creating Proxmox Backup Server archive 'ct/101/2024-01-31T01:01:00Z'",
      "INFO: Starting backup: ct/101/2024-01-31T01:01:00Z",
      "INFO: Client name: pve1",
      "INFO: root.pxar: had to backup 1.2 GiB of 8 GiB (compressed 409.6 MiB) in 20.00s",
      "INFO: root.pxar: average backup speed: 61.44 MiB/s",
      "INFO: root.pxar: backup was done incrementally, reused 6.8 GiB (85.0%)",
      "INFO: Uploaded backup catalog (1.21 MiB)",
      "INFO: Duration: 21.35s",
      "INFO: Finished Backup of VM 101 (00:00:22)",
      "INFO: Backup job finished successfully",
      "TASK OK",
    ],
    id: "101",
    exit: "OK",
    want: [[101, "ok"]],
  },
  {
    name: "a container to PBS with a client before 1.0.12: 'had to upload'",
    log: [
      "INFO: Starting Backup of VM 102 (lxc)",
      "INFO: root.pxar: had to upload 336.00 MiB of 2.19 GiB in 30.00s, average speed 11.20 MiB/s).",
      "INFO: root.pxar: backup was done incrementally, reused 1.86 GiB (85.0%)",
      "INFO: Finished Backup of VM 102 (00:00:30)",
      "TASK OK",
    ],
    id: "102",
    exit: "OK",
    want: [[102, "ok"]],
  },
  {
    name: "an error of several lines: each gets 'ERROR: ', the reason is all of them",
    log: [
      "INFO: Starting Backup of VM 110 (qemu)",
      "ERROR: Backup of VM 110 failed - unable to open file '/var/lib/vz/dump/vzdump-qemu-110.vma.dat'",
      "ERROR: No space left on device",
      "INFO: Failed at 2024-01-31 02:05:00",
      "TASK ERROR: job errors",
    ],
    id: "110",
    exit: "job errors",
    want: [[110, "failed", "unable to open file '/var/lib/vz/dump/vzdump-qemu-110.vma.dat' No space left on device"]],
  },
  {
    name: "lines of other commands while waiting for a lock, then a warning",
    log: [
      "INFO: trying to get global lock - waiting...",
      "INFO: got global lock",
      "INFO: starting new backup job: vzdump 105 --storage local",
      "INFO: Starting Backup of VM 105 (lxc)",
      "trying to acquire lock...",
      " OK",
      "WARN: some file vanished",
      "INFO: Finished Backup of VM 105 (00:00:10)",
      "TASK WARNINGS: 1",
    ],
    id: "105",
    exit: "WARNINGS: 1",
    want: [[105, "warnings"]],
  },
];

describe("real vzdump task log variants", () => {
  it.each(variants)("$name", ({ log, id, exit, want }) => {
    const got = parseTaskLog(log, id, exit).map(
      (g): Row => (g.error ? [g.vmid, g.result, g.error] : [g.vmid, g.result]),
    );
    expect(got).toEqual(want);
  });

  it("the guests a command line names, without those skipped as external", () => {
    expect(
      cmdlineVmids([
        "INFO: starting new backup job: vzdump 106 112 123 --storage local --mode snapshot",
        "INFO: skip external VMs: 112, 123",
      ]),
    ).toEqual([106]);
    expect(cmdlineVmids(["INFO: starting new backup job: vzdump --all 1 --storage local"])).toEqual([]);
  });
});
