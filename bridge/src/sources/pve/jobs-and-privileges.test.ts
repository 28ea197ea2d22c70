/**
 * The slow-cadence read against the lab over HTTPS: jobs, the storages' retention (GET /storage,
 * `prune-backups` as a property string) and the privileges, three requests.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, type Lab, type Scenario } from "backup2mqtt-lab";
import { createLogger } from "../../log.js";
import { PveHttp } from "./http.js";
import { JobsAndPrivileges, parsePruneBackups } from "./jobs-and-privileges.js";

describe("parsePruneBackups", () => {
  it.each([
    ["keep-daily=7,keep-weekly=4", { "keep-daily": 7, "keep-weekly": 4 }],
    [" keep-last = 3 ", { "keep-last": 3 }],
    ["keep-all=1", { "keep-all": 1 }],
    [
      { "keep-last": "4", "keep-weekly": "4" },
      { "keep-last": 4, "keep-weekly": 4 },
    ],
    [{ "keep-monthly": 6 }, { "keep-monthly": 6 }],
    ["keep-daily=x,maxfiles=3,keep-weekly=-1,keep-yearly=2,=", { "keep-yearly": 2 }],
    ["", {}],
  ])("%j → %j", (input, expected) => {
    expect(parsePruneBackups(input)).toEqual(expected);
  });
});

const TOKEN = "backup2mqtt@pve!bridge";
const SECRET = "11111111-2222-3333-4444-555555555555";
const scenario: Scenario = {
  nodes: [{ name: "pve1" }],
  storages: [
    { id: "local", type: "dir", content: ["backup"] },
    { id: "nas", type: "nfs", content: ["backup"], "prune-backups": { "keep-daily": 7, "keep-weekly": 4 } },
    { id: "hidden", type: "dir", content: ["backup"], "prune-backups": { "keep-last": 1 } },
  ],
  guests: [{ vmid: 100, type: "qemu", name: "web", node: "pve1" }],
  jobs: [{ id: "daily", schedule: "02:00", vmid: [100], storage: "nas", "prune-backups": { "keep-last": 2 } }],
  tokens: [
    {
      id: TOKEN,
      secret: SECRET,
      acl: [
        { path: "/", privs: ["Sys.Audit"] },
        { path: "/vms", roles: ["PVEAuditor"] },
        { path: "/storage/local", roles: ["PVEAuditor"] },
        { path: "/storage/nas", roles: ["PVEAuditor"] },
      ],
    },
  ],
};

let lab: Lab;
let http: PveHttp;
beforeAll(async () => {
  lab = await startLab({ scenario, authFailDelayMs: 0 });
  http = new PveHttp(
    { url: lab.url, tokenId: TOKEN, tokenSecret: SECRET, fingerprint: lab.fingerprint, timeoutMs: 10_000 },
    0,
  );
});
afterAll(async () => {
  await http.close();
  await lab.stop();
});

describe("JobsAndPrivileges.read", () => {
  it("reads the storages' retention with the jobs: only storages that set one and that the token sees", async () => {
    const meta = new JobsAndPrivileges("pve", http, createLogger("silent"));
    const before = http.requestCount;
    await meta.read();
    expect(http.requestCount - before).toBe(3);
    expect(meta.jobs.map((j) => [j.id, j.pruneBackups])).toEqual([["daily", { "keep-last": 2 }]]);
    expect(meta.storagePrune).toEqual({ nas: { "keep-daily": 7, "keep-weekly": 4 } });
    // Where each storage mounts from, from the same answer (the lab's nfs default: nas.home.arpa:/volume1/<id>).
    expect(meta.storageMounts).toEqual([
      { source: "pve", storage: "local", type: "dir" },
      { source: "pve", storage: "nas", type: "nfs", server: "nas.home.arpa", export: "/volume1/nas" },
    ]);
  });

  it.each([
    { kind: "http500", pathPrefix: "/storage" },
    { kind: "wrongTypes", pathPrefix: "/storage" },
  ] as const)(
    "a storage configuration that cannot be read ($kind) leaves the retention unknown, the rest read",
    async (fault) => {
      const meta = new JobsAndPrivileges("pve", http, createLogger("silent"));
      lab.control.setFault(fault);
      try {
        await meta.read();
      } finally {
        lab.control.setFault(null);
      }
      expect(meta.jobsReadable).toBe(true);
      expect(meta.storagePrune).toBeUndefined();
      expect(meta.storageMounts).toBeUndefined();
      expect(meta.perms).not.toBeNull();
    },
  );
});
