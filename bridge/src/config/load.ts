import fs from "node:fs";
import path from "node:path";
import { LineCounter, parseDocument, isScalar, isMap, isSeq, type Node, type Document } from "yaml";
import { Ajv, type ErrorObject } from "ajv";
import { schemasDir } from "../util/paths.js";
import { resolveTiers, type Tier, type TierInput } from "./tiers.js";
import { parseDuration } from "../util/duration.js";

export interface ProxmoxSourceConfig {
  name: string;
  url: string;
  tokenId: string;
  tokenSecret: string;
  fingerprint?: string;
  caFile?: string;
  timeoutMs: number;
  pollIntervalMs: number;
  contentIntervalMs: number;
  backup: { storage?: string; mode: string; compress: string; notesTemplate: string };
}

export interface Config {
  site: string;
  mqtt: {
    url: string;
    username?: string;
    password?: string;
    clientId?: string;
    baseTopic: string;
    discoveryPrefix: string;
    caFile?: string;
  };
  proxmox: ProxmoxSourceConfig[];
  tiers: Record<string, Tier>;
  /** Keys: VMID (as string) or guest name; value: tier id. */
  guestTiers: Record<string, string>;
  http: { host: string; port: number; token?: string };
  stateDir: string;
  logLevel: string;
  /** Every secret value in the config, so loggers and dumps can scrub them. */
  secrets: string[];
}

export interface ConfigProblem {
  /** JSON-pointer-like key path, e.g. proxmox[0].url */
  key: string;
  line?: number;
  column?: number;
  message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `${file}: ${problems.length} problem(s)\n` +
        problems.map((p) => `  ${p.line ? `line ${p.line}:${p.column} ` : ""}${p.key || "(root)"}: ${p.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

const SECRET_KEYS = new Set(["password", "token_secret", "token"]);

type PathPart = string | number;
const keyText = (p: PathPart[]) =>
  p.reduce<string>((acc, part) => (typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), "");

let ajvInstance: Ajv | undefined;
function validator() {
  if (!ajvInstance) {
    ajvInstance = new Ajv({ allErrors: true, useDefaults: true, strict: false });
    const schema = JSON.parse(fs.readFileSync(path.join(schemasDir, "config.schema.json"), "utf8"));
    ajvInstance.addSchema(schema, "config");
  }
  return ajvInstance.getSchema("config")!;
}

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
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const problems: ConfigProblem[] = [];
  const posOf = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const { line, col } = lc.linePos(offset);
    return { line, column: col };
  };
  for (const err of doc.errors) {
    problems.push({ key: "", ...posOf(err.pos[0]), message: `syntax: ${err.message.split("\n")[0]}` });
  }
  if (problems.length) throw new ConfigError(file, problems);

  const nodeAt = (p: PathPart[]): Node | undefined => {
    for (let i = p.length; i >= 0; i--) {
      const n = i === 0 ? (doc.contents as Node | null) : (doc.getIn(p.slice(0, i), true) as Node | undefined);
      if (n && (n as Node).range) return n as Node;
    }
    return undefined;
  };
  const keyNodeAt = (p: PathPart[]): Node | undefined => {
    // For "unknown key" errors point at the key itself.
    const parent = p.length > 1 ? doc.getIn(p.slice(0, -1), true) : doc.contents;
    if (isMap(parent)) {
      const pair = parent.items.find((it) => isScalar(it.key) && it.key.value === p[p.length - 1]);
      if (pair && isScalar(pair.key)) return pair.key;
    }
    return nodeAt(p);
  };
  const problemAt = (p: PathPart[], message: string, atKey = false) =>
    problems.push({ key: keyText(p), ...posOf((atKey ? keyNodeAt(p) : nodeAt(p))?.range?.[0]), message });

  // ${VAR} expansion and *_file secrets, on the YAML tree so errors keep their line.
  const secrets: string[] = [];
  expandTree(doc, doc.contents as Node | null, [], env, problemAt, secrets);
  if (problems.length) throw new ConfigError(file, problems);

  const data = (doc.toJS() ?? {}) as Record<string, unknown>;
  if (typeof data !== "object" || Array.isArray(data)) throw new ConfigError(file, [{ key: "", message: "the file must hold a mapping (key: value)" }]);
  const validate = validator();
  if (!validate(data)) {
    for (const e of validate.errors ?? []) {
      const p = pointerToPath(e.instancePath);
      if (e.keyword === "additionalProperties") {
        const extra = (e.params as { additionalProperty: string }).additionalProperty;
        problemAt([...p, extra], `unknown key "${extra}"`, true);
      } else {
        problemAt(p, describeAjvError(e));
      }
    }
  }
  // Cross-field checks the schema cannot express.
  const cfg = data as Record<string, any>;
  (cfg.proxmox ?? []).forEach((px: Record<string, unknown>, i: number) => {
    if (px.token_secret === undefined) problemAt(["proxmox", i], "token_secret (or token_secret_file) is required");
    if (px.fingerprint && px.ca_file) problemAt(["proxmox", i, "fingerprint"], "give either fingerprint or ca_file, not both");
  });
  const names = new Set<string>();
  (cfg.proxmox ?? []).forEach((px: Record<string, unknown>, i: number) => {
    if (names.has(String(px.name))) problemAt(["proxmox", i, "name"], `duplicate source name "${px.name}"`);
    names.add(String(px.name));
  });
  let tiers: Record<string, Tier> = {};
  try {
    tiers = resolveTiers(cfg.tiers as Record<string, TierInput> | undefined);
  } catch (e) {
    problemAt(["tiers"], (e as Error).message);
  }
  for (const [key, g] of Object.entries((cfg.guests ?? {}) as Record<string, { tier?: string }>)) {
    if (g?.tier !== undefined && !(g.tier in tiers) && Object.keys(tiers).length)
      problemAt(["guests", key, "tier"], `unknown tier "${g.tier}" (known: ${Object.keys(tiers).join(", ")})`);
  }
  if (problems.length) throw new ConfigError(file, dedupe(problems));

  const [host, port] = splitListen(cfg.http?.listen ?? "127.0.0.1:8080");
  const baseDir = file.startsWith("<") ? process.cwd() : path.dirname(path.resolve(file));
  return {
    site: cfg.site ?? "home",
    mqtt: {
      url: cfg.mqtt.url,
      username: cfg.mqtt.username,
      password: cfg.mqtt.password,
      clientId: cfg.mqtt.client_id,
      baseTopic: cfg.mqtt.base_topic ?? "backup2mqtt",
      discoveryPrefix: cfg.mqtt.discovery_prefix ?? "homeassistant",
      caFile: cfg.mqtt.ca_file,
    },
    proxmox: (cfg.proxmox as Record<string, any>[]).map((px) => ({
      name: px.name,
      url: String(px.url).replace(/\/+$/, ""),
      tokenId: px.token_id,
      tokenSecret: px.token_secret,
      fingerprint: px.fingerprint?.toUpperCase(),
      caFile: px.ca_file ? path.resolve(baseDir, px.ca_file) : undefined,
      timeoutMs: parseDuration(px.timeout ?? "10s"),
      pollIntervalMs: parseDuration(px.poll_interval ?? "60s"),
      contentIntervalMs: parseDuration(px.content_interval ?? "10m"),
      backup: {
        storage: px.backup?.storage,
        mode: px.backup?.mode ?? "snapshot",
        compress: px.backup?.compress ?? "zstd",
        notesTemplate: px.backup?.notes_template ?? "{{guestname}}",
      },
    })),
    tiers,
    guestTiers: Object.fromEntries(
      Object.entries((cfg.guests ?? {}) as Record<string, { tier?: string }>)
        .filter(([, g]) => g?.tier)
        .map(([k, g]) => [k, g.tier!]),
    ),
    http: { host, port, token: cfg.http?.token },
    stateDir: path.resolve(baseDir, cfg.state_dir ?? "./state"),
    logLevel: cfg.log?.level ?? "info",
    secrets,
  };
}

function splitListen(listen: string): [string, number] {
  const i = listen.lastIndexOf(":");
  return [listen.slice(0, i) || "127.0.0.1", Number(listen.slice(i + 1))];
}

function pointerToPath(pointer: string): PathPart[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
}

function describeAjvError(e: ErrorObject): string {
  switch (e.keyword) {
    case "required":
      return `missing required key "${(e.params as { missingProperty: string }).missingProperty}"`;
    case "pattern":
      return `value does not have the expected form (${e.parentSchema && (e.parentSchema as any).description ? (e.parentSchema as any).description : `pattern ${(e.params as { pattern: string }).pattern}`})`;
    case "enum":
      return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
    case "type":
      return `must be ${(e.params as { type: string }).type}`;
    default:
      return e.message ?? e.keyword;
  }
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

/** Walks the YAML tree: expands ${VAR} in scalars, replaces <secret>_file keys by the file's content. */
function expandTree(
  doc: Document,
  node: Node | null,
  at: PathPart[],
  env: NodeJS.ProcessEnv,
  problemAt: (p: PathPart[], m: string, atKey?: boolean) => void,
  secrets: string[],
): void {
  if (!node) return;
  if (isMap(node)) {
    for (const pair of [...node.items]) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      const value = pair.value as Node | null;
      const here = [...at, key];
      if (key.endsWith("_file") && SECRET_KEYS.has(key.slice(0, -5)) && isScalar(value)) {
        const target = key.slice(0, -5);
        if (node.has(target)) {
          problemAt(here, `give either ${target} or ${key}, not both`, true);
          continue;
        }
        const filePath = expandString(String(value.value), env, here, problemAt);
        if (filePath === undefined) continue;
        try {
          const secret = fs.readFileSync(filePath, "utf8").replace(/\r?\n$/, "");
          if (!secret) problemAt(here, `file ${filePath} is empty`);
          node.set(target, secret);
          node.delete(key);
          secrets.push(secret);
        } catch (e) {
          problemAt(here, `cannot read secret file ${filePath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        continue;
      }
      if (isScalar(value) && typeof value.value === "string") {
        const expanded = expandString(value.value, env, here, problemAt);
        if (expanded !== undefined) value.value = expanded;
        if (SECRET_KEYS.has(key) && typeof value.value === "string" && value.value) secrets.push(value.value);
      } else {
        expandTree(doc, value, here, env, problemAt, secrets);
      }
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const here = [...at, i];
      if (isScalar(item) && typeof item.value === "string") {
        const expanded = expandString(item.value, env, here, problemAt);
        if (expanded !== undefined) item.value = expanded;
      } else expandTree(doc, item as Node, here, env, problemAt, secrets);
    });
  }
}

function expandString(
  s: string,
  env: NodeJS.ProcessEnv,
  at: PathPart[],
  problemAt: (p: PathPart[], m: string) => void,
): string | undefined {
  let ok = true;
  const out = s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const v = env[name];
    if (v === undefined) {
      ok = false;
      problemAt(at, `environment variable ${name} is not set`);
      return "";
    }
    return v;
  });
  return ok ? out : undefined;
}
