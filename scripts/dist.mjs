#!/usr/bin/env node
// `npm run dist`: writes the two generated distribution repositories under dist/ — what HACS
// installs (dist/hacs-repository/) and what the Home Assistant app store adds
// (dist/app-repository/). HACS wants custom_components/ and hacs.json at a repository's root and the
// app store wants repository.yaml there and treats every config.yaml as an app, so one repository
// cannot be both; our source keeps ha-integration/ and these trees are built from it. The release
// workflow pushes each tree to its own repository. The version everywhere is bridge/package.json's.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildAppRepository } from "./dist/app.mjs";
import { buildHacsRepository } from "./dist/hacs.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.resolve(process.argv[2] ?? path.join(repo, "dist"));
const { version } = JSON.parse(fs.readFileSync(path.join(repo, "bridge", "package.json"), "utf8"));

const hacs = path.join(out, "hacs-repository");
const app = path.join(out, "app-repository");
for (const dir of [hacs, app]) fs.rmSync(dir, { recursive: true, force: true });
await buildHacsRepository({ repo, out: hacs, version });
await buildAppRepository({ repo, out: app, version });
process.stdout.write(
  `wrote ${path.relative(process.cwd(), hacs) || hacs} and ${path.relative(process.cwd(), app) || app} (version ${version})\n`,
);
