/**
 * The config schema moved from a hand-written JSON Schema checked by Ajv (legacy-config.schema.json)
 * to zod (bridge/src/config/schema/). This proves the move changed nothing: on every config of the
 * bad-config corpus (bad-configs/), of the tests, the integration suites and the README
 * (config-corpus.ts), and on property-based fuzz (the config fuzz of inputs.fuzz.test.ts and
 * mutations of a config that uses every key), the loader and its legacy version (config-legacy-loader.ts)
 * refuse the same files with the same problems — key path, line, column and message, in the same
 * order — and resolve the others to the same Config. The schema stages are also compared on their
 * own, and the generated bridge/schemas/config.schema.json, read by Ajv as editors read it, accepts
 * and refuses what the legacy schema did.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Ajv } from "ajv";
import fc from "fast-check";
import { parseDocument, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  loadConfig,
  parseConfigText,
  readConfigData,
  type Config,
  type ConfigProblem,
} from "../../bridge/src/config/load.js";
import { validateConfigFile } from "../../bridge/src/config/validate.js";
import { schemasDir } from "../../bridge/src/util/paths.js";
import { configCorpus } from "./config-corpus.js";
import { legacyConfigSchema, legacyParseConfigText, legacySchemaProblems } from "./config-legacy-loader.js";

type Outcome = { config: Config } | { problems: ConfigProblem[] } | { crash: string };
function outcome(load: () => Config): Outcome {
  try {
    return { config: load() };
  } catch (e) {
    return e instanceof ConfigError ? { problems: e.problems } : { crash: (e as Error).stack ?? String(e) };
  }
}

// One Ajv each: both schemas carry the same $id. The legacy one with the two keys added after it
// (timezone, language; see config-legacy-loader.ts); its time-zone keyword is unknown to a plain Ajv.
const legacyJson = new Ajv({ allErrors: true, strict: false }).compile(legacyConfigSchema());
const generatedJson = new Ajv({ allErrors: true, strict: false }).compile(
  JSON.parse(fs.readFileSync(path.join(schemasDir, "config.schema.json"), "utf8")),
);

/** CONFIG_LEGACY_RUNS=N runs N times the fuzz (1,500 texts and 1,500 mutations by default). */
const RUNS = Number(process.env.CONFIG_LEGACY_RUNS ?? 1);

const tally = { files: 0, accepted: 0, refused: 0, schemaCompared: 0 };

/**
 * A value as text for an exact comparison: key order, undefined values, -0, NaN and Infinity, and
 * objects that are not plain all show. (toStrictEqual would call two equal configs different when
 * a map has a key named "constructor".)
 */
function canonical(v: unknown): string {
  const walk = (x: unknown): unknown => {
    if (x === undefined) return "<undefined>";
    if (typeof x === "number")
      return Number.isFinite(x) && !Object.is(x, -0) ? x : `<${Object.is(x, -0) ? "-0" : String(x)}>`;
    if (Array.isArray(x)) return x.map(walk);
    if (!x || typeof x !== "object") return x;
    const plain = Object.getPrototypeOf(x) === Object.prototype;
    return {
      ...(plain ? {} : { "<prototype>": String(Object.getPrototypeOf(x)?.constructor?.name) }),
      entries: Object.keys(x).map((k) => [k, walk((x as Record<string, unknown>)[k])]),
    };
  };
  return JSON.stringify(walk(v), null, 1);
}

/** Compares the new loader with the legacy one on one text; returns the new outcome. */
function compare(text: string, env: NodeJS.ProcessEnv, file?: string): Outcome {
  const now = outcome(() => (file ? loadConfig(file, env) : parseConfigText(text, "<corpus>", env)));
  const then = outcome(() => legacyParseConfigText(text, file ?? "<corpus>", env));
  expect(canonical(now), text).toBe(canonical(then));
  expect("crash" in now ? now.crash : "", text).toBe("");
  tally.files++;
  if ("config" in now) tally.accepted++;
  else tally.refused++;
  // The schema stages alone, on the data the YAML stage gives (read twice: the legacy one fills in defaults).
  const read = () => {
    try {
      return readConfigData(text, file ?? "<corpus>", env).data;
    } catch {
      return undefined;
    }
  };
  const data = read();
  if (data) {
    const v = validateConfigFile(data);
    expect(canonical(v.ok ? [] : v.problems), text).toBe(canonical(legacySchemaProblems(read()!)));
    const plain = read()!;
    expect(generatedJson(plain), `generated schema vs legacy on\n${text}`).toBe(legacyJson(plain));
    tally.schemaCompared++;
  }
  return now;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-legacy-"));

describe("the zod config schema accepts, refuses and resolves every config as the legacy JSON Schema did", () => {
  it("the bad-config corpus: every file refused, with the same problems", () => {
    const badDir = path.join(import.meta.dirname, "bad-configs");
    const files = fs.readdirSync(badDir).filter((f) => f.endsWith(".yaml"));
    expect(files.length).toBeGreaterThanOrEqual(30);
    for (const f of files) {
      const file = path.join(badDir, f);
      expect(compare(fs.readFileSync(file, "utf8"), {}, file), f).toHaveProperty("problems");
    }
  });

  it("configs of the tests, the integration suites and the README", () => {
    const corpus = configCorpus(dir);
    const loaded = new Map<string, Config | undefined>();
    const outcomes = corpus.map((c) => {
      const file = c.file ? path.join(dir, c.file) : undefined;
      if (file) fs.writeFileSync(file, c.text);
      const o = compare(c.text, c.env, file);
      loaded.set(c.name, "config" in o ? o.config : undefined);
      return [c.name, "config" in o] as const;
    });
    // Both kinds are there, and the ones meant to load do.
    expect(outcomes.filter(([, ok]) => ok).length).toBeGreaterThanOrEqual(25);
    for (const name of ["load.test VALID", "secrets-scan everything", "README off-site, filled in", "every key"])
      expect(Object.fromEntries(outcomes)[name], name).toBe(true);
    // The keys added after the legacy schema (timezone, language) are read by the new loader, not
    // only accepted: the README's and every key's values; without them the system's zone and en.
    const pick = (name: string) => {
      const c = loaded.get(name);
      return c && { timeZone: c.timeZone, language: c.language };
    };
    expect(pick("README configuration, filled in")).toEqual({ timeZone: "Europe/Berlin", language: "en" });
    expect(pick("every key")).toEqual({ timeZone: "America/New_York", language: "de" });
    expect(pick("load.test VALID")).toEqual({
      timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
      language: "en",
    });
  });

  it("the config fuzz of inputs.fuzz.test.ts: mutated text, random mappings, random strings", () => {
    const VALID = configCorpus(dir).find((c) => c.name === "inputs.fuzz VALID")!.text;
    const anyJson = fc.jsonValue({ maxDepth: 4 });
    const mutated = fc
      .tuple(fc.nat(VALID.length), fc.nat(40), fc.string({ maxLength: 30 }))
      .map(([at, del, ins]) => VALID.slice(0, at) + ins + VALID.slice(at + del));
    const yamlish = fc
      .dictionary(
        fc.constantFrom("site", "mqtt", "proxmox", "tiers", "guests", "http", "state_dir", "log", "bogus"),
        anyJson,
      )
      .map((o) => JSON.stringify(o));
    fc.assert(
      fc.property(
        fc.oneof(mutated, yamlish, fc.string({ maxLength: 400 }), fc.constant(VALID)),
        (text) => void compare(text, { PVE: "x" }),
      ),
      { numRuns: 1500 * RUNS, seed: 11 },
    );
  }, 120_000);

  it("mutations of a config that uses every key: any value, a key removed, added or misspelt, anywhere", () => {
    const full = configCorpus(dir).find((c) => c.name === "every key")!;
    const base = parseDocument(full.text).toJS() as Record<string, unknown>;
    base.proxmox = (base.proxmox as Record<string, unknown>[]).map((p) => ({
      ...p,
      ca_file: path.join(dir, "ca.pem"),
    }));
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, at: (string | number)[]) => {
      paths.push(at);
      if (Array.isArray(v)) for (const [i, x] of v.entries()) walk(x, [...at, i]);
      else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, [...at, k]);
    };
    walk(base, []);
    const odd = fc.constantFrom<unknown>(
      Infinity,
      -Infinity,
      Number.NaN,
      1e300,
      2 ** 53 + 2,
      -0,
      0,
      1,
      1.5,
      -1,
      22,
      65536,
      99,
      100,
      "",
      "0",
      "1",
      "1s",
      "0s",
      "25h",
      "1.5h",
      null,
      true,
      false,
      [],
      {},
      ["x"],
      "x".repeat(60),
      "😀".repeat(20),
      "__proto__",
      "toString",
      "P1",
      "p1",
      "https://h",
      "mqtt://h",
      "snapshot",
    );
    const value = fc.oneof(odd, fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 20, unit: "binary" }));
    const key = fc.oneof(
      fc.constantFrom("__proto__", "constructor", "toString", "100", "0100", "P1", "p0", "bad key!", "url", "tier"),
      fc.string({ maxLength: 12 }),
    );
    const edit = fc.tuple(fc.nat(paths.length - 1), fc.constantFrom("set", "delete", "add", "rename"), value, key);
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        const cfg = structuredClone(base);
        for (const [i, op, v, k] of edits) apply(cfg, paths[i]!, op, v, k);
        compare(stringify(cfg), full.env);
      }),
      { numRuns: 1500 * RUNS, seed: 7 },
    );
    console.log(
      `config-legacy: ${tally.files} configs compared (${tally.accepted} accepted, ${tally.refused} refused), schema stages compared on ${tally.schemaCompared}`,
    );
  }, 300_000);
});

/** Applies one edit at a path of a config object (a path that no longer exists is left alone). */
function apply(root: Record<string, unknown>, at: (string | number)[], op: string, value: unknown, key: string): void {
  let parent: unknown = root;
  for (const p of at.slice(0, -1)) {
    if (!parent || typeof parent !== "object") return;
    parent = (parent as Record<string | number, unknown>)[p];
  }
  if (!parent || typeof parent !== "object") return;
  const container = parent as Record<string | number, unknown>;
  const last = at[at.length - 1];
  const target = last === undefined ? root : container[last];
  const define = (o: Record<string, unknown>, k: string, v: unknown) =>
    Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  value = copy(value);
  if (op === "set" && last !== undefined) container[last] = value;
  else if (op === "delete" && last !== undefined) {
    if (Array.isArray(container) && typeof last === "number") container.splice(last, 1);
    else delete container[last];
  } else if (op === "add" && target && typeof target === "object" && !Array.isArray(target))
    define(target as Record<string, unknown>, key, value);
  else if (op === "rename" && last !== undefined && typeof last === "string" && !Array.isArray(container)) {
    const v = container[last];
    delete container[last];
    define(container as Record<string, unknown>, key, v);
  }
}

/** A fresh copy of a generated value (generators hand out shared constants), own "__proto__" keys kept. */
function copy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copy);
  if (!v || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v))
    Object.defineProperty(out, k, { value: copy(x), writable: true, enumerable: true, configurable: true });
  return out;
}
