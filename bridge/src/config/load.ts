/**
 * Loading a config file (YAML or JSON): read the YAML tree (syntax, ${VAR}, *_file secrets, keys),
 * validate it against the schema (./schema/), run the checks a schema cannot express (./checks.ts),
 * and map it to the Config the bridge runs with (./map.ts). Every problem is collected and thrown
 * at once as a ConfigError naming key path and line.
 */
import fs from "node:fs";
import path from "node:path";
import { LineCounter, parseDocument, type Node } from "yaml";
import { checkConfig } from "./checks.js";
import { toConfig } from "./map.js";
import { ConfigError, type Config, type ConfigProblem } from "./types.js";
import { validateConfigFile } from "./validate.js";
import { YamlLocations, type PathPart } from "./yaml-locations.js";
import { checkGuestKeys, expandTree } from "./yaml-tree.js";

export * from "./types.js";
export { guestKeyProblem } from "./value-checks.js";

/** Loads, validates and resolves a config file. Throws ConfigError listing every problem with key and line. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(file, [{ key: "", message: `cannot read file: ${(e as Error).message}` }]);
  }
  return parseConfigText(text, file, env);
}

export function parseConfigText(text: string, file = "<config>", env: NodeJS.ProcessEnv = process.env): Config {
  const { data, loc, secrets } = readConfigData(text, file, env);
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const validated = validateConfigFile(data);
  if (!validated.ok) for (const p of validated.problems) problems.push(loc.problem(p.path, p.message, p.atKey));
  const baseDir = configDir(file);
  const checked = checkConfig(data, { loc, baseDir, problems, warnings });
  if (problems.length || !validated.ok) throw new ConfigError(file, dedupe(problems));
  return toConfig(validated.file, checked, {
    baseDir,
    secrets,
    warnings,
    fail: (at, message) => {
      throw new ConfigError(file, [loc.problem(at, message)]);
    },
  });
}

/** The folder relative paths in the file start at (the working directory for text without a file, "<…>"). */
export const configDir = (file: string) => (file.startsWith("<") ? process.cwd() : path.dirname(path.resolve(file)));

export interface ConfigData {
  /** The file's mapping, ${VAR} expanded and *_file secrets read; not validated. */
  data: Record<string, unknown>;
  loc: YamlLocations;
  /** Every secret value met on the way. */
  secrets: string[];
}

/**
 * The YAML stage: syntax, ${VAR} expansion, *_file secrets, duplicate and non-scalar keys, guest
 * keys. Throws a ConfigError for any problem here, before the schema sees the data.
 */
export function readConfigData(text: string, file: string, env: NodeJS.ProcessEnv): ConfigData {
  const lc = new LineCounter();
  // uniqueKeys: false — the yaml library checks duplicates with a scan per key (quadratic: a 50,000-guest
  // map took 30 s); expandTree finds duplicates with one Set per mapping instead.
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false });
  const loc = new YamlLocations(doc, lc);
  const problems: ConfigProblem[] = [];
  for (const err of doc.errors) {
    problems.push({ key: "", ...loc.posOf(err.pos[0]), message: `syntax: ${err.message.split("\n")[0]}` });
  }
  if (problems.length) throw new ConfigError(file, problems);

  const problemAt = (p: PathPart[], message: string, atKey = false) => problems.push(loc.problem(p, message, atKey));
  const problemAtNode = (p: PathPart[], node: Node | null | undefined, message: string) =>
    problems.push(loc.problemAtNode(p, node, message));
  // ${VAR} expansion and *_file secrets, on the YAML tree so errors keep their line; keys checked on the way.
  const secrets: string[] = [];
  const lineOf = (n: Node) => loc.posOf(n.range?.[0]).line;
  const sourceOf = (n: Node) => (n.range ? text.slice(n.range[0], n.range[1]).trim() : String(n));
  expandTree(doc, doc.contents as Node | null, [], env, problemAt, problemAtNode, lineOf, sourceOf, secrets);
  loc.reindex(); // expandTree replaced *_file keys
  checkGuestKeys(doc.contents as Node | null, problemAtNode);
  if (problems.length) throw new ConfigError(file, problems);

  let data: unknown;
  try {
    data = doc.toJS() ?? {};
  } catch (e) {
    // e.g. an alias (*name) whose anchor (&name) is missing
    throw new ConfigError(file, [{ key: "", message: `syntax: ${(e as Error).message.split("\n")[0]}` }]);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data))
    throw new ConfigError(file, [{ key: "", message: "the file must hold a mapping (key: value)" }]);
  return { data: data as Record<string, unknown>, loc, secrets };
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.key}|${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
