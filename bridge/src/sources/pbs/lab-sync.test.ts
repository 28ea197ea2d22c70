/**
 * GET /admin/sync in the simulated PBS by release, read with the bridge's PbsClient, as proxmox-backup's src/api2/admin/sync.rs:
 * 3.2 (`list_sync_jobs`) knows only `store` and its router refuses any other parameter with 400;
 * 3.3+ (`list_config_sync_jobs`) takes `sync-direction` pull|push|all and lists only pull jobs
 * without it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  pbsVersionAtLeast,
  startPbsLab,
  type PbsAclEntryInput,
  type PbsLab,
  type PbsScenario,
} from "backup2mqtt-lab/pbs";
import { ManualClock } from "backup2mqtt-lab";
import { PbsClient, type PbsError } from "./client.js";

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const TOKEN = "backup2mqtt@pbs!bridge";
let lab: PbsLab | undefined;
let client: PbsClient | undefined;
afterEach(async () => {
  await client?.close();
  await lab?.stop();
  lab = client = undefined;
});

const scenario = (version: string | undefined, acl?: PbsAclEntryInput[]): PbsScenario => ({
  ...(version ? { version } : {}),
  tokens: [{ id: TOKEN, secret: "sync-test-secret", ...(acl ? { acl } : {}) }],
  datastores: [
    {
      name: "store1",
      syncJobs: [
        {
          id: "s-offsite",
          remote: "offsite-pbs",
          remoteStore: "offsite",
          direction: "push",
          lastRun: { age: "4h", state: "OK" },
        },
        { id: "s-pull", remote: "old-pbs", remoteStore: "legacy", direction: "pull" },
      ],
    },
    { name: "store2", syncJobs: [{ id: "s-local", remoteStore: "store1", direction: "pull" }] },
  ],
});

async function start(version: string | undefined, acl?: PbsAclEntryInput[]) {
  lab = await startPbsLab({ scenario: scenario(version, acl), clock: new ManualClock(T0) });
  client = new PbsClient({
    url: lab.url,
    tokenId: TOKEN,
    tokenSecret: "sync-test-secret",
    fingerprint: lab.fingerprint,
    timeoutMs: 3000,
  });
  return client;
}
const ids = async (c: PbsClient, q?: Record<string, string>) =>
  (await c.get("/admin/sync", z.array(z.looseObject({ id: z.string() })), q)).map((j) => j.id).sort();
const refusal = (c: PbsClient, q: Record<string, string>) =>
  c.get("/admin/sync", z.unknown(), q).then(
    () => null,
    (e: PbsError) => e,
  );

describe("simulated PBS: sync jobs by release", () => {
  it("3.2 (the default, 3.2.4): every job without parameters; sync-direction refused with 400 and the router's text", async () => {
    const c = await start(undefined);
    expect(lab!.scenario.version).toBe("3.2.4");
    expect(await ids(c)).toEqual(["s-local", "s-offsite", "s-pull"]);
    expect(await ids(c, { store: "store1" })).toEqual(["s-offsite", "s-pull"]);
    const e = await refusal(c, { "sync-direction": "all" });
    expect(e).toMatchObject({ kind: "http", status: 400 });
    expect(e!.message).toBe(
      "GET /admin/sync: HTTP 400: parameter verification failed - 'sync-direction': schema does not allow additional properties.",
    );
    expect(lab!.requests.at(-1)).toMatchObject({ path: "/api2/json/admin/sync", status: 400 });
  });

  it.each(["3.3.0", "3.4.1", "4.0.11"])(
    "%s: only pull jobs without sync-direction; push, pull and all when asked",
    async (version) => {
      const c = await start(version);
      expect(await ids(c)).toEqual(["s-local", "s-pull"]);
      expect(await ids(c, { "sync-direction": "pull" })).toEqual(["s-local", "s-pull"]);
      expect(await ids(c, { "sync-direction": "push" })).toEqual(["s-offsite"]);
      expect(await ids(c, { "sync-direction": "all" })).toEqual(["s-local", "s-offsite", "s-pull"]);
      expect(await ids(c, { "sync-direction": "all", store: "store2" })).toEqual(["s-local"]);
      const all = await c.get("/admin/sync", z.array(z.looseObject({ id: z.string() })), { "sync-direction": "all" });
      expect(all.find((j) => j.id === "s-offsite")).toMatchObject({
        "sync-direction": "push",
        remote: "offsite-pbs",
        "remote-store": "offsite",
      });
      expect(all.find((j) => j.id === "s-pull")).not.toHaveProperty("sync-direction"); // pull: omitted
      expect((await refusal(c, { "sync-direction": "both" }))!.message).toMatch(
        /HTTP 400: parameter verification failed - 'sync-direction': value 'both' is not defined in the enumeration\.$/,
      );
    },
  );

  it("any release: an unknown parameter is refused the same way", async () => {
    for (const v of ["3.2.4", "3.3.0"]) {
      const c = await start(v);
      expect((await refusal(c, { direction: "push" }))!.message).toMatch(
        /HTTP 400: parameter verification failed - 'direction': schema does not allow additional properties\.$/,
      );
      await client!.close();
      await lab!.stop();
      lab = client = undefined;
    }
  });

  it("3.3+: a push job needs Remote.Audit on /remote/<remote>/<remote-store> (propagating), 3.2 on /remote/<remote> itself", async () => {
    const acl: PbsAclEntryInput[] = [
      { path: "/datastore", role: "DatastoreAudit" },
      { path: "/remote/offsite-pbs", role: "RemoteAudit", propagate: false },
    ];
    const c = await start("3.3.0", acl);
    expect(await ids(c, { "sync-direction": "push" })).toEqual([]);
    lab!.control.setAcl(TOKEN, [acl[0]!, { path: "/remote/offsite-pbs/offsite", role: "RemoteAudit" }]);
    lab!.control.setAcl("backup2mqtt@pbs", [acl[0]!, { path: "/remote/offsite-pbs/offsite", role: "RemoteAudit" }]);
    expect(await ids(c, { "sync-direction": "push" })).toEqual(["s-offsite"]);
  });

  it("compares release numbers", () => {
    expect(pbsVersionAtLeast("3.2.4", 3, 3)).toBe(false);
    expect(pbsVersionAtLeast("3.3.0", 3, 3)).toBe(true);
    expect(pbsVersionAtLeast("3.10.1", 3, 3)).toBe(true);
    expect(pbsVersionAtLeast("4.0", 3, 3)).toBe(true);
    expect(pbsVersionAtLeast("2.4.7", 3, 3)).toBe(false);
  });
});
