import https from "node:https";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { type DsmLab, startDsmLab } from "./index.js";
import { IkHandshake, x25519KeyPair } from "./noise.js";

let lab: DsmLab | undefined;
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
});

const clock = new ManualClock(Date.parse("2026-03-10T12:00:00Z"));
const start = () =>
  startDsmLab({
    scenario: {
      timezone: "Europe/Berlin",
      tasks: [{ id: 2, name: "remote", lastAttempt: { age: "3h" }, lastSuccess: { age: "3h" }, schedule: "05:00" }],
      vaultTargets: [
        { id: 1, name: "FriendsNAS_1", lastBackup: { age: "1h" }, durationSeconds: 15, usedBytes: 746496 },
      ],
    },
    clock,
  });

async function post(
  path: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{
  json: { success: boolean; data?: Record<string, unknown>; error?: { code: number } };
  cookies: string[];
}> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${lab!.url}/webapi/${path}`,
      {
        method: "POST",
        ca: lab!.certPem,
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => resolve({ json: JSON.parse(text), cookies: res.headers["set-cookie"] ?? [] }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const login = { api: "SYNO.API.Auth", version: "7", method: "login", account: "backup2mqtt", session: "webui" };

describe("DSM 7 encrypted login", () => {
  it("UIConfig's _SSID key, an IK message 1 in the login, DSM's message 2 back, X-SYNO-HASH checked", async () => {
    lab = await start();
    const ui = await post("entry.cgi/SYNO.API.Auth.UIConfig", {
      api: "SYNO.API.Auth.UIConfig",
      method: "get",
      version: "1",
    });
    expect(ui.json).toEqual({ data: [], success: true });
    const ssid = /^_SSID=([A-Za-z0-9_-]+);/.exec(ui.cookies[0] ?? "")?.[1];
    expect(ssid).toHaveLength(43);
    const init = new IkHandshake({ initiator: true, s: x25519KeyPair(), rs: Buffer.from(ssid!, "base64url") });
    const ik = init.writeMessage1(Buffer.from(JSON.stringify({ time: 1773144000 }))).toString("base64url");

    const wrong = await post("auth.cgi", { ...login, passwd: "nope", ik_message: ik, format: "cookie" });
    expect(wrong.json).toEqual({ error: { code: 400 }, success: false });

    const init2 = new IkHandshake({ initiator: true, s: x25519KeyPair(), rs: Buffer.from(ssid!, "base64url") });
    const ik2 = init2.writeMessage1(Buffer.from(JSON.stringify({ time: 1773144000 }))).toString("base64url");
    const res = await post("auth.cgi", {
      ...login,
      passwd: "hyper-backup-demo",
      ik_message: ik2,
      format: "cookie",
      enable_syno_token: "yes",
    });
    expect(res.json.success).toBe(true);
    const sid = res.json.data!.sid as string;
    expect(res.cookies[0]).toMatch(new RegExp(`^id=${sid};expires=.+ GMT;max-age=604800;path=/;HttpOnly$`));
    const { transport } = init2.readMessage2(Buffer.from(res.json.data!.ik_message as string, "base64url"));
    expect(lab.control.noise().handshakes).toBe(1);

    // The session by cookie, with a request hash as synology-api builds it.
    const hash = (n: bigint) =>
      `${transport.handshakeHash.toString("base64url").slice(0, 8)}${transport.send.encryptWithAd(Buffer.alloc(0), Buffer.alloc(0)).toString("base64url")}.${Buffer.from(String(n)).toString("base64url")}`;
    const list = { api: "SYNO.Backup.Task", version: "1", method: "list" };
    const r1 = await post("entry.cgi", list, { cookie: `id=${sid}`, "x-syno-hash": hash(0n) });
    expect(r1.json.success).toBe(true);
    await post("entry.cgi", list, { cookie: `id=${sid}`, "x-syno-hash": hash(5n) }); // wrong nonce
    expect(lab.control.noise()).toMatchObject({ hashesVerified: 1, hashesRejected: 1 });
  });

  it("an ik_message made for another key is refused; a login without one answers ik_message ''", async () => {
    lab = await start();
    const other = new IkHandshake({ initiator: true, s: x25519KeyPair(), rs: x25519KeyPair().publicKey });
    const ik = other.writeMessage1(Buffer.from('{"time":1}')).toString("base64url");
    expect((await post("auth.cgi", { ...login, passwd: "hyper-backup-demo", ik_message: ik })).json.error?.code).toBe(
      101,
    );
    const plain = await post("entry.cgi", { ...login, passwd: "hyper-backup-demo", format: "sid" });
    expect(plain.json.data).toMatchObject({ ik_message: "", account: "backup2mqtt", synotoken: "--------" });
    expect(plain.cookies).toEqual([]);
  });
});

describe("Hyper Backup `additional`", () => {
  it("task list: config only without it, the asked groups with it; JSON-format values at entry.cgi/<API>", async () => {
    lab = await start();
    const sid = (await post("entry.cgi", { ...login, passwd: "hyper-backup-demo" })).json.data!.sid as string;
    const list = { api: "SYNO.Backup.Task", version: "1", method: "list", _sid: sid };
    const bare = (await post("entry.cgi", list)).json.data!;
    const item = (bare.task_list as Record<string, unknown>[])[0]!;
    expect(Object.keys(item).sort()).toEqual(
      [
        "data_enc",
        "data_type",
        "ext3ShareList",
        "name",
        "repo_id",
        "state",
        "status",
        "target_id",
        "target_type",
        "task_id",
        "transfer_type",
        "type",
      ].sort(),
    );
    const rich = (
      await post("entry.cgi/SYNO.Backup.Task", {
        ...list,
        additional: JSON.stringify(["last_bkp_time", "last_bkp_result", "get_source", "progress_title_type"]),
        sort_by: '"name"',
      })
    ).json.data!;
    const r = (rich.task_list as Record<string, unknown>[])[0]!;
    expect(r).toMatchObject({ last_bkp_time: "2026/03/10 10:00", last_bkp_end_time: "2026/03/10 10:01" });
    expect(r.last_bkp_result).toBe("done");
    expect(r.source).toMatchObject({ app_list: [] });
    expect(r).not.toHaveProperty("progress_title_type"); // idle
    expect(r).not.toHaveProperty("next_bkp_time");
  });

  it("status: progress only while running; get is the whole task; vault targets in KiB", async () => {
    lab = await start();
    const sid = (await post("entry.cgi", { ...login, passwd: "hyper-backup-demo" })).json.data!.sid as string;
    const call = async (api: string, method: string, extra: Record<string, string> = {}) =>
      (await post("entry.cgi", { api, version: "1", method, _sid: sid, ...extra })).json;
    const add = JSON.stringify(["last_bkp_time", "next_bkp_time", "last_bkp_result", "last_bkp_progress"]);
    expect((await call("SYNO.Backup.Task", "status", { task_id: "2" })).data).toEqual({
      task_id: 2,
      state: "backupable",
      status: "none",
    });
    const idle = (await call("SYNO.Backup.Task", "status", { task_id: "2", additional: add })).data!;
    expect(idle).toMatchObject({ last_bkp_error_code: 4401, next_bkp_time: "2026/03/11 05:00" });
    expect(idle.schedule).toMatchObject({ schedule_enable: true, schedule: { next_trigger_time: "2026-03-11 05:00" } });
    expect(idle).not.toHaveProperty("last_bkp_progress");
    expect(idle).not.toHaveProperty("progress");
    await call("SYNO.Backup.Task", "backup", { task_id: "2" });
    clock.advance(30_000);
    const running = (await call("SYNO.Backup.Task", "status", { task_id: "2", additional: add })).data!;
    expect(running).toMatchObject({ status: "backup", last_bkp_result: "backingup", last_bkp_progress: 50 });
    expect(running.progress).toMatchObject({ progress: 50, total_size: "1202233000" });
    clock.advance(60_000);
    const got = (await call("SYNO.Backup.Task", "get", { task_id: "2" })).data!;
    expect(Object.keys(got).length).toBeGreaterThanOrEqual(13);
    expect(got.repository).toMatchObject({ repo_id: 2, transfer_type: "image_remote" });
    const vault = (await call("SYNO.Backup.Service.VersionBackup.Target", "list")).data!;
    expect(vault.target_list).toEqual([
      expect.objectContaining({ target_id: 1, target_name: "FriendsNAS_1", used_size: 729, last_backup_duration: 15 }),
    ]);
    expect((await call("SYNO.DSM.Info", "getinfo", { version: "2" })).data).toMatchObject({ model: "DS920+" });
  });
});
