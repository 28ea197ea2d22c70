/**
 * packaging/systemd/backup2mqtt.service, checked by systemd's own tools without a running systemd
 * (https://www.freedesktop.org/software/systemd/man/latest/systemd-analyze.html):
 * - `systemd-analyze verify` loads the unit as systemd would. It exits 0 on an unknown key or a
 *   misspelt section (it only warns), so any line it prints fails the test. It also checks that
 *   ExecStart's command exists: it runs with --root on a temporary tree holding the system's unit
 *   files (the targets the unit names) and an executable where `npm install -g` puts the command,
 *   <prefix>/bin/backup2mqtt with prefix /usr/local (test/packaging/image-build.test.ts installs
 *   the package into such a prefix). The unit names the command without a path; systemd resolves
 *   it through its fixed search path (/usr/local/bin first), inside --root here.
 * - `systemd-analyze security --offline=true` rates the sandbox; the exposure must stay at or
 *   below MAX_EXPOSURE, and every check that is still open must be one listed in OPEN with why.
 * The example config beside the unit is loaded with the bridge's config loader.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadWithSecrets, repo } from "./examples.js";

const UNIT = path.join(repo, "packaging/systemd/backup2mqtt.service");
const unitText = fs.readFileSync(UNIT, "utf8");
/**
 * The scale runs from 0 (every check closed) to 10; systemd 252 rates this unit 1.1, "OK". What
 * stays open (OPEN) is what the bridge needs to work, so this is as low as it goes.
 */
const MAX_EXPOSURE = 1.1;
/** The checks the unit leaves open, and why the bridge needs each. */
const OPEN: Record<string, string> = {
  PrivateNetwork: "it talks to Proxmox, PBS, the NAS and the MQTT broker, and serves HTTP",
  RestrictAddressFamilies_AF_INET_INET6: "the same, over IPv4 and IPv6",
  RestrictAddressFamilies_AF_UNIX: "name resolution through nscd or systemd-resolved uses a local socket",
  IPAddressDeny: "the addresses of Proxmox, the broker and the NAS are the user's; a drop-in may add IPAddressAllow=",
  MemoryDenyWriteExecute: "V8's JIT compiler needs writable, then executable memory; Node aborts at start with it",
  RootDirectoryOrRootImage: "the package runs the host's Node.js; no image of its own",
  DeviceAllow: "ProtectClock= itself allows reading the RTC (char-rtc:r)",
};

function systemdAnalyze(args: string[]) {
  const r = spawnSync("systemd-analyze", args, { encoding: "utf8", cwd: os.tmpdir() });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT")
    throw new Error("systemd-analyze is not installed: install the `systemd` package (apt-get install systemd)");
  return { code: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

/** `systemd-analyze verify` of unit text, in a root with the system's units and `commands` as executables. */
function verify(text: string, commands = ["usr/local/bin/backup2mqtt"]) {
  systemdAnalyze(["--version"]); // first: without systemd there is no /usr/lib/systemd/system either
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-systemd-"));
  roots.push(root);
  fs.cpSync("/usr/lib/systemd/system", path.join(root, "usr/lib/systemd/system"), { recursive: true });
  for (const c of commands) {
    fs.mkdirSync(path.dirname(path.join(root, c)), { recursive: true });
    fs.writeFileSync(path.join(root, c), "#!/bin/sh\n", { mode: 0o755 });
  }
  const unit = path.join(root, "etc/systemd/system/backup2mqtt.service");
  fs.mkdirSync(path.dirname(unit), { recursive: true });
  fs.writeFileSync(unit, text);
  return systemdAnalyze(["verify", `--root=${root}`, unit]);
}

function security(text: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-systemd-"));
  roots.push(dir);
  const unit = path.join(dir, "backup2mqtt.service");
  fs.writeFileSync(unit, text);
  const table = systemdAnalyze(["security", "--offline=true", unit]);
  const json = systemdAnalyze(["security", "--offline=true", "--json=short", unit]);
  const exposure = Number(/Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(table.out)?.[1] ?? Number.NaN);
  const checks = JSON.parse(json.stdout) as { json_field: string; set: boolean; exposure: string | null }[];
  const open = checks.filter((c) => c.exposure !== null && Number(c.exposure) > 0).map((c) => c.json_field);
  return { exposure, open, out: table.out };
}

describe("the systemd unit", () => {
  it("systemd-analyze verify loads it without a single remark", () => {
    const r = verify(unitText);
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
  });

  it("finds the command in /usr/bin too (NodeSource's Node has npm's global prefix /usr)", () => {
    expect(verify(unitText, ["usr/bin/backup2mqtt"]).out).toBe("");
  });

  it(`is sandboxed to an exposure of at most ${MAX_EXPOSURE}, open only where the bridge needs it`, () => {
    const s = security(unitText);
    expect(s.exposure, s.out).toBeLessThanOrEqual(MAX_EXPOSURE);
    expect(
      s.open.filter((k) => !(k in OPEN)),
      s.out,
    ).toEqual([]);
  });

  it("runs `backup2mqtt run` with the config in its ConfigurationDirectory, keeps state in its StateDirectory", () => {
    const value = (k: string) => [...unitText.matchAll(new RegExp(`^${k}=(.*)$`, "gm"))].map((m) => m[1]!.trim());
    expect(value("ExecStart")).toEqual(["backup2mqtt run --config /etc/backup2mqtt/backup2mqtt.yaml"]);
    expect(value("ConfigurationDirectory")).toEqual(["backup2mqtt"]);
    expect(value("StateDirectory")).toEqual(["backup2mqtt"]);
    expect(value("DynamicUser")).toEqual(["yes"]);
    expect(value("Type")).toEqual(["simple"]);
    expect(value("Restart")).toEqual(["on-failure"]);
    expect(value("RestrictAddressFamilies")).toEqual(["AF_INET AF_INET6 AF_UNIX"]);
    expect(value("CapabilityBoundingSet")).toEqual([""]);
  });

  it("the example config loads, reads its secrets from $CREDENTIALS_DIRECTORY and keeps state in the StateDirectory", () => {
    const { config, secrets } = loadWithSecrets(
      path.join(repo, "packaging/systemd/backup2mqtt.example.yaml"),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${NAME} syntax, as written in the file
      "${CREDENTIALS_DIRECTORY}",
    );
    expect(config.stateDir).toBe("/var/lib/backup2mqtt");
    // Every secret the config reads is a credential the unit loads.
    const credentials = [...unitText.matchAll(/^LoadCredential=([^:\n]+):/gm)].map((m) => m[1]);
    expect(secrets.sort()).toEqual(credentials.sort());
    expect(config.proxmox[0]!.tokenSecret).toBe("dummy-pve_token_secret-0123456789abcdef");
  });
});

describe("the systemd checks catch", () => {
  it("an unknown key (verify exits 0 on it, the printed line fails)", () => {
    const r = verify(unitText.replace("[Service]\n", "[Service]\nProtectEverything=yes\n"));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Unknown key 'ProtectEverything'/);
  });

  it("a command that is not installed", () => {
    expect(verify(unitText, []).out).toMatch(/Command backup2mqtt is not executable/);
  });

  it("a sandbox taken away", () => {
    const s = security(unitText.replace(/^SystemCallFilter=.*\n/gm, "").replace(/^CapabilityBoundingSet=\n/m, ""));
    expect(s.exposure).toBeGreaterThan(MAX_EXPOSURE);
    expect(s.open).toContain("SystemCallFilter_privileged");
  });

  it("a check left open without a reason", () => {
    const s = security(unitText.replace(/^PrivateMounts=yes\n/m, ""));
    expect(s.open.filter((k) => !(k in OPEN))).toEqual(["PrivateMounts"]);
  });
});
