/**
 * `npm run schemas`: writes the generated JSON Schema files into bridge/schemas/, and the phrasebooks
 * (with their test cases) into the Home Assistant integration.
 * With --check, writes nothing and exits 1 naming each file that differs from what it would write.
 */
import fs from "node:fs";
import path from "node:path";
import { schemasDir } from "../util/paths.js";
import { generatedSchemaFiles } from "./files.js";
import { generatedWordFiles } from "../words/generated.js";
import { bridgeRoot } from "../util/paths.js";

const check = process.argv.includes("--check");
let stale = 0;
const files: [string, string][] = [
  ...Object.entries(generatedSchemaFiles()).map(([name, text]): [string, string] => [
    path.join(schemasDir, name),
    text,
  ]),
  // The phrasebooks for the Python integration (repository checkouts only: paths from the repository root).
  ...Object.entries(generatedWordFiles()).map(([rel, text]): [string, string] => [
    path.join(bridgeRoot, "..", rel),
    text,
  ]),
];
for (const [file, text] of files) {
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
