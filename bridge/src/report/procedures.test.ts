import { describe, expect, it } from "vitest";
import { verifyCommand } from "../actions/verify-commands.js";
import { archiveSet } from "../archive-set.js";
import { resolveTiers } from "../config/tiers.js";
import type { Archive, CopyTarget, Evidence } from "../evidence.js";
import type { GuestState } from "../policy/types.js";
import { verificationSection, whenToUseSection } from "./procedures.js";
import type { ReportInput } from "./render.js";

const tiers = resolveTiers(undefined);
const guest = (vmid: number, name: string, type: "qemu" | "lxc", tier: string | null, lastVerified: string | null) =>
  ({ source: "pve", vmid, name, type, tier, last_verified: lastVerified }) as unknown as GuestState;
const archive = (vmid: number, volid: string, format: string, ctime: string): Archive => ({
  source: "pve",
  volid,
  storage: volid.split(":")[0]!,
  vmid,
  ctimeMs: Date.parse(ctime),
  size: 1,
  format,
  protected: false,
});
const target = (over: Partial<CopyTarget>): CopyTarget => ({
  kind: "hyperbackup",
  source: "nas",
  id: "1",
  label: "Hyper Backup task 'PVE dumps to C2' on nas",
  storages: ["synology"],
  offsite: true,
  lastSuccessMs: Date.parse("2026-06-01T01:30:00Z"),
  readable: true,
  ...over,
});
function input(o: { synology?: number; targets?: CopyTarget[]; guests?: GuestState[]; archives?: Archive[] }) {
  return {
    cfg: { tiers, timeZone: "UTC", synology: Array.from({ length: o.synology ?? 0 }, () => ({})) },
    result: { guests: o.guests ?? [] },
    evidence: {
      archives: archiveSet(o.archives ?? []),
      ...(o.targets ? { offsite: { targets: o.targets, offsiteStorages: [] } } : {}),
    } as unknown as Evidence,
  } as unknown as ReportInput;
}
const render = (f: (i: ReportInput, out: string[]) => void, i: ReportInput) => {
  const out: string[] = [];
  f(i, out);
  return out.join("\n");
};

describe("when to use vzdump and when Hyper Backup", () => {
  it.each([
    [
      "no NAS configured",
      input({}),
      "In this setup no Synology NAS is configured, so vzdump (and Proxmox Backup Server, where configured) is the only backup this document knows.",
    ],
    [
      "a NAS whose tasks copy no backup storage",
      input({ synology: 1, targets: [target({ kind: "pbs_sync", label: "PBS sync job 's1' on pbs" })] }),
      "In this setup no Hyper Backup task copies a Proxmox VE backup storage or a guest's disks yet, so every guest relies on vzdump;",
    ],
    [
      "one off-site task",
      input({ synology: 1, targets: [target({})] }),
      "In this setup:\n\n- Hyper Backup task 'PVE dumps to C2' on nas copies the backup storage synology, off-site; last success Mon 1 Jun, 01:30.",
    ],
    [
      "a task on site over two storages that never succeeded",
      input({ synology: 1, targets: [target({ storages: ["nfs-a", "nfs-b"], offsite: false, lastSuccessMs: null })] }),
      "- Hyper Backup task 'PVE dumps to C2' on nas copies the backup storages nfs-a, nfs-b, on site; last success never.",
    ],
  ])("%s: says what applies here", (_, i, says) => {
    const md = render(whenToUseSection, i);
    expect(md.startsWith("## When to use vzdump and when Hyper Backup\n")).toBe(true);
    expect(md).toContain("| Before an upgrade or a risky change to one guest | vzdump now (*Back up now*)");
    expect(md).toContain(says);
  });
});

describe("verification procedures", () => {
  it("gives the bridge's own check by hand and, per guest, the check that fits its newest archive", () => {
    const md = render(
      verificationSection,
      input({
        guests: [
          guest(105, "pihole", "lxc", "P2", null),
          guest(100, "homeassistant", "qemu", "P0", "2026-06-01T03:00:00.000Z"),
          guest(102, "vaultwarden", "qemu", "P1", null),
          guest(103, "download", "lxc", null, null),
          guest(104, "odd", "lxc", "P2", null),
        ],
        archives: [
          archive(100, "local:backup/vzdump-qemu-100-2026_05_31-02_00_00.vma.zst", "vma.zst", "2026-05-31T02:00:00Z"),
          archive(100, "pbs:backup/vm/100/2026-06-01T02:00:00Z", "pbs-vm", "2026-06-01T02:00:00Z"),
          archive(102, "local:backup/vzdump-qemu-102-2026_06_01-02_30_00.vma.zst", "vma.zst", "2026-06-01T02:30:00Z"),
          archive(105, "local:backup/vzdump-lxc-105-2026_06_01-03_00_00.tar.zst", "tar.zst", "2026-06-01T03:00:00Z"),
          archive(104, "local:backup/vzdump-lxc-104-2026_06_01-03_00_00.tar.xz", "tar.xz", "2026-06-01T03:00:00Z"),
        ],
      }),
    );
    // The by-hand commands are the ones the bridge runs over SSH, on "$F".
    for (const format of ["vma.zst", "tar.zst"])
      expect(md).toContain(verifyCommand(format, "ARCHIVE")!.replaceAll("'ARCHIVE'", '"$F"'));
    expect(md).toContain('zstd -q -d -c -- "$F" | vma verify -v -');
    expect(md).toContain("F=$(pvesm path <volid>)");
    const rows = md.split("\n").filter((l) => /^\| \w+ \| \d+ \|/.test(l));
    expect(rows).toEqual([
      "| homeassistant | 100 | VM | `pbs:backup/vm/100/2026-06-01T02:00:00Z` | PBS verification | every 7 days | Mon 1 Jun, 03:00 |",
      "| vaultwarden | 102 | VM | `local:backup/vzdump-qemu-102-2026_06_01-02_30_00.vma.zst` | Verify (or by hand, above) | every 30 days | never |",
      "| download | 103 | CT | — | nothing to check: no archive | not asked | never |",
      "| odd | 104 | CT | `local:backup/vzdump-lxc-104-2026_06_01-03_00_00.tar.xz` | no check for the tar.xz format; a restore test | not asked | never |",
      "| pihole | 105 | CT | `local:backup/vzdump-lxc-105-2026_06_01-03_00_00.tar.zst` | Verify (or by hand, above) | not asked | never |",
    ]);
  });
});
