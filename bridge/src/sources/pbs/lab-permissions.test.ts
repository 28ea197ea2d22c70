/**
 * The simulated PBS enforces ACLs per endpoint the way proxmox-backup 3.2.4 does (the lab's pbs/index.ts lists the rules):
 * silently filtered lists where PBS filters, 403 with PBS's text where PBS refuses.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { startPbsLab, type PbsAclEntryInput, type PbsLab, type PbsScenario } from "backup2mqtt-lab/pbs";
import { ManualClock } from "backup2mqtt-lab";
import { PbsClient, type PbsError } from "./client.js";

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const TOKEN = "backup2mqtt@pbs!bridge";
const USER = "backup2mqtt@pbs";
let lab: PbsLab | undefined;
const clients: PbsClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await lab?.stop();
  lab = undefined;
});

const base = (acl: PbsAclEntryInput[] | undefined, userAcl?: PbsAclEntryInput[]): PbsScenario => ({
  tokens: [{ id: TOKEN, secret: "s3cret-token-value", ...(acl ? { acl } : {}) }],
  users: userAcl ? [{ id: USER, acl: userAcl }] : [],
  datastores: [
    {
      name: "store1",
      namespaces: ["pve-home"],
      snapshots: [
        { type: "vm", id: "100", age: "6h", owner: "pve@pbs!pve1" },
        { type: "vm", id: "101", age: "7h", owner: TOKEN },
        { ns: "pve-home", type: "ct", id: "105", age: "1d", owner: "pve@pbs!pve1" },
      ],
      verifyJobs: [{ id: "v-weekly", lastRun: { age: "2d", state: "OK" } }],
      syncJobs: [
        {
          id: "s-offsite",
          remote: "offsite-pbs",
          remoteStore: "offsite",
          direction: "push",
          lastRun: { age: "4h", state: "OK" },
        },
      ],
    },
    { name: "store2" },
  ],
});

async function client(sc: PbsScenario) {
  lab = await startPbsLab({ scenario: sc, clock: new ManualClock(T0) });
  const c = new PbsClient({
    url: lab.url,
    tokenId: TOKEN,
    tokenSecret: "s3cret-token-value",
    fingerprint: lab.fingerprint,
    timeoutMs: 3000,
  });
  clients.push(c);
  return c;
}
const list = (c: PbsClient, path: string, q?: Record<string, string>) => c.get(path, z.array(z.looseObject({})), q);
const fails = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: PbsError) => e,
  );

describe("simulated PBS: ACLs", () => {
  it("by default (no acl in the scenario) the token and its user may audit, read and verify every datastore and see remotes", async () => {
    const c = await client(base(undefined));
    expect((await list(c, "/admin/datastore")).map((d: any) => d.store)).toEqual(["store1", "store2"]);
    expect(await list(c, "/admin/sync")).toHaveLength(1);
    expect(await c.post("/admin/datastore/store1/verify", z.string())).toMatch(/^UPID:/);
    const perms = await c.get("/access/permissions", z.record(z.string(), z.record(z.string(), z.boolean())));
    expect(perms["/datastore"]).toEqual({ "Datastore.Audit": true, "Datastore.Read": true, "Datastore.Verify": true });
    expect(perms["/remote"]).toEqual({ "Remote.Audit": true });
    expect(perms).not.toHaveProperty("/system"); // no privileges there: not listed
  });

  it("no ACL: datastores are left out silently (200 []), listings are refused with PBS's text, sync jobs hidden", async () => {
    const c = await client(base([]));
    expect(await list(c, "/admin/datastore")).toEqual([]);
    expect(await list(c, "/admin/sync")).toEqual([]);
    expect(await list(c, "/admin/verify", { store: "store1" })).toEqual([]);
    expect(await list(c, "/admin/gc", { store: "store1" })).toEqual([]);
    const e = await fails(list(c, "/admin/datastore/store1/snapshots"));
    expect(e).toMatchObject({ kind: "permission", status: 403 });
    expect(e!.message).toMatch(
      /permission check failed - missing Datastore\.Audit\|Datastore\.Backup on \/datastore\/store1$/,
    );
    expect((await fails(list(c, "/admin/datastore/store1/snapshots", { ns: "pve-home" })))!.message).toMatch(
      /on \/datastore\/store1\/pve-home$/,
    );
    expect((await fails(c.get("/admin/datastore/store1/status", z.unknown())))!.message).toMatch(
      /403\): permission check failed$/,
    );
    expect((await fails(list(c, "/admin/datastore/store1/namespace")))!.message).toMatch(
      /403\): permission check failed$/,
    );
    // Privileges are checked before existence: nothing leaks about a datastore that does not exist.
    expect((await fails(list(c, "/admin/datastore/nope/snapshots")))!.status).toBe(403);
    const v = await fails(c.post("/admin/datastore/store1/verify", z.string()));
    expect(v!.message).toMatch(
      /permission check failed - missing Datastore\.Verify\|Datastore\.Backup on \/datastore\/store1$/,
    );
    expect(await c.get("/access/permissions", z.record(z.string(), z.unknown()))).toEqual({});
  });

  it("privilege separation: the token gets what it AND its user have", async () => {
    const audit: PbsAclEntryInput[] = [{ path: "/datastore/store1", role: "DatastoreAudit" }];
    let c = await client(base([], audit)); // only the user has it
    expect(await list(c, "/admin/datastore")).toEqual([]);
    await lab!.stop();
    c = await client(base(audit, [])); // only the token has it
    expect(await list(c, "/admin/datastore")).toEqual([]);
    lab!.control.setAcl(USER, audit); // now both
    expect((await list(c, "/admin/datastore")).map((d: any) => d.store)).toEqual(["store1"]);
    expect(await list(c, "/admin/datastore/store1/snapshots")).toHaveLength(2);
  });

  it("an ACL on another datastore shows that one only", async () => {
    const c = await client(base([{ path: "/datastore/store2", role: "DatastoreAudit" }]));
    expect((await list(c, "/admin/datastore")).map((d: any) => d.store)).toEqual(["store2"]);
    expect((await fails(list(c, "/admin/datastore/store1/groups")))!.status).toBe(403);
  });

  it("Datastore.Backup alone: 200 with only the groups the token owns — no error; verify accepted but owner-limited", async () => {
    const c = await client(base([{ path: "/datastore/store1", role: "DatastoreBackup" }]));
    expect((await list(c, "/admin/datastore")).map((d: any) => d.store)).toEqual(["store1"]);
    expect((await list(c, "/admin/datastore/store1/snapshots")).map((s: any) => s["backup-id"])).toEqual(["101"]);
    expect((await list(c, "/admin/datastore/store1/groups")).map((s: any) => s["backup-id"])).toEqual(["101"]);
    expect(await list(c, "/admin/datastore/store1/snapshots", { ns: "pve-home" })).toEqual([]);
    expect(await c.get("/admin/datastore/store1/status", z.looseObject({ total: z.number() }))).toMatchObject({
      total: 4_000_000_000_000,
    });
    expect(await list(c, "/admin/verify", { store: "store1" })).toEqual([]); // needs Audit or Verify
    expect(await c.post("/admin/datastore/store1/verify", z.string())).toMatch(/^UPID:/);
  });

  it("sync jobs with a remote also need Remote.Audit on /remote/<remote>; GET …/gc is a router check", async () => {
    const c = await client(base([{ path: "/datastore/store1", role: "DatastoreAudit" }]));
    expect(await list(c, "/admin/sync")).toEqual([]);
    lab!.control.setAcl(TOKEN, [
      { path: "/datastore/store1", role: "DatastoreAudit" },
      { path: "/remote/offsite-pbs", role: "RemoteAudit" },
    ]);
    lab!.control.setAcl(USER, [
      { path: "/datastore/store1", role: "DatastoreAudit" },
      { path: "/remote/offsite-pbs", role: "RemoteAudit" },
    ]);
    expect(await list(c, "/admin/sync")).toHaveLength(1);
    expect((await fails(c.get("/admin/datastore/store2/gc", z.unknown())))!.message).toMatch(
      /403\): permission check failed$/,
    );
  });

  it("a namespace ACL that replaces the datastore's: the namespace is left out of /namespace and its listing refused", async () => {
    const acl: PbsAclEntryInput[] = [
      { path: "/datastore/store1", role: "DatastoreAudit" },
      { path: "/datastore/store1/pve-home", role: "NoAccess" },
    ];
    const c = await client(base(acl));
    expect((await list(c, "/admin/datastore/store1/namespace")).map((n: any) => n.ns)).toEqual([""]);
    expect((await fails(list(c, "/admin/datastore/store1/snapshots", { ns: "pve-home" })))!.status).toBe(403);
  });

  it("task status: own tasks only (others need Sys.Audit on /system/tasks)", async () => {
    const c = await client(base(undefined));
    const upid = await c.post("/admin/datastore/store1/verify", z.string());
    expect(
      await c.get(`/nodes/localhost/tasks/${encodeURIComponent(upid)}/status`, z.looseObject({ status: z.string() })),
    ).toMatchObject({ status: "running" });
  });
});
