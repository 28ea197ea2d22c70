/**
 * Hyper Backup coverage over the real wire (issue 20): the hyperbackup-primary lab (PVE with guest
 * disks on an NFS storage of the NAS, the DSM 7 simulator with the tasks' source folders, excludes
 * and schedules), a real broker and the bridge, with one thing wrong per guest — a source folder
 * missing on the NAS, an excluded path, a storage whose server is another NAS, a guest with one
 * disk outside. Each reaches the guest's state as the policy says, over MQTT.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { scenariosDir, type Scenario } from "backup2mqtt-lab";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { startStack, type Stack } from "../support/stack.js";

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

type Task = { id: number; sources?: { path: string; missing?: boolean }[]; excludes?: string[] };
type Guest = { vmid: number; disks?: { key: string; storage?: string; size?: string }[] };

function brokenPlan(): Scenario {
  const sc = parse(readFileSync(path.join(scenariosDir, "hyperbackup-primary.yaml"), "utf8")) as Scenario & {
    storages: Record<string, unknown>[];
    guests: Guest[];
    synology: { tasks: Task[] };
  };
  // immich (101): its disk on an NFS storage of another NAS — no task here can copy it.
  sc.storages.push({
    id: "other-nas",
    type: "nfs",
    content: ["images"],
    server: "othernas.home.arpa",
    export: "/volume1/vms",
    total: 1e12,
    used: 1e11,
  });
  sc.guests.find((g) => g.vmid === 101)!.disks = [{ key: "scsi0", storage: "other-nas", size: "100G" }];
  // vaultwarden (102): a second disk on local-lvm — partly covered.
  sc.guests.find((g) => g.vmid === 102)!.disks!.push({ key: "scsi1", storage: "local-lvm", size: "8G" });
  const weekly = sc.synology.tasks.find((t) => t.id === 2)!;
  // download-home (103): its folder is missing on the NAS; pihole-home (105): excluded.
  weekly.sources = [
    { path: "/proxmox/images/101" },
    { path: "/proxmox/images/103", missing: true },
    { path: "/proxmox/images/105" },
  ];
  weekly.excludes = ["/proxmox/images/105/vm-105-disk-0.raw"];
  return sc;
}

describe("Hyper Backup coverage against the lab", () => {
  it("covered, another NAS, one disk outside, a missing folder, an excluded path", async () => {
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: brokenPlan() },
      pollMs: 500,
      offsite: { pollMs: 500 },
    });
    const o = stack.observer;
    const state = (vmid: number) =>
      o.json(`backup2mqtt/guest/home_${vmid}/state`) as
        | {
            status: string;
            problem: boolean;
            protection: { by: string } | null;
            findings: { code: string; key: string; reason: string }[];
          }
        | undefined;
    const unprotected = (vmid: number) => state(vmid)?.findings.find((f) => f.code === "unprotected");
    await o.until("every verdict", () => [100, 101, 102, 103, 105].every((v) => state(v)) && unprotected(105), 20_000);

    expect(state(100)).toMatchObject({ status: "ok", problem: false, protection: { by: "hyperbackup" } });
    expect(unprotected(100)).toBeUndefined();

    expect(state(101)).toMatchObject({ status: "missing", problem: true, protection: null });
    expect(unprotected(101)!.key).toBe("unprotected.disabled"); // the other NAS: no link, the vzdump reason stands

    expect(state(102)!.status).toBe("missing");
    expect(unprotected(102)!.key).toBe("unprotected.hyperbackup_elsewhere");
    expect(unprotected(102)!.reason).toMatch(/Disk scsi1 lies on storage local-lvm/);

    expect(unprotected(103)!.key).toBe("unprotected.hyperbackup_missing");
    expect(unprotected(103)!.reason).toMatch(/folder a Hyper Backup task on nas copies it from is missing there/);

    expect(unprotected(105)!.key).toBe("unprotected.hyperbackup_excluded");
    expect(state(105)!.problem).toBe(true);
  }, 40_000);
});
