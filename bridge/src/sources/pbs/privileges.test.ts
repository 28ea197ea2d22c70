/**
 * The PBS source with tokens that may do less: what PBS hides (200 with fewer rows) or refuses
 * (403) makes the datastore `unreadable` with the missing privilege named — never counted as
 * "0 snapshots" — its copies unknown, and one log line per change.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "backup2mqtt-lab";
import { startPbsLab, type PbsAclEntryInput, type PbsLab, type PbsScenario } from "backup2mqtt-lab/pbs";
import { pbsLabSourceConfig } from "../../demo/lab-wiring.js";
import { createLogger } from "../../log.js";
import { pbsDatastoreState } from "../../extensions/mqtt/offsite-discovery.js";
import { pbsDatastoreHealth } from "../../policy/datastore.js";
import { PbsError } from "./client.js";
import { PbsSource } from "./source.js";

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const TOKEN = "backup2mqtt@pbs!bridge";
const SECRET = "privileges-test-secret-7f3a";
let lab: PbsLab | undefined;
let source: PbsSource | undefined;
afterEach(async () => {
  await source?.close();
  await lab?.stop();
  lab = source = undefined;
});

const scenario = (acl: PbsAclEntryInput[]): PbsScenario => ({
  tokens: [{ id: TOKEN, secret: SECRET, acl }],
  datastores: [
    {
      name: "store1",
      storages: ["pbs"],
      namespaces: ["pve-home"],
      snapshots: [
        { type: "vm", id: "100", age: "6h", owner: "pve@pbs!pve1" },
        { ns: "pve-home", type: "ct", id: "105", age: "1d", owner: "pve@pbs!pve1" },
      ],
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
  ],
});

async function start(acl: PbsAclEntryInput[]) {
  const clock = new ManualClock(T0);
  lab = await startPbsLab({ scenario: scenario(acl), clock });
  const lines: string[] = [];
  const log = createLogger("info", () => [SECRET], {
    write: (l: string) => {
      lines.push(l);
      return true;
    },
  } as unknown as NodeJS.WritableStream);
  source = new PbsSource(pbsLabSourceConfig(lab), log, () => clock.now());
  return { lab, source, lines };
}

const AUDIT: PbsAclEntryInput = { path: "/datastore/store1", role: "DatastoreAudit" };
const READER: PbsAclEntryInput = { path: "/datastore/store1", role: "DatastoreReader" };
const REMOTE: PbsAclEntryInput = { path: "/remote/offsite-pbs", role: "RemoteAudit" };

describe("PBS source: least privilege", () => {
  it("DatastoreAudit + RemoteAudit (the README's read-only roles): everything read, nothing unknown", async () => {
    const { source } = await start([AUDIT, REMOTE]);
    await source.refresh();
    expect(source.datastores[0]).toMatchObject({
      store: "store1",
      snapshotCount: 2,
      unreadable: null,
      syncUnreadable: null,
    });
    expect(source.copyTargets()).toEqual([expect.objectContaining({ id: "s-offsite", readable: true })]);
  });

  it("no ACL: the configured datastore is unknown, naming Datastore.Audit for user and token; its copies are unknown", async () => {
    const { source, lines } = await start([]);
    await source.refresh();
    expect(source.health).toMatchObject({ up: true, degraded: false }); // PBS answered: only this datastore is unknown
    const d = source.datastores[0]!;
    expect(d.unreadable).toMatch(
      /may not list the backups of PBS datastore 'store1'.*grant Datastore\.Audit on \/datastore\/store1 \(role DatastoreAudit\) to backup2mqtt@pbs and to backup2mqtt@pbs!bridge/,
    );
    expect(d.snapshotCount).toBe(0);
    expect(source.copyTargets()).toEqual([
      expect.objectContaining({ id: "store1:*", readable: false, storages: ["pbs"] }),
    ]);
    await source.refresh();
    const warned = lines.filter((l) => l.includes("PBS datastore 'store1' is unknown"));
    expect(warned).toHaveLength(1); // once, not every poll
    expect(lines.join("")).not.toContain(SECRET);
  });

  it("Datastore.Backup alone: PBS answers 200 with only the token's own groups — unknown, not a count of 0", async () => {
    const { source } = await start([{ path: "/datastore/store1", role: "DatastoreBackup" }, REMOTE]);
    await source.refresh();
    expect(lab!.requests.some((r) => r.path === "/api2/json/admin/datastore" && r.status === 200)).toBe(true);
    expect(source.datastores[0]!.unreadable).toMatch(
      /with Datastore\.Backup alone PBS lists only the backup groups the token owns/,
    );
    expect(source.verifyRefusal("store1")).toMatch(
      /PBS verifies only the backup groups the token owns\): grant Datastore\.Verify on \/datastore\/store1 \(role DatastoreReader\)/,
    );
  });

  it("without Remote.Audit the push sync jobs are hidden: sync unknown (copies unknown), the rest read", async () => {
    const { source, lines } = await start([AUDIT]);
    await source.refresh();
    const d = source.datastores[0]!;
    expect(d).toMatchObject({ unreadable: null, snapshotCount: 2, syncJobs: [] });
    expect(d.syncUnreadable).toMatch(/grant Remote\.Audit on \/remote\/<remote> \(role RemoteAudit\)/);
    expect(source.copyTargets()).toEqual([expect.objectContaining({ id: "store1:*", readable: false })]);
    expect(lines.filter((l) => l.includes("PBS sync jobs are unknown"))).toHaveLength(1);
  });

  it("verify: refused by PBS without Datastore.Verify (403, named); DatastoreReader may", async () => {
    const { lab, source } = await start([AUDIT, REMOTE]);
    await source.refresh();
    expect(source.verifyRefusal("store1")).toBeNull(); // no Backup either: PBS itself answers
    const e = await source.startVerify("store1").catch((x: PbsError) => x);
    expect(e).toBeInstanceOf(PbsError);
    expect((e as PbsError).message).toMatch(
      /permission check failed - missing Datastore\.Verify\|Datastore\.Backup on \/datastore\/store1: grant Datastore\.Verify on \/datastore\/store1 \(role DatastoreReader\)/,
    );
    lab.control.setAcl(TOKEN, [READER, REMOTE]);
    lab.control.setAcl("backup2mqtt@pbs", [READER, REMOTE]);
    expect(await source.startVerify("store1")).toMatch(/^UPID:/);
  });

  it("a revoked privilege is noticed on the next poll and the recovery logged", async () => {
    const { lab, source, lines } = await start([AUDIT, REMOTE]);
    await source.refresh();
    lab.control.setAcl(TOKEN, [REMOTE]);
    await source.refresh();
    expect(source.datastores[0]!.unreadable).toMatch(/Datastore\.Audit/);
    lab.control.setAcl(TOKEN, [AUDIT, REMOTE]);
    await source.refresh();
    expect(source.datastores[0]!.unreadable).toBeNull();
    expect(lines.some((l) => l.includes("PBS datastore 'store1' is readable again"))).toBe(true);
  });

  it("the device state of an unreadable datastore: unknown with the reason, numbers null (not 0), no problem judged", async () => {
    const { source } = await start([]);
    await source.refresh();
    const st = pbsDatastoreState(
      source.datastores[0]!,
      "store1",
      pbsDatastoreHealth(source.datastores[0]!, source.readable, { language: "en", timeZone: "UTC" }),
    );
    expect(st).toMatchObject({
      status: "unknown",
      problem: false,
      reasons: [],
      snapshot_count: null,
      usage: null,
      used: null,
      unverified: null,
      namespaces: null,
    });
    expect(st.status_reason).toMatch(/grant Datastore\.Audit on \/datastore\/store1/);
    lab!.control.setAcl(TOKEN, [AUDIT]);
    lab!.control.setAcl("backup2mqtt@pbs", [AUDIT]);
    await source.refresh();
    const partial = pbsDatastoreState(
      source.datastores[0]!,
      "store1",
      pbsDatastoreHealth(source.datastores[0]!, source.readable, { language: "en", timeZone: "UTC" }),
    );
    expect(partial).toMatchObject({ status: "unknown", snapshot_count: 2, last_sync: null, last_sync_state: null });
    expect(partial.status_reason).toMatch(/Remote\.Audit/);
  });

  it("when PBS will not tell the privileges, its 403 still names them: a namespace-only ACL leaves the root refused", async () => {
    const { lab, source, lines } = await start([
      { path: "/datastore/store1/pve-home", role: "DatastoreAudit" },
      REMOTE,
    ]);
    lab.control.setFault({ kind: "http500", match: "/access/permissions" });
    await source.refresh();
    expect(lines.some((l) => l.includes("cannot read the PBS token's privileges"))).toBe(true);
    expect(source.datastores[0]!.unreadable).toMatch(
      /permission denied \(403\): permission check failed - missing Datastore\.Audit\|Datastore\.Backup on \/datastore\/store1: grant Datastore\.Audit on \/datastore\/store1 \(role DatastoreAudit\)/,
    );
    expect(source.health).toMatchObject({ up: true, degraded: false });
  });
});
