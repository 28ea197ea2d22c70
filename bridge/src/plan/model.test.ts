import { describe, expect, it } from "vitest";
import { resolveTiers } from "../config/tiers.js";
import type { Config } from "../config/load.js";
import type { GuestState, PolicyResult } from "../policy/types.js";
import { diffJob, planSource } from "./diff.js";
import { canonicalPrune, currentValue, type DesiredJob, type RawJob } from "./model.js";

const guest = (vmid: number, name: string, tier: string | null): GuestState =>
  ({
    id: `home_${vmid}`,
    source: "pve",
    vmid,
    name,
    type: "qemu",
    node: "n1",
    tier,
    findings: [],
    reasons: [],
  }) as unknown as GuestState;
const result = (guests: GuestState[]) =>
  ({ guests, orphans: [], counts: {}, nextChangeMs: null }) as unknown as PolicyResult;
const cfg = (jobs?: Partial<NonNullable<Config["jobs"]>>): Config =>
  ({
    site: "home",
    proxmox: [
      {
        name: "pve",
        url: "https://pve:8006",
        backup: { mode: "snapshot", compress: "zstd", notesTemplate: "{{guestname}}" },
      },
    ],
    tiers: resolveTiers(undefined),
    guestTiers: {},
    jobs: {
      enabled: true,
      storage: "nas",
      mode: "snapshot",
      compress: "zstd",
      notesTemplate: "{{guestname}}",
      adopt: {},
      tiers: {},
      ...jobs,
    },
  }) as unknown as Config;

describe("plan model", () => {
  it("normalises prune-backups from PVE's read form (object of strings) and the write form", () => {
    expect(canonicalPrune({ "keep-weekly": "4", "keep-daily": "7" })).toBe("keep-daily=7,keep-weekly=4");
    expect(canonicalPrune("keep-weekly=4,keep-daily=7")).toBe("keep-daily=7,keep-weekly=4");
    expect(canonicalPrune({ "keep-last": "0", "keep-all": "0" })).toBe("");
    expect(canonicalPrune({ "keep-all": "1" })).toBe("keep-all=1");
    expect(canonicalPrune(undefined)).toBe("");
  });

  it("reads PVE's defaults: enabled absent = enabled, vmid order does not matter", () => {
    expect(currentValue({ id: "x" }, "enabled")).toBe("1");
    expect(currentValue({ id: "x", enabled: 0 }, "enabled")).toBe("0");
    expect(currentValue({ id: "x", vmid: "105,101, 103" }, "vmid")).toBe("101,103,105");
  });

  it("a tier job must select by VMID only: all/exclude/pool/node are removed", () => {
    const want = {
      fields: {
        enabled: "1",
        schedule: "02:00",
        vmid: "100",
        storage: "nas",
        mode: "snapshot",
        compress: "zstd",
        "prune-backups": "keep-daily=7",
        "notes-template": "{{guestname}}",
        comment: "c",
      },
    } as DesiredJob;
    const have: RawJob = {
      id: "backup2mqtt-p0",
      all: 1,
      exclude: "101",
      node: "n1",
      schedule: "02:00",
      storage: "nas",
      mode: "snapshot",
      compress: "zstd",
      "prune-backups": { "keep-daily": "7" },
      "notes-template": "{{guestname}}",
      comment: "c",
    };
    expect(diffJob(want, have)).toEqual([
      { field: "vmid", from: null, to: "100" },
      { field: "node", from: "n1", to: null },
      { field: "all", from: "1", to: null },
      { field: "exclude", from: "101", to: null },
    ]);
  });

  it("one job per tier with guests; untiered and excluded guests are in none; foreign jobs are never actions", () => {
    const r = result([
      guest(100, "ha", "P0"),
      guest(101, "immich", "P2"),
      guest(103, "dl", "P2"),
      guest(104, "tmp", null),
      guest(106, "scratch", "none"),
    ]);
    const plan = planSource(cfg(), r, "pve", [
      { id: "someone-elses", vmid: "100", enabled: 1, schedule: "01:00" },
      { id: "backup2mqtt-p1", vmid: "102", schedule: "02:30" },
    ]);
    expect(plan.errors).toEqual([]);
    expect(plan.actions.map((a) => `${a.op} ${a.id}`)).toEqual([
      "create backup2mqtt-p0",
      "create backup2mqtt-p2",
      "delete backup2mqtt-p1",
    ]);
    expect(plan.actions[1]).toMatchObject({ fields: { vmid: "101,103" } });
    expect(plan.actions[2]).toMatchObject({ reason: "tier P1 has no guests in 'pve' any more" });
    expect(plan.unmanaged.map((u) => u.id)).toEqual(["someone-elses"]);
    expect(plan.warnings.join()).toMatch(/job 'someone-elses' is enabled and also backs up ha/);
  });

  it("adopting a job that does not exist is an error, not a silent create", () => {
    const plan = planSource(cfg({ adopt: { P0: "gone" } }), result([guest(100, "ha", "P0")]), "pve", []);
    expect(plan.actions).toEqual([]);
    expect(plan.errors).toEqual(["jobs.adopt names job 'gone' for tier P0, but PVE has no such job (known: none)"]);
  });
});

describe("manual-only jobs where Hyper Backup copies the guests' disks (issue 20)", () => {
  const hb = (g: GuestState): GuestState =>
    ({
      ...g,
      protection: { by: "hyperbackup", consistency: "file-copy", tasks: ["VMs daily"], nas: "nas" },
    }) as GuestState;
  it("the warning calls the disabled job the manual fallback when Hyper Backup covers every guest of the tier", async () => {
    const { desiredJobs } = await import("./desired.js");
    const c = cfg({ enabled: false });
    const all = desiredJobs(c, result([hb(guest(100, "ha", "P0"))]), "pve");
    expect(all.warnings).toEqual([
      "tier P0: job 'backup2mqtt-p0' is manual-only (disabled): the manual fallback, since Hyper Backup copies its guests' disks",
    ]);
    const some = desiredJobs(c, result([hb(guest(100, "ha", "P0")), guest(104, "db", "P0")]), "pve");
    expect(some.warnings.join()).toMatch(/PVE never runs it by itself, so 1 of its 2 guests stays 'unprotected'/);
  });
});
