/**
 * `backup2mqtt plan` / `apply` (policy as code) against the simulated lab over HTTPS, through the
 * real CLI (bridge/dist/cli.js; `npm test` builds it first).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, type Lab } from "backup2mqtt-lab";

const cli = path.resolve(import.meta.dirname, "../../bridge/dist/cli.js");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-plan-"));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
const run = (args: string[]) =>
  new Promise<Run>((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, B2M_SECRET: SECRET } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });

let SECRET = "";
const TOKEN = "backup2mqtt@pve!bridge";
const FULL_ACL = [
  { path: "/", roles: ["PVEAuditor"], privs: ["Sys.Modify"] },
  { path: "/storage", roles: ["PVEAuditor"], privs: ["Datastore.AllocateSpace", "Datastore.Allocate"] },
  { path: "/vms", roles: ["PVEAuditor"], privs: ["VM.Backup"] },
];
const SEED_ACL = [
  { path: "/", roles: ["PVEAuditor"] },
  { path: "/storage", roles: ["PVEAuditor"], privs: ["Datastore.AllocateSpace"] },
  { path: "/vms", roles: ["PVEAuditor"], privs: ["VM.Backup"] },
];

function writeConfig(lab: Lab, name: string, extra = ""): string {
  const f = path.join(dir, name);
  fs.writeFileSync(
    f,
    `site: home
mqtt: { url: "mqtt://127.0.0.1:1" }
proxmox:
  - name: pve
    url: ${lab.url}
    token_id: "${TOKEN}"
    token_secret: \${B2M_SECRET}
    fingerprint: "${lab.fingerprint}"
state_dir: ${path.join(dir, `state-${name}`)}
${extra}`,
  );
  return f;
}

const jobs = (lab: Lab) =>
  Object.fromEntries([...lab.control.state.jobs.values()].map((j) => [String(j.config.id), structuredClone(j.config)]));
const writes = (lab: Lab, since: number) => lab.requests.slice(since).filter((r) => r.method !== "GET");

describe("plan / apply on the seed lab", () => {
  let lab: Lab;
  let cfg: string;
  let seedJobs: Record<string, Record<string, unknown>>;
  beforeAll(async () => {
    lab = await startLab({ scenario: "seed", authFailDelayMs: 0 });
    SECRET = lab.tokens.find((t) => t.id === TOKEN)!.secret;
    cfg = writeConfig(lab, "seed.yaml", "jobs: { storage: synology }\n");
    seedJobs = jobs(lab);
  });
  afterAll(async () => {
    await lab.stop();
  });

  it("plan shows three jobs to create, one per tier, and leaves the seed's jobs alone", async () => {
    const before = lab.requests.length;
    const r = await run(["plan", "--config", cfg]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Proxmox 'pve'");
    expect(r.stdout).toContain("3 to create, 0 to update, 0 to delete, 0 unchanged");
    expect(r.stdout).toMatch(/^\+ backup2mqtt-p0 +tier P0 \(Critical, daily\): homeassistant \(100\)$/m);
    expect(r.stdout).toMatch(/^\+ backup2mqtt-p1 +tier P1 \(Important, daily\): vaultwarden \(102\)$/m);
    expect(r.stdout).toMatch(
      /^\+ backup2mqtt-p2 +tier P2 \(Weekly\): immich \(101\), download-home \(103\), pihole-home \(105\)$/m,
    );
    expect(r.stdout).toMatch(/prune-backups +keep-daily=7,keep-weekly=4,keep-monthly=6/);
    expect(r.stdout).toMatch(/schedule +sun 03:00/);
    expect(r.stdout).toContain("Jobs backup2mqtt did not create (never touched):");
    expect(r.stdout).toContain("jobs.adopt: { P0: backup-p0-daily }");
    expect(r.stdout).toContain("Plan: 3 to create, 0 to update, 0 to delete.");
    expect(writes(lab, before)).toEqual([]);

    const j = await run(["plan", "--config", cfg, "--json"]);
    expect(j.code).toBe(0);
    const plan = JSON.parse(j.stdout);
    expect(plan.summary).toEqual({ create: 3, update: 0, delete: 0, unchanged: 0, errors: 0 });
    const creates = plan.sources[0].actions;
    expect(creates.map((a: { op: string; id: string }) => `${a.op} ${a.id}`)).toEqual([
      "create backup2mqtt-p0",
      "create backup2mqtt-p1",
      "create backup2mqtt-p2",
    ]);
    expect(creates[2].fields).toMatchObject({
      enabled: "1",
      schedule: "sun 03:00",
      vmid: "101,103,105",
      storage: "synology",
      mode: "snapshot",
      compress: "zstd",
      "prune-backups": "keep-weekly=4",
      "notes-template": "{{guestname}}",
    });
    expect(plan.sources[0].unmanaged.map((u: { id: string }) => u.id).sort()).toEqual([
      "backup-p0-daily",
      "backup-p1-daily",
      "backup-p2-weekly",
    ]);
  });

  it("apply without the privilege to write jobs fails, names the privileges and changes nothing", async () => {
    lab.control.setTokenPrivileges(TOKEN, SEED_ACL);
    const r = await run(["apply", "--config", cfg, "--yes"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAILED create backup2mqtt-p0 on 'pve': permission denied \(403\).*Sys\.Modify/);
    expect(r.stdout).toContain("Datastore.Allocate");
    expect(Object.keys(jobs(lab)).sort()).toEqual(Object.keys(seedJobs).sort());
  });

  it("apply without --yes shows the plan and changes nothing", async () => {
    lab.control.setTokenPrivileges(TOKEN, FULL_ACL);
    const before = lab.requests.length;
    const r = await run(["apply", "--config", cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("re-run with --yes");
    expect(r.stdout).toContain("Plan: 3 to create");
    expect(writes(lab, before)).toEqual([]);
  });

  it("apply --yes creates the jobs; the next plan is empty; a second apply changes nothing", async () => {
    const r = await run(["apply", "--config", cfg, "--yes"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ok     create backup2mqtt-p0 on 'pve'");
    expect(r.stdout).toContain("Applied: PVE's backup jobs now match the tiers.");
    const now = jobs(lab);
    // The seed's own jobs are untouched.
    for (const [id, conf] of Object.entries(seedJobs)) expect(now[id]).toEqual(conf);
    expect(now["backup2mqtt-p0"]).toMatchObject({
      id: "backup2mqtt-p0",
      type: "vzdump",
      enabled: 1,
      schedule: "02:00",
      vmid: "100",
      storage: "synology",
      mode: "snapshot",
      compress: "zstd",
      "notes-template": "{{guestname}}",
      "prune-backups": { "keep-daily": "7", "keep-weekly": "4", "keep-monthly": "6" },
    });
    expect(String(now["backup2mqtt-p0"]!.comment)).toMatch(/^backup2mqtt tier P0/);
    expect(now["backup2mqtt-p2"]).toMatchObject({
      vmid: "101,103,105",
      schedule: "sun 03:00",
      "prune-backups": { "keep-weekly": "4" },
    });

    const p = await run(["plan", "--config", cfg]);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain("0 to create, 0 to update, 0 to delete, 3 unchanged");
    expect(p.stdout).toContain("No changes: PVE's backup jobs match the tiers.");

    const before = lab.requests.length;
    const again = await run(["apply", "--config", cfg, "--yes", "--json"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).steps).toEqual([]);
    expect(writes(lab, before)).toEqual([]);
  });

  it("drift made in PVE by hand is shown as an update and put back", async () => {
    const job = lab.control.state.jobs.get("backup2mqtt-p1")!;
    job.config.schedule = "04:00";
    job.config.node = "proxmox-home";
    job.config["prune-backups"] = { "keep-last": "3" };
    const p = await run(["plan", "--config", cfg]);
    expect(p.stdout).toMatch(/^~ backup2mqtt-p1 /m);
    expect(p.stdout).toMatch(/schedule +04:00 +→ +02:30/);
    expect(p.stdout).toMatch(/prune-backups +keep-last=3 +→ +keep-daily=7,keep-weekly=4/);
    expect(p.stdout).toMatch(/node +proxmox-home +→ +\(absent\)/);
    const a = await run(["apply", "--config", cfg, "--yes"]);
    expect(a.code).toBe(0);
    expect(lab.control.state.jobs.get("backup2mqtt-p1")!.config).toMatchObject({
      schedule: "02:30",
      "prune-backups": { "keep-daily": "7", "keep-weekly": "4" },
    });
    expect(lab.control.state.jobs.get("backup2mqtt-p1")!.config.node).toBeUndefined();
  });

  it("a guest that changes tier moves between the tier jobs", async () => {
    const moved = writeConfig(lab, "moved.yaml", `jobs: { storage: synology }\nguests:\n  pihole-home: { tier: P1 }\n`);
    const p = await run(["plan", "--config", moved, "--json"]);
    const actions = JSON.parse(p.stdout).sources[0].actions;
    expect(
      actions
        .filter((a: { op: string }) => a.op === "update")
        .map((a: { id: string; changes: unknown[] }) => [a.id, a.changes]),
    ).toEqual([
      ["backup2mqtt-p1", [{ field: "vmid", from: "102", to: "102,105" }]],
      ["backup2mqtt-p2", [{ field: "vmid", from: "101,103,105", to: "101,103" }]],
    ]);
  });

  it("adopting a job someone else created brings it to the tier and retires the generated one", async () => {
    const adopt = writeConfig(lab, "adopt.yaml", `jobs:\n  storage: synology\n  adopt: { P0: backup-p0-daily }\n`);
    const p = await run(["plan", "--config", adopt]);
    expect(p.stdout).toMatch(/^~ backup-p0-daily +tier P0 \(Critical, daily\), adopted: homeassistant \(100\)$/m);
    expect(p.stdout).toMatch(/enabled +0 \(manual-only.*→ +1 \(scheduled\)/);
    expect(p.stdout).toMatch(
      /prune-backups +keep-daily=7,keep-weekly=4,keep-monthly=3 +→ +keep-daily=7,keep-weekly=4,keep-monthly=6/,
    );
    expect(p.stdout).toMatch(/^- backup2mqtt-p0 +delete: tier P0 now uses the adopted job 'backup-p0-daily'$/m);
    const a = await run(["apply", "--config", adopt, "--yes"]);
    expect(a.code).toBe(0);
    const now = jobs(lab);
    expect(now["backup2mqtt-p0"]).toBeUndefined();
    expect(now["backup-p0-daily"]).toMatchObject({
      enabled: 1,
      "prune-backups": { "keep-daily": "7", "keep-weekly": "4", "keep-monthly": "6" },
    });
    // Jobs nobody adopted are still exactly as the seed had them.
    expect(now["backup-p1-daily"]).toEqual(seedJobs["backup-p1-daily"]);
    expect(now["backup-p2-weekly"]).toEqual(seedJobs["backup-p2-weekly"]);
  });

  it("bad input is a clear error: unknown tier in jobs.adopt, missing storage", async () => {
    const bad = writeConfig(lab, "bad.yaml", `jobs:\n  adopt: { P9: backup-p0-daily }\n`);
    const r = await run(["plan", "--config", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/jobs\.adopt\.P9: unknown tier "P9"/);
    const noStorage = writeConfig(lab, "nostorage.yaml", "");
    const n = await run(["plan", "--config", noStorage]);
    expect(n.code).toBe(1);
    expect(n.stdout).toContain("ERROR: no target storage for tier P0: set jobs.storage");
  });
});

describe("manual-only tiers", () => {
  it("creates the job disabled (Run now in PVE) and says the guests stay unprotected", async () => {
    const lab = await startLab({ scenario: "seed", authFailDelayMs: 0 });
    try {
      SECRET = lab.tokens.find((t) => t.id === TOKEN)!.secret;
      lab.control.setTokenPrivileges(TOKEN, FULL_ACL);
      const cfg = writeConfig(
        lab,
        "manual.yaml",
        `jobs:\n  storage: synology\n  tiers: { P2: { enabled: false, storage: local } }\n`,
      );
      const p = await run(["plan", "--config", cfg]);
      expect(p.stdout).toMatch(/note: tier P2: job 'backup2mqtt-p2' is manual-only \(disabled\)/);
      const a = await run(["apply", "--config", cfg, "--yes"]);
      expect(a.code).toBe(0);
      expect(lab.control.state.jobs.get("backup2mqtt-p2")!.config).toMatchObject({
        enabled: 0,
        storage: "local",
        schedule: "sun 03:00",
      });
      expect(lab.control.state.jobs.get("backup2mqtt-p0")!.config).toMatchObject({ enabled: 1, storage: "synology" });
    } finally {
      await lab.stop();
    }
  });
});
