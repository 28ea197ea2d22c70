import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfigText } from "./load.js";

const VALID = `
site: home
mqtt:
  url: mqtt://127.0.0.1:1883
proxmox:
  - name: pve
    url: https://pve.lan:8006
    token_id: backup2mqtt@pve!bridge
    token_secret: 11111111-2222-3333-4444-555555555555
    fingerprint: ${"ab:".repeat(31)}ab
guests:
  "100": { tier: P0 }
  vaultwarden: { tier: P1 }
`;

function problems(text: string, env: NodeJS.ProcessEnv = {}) {
  try {
    parseConfigText(text, "test.yaml", env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("loads a valid file with defaults filled in", () => {
    const c = parseConfigText(VALID, "x.yaml", {});
    expect(c.mqtt.baseTopic).toBe("backup2mqtt");
    expect(c.mqtt.discoveryPrefix).toBe("homeassistant");
    expect(c.proxmox[0]!.pollIntervalMs).toBe(60_000);
    expect(c.proxmox[0]!.fingerprint).toBe(`${"AB:".repeat(31)}AB`);
    expect(c.guestTiers).toEqual({ "100": "P0", vaultwarden: "P1" });
    expect(Object.keys(c.tiers)).toEqual(["P0", "P1", "P2", "none"]);
    expect(c.tiers.P0).toMatchObject({ maxAgeMs: 26 * 3600_000, minCopies: 2, offsite: true, verifyEveryMs: 7 * 86400_000 });
    expect(c.tiers.P2).toMatchObject({ maxAgeMs: 8 * 86400_000, minCopies: 1, verifyEveryMs: null });
    expect(c.secrets).toContain("11111111-2222-3333-4444-555555555555");
  });

  it("tiers from the file override the defaults key by key", () => {
    const c = parseConfigText(VALID + "tiers:\n  P2:\n    max_age: 10d\n", "x.yaml", {});
    expect(c.tiers.P2).toMatchObject({ maxAgeMs: 10 * 86400_000, minCopies: 1, schedule: "sun 03:00" });
  });

  it("names every problem with its key path and line", () => {
    const text = `mqtt:
  url: http://wrong
proxmox:
  - name: pve
    url: https://pve:8006
    token_id: not-a-token
    token_secret: x
    polling: 5s
guests:
  "100": { tier: P9 }
`;
    const p = problems(text);
    expect(p).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: "mqtt.url", line: 2 }),
        expect.objectContaining({ key: "proxmox[0].token_id", line: 6 }),
        expect.objectContaining({ key: "proxmox[0].polling", line: 8, message: 'unknown key "polling"' }),
        expect.objectContaining({ key: "guests.100.tier", line: 10, message: expect.stringContaining('unknown tier "P9"') }),
      ]),
    );
  });

  it("reports a missing required key at its parent", () => {
    const p = problems("mqtt: {}\nproxmox: []\n");
    expect(p).toEqual(expect.arrayContaining([expect.objectContaining({ key: "mqtt", message: 'missing required key "url"', line: 1 })]));
  });

  it("reports YAML syntax errors with a line", () => {
    const p = problems("mqtt:\n  url: [unclosed\nproxmox: x\n");
    expect(p[0]!.message).toMatch(/^syntax:/);
    expect(p[0]!.line).toBeGreaterThan(0);
  });

  it("expands ${ENV} and reports unset variables by key and line", () => {
    const c = parseConfigText(VALID.replace("11111111-2222-3333-4444-555555555555", "${PVE_SECRET}"), "x.yaml", { PVE_SECRET: "s3cret-value" });
    expect(c.proxmox[0]!.tokenSecret).toBe("s3cret-value");
    expect(c.secrets).toContain("s3cret-value");
    const p = problems(VALID.replace("11111111-2222-3333-4444-555555555555", "${NOPE}"));
    expect(p).toEqual([expect.objectContaining({ key: "proxmox[0].token_secret", line: 9, message: "environment variable NOPE is not set" })]);
  });

  it("reads secrets from *_file and refuses both forms at once", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-"));
    const f = path.join(dir, "secret");
    fs.writeFileSync(f, "from-file-secret\n");
    const text = VALID.replace("token_secret: 11111111-2222-3333-4444-555555555555", `token_secret_file: ${f}`);
    const c = parseConfigText(text, "x.yaml", {});
    expect(c.proxmox[0]!.tokenSecret).toBe("from-file-secret");
    const both = problems(VALID.replace("token_secret: 1", `token_secret_file: ${f}\n    token_secret: 1`));
    expect(both[0]!.message).toMatch(/either token_secret or token_secret_file/);
    const missing = problems(text.replace(f, path.join(dir, "nope")));
    expect(missing[0]).toMatchObject({ key: "proxmox[0].token_secret_file", message: expect.stringContaining("ENOENT") });
  });

  it("accepts JSON files too", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-"));
    const f = path.join(dir, "c.json");
    fs.writeFileSync(f, JSON.stringify({ mqtt: { url: "mqtt://h" }, proxmox: [{ name: "a", url: "https://h", token_id: "u@pve!t", token_secret: "secret-1" }] }, null, 2));
    expect(loadConfig(f, {}).proxmox[0]!.name).toBe("a");
  });

  it("never puts a secret into an error message", () => {
    const text = VALID.replace("url: https://pve.lan:8006", "url: ftp://pve.lan");
    const p = problems(text);
    expect(JSON.stringify(p)).not.toContain("11111111-2222-3333-4444-555555555555");
  });
});
