/**
 * The npm package as a user gets it: `npm pack` of the bridge, `npm publish --dry-run` of that
 * tarball, then `npm install <tarball>` into an empty folder outside the repository and the
 * installed `npx backup2mqtt …` commands: --version, demo (devices on its broker, the HTTP API),
 * check and run against a simulated lab. Nothing here reads the workspace's bridge/dist.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startLab, type Lab } from "backup2mqtt-lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../bridge/src/demo/broker.js";
import { Observer } from "../support/observer.js";
import { run, sh, shAsync, userEnv as env, warnings } from "./user-shell.js";

const repo = path.resolve(import.meta.dirname, "../..");
const { version } = JSON.parse(fs.readFileSync(path.join(repo, "bridge/package.json"), "utf8")) as { version: string };
const work = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-package-"));
const userDir = path.join(work, "empty-folder");
let tarball: string;
let packOutput: string;
let installOutput: string;
beforeAll(() => {
  const pack = sh("npm", ["pack", "-w", "bridge", "--pack-destination", work, "--json"], repo);
  expect(pack.code, pack.out).toBe(0);
  packOutput = pack.out;
  tarball = path.join(work, `backup2mqtt-${version}.tgz`);
  expect(fs.existsSync(tarball), pack.out).toBe(true);
  fs.mkdirSync(userDir);
  const install = sh("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", tarball], userDir);
  expect(install.code, install.out).toBe(0);
  installOutput = install.out;
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe("the packed tarball", () => {
  it("holds the CLI, its schemas, the bundled lab with its scenarios and the docs, and nothing of the repository's tests", () => {
    const files = run("tar", ["tzf", tarball], work)
      .split("\n")
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ""));
    for (const needed of [
      "package.json",
      "README.md",
      "LICENSE",
      "CHANGELOG.md",
      "bin/backup2mqtt.js",
      "dist/cli.js",
      "schemas/config.schema.json",
      "node_modules/backup2mqtt-lab/package.json",
      "node_modules/backup2mqtt-lab/dist/index.js",
      "node_modules/backup2mqtt-lab/scenarios/demo.yaml",
      "node_modules/backup2mqtt-lab/scenarios/seed.yaml",
    ])
      expect(files, needed).toContain(needed);
    const unwanted = files.filter((f) =>
      /(^|\/)(src|test|tests|fixtures|bench)\/|\.test\.|\.map$|\.tsbuildinfo$/.test(f),
    );
    expect(unwanted).toEqual([]);
  });

  it("npm publish --dry-run accepts it with no warning but the missing login", () => {
    const r = sh("npm", ["publish", "--dry-run", tarball], work);
    expect(r.code, r.out).toBe(0);
    expect(warnings(r.out).filter((l) => !/requires you to be logged in/.test(l))).toEqual([]);
    expect(r.out).toContain(`backup2mqtt@${version}`);
  });

  it("installs into an empty folder with no warning and fetches nothing unpublished", () => {
    expect(warnings(installOutput)).toEqual([]);
    expect(packOutput).not.toMatch(/npm warn/i);
    const lab = JSON.parse(
      fs.readFileSync(path.join(userDir, "node_modules/backup2mqtt/node_modules/backup2mqtt-lab/package.json"), "utf8"),
    );
    expect(lab.version).toBeTypeOf("string");
    expect(fs.existsSync(path.join(userDir, "node_modules/backup2mqtt-lab"))).toBe(false);
  });

  it("npx backup2mqtt --version prints the package's version", () => {
    expect(run("npx", ["backup2mqtt", "--version"], userDir).trim()).toBe(version);
  });
});

describe("the installed commands", () => {
  let child: ChildProcess | undefined;
  let observer: Observer | undefined;
  let lab: Lab | undefined;
  let broker: EmbeddedBroker | undefined;
  const stopChild = async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    child = undefined;
  };
  afterAll(async () => {
    await observer?.close();
    await stopChild();
    await broker?.close();
    await lab?.stop();
  });

  it("backup2mqtt demo serves every device on its broker and the guests over HTTP", async () => {
    // The linked bin itself (what npx runs), so that SIGTERM reaches the demo and not only npx.
    child = spawn(
      path.join(userDir, "node_modules", ".bin", "backup2mqtt"),
      ["demo", "--mqtt-port", "0", "--http-port", "0", "--log-level", "warn"],
      {
        cwd: userDir,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let banner = "";
    child.stderr!.on("data", (d) => (banner += d));
    child.stdout!.on("data", (d) => (banner += d));
    const deadline = Date.now() + 30_000;
    while (!banner.includes("Press Ctrl+C")) {
      if (child.exitCode !== null) throw new Error(`demo exited: ${banner}`);
      if (Date.now() > deadline) throw new Error(`no banner: ${banner}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /MQTT broker \(embedded\):\s+(mqtt:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1];
    const http = /HTTP API:\s+(http:\/\/127\.0\.0\.1:\d+)\/api\/v1\/guests/.exec(banner)?.[1];
    expect(url, banner).toBeTruthy();
    expect(http, banner).toBeTruthy();
    observer = await Observer.connect(url!, ["homeassistant/device/+/config"]);
    const o = observer;
    // 5 guests, 2 Hyper Backup tasks, 1 PBS datastore and the bridge.
    await o.until("9 device configs", () => [...o.last.values()].filter(Boolean).length >= 9, 30_000);
    const guests = (await (await fetch(`${http}/api/v1/guests`)).json()) as { guests: { name: string }[] };
    expect(guests.guests.map((g) => g.name).sort()).toEqual([
      "download-home",
      "homeassistant",
      "immich",
      "pihole-home",
      "vaultwarden",
    ]);
    await stopChild();
    await observer.close();
    observer = undefined;
  });

  it("npx backup2mqtt check and run work against a Proxmox VE (the simulated lab)", async () => {
    lab = await startLab({ scenario: "demo", authFailDelayMs: 0 });
    broker = await startEmbeddedBroker(0);
    const token = lab.tokens[0]!;
    const config = path.join(userDir, "backup2mqtt.yaml");
    fs.writeFileSync(
      config,
      `site: home
mqtt:
  url: ${broker.url}
proxmox:
  - name: pve
    url: ${lab.url}
    token_id: "${token.id}"
    token_secret_file: ./pve-token
    fingerprint: "${lab.fingerprint}"
state_dir: ./state
`,
    );
    fs.writeFileSync(path.join(userDir, "pve-token"), `${token.secret}\n`, { mode: 0o600 });
    const check = await shAsync("npx", ["backup2mqtt", "check", "--config", "backup2mqtt.yaml"], userDir);
    expect(check.code, check.out).toBe(0);
    expect(check.out).not.toContain(token.secret);

    await observer?.close();
    observer = await Observer.connect(broker.url, ["backup2mqtt/guest/+/state"]);
    const o = observer;
    child = spawn(path.join(userDir, "node_modules", ".bin", "backup2mqtt"), ["run", "--config", "backup2mqtt.yaml"], {
      cwd: userDir,
      env,
      stdio: "ignore",
    });
    await o.until("5 guest states", () => [...o.last.keys()].length >= 5, 30_000);
    expect(o.json("backup2mqtt/guest/home_100/state")?.name).toBe("homeassistant");
    const exited = new Promise<number | null>((r) => child!.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    child = undefined;
  });
});
