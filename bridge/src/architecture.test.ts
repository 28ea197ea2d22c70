import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { bridgeRoot } from "./util/paths.js";

const repoRoot = path.resolve(bridgeRoot, "..");

const src = path.join(bridgeRoot, "src");
const labRoot = path.join(repoRoot, "lab");
/** The production files: tests (*.test.ts) and their shared fixtures (*.fixtures.ts, not built) are left out. */
function files(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? files(path.join(dir, e.name))
        : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") && !e.name.endsWith(".fixtures.ts")
          ? [path.join(dir, e.name)]
          : [],
    );
}
const imports = (file: string) =>
  [...fs.readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]!);
const rel = (f: string) => path.relative(src, f);
/** The lab package by name (`backup2mqtt-lab`, `backup2mqtt-lab/dsm`, …) or a relative path into its folder. */
const isLabImport = (file: string, spec: string) =>
  /^backup2mqtt-lab(\/|$)/.test(spec) ||
  (spec.startsWith(".") && !path.relative(labRoot, path.resolve(path.dirname(file), spec)).startsWith(".."));

describe("architecture", () => {
  it("production code never imports the simulated lab (backup2mqtt-lab), except the demo (commands/demo.ts, demo/) and the benchmark (bench/, a dev tool)", () => {
    const allowed = (f: string) =>
      rel(f).startsWith(`demo${path.sep}`) ||
      rel(f).startsWith(`bench${path.sep}`) ||
      rel(f) === path.join("commands", "demo.ts");
    const offenders = files(src)
      .filter((f) => !allowed(f))
      .flatMap((f) =>
        imports(f)
          .filter((i) => isLabImport(f, i))
          .map((i) => `${rel(f)} → ${i}`),
      );
    expect(offenders).toEqual([]);
  });

  it("the allowed places import the lab by its package name, never by a path into its folder", () => {
    const offenders = files(src).flatMap((f) =>
      imports(f)
        .filter((i) => i.startsWith(".") && isLabImport(f, i))
        .map((i) => `${rel(f)} → ${i}`),
    );
    expect(offenders).toEqual([]);
  });

  it("the demo's wiring (demo/) is loaded only by the demo command and the benchmark", () => {
    const allowed = (f: string) =>
      rel(f).startsWith(`demo${path.sep}`) ||
      rel(f).startsWith(`bench${path.sep}`) ||
      rel(f) === path.join("commands", "demo.ts");
    const demoDir = path.join(src, "demo");
    const offenders = files(src)
      .filter((f) => !allowed(f))
      .flatMap((f) =>
        imports(f)
          .filter(
            (i) => i.startsWith(".") && !path.relative(demoDir, path.resolve(path.dirname(f), i)).startsWith(".."),
          )
          .map((i) => `${rel(f)} → ${i}`),
      );
    expect(offenders).toEqual([]);
  });

  it("every runtime dependency of the lab is one of the bridge's too: npm installs no dependency of a bundled package", () => {
    const bridgePkg = JSON.parse(fs.readFileSync(path.join(bridgeRoot, "package.json"), "utf8"));
    const labPkg = JSON.parse(fs.readFileSync(path.join(labRoot, "package.json"), "utf8"));
    expect(bridgePkg.bundleDependencies).toEqual(["backup2mqtt-lab"]);
    expect(bridgePkg.dependencies["backup2mqtt-lab"]).toBe(labPkg.version);
    const missing = Object.entries(labPkg.dependencies as Record<string, string>).filter(
      ([name, range]) => bridgePkg.dependencies[name] !== range,
    );
    expect(missing).toEqual([]);
  });

  it("the CLI loads the demo (and so the lab) only when the demo command runs", () => {
    const cli = fs.readFileSync(path.join(src, "cli.ts"), "utf8");
    expect(cli).not.toMatch(/^import .*commands\/demo/m);
    expect(cli).toMatch(/await import\("\.\/commands\/demo\.js"\)/);
  });

  it("the policy is pure: it imports no source, publisher, clock or I/O module", () => {
    const offenders = files(path.join(src, "policy")).flatMap((f) =>
      imports(f)
        .filter((i) => /sources\/|publish\/|actions\/|node:|clock|bridge/.test(i))
        .map((i) => `${rel(f)} → ${i}`),
    );
    expect(offenders).toEqual([]);
  });
});
