/**
 * The README's commands, as a newcomer runs them: a fresh `git clone` of this repository, the
 * Quick start's `npm ci && npm start`, then every `npx backup2mqtt …` line of the README, verbatim,
 * against simulated sources (the PVE lab, a Synology NAS whose account has 2-step verification on,
 * an MQTT broker) described by a backup2mqtt.yaml in the clone. A README line this test does not
 * know fails it: each command needs an expectation here. (`npm ci && npm test` is what CI itself
 * runs; the Docker, app and systemd lines are checked by test/packaging and test/dist.)
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startLab, systemClock, type Lab } from "backup2mqtt-lab";
import { startDsmLab, type DsmLab } from "backup2mqtt-lab/dsm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../bridge/src/demo/broker.js";
import { Observer } from "../support/observer.js";
import { userEnv as env, warnings } from "./user-shell.js";

const repo = path.resolve(import.meta.dirname, "../..");
const readme = fs.readFileSync(path.join(repo, "README.md"), "utf8");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-readme-"));
const clone = path.join(work, "backup2mqtt");
/** Every `npx backup2mqtt …` command of the README, from code blocks and inline code, comments cut. */
function readmeCommands(): string[] {
  const found = new Set<string>();
  for (const m of readme.matchAll(/^npx backup2mqtt [^\n#]*/gm)) found.add(m[0].trim().replace(/\s+/g, " "));
  for (const m of readme.matchAll(/`(npx backup2mqtt [^`]*)`/g)) found.add(m[1]!.trim().replace(/\s+/g, " "));
  return [...found];
}

interface Started {
  child: ChildProcess;
  out: () => string;
}
const running: ChildProcess[] = [];
/** Starts a shell command line in its own process group (npm start and npx start children). */
function start(line: string): Started {
  const child = spawn("sh", ["-c", line], { cwd: clone, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  running.push(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  return { child, out: () => out };
}
function killGroup(c: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-c.pid!, signal);
  } catch {
    // The group has already gone.
  }
}
async function stop(s: Started): Promise<number | null> {
  if (s.child.exitCode !== null) return s.child.exitCode;
  const exited = new Promise<number | null>((r) => s.child.once("exit", (code) => r(code)));
  killGroup(s.child, "SIGTERM");
  return exited;
}
async function waitFor(s: Started, text: string | RegExp, ms = 60_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const out = s.out();
    if (typeof text === "string" ? out.includes(text) : text.test(out)) return out;
    if (s.child.exitCode !== null) throw new Error(`exited ${s.child.exitCode} before "${text}":\n${out}`);
    if (Date.now() > deadline) throw new Error(`no "${text}" within ${ms} ms:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
/** Runs a command line to its end without blocking this process (the labs live in it). */
async function runLine(line: string): Promise<{ code: number | null; out: string }> {
  const s = start(line);
  // "close", not "exit": the output streams may still hold data when the process has exited.
  const code = await new Promise<number | null>((r) => s.child.once("close", (c) => r(c)));
  return { code, out: s.out() };
}

let lab: Lab;
let dsm: DsmLab;
let broker: EmbeddedBroker;
beforeAll(async () => {
  const git = spawnSync("git", ["clone", "--quiet", repo, clone], { encoding: "utf8" });
  expect(git.status, git.stderr).toBe(0);
  lab = await startLab({ scenario: "demo", authFailDelayMs: 0 });
  dsm = await startDsmLab({
    scenario: {
      users: [{ account: "ops", password: "s3cret-pass", otp: "123456" }],
      tasks: [{ id: 1, name: "Dumps to the NAS", lastAttempt: { age: "1h" }, lastSuccess: { age: "1h" } }],
    },
    clock: systemClock,
  });
  broker = await startEmbeddedBroker(0);
  const token = lab.tokens[0]!;
  fs.writeFileSync(
    path.join(clone, "backup2mqtt.yaml"),
    `site: home
mqtt:
  url: ${broker.url}
proxmox:
  - name: pve
    url: ${lab.url}
    token_id: "${token.id}"
    token_secret: "${token.secret}"
    fingerprint: "${lab.fingerprint}"
synology:
  - name: nas
    url: ${dsm.url}
    username: ops
    password: s3cret-pass
    fingerprint: "${dsm.fingerprint}"
    timezone: Europe/Berlin
    tasks: { "1": { protects: [synology], offsite: true } }
jobs: { storage: synology }
state_dir: ./state
`,
  );
});
afterAll(async () => {
  for (const c of running) if (c.exitCode === null) killGroup(c, "SIGKILL");
  await broker?.close();
  await dsm?.stop();
  await lab?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe("README, from a fresh clone", () => {
  it("Quick start: npm ci installs without a warning, npm start serves the demo and its HTTP API", async () => {
    const ci = await runLine("npm ci --no-audit --no-fund");
    expect(ci.code, ci.out).toBe(0);
    expect(warnings(ci.out)).toEqual([]);
    expect(readme).toContain("npm ci && npm start");
    const demo = start("npm start");
    const banner = await waitFor(demo, "Press Ctrl+C", 120_000);
    const api = /HTTP API:\s+(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/guests)/.exec(banner)?.[1];
    expect(api, banner).toBeTruthy();
    const body = (await (await fetch(api!)).json()) as { guests: unknown[] };
    expect(body.guests).toHaveLength(5);
    expect(await stop(demo)).not.toBe(1);
  }, 240_000);

  it("every npx backup2mqtt line runs as written", async () => {
    // The account has 2-step verification on, so `dsm-login` comes first, as the README says to run it once.
    const lines = readmeCommands().sort((a, b) => Number(b.includes("dsm-login")) - Number(a.includes("dsm-login")));
    expect(lines.length).toBeGreaterThanOrEqual(8);
    const results: string[] = [];
    const o = await Observer.connect(broker.url, ["backup2mqtt/guest/+/state"]);
    try {
      for (const line of lines) {
        const sub = line.split(" ")[2];
        if (sub === "demo") {
          const s = start(line);
          await waitFor(s, "Press Ctrl+C");
          await stop(s);
        } else if (sub === "run") {
          const s = start(line);
          await o.until("the bridge's guest states", () => o.last.size >= 5, 60_000);
          expect(o.json("backup2mqtt/guest/home_100/state")?.name).toBe("homeassistant");
          await stop(s);
        } else if (["check", "plan", "apply", "dsm-login"].includes(sub!)) {
          // The README gives apply a token of its own with Sys.Modify on / and Datastore.Allocate on
          // the storages; here the one lab token gets those privileges for that line.
          if (sub === "apply")
            lab.control.setTokenPrivileges(lab.tokens[0]!.id, [
              { path: "/", roles: ["PVEAuditor"], privs: ["Sys.Modify"] },
              { path: "/storage", roles: ["PVEAuditor"], privs: ["Datastore.AllocateSpace", "Datastore.Allocate"] },
              { path: "/vms", roles: ["PVEAuditor"], privs: ["VM.Backup"] },
            ]);
          const r = await runLine(line);
          expect(r.code, `${line}\n${r.out}`).toBe(0);
        } else if (sub === "report" && line.includes("--update")) {
          // The page the README shows, with the owner's text around the markers.
          const page = path.join(clone, line.split("--update ")[1]!.trim());
          const mine = "# Backup governance\n\nWhat I decided and why (yours; never touched).\n\n";
          fs.mkdirSync(path.dirname(page), { recursive: true });
          fs.writeFileSync(page, `${mine}<!-- backup2mqtt:begin -->\n<!-- backup2mqtt:end -->\n`);
          const r = await runLine(line);
          expect(r.code, `${line}\n${r.out}`).toBe(0);
          const text = fs.readFileSync(page, "utf8");
          expect(
            text.startsWith(`${mine}<!-- backup2mqtt:begin -->\n# Backup strategy — home\n`),
            text.slice(0, 300),
          ).toBe(true);
          expect(text.endsWith("\n<!-- backup2mqtt:end -->\n")).toBe(true);
        } else if (sub === "forget") {
          // home_103 still exists in the lab: the bridge refuses it, saying why, and changes nothing.
          const r = await runLine(line);
          expect(r.code, `${line}\n${r.out}`).not.toBe(0);
          expect(r.out).toMatch(/home_103/);
          expect(r.out).not.toMatch(/Error:|at .*\.js:\d+/);
        } else {
          throw new Error(`the README has a command this test does not know: ${line}`);
        }
        results.push(line);
      }
    } finally {
      await o.close();
    }
    expect(results).toEqual(lines);
  }, 300_000);
});
