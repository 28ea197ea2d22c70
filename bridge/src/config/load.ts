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
  backup: { storage?: string; mode: string; compress: string; notesTemplate: string; method: "api" | "ssh" };
  /** SSH to the nodes (verification, vzdump over SSH); absent = not configured. */
  ssh?: SshConfig;
  verify: { automatic: boolean; quietHours?: string };
  restoreTest?: { scratchVmid: number; storage: string; node?: string; timeoutMs: number };
}

export interface SshConfig {
  host: string;
  port: number;
  username: string;
  privateKey?: string;
  password?: string;
  hostKey: string;
  /** Per node: another host and its own pinned host key. */
  nodes: Record<string, { host?: string; port?: number; hostKey: string }>;
  timeoutMs: number;
}

/** A Synology NAS whose Hyper Backup tasks carry PVE backup storages off-site (optional source). */
export interface SynologySourceConfig {
  name: string;
  url: string;
  username: string;
  password: string;
  /** SYNO.API.Auth session name (non-admin accounts need one they may use). */
  session: string;
  /** Label of the trusted device (2FA) in DSM. */
  deviceName: string;
  /** IANA time zone of the NAS: Hyper Backup times are NAS-local wall-clock strings. */
  timeZone: string;
  fingerprint?: string;
  caFile?: string;
  timeoutMs: number;
  pollIntervalMs: number;
  /** Per task (key: Hyper Backup task id or name): which PVE storages it carries and whether its target is off-site. */
  tasks: { match: string; storages: string[]; offsite: boolean; maxAgeMs: number }[];
  /** Max age of a task's last success before its device shows a problem, for tasks not listed. */
  defaultMaxAgeMs: number;
}

/** A Proxmox Backup Server (optional source). */
export interface PbsSourceConfig {
  name: string;
  url: string;
  tokenId: string;
  tokenSecret: string;
  fingerprint?: string;
  caFile?: string;
  timeoutMs: number;
  pollIntervalMs: number;
  /** The server itself stands at another site: archives on its datastores are off-site copies. */
  offsite: boolean;
  /** Sync jobs that push a datastore to a remote count as off-site copies (default true). */
  syncOffsite: boolean;
  /** Datastore → the PVE storages (type pbs) that point at it. Only these are read when given. */
  datastores: { store: string; storages: string[] }[];
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
  /** Optional off-site sources (absent in configs built in code before they existed). */
  synology?: SynologySourceConfig[];
  pbs?: PbsSourceConfig[];
  tiers: Record<string, Tier>;
  /** Keys: VMID (as string) or guest name; value: tier id. */
  guestTiers: Record<string, string>;
  http: { host: string; port: number; token?: string; webhookSecret?: string };
  /** Policy as code (`plan`/`apply`): the PVE backup jobs the tiers imply. Absent = defaults. */
  jobs?: JobsConfig;
  stateDir: string;
  logLevel: string;
  /** Every secret value in the config, so loggers and dumps can scrub them. */
  secrets: string[];
}

/** `jobs:` in the config file: how `plan`/`apply` shape the one PVE backup job per tier. */
export interface JobsConfig {
  /** false = manual-only: jobs are created disabled (Run now in PVE, Back up now in Home Assistant). */
  enabled: boolean;
  /** Target storage; default: proxmox[].backup.storage. */
  storage?: string;
  mode: string;
  compress: string;
  notesTemplate: string;
  /** tier id → id of an existing PVE job that apply may take over for that tier. */
  adopt: Record<string, string>;
  /** Per-tier overrides. */
  tiers: Record<string, { enabled?: boolean; storage?: string }>;
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

const SECRET_KEYS = new Set(["password", "token_secret", "token", "webhook_secret"]);

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

  let data: Record<string, unknown>;
  try {
    data = (doc.toJS() ?? {}) as Record<string, unknown>;
  } catch (e) {
    // e.g. an alias (*name) whose anchor (&name) is missing
    throw new ConfigError(file, [{ key: "", message: `syntax: ${(e as Error).message.split("\n")[0]}` }]);
  }
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
  // The schema has reported wrong types already; the checks below only look at well-formed lists.
  const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter((x) => x && typeof x === "object") : []);
  list(cfg.proxmox).forEach((px: Record<string, unknown>, i: number) => {
    if (px.token_secret === undefined) problemAt(["proxmox", i], "token_secret (or token_secret_file) is required");
    if (px.fingerprint && px.ca_file) problemAt(["proxmox", i, "fingerprint"], "give either fingerprint or ca_file, not both");
  });
  const names = new Set<string>();
  for (const section of ["proxmox", "synology", "pbs"] as const) {
    list(cfg[section]).forEach((px: Record<string, unknown>, i: number) => {
      if (names.has(String(px.name))) problemAt([section, i, "name"], `duplicate source name "${px.name}"`);
      names.add(String(px.name));
      if (section === "proxmox") return;
      if (px.fingerprint && px.ca_file) problemAt([section, i, "fingerprint"], "give either fingerprint or ca_file, not both");
      if (section === "synology" && px.password === undefined) problemAt([section, i], "password (or password_file) is required");
      if (section === "pbs" && px.token_secret === undefined) problemAt([section, i], "token_secret (or token_secret_file) is required");
      if (section === "synology" && px.timezone !== undefined) {
        try {
          new Intl.DateTimeFormat("en-US", { timeZone: String(px.timezone) });
        } catch {
          problemAt([section, i, "timezone"], `unknown IANA time zone "${px.timezone}"`);
        }
      }
    });
  }
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
  for (const [tierId, jobId] of Object.entries((cfg.jobs?.adopt ?? {}) as Record<string, string>)) {
    if (Object.keys(tiers).length && !(tierId in tiers)) problemAt(["jobs", "adopt", tierId], `unknown tier "${tierId}" (known: ${Object.keys(tiers).join(", ")})`, true);
    if (jobId.startsWith("backup2mqtt-")) problemAt(["jobs", "adopt", tierId], `job "${jobId}" is already managed by backup2mqtt; adopt names a job someone else created`);
  }
  for (const tierId of Object.keys((cfg.jobs?.tiers ?? {}) as Record<string, unknown>)) {
    if (Object.keys(tiers).length && !(tierId in tiers)) problemAt(["jobs", "tiers", tierId], `unknown tier "${tierId}" (known: ${Object.keys(tiers).join(", ")})`, true);
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
        method: px.backup?.method ?? "api",
      },
      ...(px.ssh
        ? {
            ssh: sshConfig(px, baseDir, secrets, (k, m) => {
              const at = ["proxmox", (cfg.proxmox as unknown[]).indexOf(px), ...k];
              throw new ConfigError(file, [{ key: keyText(at), ...posOf((nodeAt(at) as Node | undefined)?.range?.[0]), message: m }]);
            }),
          }
        : {}),
      verify: { automatic: px.verify?.automatic ?? true, ...(px.verify?.quiet_hours ? { quietHours: px.verify.quiet_hours } : {}) },
      ...(px.restore_test
        ? { restoreTest: { scratchVmid: px.restore_test.scratch_vmid, storage: px.restore_test.storage, ...(px.restore_test.node ? { node: px.restore_test.node } : {}), timeoutMs: parseDuration(px.restore_test.timeout ?? "2h") } }
        : {}),
    })),
    synology: ((cfg.synology ?? []) as Record<string, any>[]).map((n) => ({
      name: n.name,
      url: String(n.url).replace(/\/+$/, ""),
      username: n.username,
      password: n.password,
      session: n.session ?? "webui",
      deviceName: n.device_name ?? "backup2mqtt",
      timeZone: n.timezone ?? "UTC",
      fingerprint: n.fingerprint?.toUpperCase(),
      caFile: n.ca_file ? path.resolve(baseDir, n.ca_file) : undefined,
      timeoutMs: parseDuration(n.timeout ?? "15s"),
      pollIntervalMs: parseDuration(n.poll_interval ?? "5m"),
      defaultMaxAgeMs: parseDuration(n.max_age ?? "26h"),
      tasks: Object.entries((n.tasks ?? {}) as Record<string, { protects?: string[]; offsite?: boolean; max_age?: string }>).map(([match, t]) => ({
        match,
        storages: t.protects ?? [],
        offsite: t.offsite ?? true,
        maxAgeMs: parseDuration(t.max_age ?? n.max_age ?? "26h"),
      })),
    })),
    pbs: ((cfg.pbs ?? []) as Record<string, any>[]).map((b) => ({
      name: b.name,
      url: String(b.url).replace(/\/+$/, ""),
      tokenId: b.token_id,
      tokenSecret: b.token_secret,
      fingerprint: b.fingerprint?.toUpperCase(),
      caFile: b.ca_file ? path.resolve(baseDir, b.ca_file) : undefined,
      timeoutMs: parseDuration(b.timeout ?? "15s"),
      pollIntervalMs: parseDuration(b.poll_interval ?? "5m"),
      offsite: b.offsite ?? false,
      syncOffsite: b.sync_offsite ?? true,
      datastores: Object.entries((b.datastores ?? {}) as Record<string, { storages?: string[] }>).map(([store, d]) => ({ store, storages: d?.storages ?? [] })),
    })),
    tiers,
    guestTiers: Object.fromEntries(
      Object.entries((cfg.guests ?? {}) as Record<string, { tier?: string }>)
        .filter(([, g]) => g?.tier)
        .map(([k, g]) => [k, g.tier!]),
    ),
    http: { host, port, token: cfg.http?.token, ...(cfg.http?.webhook_secret ? { webhookSecret: cfg.http.webhook_secret } : {}) },
    ...(cfg.jobs ? { jobs: jobsConfig(cfg.jobs) } : {}),
    stateDir: path.resolve(baseDir, cfg.state_dir ?? "./state"),
    logLevel: cfg.log?.level ?? "info",
    secrets,
  };
}

function jobsConfig(j: Record<string, any>): JobsConfig {
  return {
    enabled: j.enabled ?? true,
    ...(j.storage ? { storage: j.storage } : {}),
    mode: j.mode ?? "snapshot",
    compress: j.compress ?? "zstd",
    notesTemplate: j.notes_template ?? "{{guestname}}",
    adopt: { ...(j.adopt ?? {}) },
    tiers: Object.fromEntries(Object.entries((j.tiers ?? {}) as Record<string, { enabled?: boolean; storage?: string }>).map(([k, v]) => [k, { ...v }])),
  };
}

function sshConfig(px: Record<string, any>, baseDir: string, secrets: string[], problemAt: (k: PathPart[], m: string) => void): SshConfig {
  const ssh = px.ssh as Record<string, any>;
  let privateKey: string | undefined;
  if (ssh.private_key_file) {
    try {
      privateKey = fs.readFileSync(path.resolve(baseDir, ssh.private_key_file), "utf8");
      secrets.push(privateKey.trim());
    } catch (e) {
      problemAt(["ssh", "private_key_file"], `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return {
    host: ssh.host ?? new URL(String(px.url)).hostname,
    port: ssh.port ?? 22,
    username: ssh.username ?? "root",
    ...(privateKey ? { privateKey } : {}),
    ...(ssh.password ? { password: ssh.password } : {}),
    hostKey: ssh.host_key,
    nodes: Object.fromEntries(Object.entries((ssh.nodes ?? {}) as Record<string, any>).map(([n, v]) => [n, { ...(v.host ? { host: v.host } : {}), ...(v.port ? { port: v.port } : {}), hostKey: v.host_key }])),
    timeoutMs: parseDuration(ssh.timeout ?? "2h"),
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
