/**
 * GET /storage and GET /storage/{storage}: the storage configuration as pve-storage's
 * API2/Storage/Config.pm serves it, with `prune-backups` as storage.cfg's property string.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { startLab, type Lab } from "./index.js";
import { ADMIN, api as labApi, type ApiRequest, BRIDGE, READONLY, T0, twoNodeScenario } from "./testing.js";

const api = (l: Lab, path: string, req?: ApiRequest) => labApi<any>(l, path, req);
const NOSTORAGE = "vmonly@pve!t";

let lab: Lab;
beforeAll(async () => {
  const scenario = twoNodeScenario();
  scenario.storages![1]!["prune-backups"] = { "keep-daily": 7, "keep-weekly": "4" };
  scenario.storages!.push({ id: "usb", type: "dir", content: ["backup"], nodes: ["pve2"], enabled: 0 });
  scenario.storages!.push({
    id: "smb",
    type: "cifs",
    content: ["images"],
    server: "192.168.1.20",
    share: "vmdisks",
    subdir: "/pve",
    username: "pve",
    smbversion: "3",
  });
  scenario.tokens!.push({ id: NOSTORAGE, secret: "s", acl: [{ path: "/vms", roles: ["PVEAuditor"] }] });
  lab = await startLab({ scenario, clock: new ManualClock(T0), authFailDelayMs: 0 });
});
afterAll(() => lab.stop());

describe("GET /storage", () => {
  it("lists the configuration; prune-backups only when set, as a property string", async () => {
    const r = await api(lab, "/storage", { token: BRIDGE });
    expect(r.status).toBe(200);
    const rows = r.json.data as Record<string, unknown>[];
    expect(rows.map((s) => s.storage)).toEqual(["local", "nas", "smb", "usb"]);
    const [local, nas, smb, usb] = rows;
    expect(local).toEqual({
      storage: "local",
      type: "dir",
      content: "backup,iso",
      path: "/var/lib/vz",
      digest: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    expect(nas).toMatchObject({ storage: "nas", type: "nfs", "prune-backups": "keep-daily=7,keep-weekly=4" });
    expect(nas).not.toHaveProperty("shared");
    // Where network storages mount from: nfs server + export (path is only PVE's mount point),
    // cifs server + share + subdir; the CIFS password lives in /etc/pve/priv and is never listed.
    expect(nas).toMatchObject({ server: "nas.home.arpa", export: "/volume1/nas", path: "/mnt/pve/nas" });
    expect(smb).toEqual({
      storage: "smb",
      type: "cifs",
      content: "images",
      path: "/mnt/pve/smb",
      server: "192.168.1.20",
      share: "vmdisks",
      subdir: "/pve",
      username: "pve",
      smbversion: "3",
      digest: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    expect(usb).toMatchObject({ nodes: "pve2", disable: 1 });
    expect(new Set(rows.map((s) => s.digest)).size).toBe(1);
  });

  it("shows only storages with Datastore.Audit or AllocateSpace, never a 403; ?type filters", async () => {
    expect((await api(lab, "/storage", { token: READONLY })).json.data).toHaveLength(4);
    const none = await api(lab, "/storage", { token: NOSTORAGE });
    expect(none.status).toBe(200);
    expect(none.json.data).toEqual([]);
    expect((await api(lab, "/storage?type=nfs")).json.data.map((s: { storage: string }) => s.storage)).toEqual(["nas"]);
  });
});

describe("GET /storage/{storage}", () => {
  it("needs Datastore.Allocate on the storage, checked before the storage is looked up", async () => {
    const denied = await api(lab, "/storage/nas", { token: BRIDGE });
    expect(denied.status).toBe(403);
    expect(denied.statusMessage).toBe("Permission check failed (/storage/nas, Datastore.Allocate)");
    const one = await api(lab, "/storage/nas", { token: ADMIN });
    expect(one.json.data).toMatchObject({ storage: "nas", "prune-backups": "keep-daily=7,keep-weekly=4" });
    expect((await api(lab, "/storage/nope", { token: ADMIN })).status).toBe(500);
    expect((await api(lab, "/storage/nope", { token: BRIDGE })).status).toBe(403);
  });
});
