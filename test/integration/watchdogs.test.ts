/**
 * The watchdogs with the real lab (HTTPS) and a real broker: a backup job that ran every night and
 * did not run last night (job_missed on its guest, the bridge's Missed jobs count), a vzdump that
 * runs far longer than its guest's backups usually take (overrunning + backup_overrunning), and the
 * opt-in Stop backup button, which ends it the way PVE's stop does (DELETE of the task: the backup
 * fails "interrupted by signal").
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Scenario } from "backup2mqtt-lab";
import { resolveTiers } from "../../bridge/src/config/tiers.js";
import { describeErrors, schemaValidator } from "../../bridge/src/util/schemas.js";
import { startStack, type Stack } from "../support/stack.js";

const STATE = (id: string) => `backup2mqtt/guest/${id}/state`;
const CMD = (id: string) => `backup2mqtt/guest/${id}/command`;
const EVENT = (id: string) => `backup2mqtt/guest/${id}/event`;
const CONFIG = (id: string) => `homeassistant/device/backup2mqtt_${id}/config`;
const INFO = "backup2mqtt/bridge/info";

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/** "HH:MM" in UTC, `ms` before now: a daily schedule whose last due instant is that old. */
function dailyAt(agoMs: number): string {
  const d = new Date(Date.now() - agoMs);
  return `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
}

const BRIDGE = "backup2mqtt@pve!bridge";
function scenario(o: { sysModify?: boolean } = {}): Scenario {
  return {
    cluster: "watch",
    nodes: [{ name: "pve1", timezone: "UTC" }],
    storages: [{ id: "nas", type: "nfs", shared: 1, content: "backup" }],
    guests: [
      { vmid: 100, type: "qemu", name: "web", node: "pve1", tags: ["backup-p1"], backupSeconds: 60 },
      { vmid: 101, type: "lxc", name: "dns", node: "pve1", tags: ["backup-p2"], backupSeconds: 30 },
      // A big VM: its backups took a minute before; tonight's has been running for an hour.
      { vmid: 102, type: "qemu", name: "bigdb", node: "pve1", tags: ["backup-p1"], backupSeconds: 60 },
    ],
    jobs: [
      {
        id: "backup-web",
        comment: "web nightly",
        // Due 2 h ago (past the 1 h grace) and it did not run; it ran at that time the two nights before.
        schedule: dailyAt(2 * 3_600_000),
        enabled: 1,
        vmid: [100],
        storage: "nas",
      },
    ],
    tasks: [
      { age: "50h", job: "backup-web", guests: [{ vmid: 100 }] },
      { age: "26h", job: "backup-web", guests: [{ vmid: 100 }] },
      { age: "60h", storage: "nas", guests: [{ vmid: 102, seconds: 60 }] },
      { age: "36h", storage: "nas", guests: [{ vmid: 102, seconds: 60 }] },
      // Started an hour ago as root@pam (a job's or the GUI's), ten hours to go.
      { age: "1h", storage: "nas", guests: [{ vmid: 102, seconds: 36_000 }] },
    ],
    tokens: [
      {
        id: BRIDGE,
        secret: "11111111-2222-3333-4444-555555555555",
        acl: [
          { path: "/", roles: ["PVEAuditor"] },
          { path: "/storage", roles: ["PVEAuditor"], privs: ["Datastore.AllocateSpace"] },
          { path: "/vms", roles: ["PVEAuditor"], privs: ["VM.Backup"] },
          // Stopping a task the token did not start (PVE's Tasks.pm stop_task). An ACL on a deeper
          // path replaces the inherited one there, so the auditor role is given again.
          ...(o.sysModify === false ? [] : [{ path: "/nodes/pve1", roles: ["PVEAuditor"], privs: ["Sys.Modify"] }]),
        ],
      },
    ],
  } as Scenario;
}

function events(s: Stack, id: string) {
  return s.observer.messages.filter((m) => m.topic === EVENT(id)).map((m) => JSON.parse(m.payload));
}
async function waitEvent(s: Stack, id: string, type: string, timeoutMs = 15_000) {
  const ev: Record<string, any> = await s.observer
    .until(`${type} on ${id}`, () => events(s, id).find((e) => e.event_type === type), timeoutMs)
    .catch((e: Error) => {
      throw new Error(`${e.message}\nevents on ${id}: ${JSON.stringify(events(s, id))}`);
    });
  const v = schemaValidator("event");
  if (!v(ev)) throw new Error(describeErrors(v));
  return ev;
}

describe("watchdogs", () => {
  it("a job that did not run → job_missed and the Missed jobs count; a hung vzdump → overrunning and backup_overrunning; Stop backup ends it", async () => {
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: scenario() },
      configure: (cfg) => {
        cfg.tiers = resolveTiers({ P1: { allow_stop: true } });
      },
    });
    const s = stack;

    // Missed job, on MQTT: the guest's finding (a problem: its P1 tier relies on that daily job) …
    const web = await s.observer.until("web's job_missed", () => {
      const st = s.observer.json(STATE("home_100"));
      return st?.findings?.some((f: { code: string }) => f.code === "job_missed") && st;
    });
    const missed = web.findings.find((f: { code: string }) => f.code === "job_missed");
    expect(missed.reason).toMatch(
      /^Backup job web nightly was due on \w{3} \d+ \w{3}, \d\d:\d\d and has not run on node pve1\.$/,
    );
    expect(web.problem).toBe(true);
    // … and the bridge's list of missed jobs (the Missed jobs sensor's state and attributes).
    const info: Record<string, any> = await s.observer.until("missed_jobs in bridge info", () => {
      const i = s.observer.json(INFO);
      return i?.missed_jobs?.length && i;
    });
    expect(info.missed_jobs).toEqual([
      {
        job: "backup-web",
        comment: "web nightly",
        source: "pve",
        due: expect.stringMatching(/Z$/),
        nodes: ["pve1"],
        guests: ["home_100"],
        repeat_missed: false,
      },
    ]);
    const v = schemaValidator("bridge-info");
    if (!v(info)) throw new Error(describeErrors(v));
    const bridgeCfg = s.observer.json(CONFIG("home_bridge"));
    expect(bridgeCfg.components.missed_jobs).toMatchObject({ p: "sensor", name: "Missed jobs" });
    // Remembered in state_dir for the next start.
    expect(s.service.engine.store.jobsDue["pve/backup-web"]).toMatchObject({
      dueMs: Date.parse(info.missed_jobs[0].due),
    });

    // The vzdump of bigdb runs an hour where its backups took a minute: overrunning, told once.
    const big = await s.observer.until("bigdb overrunning", () => {
      const st = s.observer.json(STATE("home_102"));
      return st?.findings?.some((f: { code: string }) => f.code === "overrunning") && st;
    });
    expect(big.status).toBe("running");
    expect(big.problem).toBe(true);
    expect(big.findings.find((f: { code: string }) => f.code === "overrunning").reason).toMatch(
      /^The backup running since .+ has taken longer than 15 minutes\.$/,
    );
    const overrun = await waitEvent(s, "home_102", "backup_overrunning");
    expect(overrun.upid).toMatch(/^UPID:pve1:/);
    expect(overrun.reason).toMatch(/has taken longer than 15 minutes/);

    // Stop backup: on the guest device only where the tier allows it.
    const bigCfg = await s.observer.until("bigdb discovery", () => s.observer.json(CONFIG("home_102")));
    expect(bigCfg.components.stop_backup).toMatchObject({
      p: "button",
      payload_press: '{"action":"stop_backup","origin":"home_assistant"}',
    });
    const dnsCfg = await s.observer.until("dns discovery", () => s.observer.json(CONFIG("home_101")));
    expect(dnsCfg.components.stop_backup).toBeUndefined();

    // Refused where the tier does not allow it, and where nothing runs.
    await s.observer.publish(CMD("home_101"), '{"action":"stop_backup"}');
    expect((await waitEvent(s, "home_101", "command_rejected")).reason).toBe(
      "Tier P2 does not allow stopping backups (set allow_stop: true).",
    );
    await s.observer.publish(CMD("home_100"), '{"action":"stop_backup"}');
    expect((await waitEvent(s, "home_100", "command_rejected")).reason).toBe(
      "No backup of this guest is running, so there is nothing to stop.",
    );

    // Pressed: PVE's stop (DELETE of the task); the backup fails "interrupted by signal".
    await s.observer.publish(CMD("home_102"), '{"action":"stop_backup","origin":"home_assistant"}');
    const failed = await waitEvent(s, "home_102", "backup_failed");
    expect(failed.upid).toBe(overrun.upid);
    expect(failed.error).toMatch(/interrupted by signal/);
    const after = await s.observer.until("bigdb no longer running", () => {
      const st = s.observer.json(STATE("home_102"));
      return st && !st.running && st;
    });
    expect(after.findings.map((f: { code: string }) => f.code)).not.toContain("overrunning");
    const audit = s.service.engine.store.readAudit().filter((a) => a.action === "stop_backup");
    expect(audit.map((a) => [a.target, a.result, a.origin])).toEqual([
      ["home_101", "rejected", "mqtt"],
      ["home_100", "rejected", "mqtt"],
      ["home_102", "accepted", "home_assistant"],
    ]);
    expect(audit[2]!.detail).toContain(overrun.upid);
    // Only one backup_overrunning for that task.
    expect(events(s, "home_102").filter((e) => e.event_type === "backup_overrunning")).toHaveLength(1);
  });

  it("Stop backup of a task the token did not start, without Sys.Modify on the node: refused, saying which privilege PVE wants", async () => {
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: scenario({ sysModify: false }) },
      configure: (cfg) => {
        cfg.tiers = resolveTiers({ P1: { allow_stop: true } });
      },
    });
    const s = stack;
    await s.observer.until("bigdb running", () => s.observer.json(STATE("home_102"))?.running);
    await s.observer.publish(CMD("home_102"), '{"action":"stop_backup"}');
    const rej = await waitEvent(s, "home_102", "command_rejected");
    expect(rej.reason).toMatch(
      /^Proxmox did not stop the backup: permission denied \(403\).*Sys\.Modify on \/nodes\/pve1/,
    );
    expect(s.observer.json(STATE("home_102"))?.running).toBe(true);
  });
});
