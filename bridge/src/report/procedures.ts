/**
 * The strategy report's two guidance sections: when to use vzdump and when Hyper Backup, and how
 * each kind of backup is verified — what the bridge's checks do and how to do them by hand, with
 * every guest's newest archive and the check that fits it.
 *
 * Facts used here, with their public sources:
 * - vzdump writes one guest's disks and its configuration into one archive; in snapshot mode with
 *   the QEMU guest agent it freezes the guest's file systems first (Proxmox VE admin guide,
 *   "Backup and Restore" → "Backup modes", https://pve.proxmox.com/pve-docs/chapter-vzdump.html).
 * - A guest's configuration lives in /etc/pve/qemu-server/<vmid>.conf or /etc/pve/lxc/<vmid>.conf on
 *   the cluster file system, not beside its disks (admin guide, "Proxmox Cluster File System").
 * - Hyper Backup backs up shared folders of the NAS to another destination, keeps versions and can
 *   check a backup's integrity (Synology Knowledge Center, "Hyper Backup" → "Check backup integrity").
 * - PBS verify jobs re-read every chunk of a snapshot and compare its checksum; `proxmox-backup-manager
 *   verify <datastore>` runs one by hand (Proxmox Backup Server docs, "Maintenance Tasks" → "Verification").
 */
import type { Archive } from "../evidence.js";
import { verifyCommand } from "../actions/verify-commands.js";
import { formatDuration } from "../util/duration.js";
import { archivesOf, shortTime } from "./facts.js";
import { cell, code, table } from "./format.js";
import type { ReportInput } from "./render.js";

const isPbs = (a: Archive) => a.format.startsWith("pbs-");

export function whenToUseSection(input: ReportInput, out: string[]): void {
  const { cfg, evidence } = input;
  out.push("## When to use vzdump and when Hyper Backup", "");
  out.push(
    "**vzdump** (Proxmox VE's backup: the jobs below, the *Back up now* button, the bridge's fallback) writes one guest's disks " +
      "**and its configuration** into one archive at one point in time; in snapshot mode with the QEMU guest agent the guest's file " +
      "systems are frozen first. It restores in minutes with `qmrestore` or `pct restore` (see the restore procedure).",
    "",
    "**Hyper Backup** runs on the Synology NAS and copies shared folders to another place (a USB disk, another NAS, a cloud), " +
      "keeping versions. It copies files, not guests: disk images of running guests are copied while they are being written, " +
      "so the copy is not a point-in-time image unless the guest was stopped, and it holds no guest configuration " +
      "(that lives in `/etc/pve` on the Proxmox nodes, not beside the disks).",
    "",
  );
  out.push(
    table(
      ["situation", "use"],
      [
        [
          "Before an upgrade or a risky change to one guest",
          "vzdump now (*Back up now*): a point-in-time image with the configuration, restored in minutes",
        ],
        [
          "The daily or weekly backup of guests whose disks are on the node (local-lvm, ZFS, Ceph)",
          "a vzdump job per tier (see the jobs that implement the tiers)",
        ],
        [
          "Guests whose disks live on the NAS (an NFS or SMB storage)",
          "Hyper Backup of that shared folder can be the regular copy; keep a vzdump job (enabled or not) as the fallback, and prove the copy with a restore test",
        ],
        [
          "A copy away from the house, with history",
          "a Hyper Backup task of the shared folder that holds the vzdump archives, to USB, another NAS or a cloud",
        ],
        [
          "A nightly backup was missed or failed",
          "vzdump of that guest: *Back up now*, or the bridge's fallback (tier setting `fallback`)",
        ],
        ["Bringing a whole guest back into Proxmox VE", "a vzdump archive: `qmrestore` / `pct restore`"],
        ["Bringing back a few files from inside a guest", "either; a file copy is easier to browse"],
      ],
    ),
    "",
  );
  const tasks = (evidence.offsite?.targets ?? []).filter((t) => t.kind === "hyperbackup");
  const nasSources = cfg.synology?.length ?? 0;
  if (!nasSources) {
    out.push(
      "In this setup no Synology NAS is configured, so vzdump (and Proxmox Backup Server, where configured) is the only backup this document knows.",
      "",
    );
    return;
  }
  // Guests whose newest backup is a Hyper Backup file copy of their disks, by task.
  const byTask = new Map<string, string[]>();
  for (const g of [...input.result.guests].sort((a, b) => a.vmid - b.vmid))
    if (g.protection?.by === "hyperbackup")
      for (const t of g.protection.tasks) byTask.set(t, [...(byTask.get(t) ?? []), `${g.name} (${g.vmid})`]);
  if (!tasks.length && !byTask.size) {
    out.push(
      "In this setup no Hyper Backup task copies a Proxmox VE backup storage or a guest's disks yet, so every guest relies on vzdump; " +
        "a task of the shared folder behind a backup storage would give the archives a second copy.",
      "",
    );
    return;
  }
  out.push("In this setup:", "");
  for (const [task, guests] of byTask)
    out.push(
      `- Hyper Backup task ${cell(`“${task}”`)} copies the disks of ${andList(guests.map(cell))}: their regular backup, as file copies; ` +
        "the vzdump jobs that select them are the fallback.",
    );
  for (const t of tasks)
    out.push(
      `- ${cell(t.label)} copies the backup ${t.storages.length === 1 ? "storage" : "storages"} ` +
        `${t.storages.map(cell).join(", ") || "(none known)"}${t.offsite ? ", off-site" : ", on site"}; ` +
        `last success ${t.lastSuccessMs ? shortTime(new Date(t.lastSuccessMs).toISOString(), cfg.timeZone) : "never"}.`,
    );
  out.push("");
}

/** "a", "a and b", "a, b and c". */
const andList = (xs: string[]) => (xs.length < 2 ? xs.join("") : `${xs.slice(0, -1).join(", ")} and ${xs.at(-1)}`);

/** By-hand integrity check of a file archive, as the bridge runs it over SSH (verify-commands.ts). */
function byHand(format: string): string | null {
  const check = verifyCommand(format, "ARCHIVE");
  return check ? check.replaceAll("'ARCHIVE'", '"$F"') : null;
}

export function verificationSection(input: ReportInput, out: string[]): void {
  const { cfg, result, evidence } = input;
  out.push("## Verification procedures", "");
  out.push(
    "A backup counts once it is proven readable. From the cheapest check to the strongest:",
    "",
    '- **Verify** (the guest\'s *Verify* button, or `{"action":"verify"}` on its command topic): on the node that holds the ' +
      "newest file archive, over SSH, the bridge finds the file (`pvesm path`), tests its compression and reads it through " +
      "(`vma verify` for a VM, a full `tar` listing for a container). It proves the file is complete and readable, not that the guest boots.",
    "- **PBS verification**: a Proxmox Backup Server verify job re-reads every chunk of a snapshot and compares its checksum; " +
      "the bridge shows the result. By hand: `proxmox-backup-manager verify <datastore>` on the PBS, or *Datastore → Verify Jobs* in its web interface.",
    "- **Restore test** (the *Restore test* button, where `restore_test` is configured): the newest archive is restored into a free " +
      "scratch VMID on a scratch storage, checked and destroyed; the running guest is never touched. It proves the archive " +
      "restores. By hand: the restore-test commands in the restore procedure below.",
    "- **Hyper Backup integrity check**: in Hyper Backup, the task's *Action → Check backup integrity* (or its schedule in the task's settings) " +
      "proves the data at the destination is intact; only restoring a guest's disk files proves they boot.",
    "",
  );
  const kinds: [string, string][] = [
    ["vma.zst", "VM archive (.vma.zst)"],
    ["tar.zst", "container archive (.tar.zst)"],
  ];
  out.push(
    "By hand on the node, for a file archive (gzip and lzo archives use `gzip -t` / `lzop -t` the same way):",
    "",
  );
  out.push("```sh");
  out.push("F=$(pvesm path <volid>)");
  for (const [format, label] of kinds) out.push(`# ${label}`, byHand(format)!);
  out.push("```", "");

  const rows = [...result.guests]
    .sort((a, b) => a.vmid - b.vmid)
    .map((g) => {
      const newest = archivesOf(g, evidence)[0];
      const tier = g.tier ? cfg.tiers[g.tier] : undefined;
      const check = !newest
        ? "nothing to check: no archive"
        : isPbs(newest)
          ? "PBS verification"
          : byHand(newest.format)
            ? "Verify (or by hand, above)"
            : `no check for the ${newest.format} format; a restore test`;
      return [
        g.name,
        g.vmid,
        g.type === "qemu" ? "VM" : "CT",
        newest ? code(newest.volid) : "—",
        check,
        tier?.verifyEveryMs ? `every ${formatDuration(tier.verifyEveryMs)}` : "not asked",
        shortTime(g.last_verified, cfg.timeZone),
      ];
    });
  out.push("Per guest:", "");
  out.push(
    table(
      ["guest", "VMID", "type", "newest archive", "check that fits it", "tier asks for one", "last verified"],
      rows,
    ),
    "",
  );
}
