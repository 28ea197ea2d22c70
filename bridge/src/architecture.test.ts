import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { bridgeRoot } from "./util/paths.js";

const src = path.join(bridgeRoot, "src");
function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [path.join(dir, e.name)] : []));
}
const imports = (file: string) => [...fs.readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]!);
const rel = (f: string) => path.relative(src, f);

describe("architecture", () => {
  it("production code never imports the simulated lab, except the demo command (and the benchmark, a dev tool)", () => {
    const offenders = files(src)
      .filter((f) => !rel(f).startsWith("lab/") && !rel(f).startsWith("bench/") && rel(f) !== "commands/demo.ts")
      .filter((f) => imports(f).some((i) => /(^|\/)lab\//.test(i)))
      .map(rel);
    expect(offenders).toEqual([]);
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
