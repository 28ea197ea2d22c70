/**
 * One action at a time per guest (and per Hyper Backup task): bursts of commands that arrive
 * while the simulated PVE / NAS still answers the first one's request (a slow POST) start the
 * work once and refuse the rest with a reason naming the first request. Real lab over HTTPS, real
 * broker, real bridge, real HTTP API; no mocks.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../support/stack.js";
import { startHttp, type TestHttp } from "./http-helpers.js";
import { startSshDouble, type SshDouble } from "backup2mqtt-lab/ssh-double";

const STATE = (id: string) => `backup2mqtt/guest/${id}/state`;
const CMD = (id: string) => `backup2mqtt/guest/${id}/command`;
const EVENT = (id: string) => `backup2mqtt/guest/${id}/event`;
const HB = "backup2mqtt/hyperbackup/2";
const TOKEN = "guard-test-token-7c1d0e9a55";
/** Proxmox answers the vzdump POST after this long: every other press arrives while it is pending. */
const SLOW_MS = 1500;

let stack: Stack | undefined;
let http: TestHttp | undefined;
let ssh: SshDouble | undefined;
afterEach(async () => {
  await http?.close();
  await stack?.stop();
  await ssh?.stop();
  stack = http = ssh = undefined;
});

function events(s: Stack, topic: string, since: number) {
  return s.observer.messages
    .filter((m) => m.topic === topic && m.at >= since)
    .map((m) => JSON.parse(m.payload) as Record<string, any>);
}

/** vzdump tasks for one guest that the lab created since `labSince` (lab clock). */
function labBackups(s: Stack, vmid: number, labSince: number) {
  return s.lab.control.state.tasks.filter((t) => t.type === "vzdump" && t.id === String(vmid) && t.startMs >= labSince);
}

/** Waits for every backup of home_102 to end (the guest is judged ok, nothing running). */
async function idle(s: Stack) {
  await s.observer.until(
    "102 idle",
    () => {
      const st = s.observer.json(STATE("home_102"));
      return (
        st &&
        !st.running &&
        s.service.engine.store.inflight.length === 0 &&
        !s.service.engine.actions.guard.isHeld("backup:home_102")
      );
    },
    30_000,
  );
}

const postBackup = (i: number) =>
  fetch(`${http!.url}/api/v1/guests/home_102/backup`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ request_id: `http-${i}` }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, any> }));

describe("one backup per guest at a time", () => {
  it("bursts over MQTT, over HTTP and both at once against a slow PVE start exactly one vzdump each; the next press after the end is accepted", async () => {
    stack = await startStack({ broker: "embedded", lab: { scenario: "seed", taskSpeed: 20 } });
    const s = stack;
    http = await startHttp(s, TOKEN, { rateLimit: { windowMs: 60_000, limit: 1000 } });
    await s.observer.until(
      "102 idle",
      () => s.observer.json(STATE("home_102")) && !s.observer.json(STATE("home_102")).running,
    );
    s.lab.control.setFault({ kind: "slow", ms: SLOW_MS, pathPrefix: "/nodes/proxmox-home/vzdump" });
    const figures: Record<string, { sent: number; accepted: number; rejected: number; labTasks: number }> = {};

    // 1. Ten MQTT presses within milliseconds.
    let t = Date.now();
    let labT = s.lab.clock.now();
    for (let i = 0; i < 10; i++)
      await s.observer.publish(
        CMD("home_102"),
        JSON.stringify({ action: "backup", origin: "burst", request_id: `mqtt-${i}` }),
      );
    await s.observer.until(
      "9 rejections",
      () => events(s, EVENT("home_102"), t).filter((e) => e.event_type === "command_rejected").length >= 9,
    );
    await s.observer.until("started", () =>
      events(s, EVENT("home_102"), t).some((e) => e.event_type === "backup_started"),
    );
    await idle(s);
    let ev = events(s, EVENT("home_102"), t);
    const started = ev.filter((e) => e.event_type === "backup_started");
    const rejected = ev.filter((e) => e.event_type === "command_rejected");
    expect(started).toHaveLength(1);
    expect(rejected).toHaveLength(9);
    const first = started[0]!.request_id as string;
    for (const r of rejected)
      expect(r.reason).toMatch(
        new RegExp(
          `^a backup of vaultwarden \\(102\\) is already running \\(started by burst, request ${first} at \\d\\d:\\d\\d:\\d\\d, (just now|\\d+ seconds? ago)\\)$`,
        ),
      );
    expect(new Set([first, ...rejected.map((r) => r.request_id)]).size).toBe(10);
    expect(labBackups(s, 102, labT)).toHaveLength(1);
    figures.mqtt = {
      sent: 10,
      accepted: started.length,
      rejected: rejected.length,
      labTasks: labBackups(s, 102, labT).length,
    };

    // 2. Ten HTTP POSTs at once: one 202, nine 409 naming the first.
    t = Date.now();
    labT = s.lab.clock.now();
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => postBackup(i)));
    const ok = answers.filter((a) => a.status === 202);
    const conflict = answers.filter((a) => a.status === 409);
    expect(ok).toHaveLength(1);
    expect(conflict).toHaveLength(9);
    const firstHttp =
      events(s, EVENT("home_102"), t).find((e) => e.event_type === "backup_started") ??
      (await s.observer.until("started", () =>
        events(s, EVENT("home_102"), t).find((e) => e.event_type === "backup_started"),
      ));
    for (const c of conflict)
      expect(c.body.error).toMatch(
        new RegExp(
          `^a backup of vaultwarden \\(102\\) is already running \\(started by http, request ${firstHttp.request_id} at `,
        ),
      );
    await idle(s);
    expect(labBackups(s, 102, labT)).toHaveLength(1);
    figures.http = {
      sent: 10,
      accepted: ok.length,
      rejected: conflict.length,
      labTasks: labBackups(s, 102, labT).length,
    };

    // 3. Both at once: ten MQTT presses and ten HTTP POSTs interleaved; one accepted overall.
    t = Date.now();
    labT = s.lab.clock.now();
    const posts: Promise<{ status: number; body: Record<string, any> }>[] = [];
    for (let i = 0; i < 10; i++) {
      posts.push(postBackup(100 + i));
      await s.observer.publish(
        CMD("home_102"),
        JSON.stringify({ action: "backup", origin: "burst", request_id: `mixed-${i}` }),
      );
    }
    const mixed = await Promise.all(posts);
    await s.observer.until("all MQTT presses answered", () => {
      const e = events(s, EVENT("home_102"), t);
      const mqttAccepted = e.filter(
        (x) => x.event_type === "backup_started" && String(x.request_id).startsWith("mixed-"),
      ).length;
      const mqttRejected = e.filter(
        (x) => x.event_type === "command_rejected" && String(x.request_id).startsWith("mixed-"),
      ).length;
      return mqttAccepted + mqttRejected === 10;
    });
    await idle(s);
    ev = events(s, EVENT("home_102"), t);
    const mixedStarted = ev.filter((e) => e.event_type === "backup_started");
    const httpAccepted = mixed.filter((a) => a.status === 202).length;
    const mqttRejected = ev.filter(
      (e) => e.event_type === "command_rejected" && String(e.request_id).startsWith("mixed-"),
    ).length;
    expect(mixedStarted).toHaveLength(1);
    expect(httpAccepted + (10 - mqttRejected)).toBe(1);
    expect(mixed.filter((a) => a.status === 409)).toHaveLength(10 - httpAccepted);
    expect(labBackups(s, 102, labT)).toHaveLength(1);
    figures.mixed = {
      sent: 20,
      accepted: httpAccepted + (10 - mqttRejected),
      rejected: mixed.filter((a) => a.status === 409).length + mqttRejected,
      labTasks: labBackups(s, 102, labT).length,
    };

    // 4. After the end: accepted again.
    s.lab.control.setFault(null);
    t = Date.now();
    await s.observer.publish(
      CMD("home_102"),
      JSON.stringify({ action: "backup", origin: "burst", request_id: "after" }),
    );
    const again = await s.observer.until("accepted again", () =>
      events(s, EVENT("home_102"), t).find(
        (e) => e.event_type === "backup_started" || e.event_type === "command_rejected",
      ),
    );
    expect(again).toMatchObject({ event_type: "backup_started", request_id: "after" });
    await idle(s);
    process.stderr.write(`burst figures: ${JSON.stringify(figures)}\n`);
  }, 90_000);

  it("verify: ten presses for one guest start one verification and refuse nine naming the first", async () => {
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: "demo", taskSpeed: 20 },
      configure: async (cfg, lab) => {
        ssh = await startSshDouble(lab);
        cfg.proxmox[0]!.ssh = {
          host: "127.0.0.1",
          port: ssh.port,
          username: "root",
          privateKey: ssh.clientPrivateKey,
          hostKey: ssh.hostKeyFingerprint,
          nodes: {},
          timeoutMs: 10_000,
        };
        cfg.proxmox[0]!.verify = { automatic: false };
      },
    });
    const s = stack;
    await s.observer.until("100 ok", () => s.observer.json(STATE("home_100"))?.status === "ok");
    const t = Date.now();
    for (let i = 0; i < 10; i++)
      await s.observer.publish(CMD("home_100"), JSON.stringify({ action: "verify", origin: `press-${i}` }));
    await s.observer.until(
      "verify ended and 9 rejections",
      () => {
        const e = events(s, EVENT("home_100"), t);
        return (
          e.some((x) => x.event_type === "verify_finished" || x.event_type === "verify_failed") &&
          e.filter((x) => x.event_type === "command_rejected").length >= 9
        );
      },
      20_000,
    );
    const ev = events(s, EVENT("home_100"), t);
    expect(ev.filter((e) => e.event_type === "verify_started")).toHaveLength(1);
    const rejected = ev.filter((e) => e.event_type === "command_rejected");
    expect(rejected).toHaveLength(9);
    for (const r of rejected)
      expect(r.reason).toMatch(
        /^a verification of homeassistant \(100\) is already running \(started by press-0 at \d\d:\d\d:\d\d, /,
      );
    // One verification ran over SSH: one `pvesm path`.
    expect(ssh!.commands.filter((c) => c.startsWith("pvesm path"))).toHaveLength(1);
    // Its end released the guard: the next press verifies again.
    await s.observer.until("guard released", () => !s.service.engine.actions.guard.isHeld("verify:home_100"));
    const t2 = Date.now();
    await s.observer.publish(CMD("home_100"), JSON.stringify({ action: "verify", origin: "later" }));
    await s.observer.until("verified again", () =>
      events(s, EVENT("home_100"), t2).some((e) => e.event_type === "verify_started"),
    );
    process.stderr.write(
      `verify burst: sent 10, started ${ev.filter((e) => e.event_type === "verify_started").length}, rejected ${rejected.length}, pvesm path runs 1\n`,
    );
  }, 60_000);
});

describe("one Hyper Backup run per task at a time", () => {
  it("ten run presses against a slow NAS: one start request reaches the NAS, nine are refused naming the first", async () => {
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: "demo", taskSpeed: 20 },
      offsite: { pollMs: 400 },
    });
    const s = stack;
    const dsm = s.offsite!.dsm!;
    await s.observer.until("hb ok", () => s.observer.json(`${HB}/state`)?.status === "ok");
    dsm.control.setFault({ kind: "slow", ms: SLOW_MS });
    const startsBefore = dsm.requests.filter((r) => r.what === "SYNO.Backup.Task backup").length;
    const t = Date.now();
    for (let i = 0; i < 10; i++)
      await s.observer.publish(
        `${HB}/command`,
        JSON.stringify({ action: "run", origin: "burst", request_id: `hb-${i}` }),
      );
    await s.observer.until(
      "run_started and 9 rejections",
      () => {
        const e = events(s, `${HB}/event`, t);
        return (
          e.some((x) => x.event_type === "run_started") &&
          e.filter((x) => x.event_type === "command_rejected").length >= 9
        );
      },
      20_000,
    );
    dsm.control.setFault(null);
    const ev = events(s, `${HB}/event`, t);
    expect(ev.filter((e) => e.event_type === "run_started")).toHaveLength(1);
    const rejected = ev.filter((e) => e.event_type === "command_rejected");
    expect(rejected).toHaveLength(9);
    for (const r of rejected)
      expect(r.reason).toMatch(
        /^a run of Hyper Backup task '.+' is already running \(started by .+ at \d\d:\d\d:\d\d, /,
      );
    const starts = dsm.requests.filter((r) => r.what === "SYNO.Backup.Task backup").length - startsBefore;
    expect(starts).toBe(1);
    // The run's end (the NAS shows the task idle again) releases the guard: the next press runs again.
    await s.observer.until(
      "run over",
      () => s.observer.json(`${HB}/state`)?.status === "ok" && !s.service.engine.offsite.guard.isHeld("hyperbackup:2"),
      30_000,
    );
    const t2 = Date.now();
    await s.observer.publish(`${HB}/command`, JSON.stringify({ action: "run", origin: "later" }));
    await s.observer.until("run again", () => events(s, `${HB}/event`, t2).some((e) => e.event_type === "run_started"));
    process.stderr.write(
      `hyper backup burst: sent 10, started 1, rejected ${rejected.length}, start requests at the NAS ${starts}\n`,
    );
  }, 60_000);
});
