/**
 * `backup2mqtt demo --scenario hyperbackup-primary` (the compiled CLI): the owner's plan carried out
 * — guest disks on the NAS (NFS), Hyper Backup tasks per tier, the vzdump jobs present and disabled.
 * Over MQTT every guest is ok, not a problem, not `unprotected`, and names Hyper Backup as its
 * protection (a file copy); the report served over HTTP says when to use vzdump and when Hyper Backup
 * and how to restore from the file copy. (npm test builds first, so bridge/dist exists.)
 */
import { afterEach, describe, expect, it } from "vitest";
import { type DemoCli, startDemoCli } from "../support/demo-cli.js";

let demo: DemoCli | undefined;
afterEach(async () => {
  await demo?.stop();
  demo = undefined;
});

interface GuestStateMessage {
  name: string;
  status: string;
  status_reason: string;
  problem: boolean;
  findings: { code: string; reason: string }[];
  protection: { by: string; consistency: string; tasks: string[]; nas: string } | null;
  copies: number | null;
}

const GUESTS = ["home_100", "home_101", "home_102", "home_103", "home_105"];

describe("demo --scenario hyperbackup-primary", () => {
  it("all five guests ok, no problem, none unprotected, each backed up by Hyper Backup; the report has the guidance", async () => {
    demo = await startDemoCli(["--scenario", "hyperbackup-primary"]);
    const o = demo.observer;
    const http = demo.httpUrl;
    const state = (id: string) => o.json<GuestStateMessage>(`backup2mqtt/guest/${id}/state`);
    const all = await o.until(
      "five guests covered by Hyper Backup",
      () => {
        const s = GUESTS.map(state);
        return s.every((g) => g?.protection?.by === "hyperbackup") && s;
      },
      30_000,
    );
    expect(all.map((g) => g!.name)).toEqual(["homeassistant", "immich", "vaultwarden", "download-home", "pihole-home"]);
    for (const g of all) {
      expect(g!.status, g!.name).toBe("ok");
      expect(g!.problem, `${g!.name}: ${g!.findings.map((f) => f.reason).join(" / ")}`).toBe(false);
      expect(g!.findings.map((f) => f.code)).not.toContain("unprotected");
      expect(g!.protection).toMatchObject({ by: "hyperbackup", consistency: "file-copy", nas: "nas" });
      expect(g!.status_reason).toMatch(/copied this guest's disks on .* \(a file copy, not a point-in-time image\)/);
      expect(g!.status_reason).toMatch(/stays disabled as the manual fallback\.$/);
    }
    // P0 and P1 want two copies: the USB task and the off-site task each hold one.
    expect(state("home_100")!.protection!.tasks).toEqual(["VMs daily", "VMs offsite"]);
    expect(state("home_100")!.copies).toBe(2);
    expect(state("home_101")!.protection!.tasks).toEqual(["VMs weekly"]);

    const report = await (await fetch(`${http}/report.md`)).text();
    expect(report).toContain("## When to use vzdump and when Hyper Backup");
    expect(report).toContain(
      "- Hyper Backup task “VMs weekly” copies the disks of immich (101), download-home (103) and pihole-home (105)",
    );
    expect(report).toContain("## Restoring from a Hyper Backup file copy");
    expect(report).toMatch(
      /### homeassistant \(VM 100\)[\s\S]*`\/volume1\/proxmox\/images\/100\/vm-100-disk-0\.qcow2`[\s\S]*name: homeassistant/,
    );
  }, 60_000);
});
