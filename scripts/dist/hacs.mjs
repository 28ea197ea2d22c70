// The generated HACS repository (dist/hacs-repository/): what a user adds to HACS as a custom
// repository of type Integration. HACS reads hacs.json at the repository's root and takes the
// first folder under custom_components/ as the integration (validate_repository in
// custom_components/hacs/repositories/integration.py of hacs/integration; "There must only be one
// integration per repository" in source/docs/publish/integration.md of hacs/documentation). A
// repository without custom_components/ but with a repository.yaml is refused as an app-store
// repository there, which is why this tree is built apart from the source and the app store's.
//
// The tree:
//   hacs.json                      from ha-integration/hacs.json, keys checked against HACS's schema
//   README.md                      scripts/dist/hacs-README.md with the version and addresses filled in
//   LICENSE                        the repository's LICENSE
//   custom_components/backup2mqtt/ ha-integration/custom_components/backup2mqtt (Python, manifest,
//                                  strings, translations, sentences, brand/), manifest's version
//                                  stamped; www/backup2mqtt-card.js freshly built from ha-integration/card
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { assertReleaseVersion } from "./version.mjs";

const DOMAIN = "backup2mqtt";
const CARD_FILE = "backup2mqtt-card.js";

/**
 * Keys HACS accepts in hacs.json and their types: HACS_MANIFEST_JSON_SCHEMA in
 * custom_components/hacs/utils/validate.py of hacs/integration (extra=PREVENT_EXTRA, `name`
 * required; `country` is a code or a list of codes).
 */
const HACS_JSON_KEYS = {
  name: "string",
  content_in_root: "boolean",
  country: "country",
  filename: "string",
  hacs: "string",
  hide_default_branch: "boolean",
  homeassistant: "string",
  persistent_directory: "string",
  render_readme: "boolean",
  zip_release: "boolean",
};

/**
 * What the integration folder may hold, relative to it: Home Assistant loads the Python modules,
 * manifest.json, services.yaml, strings.json, icons.json and translations/, the integration
 * registers sentences/ with Assist, brand/ holds the images Home Assistant 2026.3+ serves for a
 * custom integration (icon, logo, dark_icon, dark_logo, each also @2x: "Custom integrations can
 * now ship their own brand images", developers.home-assistant.io blog, 2026-02-24), and
 * quality_scale.yaml is the self-assessment. www/ is not copied: the card is built fresh. Anything
 * else is an error, so nothing slips into what HACS downloads unseen.
 */
const INTEGRATION_FILES = [
  /^[a-z_]+\.py$/,
  /^manifest\.json$/,
  /^services\.yaml$/,
  /^strings\.json$/,
  /^icons\.json$/,
  /^quality_scale\.yaml$/,
  /^translations\/[a-z]{2}(?:-[A-Za-z]+)?\.json$/,
  /^sentences\/[a-z]{2}(?:-[A-Za-z]+)?\.yaml$/,
  /^brand\/(?:dark_)?(?:icon|logo)(?:@2x)?\.png$/,
];
/** Left out of the copy: built or cached files that are not sources. */
const SKIPPED = new Set(["__pycache__", "www", ".ruff_cache", ".pytest_cache"]);

/**
 * Where the release workflow publishes this tree: the address a user adds to HACS. The source
 * repository is where the documentation and issues live.
 */
const PUBLISHED_AT = process.env.B2M_HACS_REPOSITORY_URL ?? "https://github.com/backup2mqtt/backup2mqtt-hacs";
const SOURCE_URL = "https://github.com/backup2mqtt/backup2mqtt";

const here = path.dirname(fileURLToPath(import.meta.url));

/** Files under `dir`, relative to it with "/" separators, sorted; skips the SKIPPED folders. */
function listFiles(dir, prefix = "") {
  const files = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (SKIPPED.has(entry.name)) continue;
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...listFiles(path.join(dir, entry.name), rel));
    else if (entry.isFile()) files.push(rel);
    else throw new Error(`${path.join(dir, entry.name)}: neither a file nor a folder`);
  }
  return files;
}

function hacsJson(source) {
  const data = JSON.parse(fs.readFileSync(source, "utf8"));
  for (const [key, value] of Object.entries(data)) {
    const type = HACS_JSON_KEYS[key];
    if (!type) throw new Error(`${source}: HACS does not accept the key "${key}"`);
    const ok =
      type === "country"
        ? typeof value === "string" || (Array.isArray(value) && value.every((v) => typeof v === "string"))
        : typeof value === type;
    if (!ok) throw new Error(`${source}: "${key}" must be a ${type === "country" ? "code or list of codes" : type}`);
  }
  if (typeof data.name !== "string" || !data.name) throw new Error(`${source}: "name" is required`);
  if (data.content_in_root || data.zip_release)
    throw new Error(`${source}: this tree has custom_components/ at its root and no zip release`);
  return `${JSON.stringify(data, null, 2)}\n`;
}

/**
 * The manifest with `version` set, keys in the order hassfest keeps them (domain, name, then
 * alphabetical: sort_manifest in script/hassfest/manifest.py of home-assistant/core).
 */
function manifestJson(source, version) {
  const data = JSON.parse(fs.readFileSync(source, "utf8"));
  if (data.domain !== DOMAIN) throw new Error(`${source}: domain is "${data.domain}", expected "${DOMAIN}"`);
  data.version = version;
  const rank = (k) => (k === "domain" ? "0" : k === "name" ? "1" : `2${k}`);
  const keys = Object.keys(data).sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
  return `${JSON.stringify(Object.fromEntries(keys.map((k) => [k, data[k]])), null, 2)}\n`;
}

function readme(template, version) {
  const owner = new URL(PUBLISHED_AT).pathname.split("/").filter(Boolean);
  const myLink = `https://my.home-assistant.io/redirect/hacs_repository/?owner=${encodeURIComponent(owner[0])}&repository=${encodeURIComponent(owner[1])}&category=integration`;
  const values = { VERSION: version, REPOSITORY_URL: PUBLISHED_AT, SOURCE_URL, MY_LINK: myLink };
  const text = fs.readFileSync(template, "utf8").replace(/\{\{([A-Z_]+)\}\}/g, (match, key) => {
    if (!(key in values)) throw new Error(`${template}: unknown placeholder ${match}`);
    return values[key];
  });
  return text;
}

/** Builds the card with ha-integration/card/build.mjs into `outfile` (esbuild; same options as npm run build:card). */
async function buildCard(repo, outfile) {
  const script = path.join(repo, "ha-integration", "card", "build.mjs");
  try {
    await promisify(execFile)(process.execPath, [script, outfile], { cwd: path.dirname(script) });
  } catch (err) {
    throw new Error(`building the card failed: ${err.stderr || err.message}`);
  }
  if (!fs.statSync(outfile).size) throw new Error(`${outfile}: the card build wrote an empty file`);
}

/**
 * Writes the HACS repository for `version` (bridge/package.json's) into `out`, which must not
 * exist or be empty.
 * @param {{ repo: string, out: string, version: string }} options
 */
export async function buildHacsRepository({ repo, out, version }) {
  assertReleaseVersion(version);
  if (fs.existsSync(out) && fs.readdirSync(out).length) throw new Error(`${out} is not empty`);
  const src = path.join(repo, "ha-integration", "custom_components", DOMAIN);
  const dest = path.join(out, "custom_components", DOMAIN);

  const files = listFiles(src);
  const extra = files.filter((f) => !INTEGRATION_FILES.some((re) => re.test(f)));
  if (extra.length)
    throw new Error(`${src}: unexpected ${extra.join(", ")} (see INTEGRATION_FILES in ${here}/hacs.mjs)`);
  if (!files.includes("brand/icon.png")) throw new Error(`${src}: brand/icon.png is missing (HACS requires it)`);

  fs.mkdirSync(dest, { recursive: true });
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
    if (f === "manifest.json") fs.writeFileSync(path.join(dest, f), manifestJson(path.join(src, f), version));
    else fs.copyFileSync(path.join(src, f), path.join(dest, f));
  }
  await buildCard(repo, path.join(dest, "www", CARD_FILE));

  fs.writeFileSync(path.join(out, "hacs.json"), hacsJson(path.join(repo, "ha-integration", "hacs.json")));
  fs.writeFileSync(path.join(out, "README.md"), readme(path.join(here, "hacs-README.md"), version));
  fs.copyFileSync(path.join(repo, "LICENSE"), path.join(out, "LICENSE"));
}
