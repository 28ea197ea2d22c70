import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { startLab, type Lab } from "./index.js";
import { loadScenario } from "./scenario.js";
import { ADMIN, api as labApi, T0 } from "./testing.js";
import { humanByte, pbsClientLines } from "./vzdump-log.js";

const api = (l: Lab, path: string, req?: Parameters<typeof labApi>[2]) => labApi<any>(l, path, req);
const enc = encodeURIComponent;
const LEGACY = "e5ecb99a3a4a78f98e1613ee0dec2bcbaab24249:1";

const labs: Lab[] = [];
afterEach(async () => {
  await Promise.all(labs.splice(0).map((l) => l.stop()));
});

async function logsLab(): Promise<Lab> {
  const logs = loadScenario("logs");
  const scenario = { ...logs, tokens: [...logs.tokens, { id: ADMIN, secret: "admin-secret", privsep: 0 as const }] };
  const lab = await startLab({ scenario, clock: new ManualClock(T0), authFailDelayMs: 0 });
  labs.push(lab);
  return lab;
}

/** Every vzdump task of a node, oldest first, with its log lines. */
async function vzdumps(lab: Lab, node: string): Promise<{ upid: string; status: string; lines: string[] }[]> {
  const list = (await api(lab, `/nodes/${node}/tasks?typefilter=vzdump&limit=100`, { token: ADMIN })).json.data;
  const out = [];
  for (const t of [...list].sort((a: any, b: any) => a.starttime - b.starttime)) {
    const log = (await api(lab, `/nodes/${node}/tasks/${enc(t.upid)}/log?limit=0`, { token: ADMIN })).json.data;
    out.push({ upid: t.upid, status: t.status, lines: log.map((x: { t: string }) => x.t) });
  }
  return out;
}

describe("proxmox-backup-client lines", () => {
  it("HumanByte prints three decimals at most, in the shortest form", () => {
    expect(humanByte(8 * 1024 ** 3)).toBe("8 GiB");
    expect(humanByte(1.2049 * 1024 ** 3)).toBe("1.205 GiB");
    expect(humanByte(512)).toBe("512 B");
  });

  it("clients from 1.0.12 on say 'had to backup', older ones 'had to upload'", () => {
    const base = { node: "pve1", snapshot: "ct/101/x", totalBytes: 8 * 1024 ** 3, dirtyBytes: 1024 ** 3, seconds: 20 };
    expect(pbsClientLines(base)).toContain(
      "INFO: root.pxar: had to backup 1 GiB of 8 GiB (compressed 341.333 MiB) in 20.00s",
    );
    expect(pbsClientLines({ ...base, clientVersion: "1.0.11" })).toContain(
      "INFO: root.pxar: had to upload 1.00 GiB of 8.00 GiB in 20.00s, average speed 51.20 MiB/s).",
    );
  });
});

describe("the logs scenario", () => {
  it("writes each real log variant", async () => {
    const lab = await logsLab();
    const pve1 = await vzdumps(lab, "pve1");
    const pve2 = await vzdumps(lab, "pve2");
    const all = [...pve1, ...pve2];
    const find = (needle: string | RegExp) =>
      all.find((t) => t.lines.some((l) => (typeof needle === "string" ? l === needle : needle.test(l))));

    // skip external VMs, both ways; the command line never names the job id.
    const legacy1 = find("INFO: skip external VMs: 112, 123");
    expect(legacy1?.lines[0]).toBe(
      "INFO: starting new backup job: vzdump 106 112 123 --storage local --mode snapshot --compress zstd",
    );
    expect(legacy1?.status).toBe("OK");
    expect(
      find("INFO: skip external VMs: 106")?.lines.filter((l) => l.startsWith("INFO: Finished Backup")),
    ).toHaveLength(2);
    expect(all.every((t) => t.lines.every((l) => !l.includes(LEGACY)))).toBe(true);

    // rbd's own output, unprefixed, in the order real PVE writes it; an empty line before TASK ERROR.
    const manual = all.find((t) => t.lines.includes("/dev/rbd5") && t.status === "job errors")!;
    const at = (l: string | RegExp) => manual.lines.findIndex((x) => (typeof l === "string" ? x === l : l.test(x)));
    expect(at("INFO: create storage snapshot 'vzdump'")).toBe(at("/dev/rbd5") - 1);
    expect(at("Removing snap: 100% complete...done.")).toBe(
      at(/^ERROR: Backup of VM 101 failed - command 'set -o pipefail/) - 1,
    );
    expect(manual.lines.slice(-3)).toEqual(["INFO: notified via target `mail-to-root`", "", "TASK ERROR: job errors"]);
    expect(manual.status).toBe("job errors");

    // PBS: a VM's incremental summary before "transferred"; a container's client lines.
    const pbs = find(/^INFO: root\.pxar: had to backup /)!;
    expect(pbs.lines.findIndex((l) => l.startsWith("INFO: backup was done incrementally"))).toBeLessThan(
      pbs.lines.findIndex((l) => l.startsWith("INFO: transferred ")),
    );
    expect(pbs.lines).toContain("Removing snap: 100% complete...done.");
    expect(find(/^INFO: root\.pxar: had to upload .* average speed .*\/s\)\.$/)?.status).toBe("OK");

    // The max backup limit, before any "Starting Backup" line.
    const limit = find(/max backup limit/)!;
    expect(limit.lines.filter((l) => !l.startsWith("INFO: notified"))).toEqual([
      "INFO: starting new backup job: vzdump 104 --storage nas --mode snapshot --compress zstd --remove 0 --prune-backups keep-last=1",
      "ERROR: Backup of VM 104 failed - There is a max backup limit of 1 enforced by the target storage or the vzdump parameters. Either increase the limit or delete old backups.",
      expect.stringMatching(/^INFO: Failed at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      "INFO: Backup job finished with errors",
      "TASK ERROR: job errors",
    ]);

    // A job failing as a whole before any guest.
    const hook = find(/^ERROR: Backup job failed - /)!;
    expect(hook.lines).toEqual([
      "INFO: starting new backup job: vzdump 105 --storage nas --mode snapshot --compress zstd",
      "ERROR: Backup job failed - command '/usr/local/bin/offsite-hook.sh job-start' failed: exit code 1",
      "TASK ERROR: command '/usr/local/bin/offsite-hook.sh job-start' failed: exit code 1",
    ]);
  });

  it("serves a legacy '<sha1>:<n>' job id and takes it back URL-encoded", async () => {
    const lab = await logsLab();
    const ids = (await api(lab, "/cluster/backup", { token: ADMIN })).json.data.map((j: { id: string }) => j.id);
    expect(ids).toContain(LEGACY);
    const one = await api(lab, `/cluster/backup/${enc(LEGACY)}`, { token: ADMIN });
    expect(one.json.data).toMatchObject({ id: LEGACY, vmid: "106,112,123", storage: "local" });
    const put = await api(lab, `/cluster/backup/${enc(LEGACY)}`, {
      token: ADMIN,
      method: "PUT",
      form: { comment: "from vzdump.cron" },
    });
    expect(put.status).toBe(200);
    expect((await api(lab, `/cluster/backup/${enc(LEGACY)}`, { token: ADMIN })).json.data.comment).toBe(
      "from vzdump.cron",
    );
  });
});
