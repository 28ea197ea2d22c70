import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startDsmLab, type DsmLab } from "backup2mqtt-lab/dsm";
import { systemClock } from "backup2mqtt-lab";
import { loadConfig } from "../../config/load.js";
import { dsmLoginCommand } from "./login-command.js";
import { SynologySource } from "./source.js";
import { createLogger } from "../../log.js";

let lab: DsmLab | undefined;
let dir: string | undefined;
afterEach(async () => {
  await lab?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  lab = dir = undefined;
});

describe("backup2mqtt dsm-login", () => {
  it("stores the trusted-device token from an OTP login; the source then logs in without a code; config gives keys, secrets by env", async () => {
    lab = await startDsmLab({
      scenario: {
        users: [{ account: "ops", password: "s3cret-pass", otp: "246810" }],
        tasks: [{ id: 1, name: "t", lastAttempt: { age: "1h" }, lastSuccess: { age: "1h" } }],
      },
      clock: systemClock,
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-dsmlogin-"));
    const file = path.join(dir, "config.yaml");
    fs.writeFileSync(
      file,
      [
        "mqtt: { url: mqtt://127.0.0.1:1883 }",
        "proxmox:",
        "  - { name: pve, url: https://127.0.0.1:8006, token_id: a@pve!b, token_secret: x }",
        "synology:",
        `  - name: nas`,
        `    url: ${lab.url}`,
        "    username: ops",
        `    password: \${DSM_PW}`,
        `    fingerprint: "${lab.fingerprint}"`,
        "    timezone: Europe/Berlin",
        "    tasks: { '1': { protects: [synology], offsite: true } }",
        `state_dir: ${dir}/state`,
      ].join("\n"),
    );
    process.env.DSM_PW = "s3cret-pass";
    const wrong = await dsmLoginCommand({ config: file, otp: "000000" });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toMatch(/2-step verification code was wrong/);
    const r = await dsmLoginCommand({ config: file, source: "nas", otp: "246810" });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/trusted-device token stored/);
    expect(r.stdout + r.stderr).not.toContain("s3cret-pass");
    const token = lab.control.deviceTokens()[0]!;
    expect(r.stdout).not.toContain(token);
    const cfg = loadConfig(file);
    expect(cfg.synology![0]).toMatchObject({
      name: "nas",
      timeZone: "Europe/Berlin",
      session: "webui",
      tasks: [{ match: "1", storages: ["synology"], offsite: true }],
    });
    expect(cfg.secrets).toContain("s3cret-pass");
    const s = new SynologySource(cfg.synology![0]!, createLogger("silent"), () => Date.now(), cfg.stateDir);
    await s.refresh();
    expect(s.health.up).toBe(true);
    await s.close();
    delete process.env.DSM_PW;
  });

  it("config: unknown keys and a bad time zone are named with their key path", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-dsmlogin-"));
    const file = path.join(dir, "config.yaml");
    fs.writeFileSync(
      file,
      [
        "mqtt: { url: mqtt://127.0.0.1:1883 }",
        "proxmox:",
        "  - { name: pve, url: https://h:8006, token_id: a@pve!b, token_secret: x }",
        "synology:",
        "  - { name: nas, url: https://nas:5001, username: u, password: p, timezone: Mars/Olympus, bogus: 1 }",
        "pbs:",
        "  - { name: pbs, url: https://pbs:8007, token_id: a@pbs!b }",
      ].join("\n"),
    );
    expect(() => loadConfig(file)).toThrow(
      /synology\[0\]\.bogus: unknown key[\s\S]*synology\[0\]\.timezone: unknown IANA time zone[\s\S]*pbs\[0\]: token_secret/,
    );
  });
});
