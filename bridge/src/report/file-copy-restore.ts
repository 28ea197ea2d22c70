/**
 * The strategy report's "Restoring from a Hyper Backup file copy": for every guest whose disks a
 * Hyper Backup task copies, where each disk's file lies on the NAS, which task holds it, its
 * integrity check, and the guest's configuration as Proxmox VE has it now (a file copy holds none).
 *
 * Facts used here, with their public sources:
 * - Hyper Backup restores a version of a folder to its original place or to another folder
 *   (Synology Knowledge Center, "Hyper Backup" → "Restore data").
 * - A guest's configuration is /etc/pve/qemu-server/<vmid>.conf or /etc/pve/lxc/<vmid>.conf, one
 *   `key: value` per line (Proxmox VE admin guide, "Virtual Machines" → "Configuration",
 *   https://pve.proxmox.com/pve-docs/chapter-qm.html#qm_configuration).
 * - `qm disk import <vmid> <file> <storage>` (PVE 7.2 and later; `qm importdisk` before) copies a disk
 *   image into a storage as an unused disk of the VM; `qm set <vmid> --scsi0 <storage>:<volume>`
 *   attaches it (qm(1)).
 */
import type { GuestDisks, HyperBackupTaskEvidence } from "../evidence.js";
import { guestHyperBackup, nasPaths } from "../policy/hyperbackup.js";
import { shortTime } from "./facts.js";
import { cell, code, table } from "./format.js";
import type { ReportInput } from "./render.js";

export function fileCopyRestoreSection(input: ReportInput, out: string[]): void {
  const { cfg, result, evidence } = input;
  const tasks = evidence.hyperBackup ?? [];
  if (!tasks.length) return;
  const covered = [...result.guests]
    .sort((a, b) => a.vmid - b.vmid)
    .flatMap((g) => {
      const info = evidence.guests.find((x) => x.source === g.source && x.vmid === g.vmid);
      const disks = evidence.guestDisks?.find((d) => d.source === g.source && d.vmid === g.vmid);
      const hb = info && disks ? guestHyperBackup(info, disks.disks, evidence.storageMounts ?? [], tasks) : null;
      return hb?.covered && info && disks ? [{ g, info, disks, hb }] : [];
    });
  out.push("## Restoring from a Hyper Backup file copy", "");
  if (!covered.length) {
    out.push(
      "No guest's disks are all copied by a Hyper Backup task, so every restore goes through a vzdump archive (see the restore procedure).",
      "",
    );
    return;
  }
  out.push(
    "A Hyper Backup task copies the disk files of these guests, not the guests: the copy holds no configuration, and a disk copied while its guest ran " +
      "is like a disk after a power cut (the file systems replay their journals on boot; databases inside may need their own recovery). " +
      "Restore the files first into a new folder and try them as a scratch VM; only then over the original. " +
      "Each guest's configuration below is what Proxmox VE holds now, kept here because the file copy lacks it.",
    "",
  );
  for (const { g, info, disks, hb } of covered) {
    out.push(`### ${cell(g.name)} (${g.type === "qemu" ? "VM" : "container"} ${g.vmid})`, "");
    const paths = hb.copies.map((c) => {
      const mount = evidence.storageMounts?.find((m) => m.source === g.source && m.storage === c.disk.storage);
      const at = mount ? nasPaths(c.disk, g.vmid, mount) : null;
      return at ? (at.full ?? at.folder ?? null) : null;
    });
    const rows = hb.copies.map((c, i) => [
      c.disk.key,
      code(c.disk.volume),
      paths[i] ? code(paths[i]) : "(linked by the configuration)",
      c.tasks.map((t) => taskText(t, cfg.timeZone)).join("; "),
    ]);
    out.push(table(["disk", "volume", "file on the NAS", "copied by (last success; integrity check)"], rows), "");
    const folder = paths.find((p) => p)?.replace(/\/[^/]*$/, "");
    const conf = g.type === "qemu" ? `/etc/pve/qemu-server/${g.vmid}.conf` : `/etc/pve/lxc/${g.vmid}.conf`;
    out.push(
      `1. In Hyper Backup on ${cell(hb.copies[0]!.tasks[0]!.source)}: *Restore → Data*, task ${cell(`“${hb.copies[0]!.tasks[0]!.name}”`)}, ` +
        `the version to restore, folder ${code(folder || "(see the table)")}, restored to a new folder beside it (not over the running guest's files).`,
      `2. Test it as a scratch ${g.type === "qemu" ? "VM" : "container"} with the configuration below, its network link down, and the restored disk ${
        g.type === "qemu"
          ? "files imported (`qm disk import <newid> <restored file> <storage>`)"
          : "files as its root file system"
      }; destroy it when the test is done.`,
      `3. A real restore: stop the guest (${code(g.type === "qemu" ? `qm stop ${g.vmid}` : `pct stop ${g.vmid}`)}), restore the folder over the original in Hyper Backup, ` +
        `check that ${code(conf)} matches the configuration below, and start it.`,
      "",
    );
    out.push(...configBlock(disks, conf, info.node));
  }
}

function taskText(t: HyperBackupTaskEvidence, timeZone: string | undefined): string {
  const last =
    t.lastSuccessMs === null
      ? "never succeeded"
      : `last success ${shortTime(new Date(t.lastSuccessMs).toISOString(), timeZone)}`;
  const check = t.integrity
    ? `integrity check ${t.integrity.ok ? "passed" : "FAILED"} ${shortTime(new Date(t.integrity.timeMs).toISOString(), timeZone)}`
    : "no integrity check known";
  return `“${t.name}” on ${t.source} (${last}; ${check})`;
}

function configBlock(disks: GuestDisks, conf: string, node: string): string[] {
  if (!disks.config)
    return [
      `The bridge has not read its configuration (yet, or without VM.Audit on the guest); copy ${code(conf)} from node ${cell(node)} somewhere safe.`,
      "",
    ];
  const lines = Object.entries(disks.config)
    .filter(([k]) => k !== "digest")
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${String(v).replace(/\r?\n/g, "\\n")}`);
  return [`Its configuration (${code(conf)} on node ${cell(node)}):`, "", "```", ...lines, "```", ""];
}
