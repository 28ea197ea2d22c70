import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "backup2mqtt-lab";
import { startDsmLab, type DsmLab, type DsmScenario } from "backup2mqtt-lab/dsm";
import { dsmLabSourceConfig } from "../../demo/lab-wiring.js";
import { createLogger } from "../../log.js";
import { hyperBackupHealth } from "../../policy/offsite.js";
import { DsmClient } from "./client.js";
import { DsmError } from "./errors.js";
import { SynologySource } from "./source.js";
import { formatNasTime, parseNasTime } from "./time.js";

const T0 = Date.UTC(2026, 2, 30, 10, 0, 0); // Monday 30 March 2026, the day after Europe's DST start
const H = 3_600_000;
const log = createLogger("silent");
let lab: DsmLab | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const tasks: DsmScenario["tasks"] = [
  {
    id: 2,
    name: "PVE dumps to C2",
    lastAttempt: { age: "5h" },
    lastSuccess: { age: "5h" },
    schedule: "04:00",
    protects: ["synology"],
    backupSeconds: 20,
  },
  {
    id: 4,
    name: "USB rotation",
    state: "restore_only",
    errorCode: 4467,
    error: "SYNO.SDS.Backup.Application:error:status_target_broken",
    lastAttempt: { age: "3d" },
    lastSuccess: { age: "10d" },
    integrity: { age: "2d", ok: false },
  },
  { id: 5, name: "Idle, no schedule", result: "none" },
];

async function start(extra: Partial<DsmScenario> = {}, clock = new ManualClock(T0)) {
  lab = await startDsmLab({ scenario: { timezone: "Europe/Berlin", tasks, ...extra }, clock });
  return { lab, clock };
}

function client(l: DsmLab, o: Partial<ConstructorParameters<typeof DsmClient>[0]> = {}) {
  const u = l.scenario.users[0]!;
  return new DsmClient({
    url: l.url,
    username: u.account,
    password: u.password,
    session: "webui",
    deviceName: "backup2mqtt",
    fingerprint: l.fingerprint,
    timeoutMs: 3000,
    ...o,
  });
}

const count = (l: DsmLab, what: string) => l.requests.filter((r) => r.what === what).length;

describe("NAS-local time strings", () => {
  it('parses "YYYY/MM/DD HH:MM", with seconds, schedule dashes, and "" → null', () => {
    expect(parseNasTime("2023/12/18 14:51", "UTC")).toBe(Date.UTC(2023, 11, 18, 14, 51));
    expect(parseNasTime("2023/12/18 14:51:07", "Europe/Berlin")).toBe(Date.UTC(2023, 11, 18, 13, 51, 7));
    expect(parseNasTime("2023-12-20 13:00", "Europe/Berlin")).toBe(Date.UTC(2023, 11, 20, 12, 0));
    expect(parseNasTime("", "Europe/Berlin")).toBeNull();
    expect(parseNasTime("yesterday", "UTC")).toBeUndefined();
  });
  it("across a DST change: the same wall clock is a different offset before and after", () => {
    // 28 March 2026 is CET (+1), 30 March CEST (+2).
    expect(parseNasTime("2026/03/28 03:00", "Europe/Berlin")).toBe(Date.UTC(2026, 2, 28, 2, 0));
    expect(parseNasTime("2026/03/30 03:00", "Europe/Berlin")).toBe(Date.UTC(2026, 2, 30, 1, 0));
    // 02:30 does not exist on 29 March (clocks jump 02:00 → 03:00): read as if not yet changed.
    expect(parseNasTime("2026/03/29 02:30", "Europe/Berlin")).toBe(Date.UTC(2026, 2, 29, 1, 30));
    // 02:30 happens twice on 25 October: the earlier (CEST) instant.
    expect(parseNasTime("2026/10/25 02:30", "Europe/Berlin")).toBe(Date.UTC(2026, 9, 25, 0, 30));
    expect(parseNasTime("2026/10/25 03:30", "Europe/Berlin")).toBe(Date.UTC(2026, 9, 25, 2, 30));
  });
  it("format and parse round-trip in another zone", () => {
    const ms = Date.UTC(2026, 6, 1, 22, 15);
    expect(formatNasTime(ms, "America/New_York")).toBe("2026/07/01 18:15");
    expect(parseNasTime(formatNasTime(ms, "America/New_York"), "America/New_York")).toBe(ms);
  });
});

describe("DSM client against the simulated NAS", () => {
  it("DSM 7: discovery, v7 login on entry.cgi with format=sid and a session name, Hyper Backup status with additional fields", async () => {
    const { lab } = await start();
    const c = client(lab);
    const apis = await c.discover();
    expect(apis["SYNO.API.Auth"]).toMatchObject({ path: "entry.cgi", maxVersion: 7 });
    const list = await c.listTasks();
    expect(list.task_list.map((t) => t.task_id)).toEqual([2, 4, 5]);
    const st = await c.taskStatus(2);
    expect(st.last_bkp_error_code).toBe(4401);
    expect(parseNasTime(st.last_bkp_success_time, "Europe/Berlin")).toBe(T0 - 5 * H);
    expect(parseNasTime(st.next_bkp_time, "Europe/Berlin")).toBe(Date.UTC(2026, 2, 31, 2, 0)); // 04:00 CEST
    expect((await c.taskStatus(5)).last_bkp_success_time).toBe("");
    expect(lab.requests.find((r) => r.what === "SYNO.API.Auth login")!.path).toBe("/webapi/entry.cgi");
    await c.close();
    expect(lab.control.sessionCount()).toBe(0); // logged out on close
  });

  it("DSM 6: auth.cgi, API v6", async () => {
    const { lab } = await start({ dsm: 6 });
    const c = client(lab);
    expect((await c.discover())["SYNO.API.Auth"]).toMatchObject({ path: "auth.cgi", maxVersion: 6 });
    await c.login();
    expect(lab.requests.find((r) => r.what === "SYNO.API.Auth login")!.path).toBe("/webapi/auth.cgi");
    await c.close();
  });

  for (const dsm of [7, 6] as const) {
    it(`2FA on DSM ${dsm}: first login asks for the code, the OTP login returns the device token (${dsm === 7 ? "device_id" : "did"}), later logins use it`, async () => {
      const { lab } = await start({
        dsm,
        users: [{ account: "admin2fa", password: "pw-2fa-secret", otp: "123456", admin: true }],
      });
      const noOtp = client(lab);
      const err = await noOtp.login().catch((e) => e);
      expect(err).toBeInstanceOf(DsmError);
      expect(err.kind).toBe("otp_required");
      expect(err.message).toMatch(/dsm-login .*--otp/);
      expect(err.message).not.toContain("pw-2fa-secret");
      const wrong = await client(lab)
        .login("000000")
        .catch((e) => e);
      expect(wrong.kind).toBe("otp_invalid");
      const stored: string[] = [];
      const first = client(lab, { onDeviceToken: (t) => stored.push(t) });
      const { deviceToken } = await first.login("123456");
      expect(deviceToken).toHaveLength(86);
      expect(stored).toEqual([deviceToken]);
      await first.close();
      const later = client(lab, { deviceToken });
      await later.listTasks(); // no OTP
      await later.close();
    });
  }

  it("DSM 7.0.1 quirk: an empty device_id is not stored", async () => {
    const { lab } = await start({
      emptyDeviceId: true,
      users: [{ account: "a", password: "p-secret", otp: "123456", admin: true }],
    });
    const stored: string[] = [];
    const c = client(lab, { onDeviceToken: (t) => stored.push(t) });
    expect((await c.login("123456")).deviceToken).toBeUndefined();
    expect(stored).toEqual([]);
    await c.close();
  });

  it("session expiry (106) → one re-login, the call succeeds", async () => {
    const { lab } = await start();
    const c = client(lab);
    await c.listTasks();
    expect(count(lab, "SYNO.API.Auth login")).toBe(1);
    lab.control.expireSessions();
    await c.listTasks();
    expect(count(lab, "SYNO.API.Auth login")).toBe(2);
    await c.close();
  });

  it("wrong password → a clear auth error, not retried on every poll (lockout risk)", async () => {
    const { lab } = await start();
    const c = client(lab, { password: "wrong-password-123" });
    const e1 = await c.listTasks().catch((e) => e);
    expect(e1.kind).toBe("auth");
    expect(e1.message).toMatch(/DSM login failed \(400\): no such account or incorrect password/);
    expect(e1.message).not.toContain("wrong-password-123");
    const e2 = await c.listTasks().catch((e) => e);
    expect(e2).toBe(e1);
    expect(count(lab, "SYNO.API.Auth login")).toBe(1);
    await c.close();
  });

  it("a non-admin account gets 105 on Hyper Backup", async () => {
    const { lab } = await start({ users: [{ account: "viewer", password: "pw-viewer", admin: false }] });
    const e = await client(lab)
      .listTasks()
      .catch((x) => x);
    expect(e.kind).toBe("permission");
    expect(e.message).toMatch(/administrators/);
  });
});

describe("Synology source", () => {
  function source(l: DsmLab, clock: ManualClock) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-dsm-"));
    dirs.push(dir);
    return { s: new SynologySource(dsmLabSourceConfig(l), log, () => clock.now(), dir), dir };
  }

  it("reads tasks: last attempt/success/next run in NAS time, 4401 healthy, restore_only broken, never run → null, integrity from the log", async () => {
    const { lab, clock } = await start();
    const { s } = source(lab, clock);
    await s.refresh();
    expect(s.health).toMatchObject({ kind: "synology", up: true, degraded: false });
    const [t2, t4, t5] = s.tasks;
    expect(t2).toMatchObject({
      taskId: 2,
      lastSuccessMs: T0 - 5 * H,
      errorCode: 4401,
      error: null,
      protects: ["synology"],
      offsite: true,
      progress: null,
    });
    expect(hyperBackupHealth(t2!, true, 26 * H, clock.now(), { language: "en", timeZone: "UTC" }).status).toBe("ok");
    expect(t4).toMatchObject({ state: "restore_only", errorCode: 4467 });
    expect(t4!.integrity).toMatchObject({ ok: false, timeMs: T0 - 48 * H });
    expect(hyperBackupHealth(t4!, true, 26 * H, clock.now(), { language: "en", timeZone: "UTC" }).status).toBe(
      "broken",
    );
    expect(t5).toMatchObject({ lastResult: "none", lastAttemptMs: null, lastSuccessMs: null, nextRunMs: null });
    expect(hyperBackupHealth(t5!, true, 26 * H, clock.now(), { language: "en", timeZone: "UTC" }).status).toBe("never");
    expect(s.copyTargets()).toEqual([
      expect.objectContaining({
        kind: "hyperbackup",
        id: "2",
        storages: ["synology"],
        lastSuccessMs: T0 - 5 * H,
        readable: true,
      }),
    ]);
    await s.close();
  });

  it("run now: running with progress (sizes are strings), then done with a new last success", async () => {
    const { lab, clock } = await start();
    const { s } = source(lab, clock);
    await s.refresh();
    await s.runTask(2);
    clock.advance(10_000);
    await s.refresh();
    expect(s.tasks[0]).toMatchObject({ status: "backup", lastResult: "backingup", progress: 50 });
    expect(hyperBackupHealth(s.tasks[0]!, true, 26 * H, clock.now(), { language: "en", timeZone: "UTC" }).status).toBe(
      "running",
    );
    clock.advance(15_000);
    await s.refresh();
    // DSM writes minutes only (older builds): 10:00:20 reads back as 10:00.
    expect(s.tasks[0]).toMatchObject({ status: "none", lastResult: "done", lastSuccessMs: T0 });
    await s.close();
  });

  it("NAS unreachable → source down, tasks unknown (never stale), copies unknown; back → recovered", async () => {
    const { lab, clock } = await start();
    const { s } = source(lab, clock);
    await s.refresh();
    lab.control.setFault({ kind: "down" });
    clock.advance(40 * 24 * H);
    await s.refresh();
    expect(s.health).toMatchObject({ up: false, degraded: false });
    expect(s.health.error).toMatch(/NAS unreachable/);
    expect(
      hyperBackupHealth(s.tasks[0]!, s.readable, 26 * H, clock.now(), { language: "en", timeZone: "UTC" }).status,
    ).toBe("unknown");
    expect(s.copyTargets()[0]!.readable).toBe(false);
    lab.control.setFault(null);
    await s.refresh();
    expect(s.readable).toBe(true);
    await s.close();
  });

  it("never reached → configured tasks are unknown copy targets (no no_offsite guessed)", async () => {
    const { lab, clock } = await start();
    lab.control.setFault({ kind: "down" });
    const { s } = source(lab, clock);
    await s.refresh();
    expect(s.copyTargets()).toEqual([expect.objectContaining({ id: "2", readable: false, storages: ["synology"] })]);
    await s.close();
  });

  it("malformed answer → degraded with a clear error; the next good answer recovers", async () => {
    const { lab, clock } = await start();
    const { s } = source(lab, clock);
    await s.refresh();
    lab.control.setFault({ kind: "garbage", match: "SYNO.Backup.Task list" });
    await s.refresh();
    expect(s.health).toMatchObject({ up: true, degraded: true });
    expect(s.health.error).toMatch(/not JSON/);
    lab.control.setFault(null);
    await s.refresh();
    expect(s.health.degraded).toBe(false);
    await s.close();
  });

  it("stores the device token from a first 2FA login in state_dir and uses it on the next start", async () => {
    const { lab, clock } = await start({
      users: [{ account: "admin2fa", password: "pw-2fa-secret", otp: "654321", admin: true }],
    });
    const { s, dir } = source(lab, clock);
    await s.refresh();
    expect(s.health.error).toMatch(/2-step verification code required/);
    // What `backup2mqtt dsm-login --otp` does, from another process: log in with the code, store the token.
    const cli = client(lab, {
      username: "admin2fa",
      password: "pw-2fa-secret",
      onDeviceToken: (t) =>
        fs.writeFileSync(path.join(dir, "dsm-nas.json"), JSON.stringify({ device_token: t }), { mode: 0o600 }),
    });
    await cli.login("654321");
    await cli.close();
    await s.refresh(); // the running source picks the token up
    expect(s.health.up).toBe(true);
    const file = JSON.parse(fs.readFileSync(path.join(dir, "dsm-nas.json"), "utf8"));
    expect(file.device_token).toBe(lab.control.deviceTokens()[0]);
    expect(fs.statSync(path.join(dir, "dsm-nas.json")).mode & 0o777).toBe(0o600);
    await s.close();
    const again = new SynologySource(dsmLabSourceConfig(lab), log, () => clock.now(), dir);
    await again.refresh();
    expect(again.health.up).toBe(true);
    await again.close();
  });
});
