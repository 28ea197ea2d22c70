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
    expect(c.tiers.P0).toMatchObject({
      maxAgeMs: 26 * 3600_000,
      minCopies: 2,
      offsite: true,
      verifyEveryMs: 7 * 86400_000,
    });
    expect(c.tiers.P2).toMatchObject({ maxAgeMs: 8 * 86400_000, minCopies: 1, verifyEveryMs: null });
    expect(c.secrets).toContain("11111111-2222-3333-4444-555555555555");
  });

  it("tiers from the file override the defaults key by key", () => {
    const c = parseConfigText(`${VALID}tiers:\n  P2:\n    max_age: 10d\n`, "x.yaml", {});
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
        expect.objectContaining({
          key: "guests.100.tier",
          line: 10,
          message: expect.stringContaining('unknown tier "P9"'),
        }),
      ]),
    );
  });

  it("reports a missing required key at its parent", () => {
    const p = problems("mqtt: {}\nproxmox: []\n");
    expect(p).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: "mqtt", message: 'missing required key "url"', line: 1 }),
      ]),
    );
  });

  it("reports YAML syntax errors with a line", () => {
    const p = problems("mqtt:\n  url: [unclosed\nproxmox: x\n");
    expect(p[0]!.message).toMatch(/^syntax:/);
    expect(p[0]!.line).toBeGreaterThan(0);
  });

  it(`expands \${ENV} and reports unset variables by key and line`, () => {
    const c = parseConfigText(VALID.replace("11111111-2222-3333-4444-555555555555", `\${PVE_SECRET}`), "x.yaml", {
      PVE_SECRET: "s3cret-value",
    });
    expect(c.proxmox[0]!.tokenSecret).toBe("s3cret-value");
    expect(c.secrets).toContain("s3cret-value");
    const p = problems(VALID.replace("11111111-2222-3333-4444-555555555555", `\${NOPE}`));
    expect(p).toEqual([
      expect.objectContaining({
        key: "proxmox[0].token_secret",
        line: 9,
        message: "environment variable NOPE is not set",
      }),
    ]);
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
    expect(missing[0]).toMatchObject({
      key: "proxmox[0].token_secret_file",
      message: expect.stringContaining("ENOENT"),
    });
  });

  it("accepts JSON files too", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-"));
    const f = path.join(dir, "c.json");
    fs.writeFileSync(
      f,
      JSON.stringify(
        {
          mqtt: { url: "mqtt://h" },
          proxmox: [{ name: "a", url: "https://h", token_id: "u@pve!t", token_secret: "secret-1" }],
        },
        null,
        2,
      ),
    );
    expect(loadConfig(f, {}).proxmox[0]!.name).toBe("a");
  });

  it("never puts a secret into an error message", () => {
    const text = VALID.replace("url: https://pve.lan:8006", "url: ftp://pve.lan");
    const p = problems(text);
    expect(JSON.stringify(p)).not.toContain("11111111-2222-3333-4444-555555555555");
  });
});

describe("config: issue 12 bounds and new keys", () => {
  it("mqtt.removal_grace: default 24h, 0s allowed, bounds 0s-365d", () => {
    expect(parseConfigText(VALID, "x.yaml", {}).mqtt.removalGraceMs).toBe(24 * 3600_000);
    const zero = parseConfigText(
      VALID.replace("url: mqtt://127.0.0.1:1883", "url: mqtt://127.0.0.1:1883\n  removal_grace: 0s"),
      "x.yaml",
      {},
    );
    expect(zero.mqtt.removalGraceMs).toBe(0);
    expect(
      problems(VALID.replace("url: mqtt://127.0.0.1:1883", "url: mqtt://127.0.0.1:1883\n  removal_grace: 366d")),
    ).toEqual([
      expect.objectContaining({
        key: "mqtt.removal_grace",
        line: 5,
        message: "366d is too long: the removal grace period must be between 0s and 365d",
      }),
    ]);
  });

  it("http.listen takes HOST:PORT and [IPv6]:PORT, port 0-65535", () => {
    const listen = (l: string) => parseConfigText(`${VALID}http: { listen: "${l}" }\n`, "x.yaml", {}).http;
    expect(listen("127.0.0.1:0")).toMatchObject({ host: "127.0.0.1", port: 0 });
    expect(listen("[::1]:8080")).toMatchObject({ host: "::1", port: 8080 });
    expect(listen(":65535")).toMatchObject({ host: "127.0.0.1", port: 65535 });
    expect(problems(`${VALID}http: { listen: "0.0.0.0:65536" }\n`)[0]).toMatchObject({ key: "http.listen", line: 14 });
  });

  it("a source URL may end in a lone slash (dropped), but has no path", () => {
    expect(
      parseConfigText(VALID.replace("https://pve.lan:8006", "https://pve.lan:8006/"), "x.yaml", {}).proxmox[0]!.url,
    ).toBe("https://pve.lan:8006");
    expect(problems(VALID.replace("https://pve.lan:8006", "https://pve.lan:8006/?x=1"))[0]!.message).toMatch(
      /must not have a path \(\/\?x=1\)/,
    );
  });

  it("schedules: PVE's full grammar is accepted; no derivable frequency, or one slower than max_age, is a warning", () => {
    const c = parseConfigText(
      `${VALID}tiers:\n  P0: { schedule: "mon..sun 21:00" }\n  P1: { schedule: "*-*-01 04:00" }\n  P2: { schedule: "sat *-1..7 15:00", max_age: 40d }\n  gold: { schedule: "2027-06-01" }\n`,
      "x.yaml",
      {},
    );
    expect(c.tiers.P0!.schedule).toBe("mon..sun 21:00");
    expect(c.warnings).toEqual([
      expect.objectContaining({
        key: "tiers.P1.schedule",
        line: 16,
        message:
          "the schedule '*-*-01 04:00' runs only every 31 days, but tier P1 allows backups at most 1 day and 2 hours old (max_age): its guests will show as unprotected",
      }),
      expect.objectContaining({
        key: "tiers.gold.schedule",
        line: 18,
        message: expect.stringContaining("cannot be derived (it names years"),
      }),
    ]);
  });

  it("guests: VMIDs and names are fine, wrong keys are named with their line", () => {
    const c = parseConfigText(`${VALID}  999999999: { tier: P2 }\n  db-01.lan: { tier: P2 }\n`, "x.yaml", {});
    expect(c.guestTiers).toMatchObject({ "999999999": "P2", "db-01.lan": "P2" });
    const p = problems(`${VALID}  "0100": { tier: P2 }\n  1000000000: { tier: P2 }\n  -web: { tier: P2 }\n`);
    expect(p).toEqual([
      expect.objectContaining({ key: "guests.0100", line: 14, message: "VMID 0100 has a leading zero; write 100" }),
      expect.objectContaining({
        key: "guests.1000000000",
        line: 15,
        message: expect.stringContaining("VMIDs are 100-999999999"),
      }),
      expect.objectContaining({
        key: "guests.-web",
        line: 16,
        message: expect.stringContaining("neither a VMID nor a guest name"),
      }),
    ]);
  });

  it("a duplicate key anywhere is named with both lines", () => {
    const p = problems(VALID.replace("site: home", "site: home\nsite: lab"));
    expect(p).toEqual([
      expect.objectContaining({ key: "site", line: 3, message: 'duplicate key "site" (first on line 2)' }),
    ]);
  });
});
