/**
 * The image's build without Docker (./image-build.ts): the build stage's files and commands in an
 * empty folder, the runtime stage's `npm install --global --omit=dev` of the tarball into a
 * stand-in /usr/local, then the installed command and the image's HEALTHCHECK command against a
 * running `backup2mqtt demo`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDockerfile } from "./dockerfile.js";
import { repo } from "./examples.js";
import { userEnv } from "../support/user-env.js";
import { buildImage, type BuiltImage } from "./image-build.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-image-"));
const { version } = JSON.parse(fs.readFileSync(path.join(repo, "bridge/package.json"), "utf8")) as { version: string };
const final = parseDockerfile(fs.readFileSync(path.join(repo, "Dockerfile"), "utf8")).stages.at(-1)!;
const healthcheck = final.instructions.find((i) => i.keyword === "HEALTHCHECK")!.args.slice(1);
let image: BuiltImage;
let demo: ChildProcess | undefined;

beforeAll(() => {
  image = buildImage(repo, root);
}, 300_000);
afterAll(() => {
  demo?.kill("SIGTERM");
  fs.rmSync(root, { recursive: true, force: true });
});

const bin = () => path.join(root, "usr/local/bin/backup2mqtt");
/** The HEALTHCHECK's command with its port replaced: exit code and output. */
function probe(port: number) {
  const [cmd, ...args] = healthcheck.map((a) => a.replace("127.0.0.1:8080", `127.0.0.1:${port}`));
  const r = spawnSync(cmd!, args, { env: userEnv(), encoding: "utf8", timeout: 10_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("the image, built without Docker", () => {
  it("installs every dependency of the package, the bundled lab's included", () => {
    // An installed package without files: npm extracted nothing into it (it took the package for
    // part of the tarball's bundle).
    const modules = path.join(root, "usr/local/lib/node_modules/backup2mqtt/node_modules");
    const empty = fs
      .readdirSync(modules, { recursive: true, withFileTypes: true })
      .filter(
        (d) => d.isDirectory() && !d.name.startsWith(".") && !fs.readdirSync(path.join(d.parentPath, d.name)).length,
      )
      .map((d) => path.relative(modules, path.join(d.parentPath, d.name)));
    expect(empty, `empty package folders after npm install --global:\n${image.log}`).toEqual([]);
  });

  it("installs the command where the image's PATH and the systemd unit find it, without dev dependencies", () => {
    expect(fs.existsSync(bin()), image.log).toBe(true);
    const r = spawnSync(bin(), ["--version"], { env: userEnv(), encoding: "utf8" });
    expect(r.stdout.trim(), r.stderr).toBe(version);
    const installed = path.join(root, "usr/local/lib/node_modules/backup2mqtt");
    for (const dev of ["vitest", "typescript", "fast-check", "playwright-core"])
      expect(fs.existsSync(path.join(installed, "node_modules", dev)), dev).toBe(false);
    expect(fs.existsSync(path.join(installed, "node_modules/backup2mqtt-lab/scenarios/demo.yaml"))).toBe(true);
    expect(fs.existsSync(path.join(installed, "LICENSE"))).toBe(true);
  });

  it("the HEALTHCHECK command passes against a running bridge and fails without one", async () => {
    demo = spawn(bin(), ["demo", "--http-port", "0", "--mqtt-port", "0", "--log-level", "warn"], {
      env: userEnv(),
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no HTTP API in the demo's banner:\n${err}`)), 30_000);
      demo!.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
        const m = /HTTP API:\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
        if (m) {
          clearTimeout(t);
          resolve(Number(m[1]));
        }
      });
      demo!.on("exit", (code) => reject(new Error(`demo exited ${code}:\n${err}`)));
    });
    const up = probe(port);
    expect(up.code, up.out).toBe(0);
    demo.kill("SIGTERM");
    await new Promise((r) => demo!.once("exit", r));
    const down = probe(port);
    expect(down.code).toBe(1);
  }, 60_000);
});
