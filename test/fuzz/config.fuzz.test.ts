/**
 * The bad-config corpus (test/fuzz/bad-configs/, see its README): every file must be refused by config
 * loading — the one place `check`, `run`, `plan`, `apply` and `report` all go through — with a problem
 * naming the key path, the line marked `# <-- error` and the expected message; and `backup2mqtt check`
 * (the built CLI, `npm run build` first) must exit non-zero printing FILE:LINE:COL: KEY: MESSAGE.
 * Also: config loading is linear in size (200,000 guests), and a schedule whose frequency cannot be
 * derived is accepted with a warning that `check` prints.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfigText } from "../../bridge/src/config/load.js";

const corpusDir = path.resolve(import.meta.dirname, "bad-configs");
const cli = path.resolve(import.meta.dirname, "../../bridge/dist/cli.js");

interface Case {
  file: string;
  wrong: string;
  key: string;
  message: string;
  line: number;
}

function readCase(name: string): Case {
  const file = path.join(corpusDir, name);
  const lines = fs.readFileSync(file, "utf8").split("\n");
  const wrong = /^# Wrong: (.+)$/.exec(lines[0] ?? "")?.[1];
  const expectLine = /^# Expect: (.+?): (.+)$/.exec(lines[1] ?? "");
  const marked = lines.findIndex((l) => l.includes("# <-- error"));
  if (!wrong || !expectLine || marked < 0)
    throw new Error(`${name}: needs '# Wrong: …', '# Expect: KEY: MESSAGE' and a line marked '# <-- error'`);
  return { file, wrong, key: expectLine[1]!, message: expectLine[2]!, line: marked + 1 };
}

const cases = fs
  .readdirSync(corpusDir)
  .filter((f) => f.endsWith(".yaml"))
  .sort()
  .map(readCase);

const check = (file: string) =>
  new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [cli, "check", "--config", file], {
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => resolve({ code, out }));
  });

describe("bad-config corpus: config loading refuses each file, naming key path and line", () => {
  it("has the files of issue 12 and more", () => expect(cases.length).toBeGreaterThanOrEqual(30));

  it.each(cases.map((c) => [path.basename(c.file), c] as const))("%s", (_name, c) => {
    let error: unknown;
    try {
      loadConfig(c.file, {});
    } catch (e) {
      error = e;
    }
    expect(error, `${c.wrong} — expected a ConfigError`).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    const hit = problems.find((p) => p.key === c.key && p.message.includes(c.message));
    expect(hit, `no problem '${c.key}: …${c.message}…' among:\n${(error as ConfigError).message}`).toBeDefined();
    expect(hit!.line, `line of '${c.key}'`).toBe(c.line);
    // Sentences, not internals
    expect(hit!.message).not.toMatch(/TypeError|undefined|is not a function|must match pattern|^must [a-z]+ [a-z]+ \//);
  });
});

describe("backup2mqtt check rejects every corpus file", () => {
  it("exits non-zero and prints FILE:LINE:COL: KEY: MESSAGE for each (built CLI)", { timeout: 120_000 }, async () => {
    expect(fs.existsSync(cli), "run `npm run build` first").toBe(true);
    const results: string[] = [];
    // Two at a time: the machine may have two cores.
    for (let i = 0; i < cases.length; i += 2) {
      const batch = cases.slice(i, i + 2);
      const rs = await Promise.all(batch.map((c) => check(c.file)));
      rs.forEach((r, j) => {
        const c = batch[j]!;
        const expected = `${c.file}:${c.line}:`;
        const ok =
          r.code !== 0 &&
          r.code !== null &&
          r.out.split("\n").some((l) => l.includes(expected) && l.includes(`${c.key}: `) && l.includes(c.message)) &&
          !r.out.includes("configuration is valid") &&
          !/\n\s+at /.test(r.out);
        if (!ok) results.push(`${path.basename(c.file)}: exit ${r.code}\n${r.out}`);
      });
    }
    expect(results).toEqual([]);
  });
});

const GOOD = `mqtt:
  url: mqtt://127.0.0.1:1
proxmox:
  - name: pve
    url: https://127.0.0.1:1
    token_id: backup2mqtt@pve!bridge
    token_secret: 11111111-2222-3333-4444-555555555555
    fingerprint: "${"AB:".repeat(31)}AB"
    timeout: 1s
`;

describe("schedules whose frequency cannot be derived are accepted with a warning, never silently", () => {
  it("the loader returns the warning with key path and line", () => {
    const cfg = parseConfigText(`${GOOD}tiers:\n  P1:\n    schedule: "2027-01-01 02:00"\n`, "w.yaml", {});
    expect(cfg.tiers.P1!.schedule).toBe("2027-01-01 02:00");
    expect(cfg.warnings).toEqual([
      expect.objectContaining({
        key: "tiers.P1.schedule",
        line: 12,
        message: expect.stringContaining("cannot be derived"),
      }),
    ]);
  });

  it("check prints it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-warn-"));
    const f = path.join(dir, "warn.yaml");
    fs.writeFileSync(f, `${GOOD}tiers:\n  P1:\n    schedule: "02-30 02:00"\n`);
    const r = await check(f);
    expect(r.out).toContain(
      `WARN  ${f}:12:15: tiers.P1.schedule: PVE accepts the schedule '02-30 02:00', but how often it runs cannot be derived (no date ever matches)`,
    );
  });

  it("run logs it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-warn-"));
    const f = path.join(dir, "warn.yaml");
    fs.writeFileSync(
      f,
      `${GOOD}tiers:\n  P1:\n    schedule: "02-30 02:00"\nstate_dir: ${path.join(dir, "state")}\nhttp: { listen: "127.0.0.1:0" }\n`,
    );
    const child = spawn(process.execPath, [cli, "run", "--config", f], { env: { ...process.env, NODE_OPTIONS: "" } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const deadline = Date.now() + 15_000;
    while (!out.includes("cannot be derived") && child.exitCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    child.kill("SIGKILL");
    const line = out.split("\n").find((l) => l.includes("cannot be derived"));
    expect(line, out).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({
      level: 40,
      key: "tiers.P1.schedule",
      line: 12,
      msg: expect.stringContaining("config: PVE accepts the schedule '02-30 02:00'"),
    });
  });
});

describe("config loading is linear in size", () => {
  it("200,000 guests load in well under 20 s (issue 12: 20,000 took 4.4 s, 50,000 30 s)", () => {
    const guests = Array.from({ length: 200_000 }, (_, i) => `  "${100 + i}": { tier: P${i % 3} }`).join("\n");
    const text = `${GOOD}guests:\n${guests}\n`;
    const t0 = performance.now();
    const cfg = parseConfigText(text, "big.yaml", {});
    const seconds = (performance.now() - t0) / 1000;
    console.log(`config with 200,000 guests loaded in ${seconds.toFixed(2)} s`);
    expect(Object.keys(cfg.guestTiers)).toHaveLength(200_000);
    expect(seconds).toBeLessThan(20);
  });

  it("errors in a big file stay linear too (every one of 50,000 guests with a wrong tier)", () => {
    const guests = Array.from({ length: 50_000 }, (_, i) => `  "${100 + i}": { tier: p1 }`).join("\n");
    const t0 = performance.now();
    let problems = 0;
    try {
      parseConfigText(`${GOOD}guests:\n${guests}\n`, "big.yaml", {});
    } catch (e) {
      problems = (e as ConfigError).problems.length;
    }
    const seconds = (performance.now() - t0) / 1000;
    console.log(`config with 50,000 wrong guests refused in ${seconds.toFixed(2)} s`);
    expect(problems).toBe(50_000);
    expect(seconds).toBeLessThan(20);
  });
});
