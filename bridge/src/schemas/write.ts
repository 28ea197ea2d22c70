/**
 * `npm run schemas`: writes the generated JSON Schema files into bridge/schemas/.
 * With --check, writes nothing and exits 1 naming each file that differs from what it would write.
 */
import fs from "node:fs";
import path from "node:path";
import { schemasDir } from "../util/paths.js";
import { generatedSchemaFiles } from "./files.js";

const check = process.argv.includes("--check");
let stale = 0;
for (const [name, text] of Object.entries(generatedSchemaFiles())) {
  const file = path.join(schemasDir, name);
  const now = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
  if (now === text) continue;
  if (check) {
    stale++;
    process.stderr.write(`${file} is not what \`npm run schemas\` generates\n`);
  } else {
    fs.writeFileSync(file, text);
    process.stdout.write(`wrote ${file}\n`);
  }
}
if (stale) process.exit(1);
