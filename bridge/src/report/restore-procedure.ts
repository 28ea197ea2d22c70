/**
 * The strategy report's restore procedure: the commands for a restore test and a real restore of
 * VMs and containers, then per guest with its newest archive filled in.
 */
import { archivesOf, shortTime } from "./facts.js";
import { cell, code, formatBytes } from "./format.js";
import type { ReportInput } from "./render.js";

/** Generic commands first, then one block per guest (by VMID). */
export function restoreSection(input: ReportInput, out: string[]): void {
  const { cfg, result, evidence } = input;
  out.push("## Restore procedure", "");
  out.push(
    "Run these on a Proxmox node as root (or with `pvesh` rights). A **restore test** restores into a new, free VMID and never touches the running guest; " +
      "`--unique 1` gives it new MAC addresses so it can run next to the original. A **real restore** overwrites the guest (`--force 1`): stop it first.",
  );
  out.push("");
  out.push("### Virtual machines (qemu)", "");
  out.push("```sh");
  out.push("# 1. the archives of VM <vmid> on a storage (newest last)");
  out.push(
    "pvesh get /nodes/<node>/storage/<storage>/content --content backup --vmid <vmid> --output-format json-pretty",
  );
  out.push(
    "# 2. restore test into a new VMID; disks go to the storages in the backed-up config (add --storage <s> to choose)",
  );
  out.push("NEWID=$(pvesh get /cluster/nextid)");
  out.push("qmrestore <volid> $NEWID --unique 1 --start 0");
  out.push(
    "qm start $NEWID        # boot it with its network unplugged if it would clash (qm set $NEWID --net0 ...,link_down=1)",
  );
  out.push("qm destroy $NEWID --purge   # when the test is done");
  out.push("# 3. real restore over the original");
  out.push("qm stop <vmid> && qmrestore <volid> <vmid> --force 1");
  out.push("```");
  out.push("");
  out.push("### Containers (lxc)", "");
  out.push("```sh");
  out.push(
    "pvesh get /nodes/<node>/storage/<storage>/content --content backup --vmid <vmid> --output-format json-pretty",
  );
  out.push("NEWID=$(pvesh get /cluster/nextid)");
  out.push("pct restore $NEWID <volid> --unique 1 --storage <rootfs-storage>   # e.g. local-lvm");
  out.push("pct start $NEWID; pct destroy $NEWID --purge   # test, then clean up");
  out.push("pct stop <vmid> && pct restore <vmid> <volid> --force 1 --storage <rootfs-storage>   # real restore");
  out.push("```");
  out.push("");
  out.push(
    "Check an archive without restoring: `pvesm extractconfig <volid>` prints the guest config inside it; `zstd -t <file>.zst` tests the compression.",
  );
  out.push("");
  out.push("### Per guest, with the newest archive", "");
  for (const g of [...result.guests].sort((a, b) => a.vmid - b.vmid)) {
    const newest = archivesOf(g, evidence)[0];
    out.push(`#### ${cell(g.name)} (${g.type === "qemu" ? "VM" : "CT"} ${g.vmid}, node ${cell(g.node)})`, "");
    if (!newest) {
      out.push(
        g.tier && cfg.tiers[g.tier]?.protect === false
          ? "Deliberately not backed up."
          : "**No archive exists: this guest cannot be restored.**",
        "",
      );
      continue;
    }
    out.push(
      `Newest archive: ${code(newest.volid)} (${shortTime(new Date(newest.ctimeMs).toISOString(), input.cfg.timeZone)}, ${formatBytes(newest.size)}).`,
      "",
    );
    out.push("```sh");
    out.push(`# on node ${g.node}`);
    out.push("NEWID=$(pvesh get /cluster/nextid)");
    if (g.type === "qemu") {
      out.push(`qmrestore ${newest.volid} $NEWID --unique 1 --start 0   # restore test`);
      out.push(
        `qm stop ${g.vmid} && qmrestore ${newest.volid} ${g.vmid} --force 1   # real restore (overwrites VM ${g.vmid})`,
      );
    } else {
      out.push(
        `pct restore $NEWID ${newest.volid} --unique 1 --storage local-lvm   # restore test (pick your rootfs storage)`,
      );
      out.push(
        `pct stop ${g.vmid} && pct restore ${g.vmid} ${newest.volid} --force 1 --storage local-lvm   # real restore (overwrites CT ${g.vmid})`,
      );
    }
    out.push("```", "");
  }
}
