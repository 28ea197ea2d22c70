/**
 * npm's prepack/postpack for the bridge package: the README, LICENSE and CHANGELOG live at the
 * repository root (they describe the whole project), but npm packs them only from the package's
 * own folder. Before packing this copies them into bridge/; after packing (`--remove`) it deletes
 * the copies again (they are gitignored).
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const bridgeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repoDir = path.resolve(bridgeDir, "..");
for (const name of ["README.md", "LICENSE", "CHANGELOG.md"]) {
  const copy = path.join(bridgeDir, name);
  fs.rmSync(copy, { force: true });
  if (!process.argv.includes("--remove")) fs.copyFileSync(path.join(repoDir, name), copy);
}
