import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ManualClock } from "backup2mqtt-lab";
import { startPbsLab, type PbsLab, type PbsScenario } from "backup2mqtt-lab/pbs";
import { pbsLabSourceConfig } from "../../demo/lab-wiring.js";
import { createLogger } from "../../log.js";
import { PbsClient, PbsError } from "./client.js";
import { PbsSource } from "./source.js";
import { Snapshots } from "./schemas.js";

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const H = 3_600_000;
const log = createLogger("silent");
let lab: PbsLab | undefined;
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
});

const scenario: PbsScenario = {
  datastores: [
    {
      name: "store1",
      storages: ["pbs"],
      namespaces: ["pve-home", "pve-home/lab"],
      snapshots: [
        { type: "vm", id: "100", age: "6h", verification: "ok", comment: "homeassistant" },
        { type: "vm", id: "100", age: "30h" },
        { ns: "pve-home", type: "ct", id: "105", age: "7h" },
        { ns: "pve-home/lab", type: "vm", id: "200", age: "2d", verification: "failed" },
        { type: "host", id: "nas", age: "1d" },
      ],
      gc: { age: "10h", state: "OK" },
      verifyJobs: [{ id: "v-weekly", lastRun: { age: "3d", state: "WARNINGS: 1" } }],
      syncJobs: [
        {
          id: "s-offsite",
          remote: "hetzner",
          remoteStore: "offsite",
          direction: "push",
          lastRun: { age: "4h", state: "OK" },
        },
        {
          id: "s-pull",
          remote: "old-pbs",
          remoteStore: "legacy",
          direction: "pull",
          lastRun: { age: "1h", state: "remote 'old-pbs' unreachable: connection refused" },
        },
      ],
      corrupt: ["ct/105"],
    },
    { name: "fresh", namespaces: [], snapshots: [] },
  ],
};

async function start(clock = new ManualClock(T0)) {
  lab = await startPbsLab({ scenario, clock });
  return { lab, clock };
}

describe("PBS client against the simulated PBS", () => {
  it("authenticates with PBSAPIToken=user@realm!name:secret (colon) and reads data envelopes", async () => {
    const { lab } = await start();
    const t = lab.tokens[0]!;
    const c = new PbsClient({
      url: lab.url,
      tokenId: t.id,
      tokenSecret: t.secret,
      fingerprint: lab.fingerprint,
      timeoutMs: 3000,
    });
    const snaps = await c.get("/admin/datastore/store1/snapshots", Snapshots);
    expect(snaps.map((s) => s["backup-id"]).sort()).toEqual(["100", "100", "nas"]); // root namespace only
    expect(snaps.find((s) => s["backup-time"] === (T0 - 30 * H) / 1000)).not.toHaveProperty("verification"); // absent, not null
    await c.close();
  });

  it("plain-text errors: wrong secret → 401 auth error with the server's text, never the secret", async () => {
    const { lab } = await start();
    const c = new PbsClient({
      url: lab.url,
      tokenId: lab.tokens[0]!.id,
      tokenSecret: "not-the-secret-123",
      fingerprint: lab.fingerprint,
      timeoutMs: 3000,
    });
    const e = (await c.get("/admin/datastore", z.unknown()).catch((x: unknown) => x)) as PbsError;
    expect(e).toBeInstanceOf(PbsError);
    expect(e.kind).toBe("auth");
    expect(e.message).toMatch(/authentication failed - invalid credentials/);
    expect(e.message).not.toContain("not-the-secret-123");
    const bad = new PbsClient({
      url: lab.url,
      tokenId: lab.tokens[0]!.id,
      tokenSecret: lab.tokens[0]!.secret,
      fingerprint: lab.fingerprint,
      timeoutMs: 3000,
    });
    const e2 = (await bad.get("/admin/datastore/nope/status", z.unknown()).catch((x: unknown) => x)) as PbsError;
    expect(e2.message).toMatch(/HTTP 400: datastore 'nope' does not exist/);
    await c.close();
    await bad.close();
  });
});

describe("PBS source", () => {
  it("walks every namespace, counts verification states (absent = not verified), reads GC, verify and sync jobs with raw state text", async () => {
    const { lab, clock } = await start();
    const s = new PbsSource({ ...pbsLabSourceConfig(lab), datastores: [] }, log, () => clock.now());
    await s.refresh();
    expect(s.health).toMatchObject({ kind: "pbs", up: true, degraded: false });
    const d = s.datastores.find((x) => x.store === "store1")!;
    expect(d.namespaces).toEqual(["", "pve-home", "pve-home/lab"]);
    expect(d.snapshotCount).toBe(5);
    expect(d.groupCount).toBe(4);
    expect(d.verification).toEqual({ ok: 1, failed: 1, none: 3 });
    expect(d.lastBackupMs).toBe(T0 - 6 * H);
    expect(d.gc).toMatchObject({ state: "OK", ok: true, endMs: T0 - 10 * H });
    expect(d.lastVerify).toMatchObject({ id: "v-weekly", state: "WARNINGS: 1", ok: true });
    const pull = d.syncJobs.find((j) => j.id === "s-pull")!;
    expect(pull).toMatchObject({
      direction: "pull",
      ok: false,
      state: "remote 'old-pbs' unreachable: connection refused",
    });
    expect(d.used / d.total).toBeCloseTo(0.3);
    const fresh = s.datastores.find((x) => x.store === "fresh")!;
    expect(fresh).toMatchObject({ snapshotCount: 0, lastVerify: null, lastSync: null });
    expect(fresh.gc).toMatchObject({ state: null, endMs: null }); // GC never ran: upid null
    await s.close();
  });

  it("push sync job after the snapshot → an off-site copy target for the PVE storage; a failed last run → no known success", async () => {
    const { lab, clock } = await start();
    const s = new PbsSource(pbsLabSourceConfig(lab), log, () => clock.now());
    await s.refresh();
    expect(s.copyTargets()).toEqual([
      expect.objectContaining({
        kind: "pbs_sync",
        id: "s-offsite",
        storages: ["pbs"],
        offsite: true,
        lastSuccessMs: T0 - 4 * H,
        readable: true,
      }),
    ]);
    lab.control.setSyncRun("store1", "s-offsite", {
      endMs: T0 - H,
      state: "sync failed - remote 'hetzner': 401 Unauthorized",
    });
    await s.refresh();
    expect(s.copyTargets()[0]!.lastSuccessMs).toBeNull();
    await s.close();
  });

  it("verify on demand: returns a UPID, the task ends, and snapshots gain a verification state", async () => {
    const { lab, clock } = await start();
    const s = new PbsSource(pbsLabSourceConfig(lab), log, () => clock.now());
    const upid = await s.startVerify("store1");
    expect(upid).toMatch(
      /^UPID:pbs:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:verify:store1:backup2mqtt@pbs!bridge:$/,
    );
    expect((await s.taskStatus(upid)).status).toBe("running");
    clock.advance(31_000);
    expect(await s.taskStatus(upid)).toMatchObject({
      status: "stopped",
      exitstatus: "verification failed - please check the log for details",
    });
    await s.refresh();
    expect(s.datastores[0]!.verification).toEqual({ ok: 3, failed: 2, none: 0 });
    await s.close();
  });

  it("PBS unreachable → down (copies unknown); malformed → degraded; recovers", async () => {
    const { lab, clock } = await start();
    const s = new PbsSource(pbsLabSourceConfig(lab), log, () => clock.now());
    lab.control.setFault({ kind: "down" });
    await s.refresh();
    expect(s.health).toMatchObject({ up: false });
    expect(s.copyTargets()).toEqual([expect.objectContaining({ readable: false, storages: ["pbs"] })]);
    lab.control.setFault({ kind: "garbage", match: "/admin/sync" });
    await s.refresh();
    expect(s.health).toMatchObject({ up: true, degraded: true });
    lab.control.setFault(null);
    await s.refresh();
    expect(s.readable).toBe(true);
    await s.close();
  });
});

describe("PBS source: sync jobs on every release (GET /admin/sync)", () => {
  /** The /admin/sync requests of the last poll: their statuses, in order. */
  const syncCalls = (lab: PbsLab, from: number) =>
    lab.requests
      .slice(from)
      .filter((r) => r.path === "/api2/json/admin/sync")
      .map((r) => r.status);

  async function poll(s: PbsSource, lab: PbsLab) {
    const from = lab.requests.length;
    await s.refresh();
    return syncCalls(lab, from);
  }

  it.each(["3.3.0", "3.4.1", "4.0.11"])(
    "%s lists only pull jobs unless asked: the source asks for sync-direction=all, one request per poll",
    async (version) => {
      const clock = new ManualClock(T0);
      lab = await startPbsLab({ scenario: { ...scenario, version }, clock });
      const s = new PbsSource(pbsLabSourceConfig(lab), log, () => clock.now());
      expect(await poll(s, lab)).toEqual([200]);
      expect(
        s.datastores
          .find((d) => d.store === "store1")!
          .syncJobs.map((j) => `${j.id}:${j.direction}`)
          .sort(),
      ).toEqual(["s-offsite:push", "s-pull:pull"]);
      expect(s.copyTargets()).toEqual([
        expect.objectContaining({
          kind: "pbs_sync",
          id: "s-offsite",
          offsite: true,
          lastSuccessMs: T0 - 4 * H,
          readable: true,
        }),
      ]);
      expect(await poll(s, lab)).toEqual([200]);
      await s.close();
    },
  );

  it("3.2 refuses sync-direction (400): the source lists without it, remembers that, and asks again after an hour or an outage", async () => {
    const clock = new ManualClock(T0);
    lab = await startPbsLab({ scenario, clock }); // default version 3.2.4
    expect(lab.scenario.version).toBe("3.2.4");
    const lines: string[] = [];
    const s = new PbsSource(
      pbsLabSourceConfig(lab),
      createLogger("info", () => [], {
        write: (l: string) => {
          lines.push(l);
          return true;
        },
      } as unknown as NodeJS.WritableStream),
      () => clock.now(),
    );
    expect(await poll(s, lab)).toEqual([400, 200]);
    expect(s.health).toMatchObject({ up: true, degraded: false });
    expect(
      s.datastores
        .find((d) => d.store === "store1")!
        .syncJobs.map((j) => j.id)
        .sort(),
    ).toEqual(["s-offsite", "s-pull"]);
    expect(s.copyTargets()).toEqual([
      expect.objectContaining({ id: "s-offsite", lastSuccessMs: T0 - 4 * H, readable: true }),
    ]);
    expect(lines.filter((l) => l.includes("older than 3.3"))).toHaveLength(1);
    // Remembered: no refused request on the following polls.
    expect(await poll(s, lab)).toEqual([200]);
    clock.advance(30 * 60_000);
    expect(await poll(s, lab)).toEqual([200]);
    // An hour after the refusal it is asked again (an upgrade to 3.3 would be noticed), logged once.
    clock.advance(30 * 60_000);
    expect(await poll(s, lab)).toEqual([400, 200]);
    expect(await poll(s, lab)).toEqual([200]);
    // After an outage (PBS restarts when upgraded) too.
    lab.control.setFault({ kind: "down" });
    await s.refresh();
    lab.control.setFault(null);
    expect(await poll(s, lab)).toEqual([400, 200]);
    expect(lines.filter((l) => l.includes("older than 3.3"))).toHaveLength(1);
    expect(s.copyTargets()).toEqual([expect.objectContaining({ id: "s-offsite", readable: true })]);
    await s.close();
  });

  it("other refusals of /admin/sync are not taken for an old PBS", async () => {
    const clock = new ManualClock(T0);
    lab = await startPbsLab({ scenario: { ...scenario, version: "3.3.0" }, clock });
    const s = new PbsSource(pbsLabSourceConfig(lab), log, () => clock.now());
    lab.control.setFault({ kind: "http500", match: "/admin/sync" });
    expect(await poll(s, lab)).toEqual([500]);
    expect(s.health).toMatchObject({ up: true, degraded: true });
    lab.control.setFault(null);
    expect(await poll(s, lab)).toEqual([200]);
    expect(s.copyTargets()).toEqual([expect.objectContaining({ id: "s-offsite", readable: true })]);
    await s.close();
  });
});
