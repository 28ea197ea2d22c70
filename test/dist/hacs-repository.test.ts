/**
 * The generated HACS repository (scripts/dist/hacs.mjs), built into a temporary folder and held to
 * the rules HACS and Home Assistant publish. The rules are a function over the tree, so each one
 * is also shown to catch a broken variant. Sources of the rules, read from the public repositories:
 *
 * - hacs/integration custom_components/hacs/utils/validate.py: HACS_MANIFEST_JSON_SCHEMA (hacs.json:
 *   these keys only, `name` required) and INTEGRATION_MANIFEST_JSON_SCHEMA (manifest.json: domain,
 *   documentation and issue_tracker URLs, codeowners list, name, version an AwesomeVersion).
 * - hacs/integration custom_components/hacs/repositories/integration.py (validate_repository: the
 *   first folder under custom_components/ is the integration; none, with a repository.yaml/json at
 *   the root, is refused as an app repository) and custom_components/hacs/validate/*.py, the
 *   checks hacs/action runs: hacsjson.py, integration_manifest.py, information.py (a readme or info
 *   file at the root), brands.py (<integration>/brand/icon.png, or the brands repository).
 * - hacs/documentation source/docs/publish/start.md (hacs.json at the root, its keys and types;
 *   `homeassistant` is the minimum version, compared with AwesomeVersion) and
 *   source/docs/publish/integration.md ("there can only be one subdirectory to
 *   ROOT_OF_THE_REPO/custom_components/"; manifest keys; brand/icon.png).
 * - home-assistant/core script/hassfest/manifest.py: CUSTOM_INTEGRATION_MANIFEST_SCHEMA (the keys a
 *   custom integration's manifest may have, integration_type and iot_class values, https
 *   documentation, verify_version's AwesomeVersion strategies), domain equals the folder's name,
 *   an iot_class present, keys sorted domain, name, then alphabetically.
 * - home-assistant/brands README.md, image specification: PNG; icon 1:1 at 256x256 (hDPI 512x512);
 *   logo's shortest side 128–256 px (hDPI 256–512). Home Assistant 2026.3+ serves a custom
 *   integration's brand/{icon,logo,dark_icon,dark_logo}[@2x].png (developers.home-assistant.io blog,
 *   2026-02-24, "Custom integrations can now ship their own brand images").
 * - awesomeversion/utils/regex.py of ludeeus/awesomeversion: the version patterns of the strategies.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = path.resolve(import.meta.dirname, "../..");
const version: string = JSON.parse(fs.readFileSync(path.join(repo, "bridge", "package.json"), "utf8")).version;
const DOMAIN = "backup2mqtt";
const INTEGRATION = `custom_components/${DOMAIN}`;
const CARD = `${INTEGRATION}/www/backup2mqtt-card.js`;

type BuildHacsRepository = (options: { repo: string; out: string; version: string }) => Promise<void>;
const hacsScript = pathToFileURL(path.join(repo, "scripts", "dist", "hacs.mjs")).href;

/** Relative path ("/"-separated) → content, for every file under `dir`. */
type Tree = Map<string, Buffer>;
function readTree(dir: string, prefix = "", tree: Tree = new Map()): Tree {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) readTree(path.join(dir, entry.name), rel, tree);
    else tree.set(rel, fs.readFileSync(path.join(dir, entry.name)));
  }
  return tree;
}

// ---- versions (awesomeversion/utils/regex.py; a leading v is dropped first, RE_VERSION) ----
const RE_CALVER = /^(\d{2}|\d{4})\.\d{1,2}?(\.?\d{1,2}?\.?)?(\.\d)?(\d*(\w+\d+)?)$/;
const RE_SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const RE_PEP440 =
  /^([1-9][0-9]*!)?(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*((a|b|rc)(0|[1-9][0-9]*))?(\.post(0|[1-9][0-9]*))?(\.dev(0|[1-9][0-9]*))?(\.rc(0|[1-9][0-9]*))?$/;
const RE_SIMPLE = /^[v|V]?((\d+)(\.\d+)+)$/;
const RE_BUILDVER = /^\d+$/;
/** hassfest's verify_version: one of CalVer, SemVer, SimpleVer, BuildVer, PEP 440. */
function isAwesomeVersion(value: unknown): boolean {
  if (typeof value !== "string" || !value) return false;
  const v = value.replace(/^[vV]/, "");
  return [RE_CALVER, RE_SEMVER, RE_PEP440, RE_SIMPLE, RE_BUILDVER].some((re) => re.test(v));
}
/** A Home Assistant release as hacs.json's `homeassistant` names it: YYYY.M.P, optionally bN (start.md). */
const HA_RELEASE = /^20\d\d\.(?:[1-9]|1[0-2])\.\d+(?:b\d+)?$/;

const isUrl = (v: unknown, schemes = ["http:", "https:"]): boolean => {
  try {
    return typeof v === "string" && schemes.includes(new URL(v).protocol);
  } catch {
    return false;
  }
};
const isStringList = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === "string");
type Obj = Record<string, unknown>;
const json = (tree: Tree, file: string): Obj | undefined => {
  const b = tree.get(file);
  if (!b) return undefined;
  try {
    const v = JSON.parse(b.toString("utf8"));
    return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
};

// ---- hacs.json: HACS_MANIFEST_JSON_SCHEMA ----
const HACS_JSON_TYPES: Record<string, (v: unknown) => boolean> = {
  name: (v) => typeof v === "string",
  content_in_root: (v) => typeof v === "boolean",
  country: (v) => typeof v === "string" || isStringList(v),
  filename: (v) => typeof v === "string",
  hacs: (v) => typeof v === "string",
  hide_default_branch: (v) => typeof v === "boolean",
  homeassistant: (v) => typeof v === "string",
  persistent_directory: (v) => typeof v === "string",
  render_readme: (v) => typeof v === "boolean",
  zip_release: (v) => typeof v === "boolean",
};

function hacsJsonProblems(tree: Tree): string[] {
  const hacs = json(tree, "hacs.json");
  if (!hacs) return ["hacs.json: missing at the root or not a JSON object"];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(hacs)) {
    const check = HACS_JSON_TYPES[key];
    if (!check) problems.push(`hacs.json: key "${key}" is not accepted by HACS`);
    else if (!check(value)) problems.push(`hacs.json: "${key}" has the wrong type`);
  }
  if (typeof hacs.name !== "string" || !hacs.name.trim()) problems.push('hacs.json: "name" is required');
  if (
    hacs.homeassistant !== undefined &&
    !(isAwesomeVersion(hacs.homeassistant) && HA_RELEASE.test(String(hacs.homeassistant)))
  )
    problems.push(`hacs.json: "homeassistant" ${JSON.stringify(hacs.homeassistant)} is not a Home Assistant version`);
  if (hacs.zip_release && !hacs.filename) problems.push("hacs.json: zip_release is true, but filename is not set");
  if (hacs.content_in_root)
    problems.push("hacs.json: content_in_root, but the integration is under custom_components/");
  return problems;
}

// ---- layout: what HACS reads at the root and what it downloads ----
const ROOT_FILES = ["hacs.json", "README.md", "LICENSE"];

function layoutProblems(tree: Tree): string[] {
  const problems: string[] = [];
  const files = [...tree.keys()];
  for (const f of ["repository.yaml", "repository.yml", "repository.json", "config.yaml", "config.yml", "config.json"])
    if (tree.has(f)) problems.push(`${f} at the root: HACS takes the repository for an app repository`);
  if (!files.some((f) => /^(readme|readme\.md|info|info\.md)$/i.test(f)))
    problems.push("no README at the root (HACS's information check)");
  const integrations = new Set(files.filter((f) => f.startsWith("custom_components/")).map((f) => f.split("/")[1]));
  if (integrations.size !== 1 || files.some((f) => /^custom_components\/[^/]+$/.test(f)))
    problems.push(`custom_components/ must hold exactly one folder, holds ${[...integrations].join(", ") || "none"}`);
  for (const f of files) {
    if (ROOT_FILES.includes(f) || f.startsWith(`${INTEGRATION}/`)) continue;
    problems.push(`${f}: neither read by HACS at the root nor part of the integration it downloads`);
  }
  for (const f of files.filter((x) => x.startsWith(`${INTEGRATION}/`))) {
    const rel = f.slice(INTEGRATION.length + 1);
    if (/(^|\/)(__pycache__|tests?|\.[^/]+)(\/|$)|\.pyc$/.test(rel))
      problems.push(`${f}: a cache, test or hidden file in what HACS downloads`);
  }
  return problems;
}

// ---- manifest.json: HACS's INTEGRATION_MANIFEST_JSON_SCHEMA and hassfest's custom-integration rules ----
const HASSFEST_KEYS = [
  "domain",
  "name",
  "integration_type",
  "config_flow",
  "mqtt",
  "zeroconf",
  "ssdp",
  "bluetooth",
  "homekit",
  "dhcp",
  "usb",
  "documentation",
  "issue_tracker",
  "quality_scale",
  "requirements",
  "dependencies",
  "after_dependencies",
  "codeowners",
  "loggers",
  "disabled",
  "iot_class",
  "single_config_entry",
  "version",
  "import_executor",
];
const INTEGRATION_TYPES = ["device", "entity", "hardware", "helper", "hub", "service", "system"];
const IOT_CLASSES = ["assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling", "local_push"];

function manifestProblems(tree: Tree, expectedVersion: string): string[] {
  const folders = new Set(
    [...tree.keys()].filter((f) => f.startsWith("custom_components/")).map((f) => f.split("/")[1]),
  );
  const folder = [...folders][0] ?? "";
  const m = json(tree, `custom_components/${folder}/manifest.json`);
  if (!m) return [`custom_components/${folder}/manifest.json: missing or not a JSON object`];
  const problems: string[] = [];
  // HACS
  for (const key of ["domain", "documentation", "issue_tracker", "codeowners", "name", "version"])
    if (!(key in m)) problems.push(`manifest.json: "${key}" is required by HACS`);
  if (m.domain !== folder) problems.push(`manifest.json: domain "${m.domain}" is not the folder's name "${folder}"`);
  if ("documentation" in m && !isUrl(m.documentation, ["https:"]))
    problems.push("manifest.json: documentation is not an https URL");
  if ("issue_tracker" in m && !isUrl(m.issue_tracker)) problems.push("manifest.json: issue_tracker is not a URL");
  if ("codeowners" in m && !isStringList(m.codeowners))
    problems.push("manifest.json: codeowners is not a list of names");
  if (typeof m.name !== "string" || !m.name) problems.push("manifest.json: name is not text");
  if ("version" in m && !isAwesomeVersion(m.version))
    problems.push(`manifest.json: version ${JSON.stringify(m.version)} does not parse`);
  if (m.version !== expectedVersion)
    problems.push(
      `manifest.json: version ${JSON.stringify(m.version)} is not bridge/package.json's ${expectedVersion}`,
    );
  // hassfest
  for (const key of Object.keys(m))
    if (!HASSFEST_KEYS.includes(key)) problems.push(`manifest.json: key "${key}" is not allowed by hassfest`);
  if (m.integration_type !== undefined && !INTEGRATION_TYPES.includes(String(m.integration_type)))
    problems.push(
      `manifest.json: integration_type "${m.integration_type}" is not one of ${INTEGRATION_TYPES.join(", ")}`,
    );
  if (!IOT_CLASSES.includes(String(m.iot_class)))
    problems.push(`manifest.json: iot_class "${m.iot_class}" is missing or unknown`);
  if (m.config_flow !== undefined && typeof m.config_flow !== "boolean")
    problems.push("manifest.json: config_flow is not a boolean");
  for (const key of ["mqtt", "requirements", "dependencies", "after_dependencies", "loggers"])
    if (m[key] !== undefined && !isStringList(m[key])) problems.push(`manifest.json: ${key} is not a list of strings`);
  const rank = (k: string) => (k === "domain" ? "0" : k === "name" ? "1" : `2${k}`);
  const keys = Object.keys(m);
  if (keys.join() !== [...keys].sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0)).join())
    problems.push("manifest.json: keys are not sorted domain, name, then alphabetically");
  return problems;
}

// ---- brand images (home-assistant/brands README) ----
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
function pngSize(b: Buffer): { width: number; height: number } | undefined {
  if (b.length < 24 || !b.subarray(0, 8).equals(PNG_SIGNATURE) || b.toString("latin1", 12, 16) !== "IHDR")
    return undefined;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

function brandProblems(tree: Tree): string[] {
  const problems: string[] = [];
  const brand = `${INTEGRATION}/brand/`;
  if (!tree.has(`${brand}icon.png`)) problems.push(`${brand}icon.png is missing (HACS's brands check)`);
  for (const [f, b] of tree) {
    if (!f.startsWith(brand)) continue;
    const name = f.slice(brand.length);
    const m = /^(?:dark_)?(icon|logo)(@2x)?\.png$/.exec(name);
    if (!m) {
      problems.push(`${f}: not a brand image name Home Assistant serves`);
      continue;
    }
    const size = pngSize(b);
    if (!size) {
      problems.push(`${f}: not a PNG`);
      continue;
    }
    const hd = m[2] ? 2 : 1;
    if (m[1] === "icon" && (size.width !== 256 * hd || size.height !== 256 * hd))
      problems.push(`${f}: ${size.width}x${size.height}, an icon must be ${256 * hd}x${256 * hd}`);
    const shortest = Math.min(size.width, size.height);
    if (m[1] === "logo" && (shortest < 128 * hd || shortest > 256 * hd))
      problems.push(`${f}: shortest side ${shortest}, a logo's must be ${128 * hd}–${256 * hd}`);
  }
  return problems;
}

function cardProblems(tree: Tree, freshCard: Buffer): string[] {
  const card = tree.get(CARD);
  if (!card) return [`${CARD} is missing`];
  return card.equals(freshCard) ? [] : [`${CARD} differs from a fresh build of ha-integration/card`];
}

function hacsRepositoryProblems(tree: Tree, expectedVersion: string, freshCard: Buffer): string[] {
  return [
    ...hacsJsonProblems(tree),
    ...layoutProblems(tree),
    ...manifestProblems(tree, expectedVersion),
    ...brandProblems(tree),
    ...cardProblems(tree, freshCard),
  ];
}

// ---- the tree ----
let tmp: string;
let tree: Tree;
let freshCard: Buffer;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-hacs-"));
  const { buildHacsRepository } = (await import(hacsScript)) as { buildHacsRepository: BuildHacsRepository };
  await buildHacsRepository({ repo, out: path.join(tmp, "hacs"), version });
  tree = readTree(path.join(tmp, "hacs"));
  // A fresh build of the card on its own, the way `npm run build:card` runs esbuild.
  execFileSync(process.execPath, [path.join(repo, "ha-integration/card/build.mjs"), path.join(tmp, "fresh.js")], {
    stdio: "pipe",
  });
  freshCard = fs.readFileSync(path.join(tmp, "fresh.js"));
}, 60_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The tree with `change` applied to a copy. */
function variant(change: (t: Tree) => void): Tree {
  const t = new Map(tree);
  change(t);
  return t;
}
const withJson = (file: string, edit: (o: Obj) => void) => (t: Tree) => {
  const o = JSON.parse(t.get(file)!.toString("utf8"));
  edit(o);
  t.set(file, Buffer.from(JSON.stringify(o)));
};
const MANIFEST = `${INTEGRATION}/manifest.json`;

describe("generated HACS repository", () => {
  it("meets every rule", () => {
    expect(hacsRepositoryProblems(tree, version, freshCard)).toEqual([]);
  });

  it("holds hacs.json, README.md, LICENSE and the integration with its card", () => {
    expect(tree.has("hacs.json") && tree.has("README.md") && tree.has("LICENSE")).toBe(true);
    expect(tree.get("LICENSE")!.toString()).toMatch(/^MIT License/);
    for (const f of [
      "__init__.py",
      "manifest.json",
      "strings.json",
      "translations/en.json",
      "sentences/en.yaml",
      "brand/icon.png",
    ])
      expect(tree.has(`${INTEGRATION}/${f}`), f).toBe(true);
    expect(tree.get(CARD)!.toString()).toContain('"backup2mqtt-card"');
  });

  it("README tells a HACS user what it needs and how to install, with the version and no placeholders", () => {
    const readme = tree.get("README.md")!.toString();
    expect(readme).toContain(`Version ${version}.`);
    expect(readme).not.toMatch(/\{\{|\}\}/);
    for (const words of ["bridge", "MQTT", "Custom repositories", "Integration", "custom:backup2mqtt-card", "Assist"])
      expect(readme, words).toContain(words);
  });

  it("the manifest's version is bridge/package.json's, stamped over the source's", () => {
    const m = json(tree, MANIFEST)!;
    expect(m.version).toBe(version);
    const source = JSON.parse(fs.readFileSync(path.join(repo, "ha-integration", MANIFEST), "utf8"));
    expect({ ...m, version: undefined }).toEqual({ ...source, version: undefined });
  });
});

describe("each rule catches a broken variant", () => {
  const cases: [string, (t: Tree) => void, RegExp][] = [
    ["hacs.json missing", (t) => t.delete("hacs.json"), /hacs\.json: missing/],
    [
      "hacs.json key HACS refuses",
      withJson("hacs.json", (o) => (o.domains = ["sensor"])),
      /key "domains" is not accepted/,
    ],
    ["hacs.json name missing", withJson("hacs.json", (o) => delete o.name), /"name" is required/],
    [
      "hacs.json render_readme as text",
      withJson("hacs.json", (o) => (o.render_readme = "true")),
      /"render_readme" has the wrong type/,
    ],
    [
      "hacs.json homeassistant not a version",
      withJson("hacs.json", (o) => (o.homeassistant = "latest")),
      /"homeassistant" "latest"/,
    ],
    [
      "hacs.json zip_release without filename",
      withJson("hacs.json", (o) => (o.zip_release = true)),
      /filename is not set/,
    ],
    [
      "repository.yaml at the root",
      (t) => t.set("repository.yaml", Buffer.from("name: x\n")),
      /repository\.yaml at the root/,
    ],
    ["config.yaml at the root", (t) => t.set("config.yaml", Buffer.from("slug: x\n")), /config\.yaml at the root/],
    ["no README", (t) => t.delete("README.md"), /no README/],
    [
      "a second integration",
      (t) => t.set("custom_components/other/manifest.json", Buffer.from("{}")),
      /exactly one folder/,
    ],
    ["a stray root file", (t) => t.set("package.json", Buffer.from("{}")), /package\.json: neither read by HACS/],
    [
      "a Python cache",
      (t) => t.set(`${INTEGRATION}/__pycache__/hub.cpython-314.pyc`, Buffer.alloc(4)),
      /a cache, test or hidden/,
    ],
    [
      "tests in the integration",
      (t) => t.set(`${INTEGRATION}/tests/test_x.py`, Buffer.alloc(4)),
      /a cache, test or hidden/,
    ],
    ["manifest domain not the folder", withJson(MANIFEST, (o) => (o.domain = "backup2")), /is not the folder's name/],
    [
      "manifest without issue_tracker",
      withJson(MANIFEST, (o) => delete o.issue_tracker),
      /"issue_tracker" is required by HACS/,
    ],
    ["manifest without codeowners", withJson(MANIFEST, (o) => delete o.codeowners), /"codeowners" is required by HACS/],
    [
      "manifest documentation over http",
      withJson(MANIFEST, (o) => (o.documentation = "http://example.com")),
      /not an https URL/,
    ],
    [
      "manifest version that does not parse",
      withJson(MANIFEST, (o) => (o.version = "one")),
      /version "one" does not parse/,
    ],
    [
      "manifest version not the bridge's",
      withJson(MANIFEST, (o) => (o.version = "9.9.9")),
      /is not bridge\/package\.json's/,
    ],
    [
      "manifest key hassfest refuses",
      withJson(MANIFEST, (o) => (o.homeassistant = "2026.1.0")),
      /key "homeassistant" is not allowed/,
    ],
    [
      "manifest integration_type unknown",
      withJson(MANIFEST, (o) => (o.integration_type = "bridge")),
      /integration_type "bridge"/,
    ],
    ["manifest without iot_class", withJson(MANIFEST, (o) => delete o.iot_class), /iot_class "undefined" is missing/],
    [
      "manifest keys unsorted",
      (t) => {
        const o = json(t, MANIFEST)!;
        const { domain, ...rest } = o;
        t.set(MANIFEST, Buffer.from(JSON.stringify({ ...rest, domain })));
      },
      /keys are not sorted/,
    ],
    ["no brand icon", (t) => t.delete(`${INTEGRATION}/brand/icon.png`), /icon\.png is missing/],
    ["icon not a PNG", (t) => t.set(`${INTEGRATION}/brand/icon.png`, Buffer.from("GIF89a")), /icon\.png: not a PNG/],
    [
      "icon of the wrong size",
      (t) => t.set(`${INTEGRATION}/brand/icon.png`, resizedPng(t.get(`${INTEGRATION}/brand/icon.png`)!, 128, 128)),
      /128x128, an icon must be 256x256/,
    ],
    [
      "icon@2x of the 1x size",
      (t) => t.set(`${INTEGRATION}/brand/icon@2x.png`, t.get(`${INTEGRATION}/brand/icon.png`)!),
      /icon@2x\.png: 256x256, an icon must be 512x512/,
    ],
    [
      "logo too small",
      (t) => t.set(`${INTEGRATION}/brand/logo.png`, resizedPng(t.get(`${INTEGRATION}/brand/icon.png`)!, 300, 100)),
      /logo\.png: shortest side 100/,
    ],
    [
      "brand image HA does not serve",
      (t) => t.set(`${INTEGRATION}/brand/banner.png`, Buffer.alloc(4)),
      /not a brand image name/,
    ],
    [
      "stale card bundle",
      (t) => t.set(CARD, Buffer.concat([t.get(CARD)!, Buffer.from("\n// stale\n")])),
      /differs from a fresh build/,
    ],
    ["no card bundle", (t) => t.delete(CARD), /backup2mqtt-card\.js is missing/],
  ];
  it.each(cases)("%s", (_name, change, expected) => {
    const problems = hacsRepositoryProblems(variant(change), version, freshCard);
    expect(problems.join("\n")).toMatch(expected);
  });
});

describe("the builder refuses", () => {
  it("a version that is not a release and an output folder that is not empty", async () => {
    const { buildHacsRepository } = (await import(hacsScript)) as { buildHacsRepository: BuildHacsRepository };
    await expect(buildHacsRepository({ repo, out: path.join(tmp, "x"), version: "main" })).rejects.toThrow(
      /not a release version/,
    );
    await expect(buildHacsRepository({ repo, out: path.join(tmp, "hacs"), version })).rejects.toThrow(/is not empty/);
  });
});

/** The PNG with other dimensions written into its IHDR (enough for the size rules, which read only the header). */
function resizedPng(png: Buffer, width: number, height: number): Buffer {
  const b = Buffer.from(png);
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  return b;
}
