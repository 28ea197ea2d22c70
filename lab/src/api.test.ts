import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { startLab, type Lab } from "./index.js";
import { ADMIN, api as labApi, type ApiRequest, BRIDGE, READONLY, T0, twoNodeScenario } from "./testing.js";

/** The lab's JSON answers, which these tests walk freely (test files may use `any`: biome.json). */
const api = (l: Lab, path: string, req?: ApiRequest) => labApi<any>(l, path, req);

let lab: Lab;
let clock: ManualClock;

beforeAll(async () => {
  clock = new ManualClock(T0);
  lab = await startLab({ scenario: twoNodeScenario(), clock, authFailDelayMs: 0 });
});
afterAll(() => lab.stop());

describe("transport and auth", () => {
  it("serves HTTPS with a pinnable fingerprint", async () => {
    expect(lab.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(lab.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const r = await api(lab, "/nodes");
    expect(r.status).toBe(200);
    expect(r.json.data.map((n: { ssl_fingerprint: string }) => n.ssl_fingerprint)).toEqual([
      lab.fingerprint,
      lab.fingerprint,
    ]);
  });

  it("401 without or with a wrong token; space form and last-= split accepted", async () => {
    const none = await api(lab, "/version", { auth: null });
    expect(none.status).toBe(401);
    const wrong = await api(lab, "/version", { auth: `PVEAPIToken=${BRIDGE}=nope` });
    expect(wrong.status).toBe(401);
    expect(wrong.statusMessage).toBe("authentication failure");
    const space = await api(lab, "/version", { auth: `PVEAPIToken ${BRIDGE}=11111111-2222-3333-4444-555555555555` });
    expect(space.status).toBe(200);
    expect(space.json).toEqual({ data: { version: "9.1.6", release: "9.1", repoid: expect.any(String) } });
  });

  it("unknown paths are 501 like PVE; 400 param errors carry `errors`", async () => {
    const r = await api(lab, "/nodes/pve1/nonsense");
    expect(r.status).toBe(501);
    expect(r.statusMessage).toBe("Method 'GET /nodes/pve1/nonsense' not implemented");
    const bad = await api(lab, "/nodes/pve1/tasks?limit=abc");
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ data: null, errors: { limit: expect.stringContaining("integer") } });
  });
});

describe("inventory", () => {
  it("/cluster/resources guest rows: int vmid, 0/1 template, ;-tags only when set", async () => {
    const r = await api(lab, "/cluster/resources?type=vm");
    const rows = r.json.data as Record<string, unknown>[];
    expect(rows.map((x) => x.id)).toEqual(["qemu/100", "lxc/101", "qemu/200", "qemu/300"]);
    const web = rows[0]!;
    expect(web).toMatchObject({
      vmid: 100,
      type: "qemu",
      node: "pve1",
      status: "running",
      name: "web",
      template: 0,
      tags: "backup-p0;prod",
    });
    expect(rows[1]).not.toHaveProperty("tags");
    expect(rows[3]).toMatchObject({ template: 1 });
    expect(rows.some((x) => "lock" in x)).toBe(false);
  });

  it("storage rows one per node even for shared storages", async () => {
    const rows = (await api(lab, "/cluster/resources?type=storage")).json.data as Record<string, unknown>[];
    expect(rows.map((x) => x.id).sort()).toEqual([
      "storage/pve1/local",
      "storage/pve1/nas",
      "storage/pve2/local",
      "storage/pve2/nas",
    ]);
    expect(rows.find((x) => x.id === "storage/pve2/nas")).toMatchObject({
      shared: 1,
      plugintype: "nfs",
      status: "available",
      content: "backup",
    });
  });

  it("node-local qemu (no type, template only when 1) and lxc (type lxc) lists", async () => {
    const q = (await api(lab, "/nodes/pve1/qemu")).json.data as Record<string, unknown>[];
    expect(q.map((x) => x.vmid)).toEqual([100, 300]);
    expect(q[0]).not.toHaveProperty("type");
    expect(q[0]).not.toHaveProperty("template");
    expect(q[1]).toMatchObject({ template: 1 });
    const l = (await api(lab, "/nodes/pve1/lxc")).json.data;
    expect(l).toEqual([expect.objectContaining({ vmid: 101, type: "lxc", name: "dns" })]);
  });

  it("/nodes/{n}/storage with content filter", async () => {
    const rows = (await api(lab, "/nodes/pve1/storage?content=backup")).json.data as Record<string, unknown>[];
    expect(rows.map((x) => x.storage)).toEqual(["local", "nas"]);
    expect(rows[1]).toMatchObject({
      type: "nfs",
      shared: 1,
      enabled: 1,
      active: 1,
      total: expect.any(Number),
      used: expect.any(Number),
    });
  });
});

describe("jobs", () => {
  it("0/1 booleans, string vmid lists, string prune values, next-run also for disabled jobs", async () => {
    const jobs = (await api(lab, "/cluster/backup")).json.data as Record<string, unknown>[];
    const daily = jobs.find((j) => j.id === "daily")!;
    expect(daily).toMatchObject({
      type: "vzdump",
      enabled: 1,
      vmid: "100,101",
      schedule: "02:00",
      "prune-backups": { "keep-daily": "7", "keep-last": "2" },
    });
    expect(daily["next-run"]).toBe(Date.UTC(2026, 0, 15, 2, 0) / 1000);
    const off = jobs.find((j) => j.id === "weekly-off")!;
    expect(off).toMatchObject({ enabled: 0, all: 1, exclude: "101" });
    expect(off["next-run"]).toBe(Date.UTC(2026, 0, 18, 3, 0) / 1000);
  });

  it("single job has no next-run; unknown id is a 400 param error", async () => {
    const one = await api(lab, "/cluster/backup/daily");
    expect(one.json.data.id).toBe("daily");
    expect(one.json.data).not.toHaveProperty("next-run");
    const missing = await api(lab, "/cluster/backup/nope");
    expect(missing.status).toBe(400);
    expect(missing.json.errors).toEqual({ id: "No such job 'nope'" });
  });

  it("not-backed-up counts disabled jobs as coverage and includes templates", async () => {
    // weekly-off (disabled, all minus 101) covers 200 and 300; daily covers 100 and 101.
    expect((await api(lab, "/cluster/backup-info/not-backed-up")).json.data).toEqual([]);
    const r = await api(lab, "/cluster/backup/weekly-off", { method: "DELETE", token: ADMIN });
    expect(r.status).toBe(200);
    expect((await api(lab, "/cluster/backup-info/not-backed-up")).json.data).toEqual([
      { vmid: 200, type: "qemu", name: "db" },
      { vmid: 300, type: "qemu", name: "tmpl" },
    ]);
    const back = await api(lab, "/cluster/backup", {
      token: ADMIN,
      form: { id: "weekly-off", schedule: "sun 03:00", enabled: 0, all: 1, exclude: "101", storage: "local" },
    });
    expect(back.status).toBe(200);
  });

  it("job endpoints need Sys.Audit on / (403 with PVE's message)", async () => {
    await lab.control.setTokenPrivileges(READONLY, [{ path: "/vms", roles: ["PVEAuditor"] }]);
    const r = await api(lab, "/cluster/backup", { token: READONLY });
    expect(r.status).toBe(403);
    expect(r.statusMessage).toBe("Permission check failed (/, Sys.Audit)");
    lab.control.setTokenPrivileges(READONLY, [{ path: "/", roles: ["PVEAuditor"] }]);
  });
});

describe("storage content", () => {
  it("file naming in node-local time, ctime int, protected only when set, shared on every node", async () => {
    const a = (await api(lab, "/nodes/pve1/storage/nas/content?content=backup")).json.data;
    const b = (await api(lab, "/nodes/pve2/storage/nas/content?content=backup")).json.data;
    expect(a).toEqual(b);
    expect(a).toEqual([
      {
        volid: "nas:backup/vzdump-qemu-100-2026_01_14-11_00_00.vma.zst",
        content: "backup",
        format: "vma.zst",
        subtype: "qemu",
        vmid: 100,
        ctime: (T0 - 3600_000) / 1000,
        size: expect.any(Number),
        notes: "web",
        protected: 1,
      },
    ]);
    // pve2 is in New York: 2 days before 12:00 UTC is 07:00 local.
    const local2 = (await api(lab, "/nodes/pve2/storage/local/content?content=backup")).json.data;
    expect(local2).toHaveLength(1);
    expect(local2[0].volid).toBe("local:backup/vzdump-qemu-200-2026_01_12-07_00_00.vma.zst");
    expect(local2[0]).not.toHaveProperty("protected");
    expect(Number.isInteger(local2[0].size)).toBe(true);
    // node-local storage: pve1's "local" does not hold pve2's archive
    expect((await api(lab, "/nodes/pve1/storage/local/content?content=backup")).json.data).toEqual([]);
  });

  it("vmid filter", async () => {
    expect((await api(lab, "/nodes/pve1/storage/nas/content?content=backup&vmid=101")).json.data).toEqual([]);
    expect((await api(lab, "/nodes/pve1/storage/nas/content?content=backup&vmid=100")).json.data).toHaveLength(1);
  });

  it("the permission trap: a PVEAuditor token gets 200 [] where archives exist", async () => {
    const r = await api(lab, "/nodes/pve1/storage/nas/content?content=backup", { token: READONLY });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ data: [] });
    // Datastore.Allocate on the storage is enough on its own.
    lab.control.setTokenPrivileges(READONLY, [
      { path: "/", roles: ["PVEAuditor"] },
      { path: "/storage/nas", roles: ["PVEDatastoreAdmin"] },
    ]);
    expect(
      (await api(lab, "/nodes/pve1/storage/nas/content?content=backup", { token: READONLY })).json.data,
    ).toHaveLength(1);
    // AllocateSpace without VM.Backup on the guest: dropped again.
    lab.control.setTokenPrivileges(READONLY, [
      { path: "/", roles: ["PVEAuditor"] },
      { path: "/storage", roles: ["PVEDatastoreUser"] },
    ]);
    expect((await api(lab, "/nodes/pve1/storage/nas/content?content=backup", { token: READONLY })).json.data).toEqual(
      [],
    );
    lab.control.setTokenPrivileges(READONLY, [{ path: "/", roles: ["PVEAuditor"] }]);
  });

  it("deeper ACL entries replace inherited ones (PVE semantics)", async () => {
    lab.control.setTokenPrivileges(READONLY, [
      { path: "/", roles: ["PVEAuditor"] },
      { path: "/vms", privs: ["VM.Backup"] },
    ]);
    const rows = (await api(lab, "/cluster/resources?type=vm", { token: READONLY })).json.data;
    expect(rows).toEqual([]); // VM.Audit from / no longer reaches /vms/*
    lab.control.setTokenPrivileges(READONLY, [{ path: "/", roles: ["PVEAuditor"] }]);
  });

  it("/access/permissions tells a monitoring token what it may do", async () => {
    const ro = (await api(lab, "/access/permissions", { token: READONLY })).json.data;
    expect(ro["/"]).toMatchObject({ "VM.Audit": 1, "Sys.Audit": 1, "Datastore.Audit": 1 });
    expect(ro["/storage"]).not.toHaveProperty("Datastore.Allocate");
    expect(ro["/storage"]).not.toHaveProperty("Datastore.AllocateSpace");
    const br = (await api(lab, "/access/permissions?path=/storage/nas", { token: BRIDGE })).json.data;
    expect(Object.keys(br)).toEqual(["/storage/nas"]);
    expect(br["/storage/nas"]).toMatchObject({ "Datastore.AllocateSpace": 1, "Datastore.Audit": 1 });
    const vms = (await api(lab, "/access/permissions", { token: BRIDGE })).json.data;
    expect(vms["/vms"]).toMatchObject({ "VM.Backup": 1, "VM.Audit": 1 });
  });
});
