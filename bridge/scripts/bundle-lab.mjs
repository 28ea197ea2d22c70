/**
 * npm's prepack/postpack for the bridge package: the demo command runs the simulated lab, the
 * workspace package backup2mqtt-lab, which is not published. The bridge lists it in
 * bundleDependencies so its tarball carries it, but npm bundles only a real folder in the
 * package's own node_modules, not the workspace symlink at the repository root. So before packing
 * this copies the files npm would pack for the lab (`npm pack --dry-run`, its build must exist)
 * into bridge/node_modules/backup2mqtt-lab, with a package.json stripped to what an installed copy
 * needs; after packing (`--remove`) it deletes that folder again, so the workspace link is the
 * only lab the repository sees. npm does not install dependencies of a bundled package: the
 * bridge declares the lab's runtime dependencies itself (an architecture test checks it).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const bridgeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const labDir = path.resolve(bridgeDir, "..", "lab");
const dest = path.join(bridgeDir, "node_modules", "backup2mqtt-lab");

fs.rmSync(dest, { recursive: true, force: true });
if (process.argv.includes("--remove")) process.exit(0);

const pkg = JSON.parse(fs.readFileSync(path.join(labDir, "package.json"), "utf8"));
if (!fs.existsSync(path.join(labDir, "dist", "index.js"))) {
  throw new Error("lab/dist is missing: run `npm run build` at the repository root before packing the bridge");
}
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
// The outer `npm pack -w bridge` passes its settings down as npm_config_* variables; the workspace
// selection among them would make this inner npm pack the bridge instead of the lab.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_config_(workspaces?|include_workspace_root)$/i.test(k)),
);
const listing = JSON.parse(
  execFileSync(npm, ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: labDir,
    env,
    encoding: "utf8",
    shell: process.platform === "win32",
  }),
);
const files = listing[0].files.map((f) => f.path);
for (const file of files) {
  fs.mkdirSync(path.dirname(path.join(dest, file)), { recursive: true });
  fs.copyFileSync(path.join(labDir, file), path.join(dest, file));
}

// The installed copy: no workspace-only fields, and no export condition pointing at sources it lacks.
const exportsWithoutSource = Object.fromEntries(
  Object.entries(pkg.exports).map(([k, v]) => [
    k,
    typeof v === "string" ? v : Object.fromEntries(Object.entries(v).filter(([c]) => c !== "backup2mqtt-source")),
  ]),
);
const installed = { ...pkg, exports: exportsWithoutSource };
delete installed.devDependencies;
// Nor its dependencies: the bridge declares them itself, and `npm install -g` of the tarball left the
// folders of a bundled package's declared dependencies empty (npm 11), so the CLI could not start.
delete installed.dependencies;
delete installed.scripts;
fs.writeFileSync(path.join(dest, "package.json"), `${JSON.stringify(installed, null, 2)}\n`);
process.stderr.write(
  `bundled backup2mqtt-lab@${pkg.version} (${files.length} files) into ${path.relative(process.cwd(), dest) || dest}\n`,
);
