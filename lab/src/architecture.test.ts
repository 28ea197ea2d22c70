import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = path.dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(fs.readFileSync(path.join(src, "..", "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
function files(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [],
    );
}
/** Module specifiers of import/export statements and dynamic imports (not words in comments or strings). */
const imports = (file: string) =>
  [
    ...fs
      .readFileSync(file, "utf8")
      .matchAll(
        /^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm,
      ),
  ].map((m) => (m[1] ?? m[2] ?? m[3])!);
const rel = (f: string) => path.relative(src, f);
const packageOf = (spec: string) =>
  spec
    .split("/")
    .slice(0, spec.startsWith("@") ? 2 : 1)
    .join("/");
const isTestOnly = (f: string) => f.endsWith(".test.ts") || rel(f) === "testing.ts";

describe("the lab package stands alone", () => {
  it("imports nothing of the bridge: relative imports stay inside lab/src (tests may read the repository's shared fixtures)", () => {
    const fixtures = path.resolve(src, "..", "..", "test", "fixtures");
    const inside = (dir: string, target: string) => !path.relative(dir, target).startsWith("..");
    const offenders = files(src).flatMap((f) =>
      imports(f)
        .filter((i) => i.startsWith("."))
        .filter(
          (i) =>
            !inside(src, path.resolve(path.dirname(f), i)) &&
            !(isTestOnly(f) && inside(fixtures, path.resolve(path.dirname(f), i))),
        )
        .map((i) => `${rel(f)} → ${i}`),
    );
    expect(offenders).toEqual([]);
  });

  it("imports only node: built-ins and the packages its package.json declares (vitest in tests)", () => {
    const runtime = new Set(Object.keys(pkg.dependencies));
    const offenders = files(src).flatMap((f) =>
      imports(f)
        .filter((i) => !i.startsWith(".") && !i.startsWith("node:"))
        .filter((i) => !runtime.has(packageOf(i)) && !(isTestOnly(f) && packageOf(i) === "vitest"))
        .map((i) => `${rel(f)} → ${i}`),
    );
    expect(offenders).toEqual([]);
  });

  it("every declared runtime dependency is used", () => {
    const used = new Set(
      files(src)
        .filter((f) => !isTestOnly(f))
        .flatMap((f) => imports(f).map(packageOf)),
    );
    expect(Object.keys(pkg.dependencies).filter((d) => !used.has(d))).toEqual([]);
  });
});
