/** `--log-format pretty` on the compiled CLI: lines a person reads; JSON stays the default. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const cli = path.resolve(import.meta.dirname, "../../bridge/dist/cli.js");
let child: ChildProcess | undefined;
afterEach(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
  child = undefined;
});

/** The demo's stdout (its log) until the HTTP API listens. */
async function demoLog(args: string[]): Promise<string> {
  child = spawn(process.execPath, [cli, "demo", "--mqtt-port", "0", "--http-port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const deadline = Date.now() + 20_000;
  while (!out.includes("HTTP API listening")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`demo: ${out}\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return out;
}

describe("--log-format", () => {
  it("the help names it", () => {
    expect(spawnSync(process.execPath, [cli, "--help"], { encoding: "utf8" }).stdout).toMatch(/--log-format pretty/);
    for (const cmd of ["run", "demo", "plan", "apply", "report"]) {
      expect(spawnSync(process.execPath, [cli, cmd, "--help"], { encoding: "utf8" }).stdout, cmd).toMatch(
        /--log-format <format>\s+json \(one object a line/,
      );
    }
  });

  it("refuses a format it does not know, saying which it knows", () => {
    const r = spawnSync(process.execPath, [cli, "run", "--config", "/nonexistent.yaml", "--log-format", "xml"], {
      encoding: "utf8",
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/argument 'xml' is invalid\. use json or pretty/);
  });

  it("pretty: readable lines with level, message and fields", async () => {
    const out = await demoLog(["--log-format", "pretty"]);
    const lines = out.trim().split("\n");
    for (const l of lines) expect(() => JSON.parse(l), l).toThrow();
    expect(out).toMatch(
      /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: MQTT connected \{"part":"mqtt","url":"mqtt:\/\/127\.0\.0\.1:\d+"\}$/m,
    );
  });

  it("JSON is the default", async () => {
    const out = await demoLog([]);
    for (const l of out.trim().split("\n")) expect(JSON.parse(l)).toHaveProperty("msg");
  });
});
