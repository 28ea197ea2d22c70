// Builds the card to one ES module file, served by the custom integration (www/) and usable as a
// dashboard resource on its own.
//
//   node build.mjs            → ../custom_components/backup2mqtt/www/backup2mqtt-card.js
//   node build.mjs <outfile>  → <outfile> (the same bytes; scripts/dist/hacs.mjs builds into the
//                               generated HACS repository this way)
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outfile = process.argv[2]
  ? resolve(process.argv[2])
  : join(here, "../custom_components/backup2mqtt/www/backup2mqtt-card.js");
mkdirSync(dirname(outfile), { recursive: true });
await build({
  entryPoints: [join(here, "src/index.ts")],
  bundle: true,
  format: "esm",
  target: "es2021",
  minify: true,
  legalComments: "none",
  banner: { js: "/* backup2mqtt-card — built from ha-integration/card (npm run build:card); lit is BSD-3-Clause */" },
  outfile,
  logLevel: "info",
});
