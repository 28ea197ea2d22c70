// Before `npm pack`: build the lab and the bridge from scratch, so the tarball holds exactly what
// the sources compile to (an incremental build leaves the output of deleted sources in dist/).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const bridge = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const lab = path.resolve(bridge, "..", "lab");
for (const dir of [bridge, lab])
  for (const out of ["dist", "tsconfig.tsbuildinfo"]) fs.rmSync(path.join(dir, out), { recursive: true, force: true });
const tsc = path.resolve(bridge, "..", "node_modules", "typescript", "bin", "tsc");
execFileSync(process.execPath, [tsc, "-b", bridge], { stdio: "inherit" });
