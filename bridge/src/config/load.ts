import fs from "node:fs";
import path from "node:path";
import { LineCounter, parseDocument, isScalar, isMap, isSeq, type Node, type Document, type Pair, type YAMLMap } from "yaml";
import { Ajv, type ErrorObject } from "ajv";
import { schemasDir } from "../util/paths.js";
import { DEFAULT_TIERS, resolveTiers, type Tier, type TierInput } from "./tiers.js";
import { formatDuration, parseDuration } from "../util/duration.js";
import { CALENDAR_EXAMPLES, CalendarEventError, frequency, parseCalendarEvent } from "../policy/calendar.js";

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
    /**
     * mqtt.removal_grace: how long a guest must be confirmed gone from its source before its Home
     * Assistant device is removed (0 = at once). Always set by the loader; absent in configs built in code.
     */
    removalGraceMs?: number;
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
  /** Things that work but probably not as meant (e.g. a schedule whose frequency cannot be derived): `check` prints them, `run` logs them. */
  warnings?: ConfigProblem[];
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
/** proxmox[0].url, guests.100.tier; a key that is empty or holds dots, spaces or brackets is quoted: guests["a.b"]. */
const keyText = (p: PathPart[]) =>
  p.reduce<string>(
    (acc, part) =>
      typeof part === "number" ? `${acc}[${part}]` : !/^[^.\s[\]"]+$/.test(part) ? `${acc}[${JSON.stringify(part)}]` : acc ? `${acc}.${part}` : part,
    "",
  );

interface DurationBounds {
  what: string;
  min: string;
  max: string;
}
/**
 * Every duration key has bounds: a poll of 0s busy-loops, and Node's setTimeout fires at once for
 * anything over 2^31-1 ms (24.8 days). Durations used as timers (poll intervals, timeouts) stay below
 * that; the longer ones (max_age, verify_every, removal_grace) are deadlines the bridge compares
 * against the clock, and its one timer for them is re-armed in steps of at most 2^31-1 ms.
 */
const BOUNDS = {
  poll: { what: "a poll interval", min: "1s", max: "24h" },
  content: { what: "the storage listing interval", min: "1s", max: "7d" },
  timeout: { what: "a request timeout", min: "1s", max: "1h" },
  sshTimeout: { what: "the SSH timeout", min: "1s", max: "24h" },
  restoreTimeout: { what: "the restore test timeout", min: "1m", max: "7d" },
  maxAge: { what: "a maximum age", min: "1m", max: "3650d" },
  verifyEvery: { what: "the verification interval", min: "1h", max: "3650d" },
  removalGrace: { what: "the removal grace period", min: "0s", max: "365d" },
} satisfies Record<string, DurationBounds>;

function durationProblem(text: string, b: DurationBounds): string | undefined {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    return undefined; // the schema's pattern has said so
  }
  if (ms < parseDuration(b.min)) return `${text} is too short: ${b.what} must be between ${b.min} and ${b.max}`;
  if (ms > parseDuration(b.max)) return `${text} is too long: ${b.what} must be between ${b.min} and ${b.max}`;
  return undefined;
}

const SOURCE_URL_EXAMPLE = { proxmox: "https://pve.lan:8006", synology: "https://nas.lan:5001", pbs: "https://pbs.lan:8007" } as const;

/** A URL the clients can use: it parses, has a host, no credentials; source URLs have no path, query or fragment (a lone "/" is fine). */
function urlProblem(text: string, o: { example: string; allowPath: boolean; allowCredentials?: boolean }): string | undefined {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return `"${text}" is not a valid URL (is the host missing, or the port above 65535?); write e.g. ${o.example}`;
  }
  if (!u.hostname) return `"${text}" has no host; write e.g. ${o.example}`;
  if ((u.username || u.password) && !o.allowCredentials) return `the URL must not hold a user name or password; write e.g. ${o.example}`;
  if (!o.allowPath && ((u.pathname && u.pathname !== "/") || u.search || u.hash))
    return `the URL must not have a path (${u.pathname}${u.search}${u.hash}): the API paths are added by backup2mqtt; write only the scheme, host and port, e.g. ${o.example}`;
  return undefined;
}

function pemFileProblem(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "the file does not exist" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "it is a directory" : (code ?? (e as Error).message);
    return `cannot read ${file}: ${why}`;
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) return `${file} holds no PEM certificate (a block starting with -----BEGIN CERTIFICATE-----)`;
  return undefined;
}

/** http.listen: HOST:PORT or [IPv6]:PORT; port 0 = any free port. Returns [host, port] or a problem. */
function parseListen(listen: string): [string, number] | string {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):([0-9]+)$/.exec(listen);
  if (!m) return `"${listen}" is not HOST:PORT (e.g. 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080)`;
  const port = Number(m[3]);
  if (port > 65535) return `port ${m[3]} is out of range: a port is 0-65535 (0 = any free port)`;
  return [m[1] ?? (m[2] || "127.0.0.1"), port];
}

/** PVE's rules: a VMID is 100-999999999; a guest name is a DNS name (letters, digits, hyphens; labels joined by dots). */
const GUEST_NAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
export function guestKeyProblem(key: string): string | undefined {
  const hint = "write a VMID (100-999999999) or a guest name as PVE shows it";
  if (key === "") return `a guest key is empty; ${hint}`;
  if (/^[0-9]+$/.test(key)) {
    if (key.length > 1 && key.startsWith("0")) return `VMID ${key} has a leading zero; write ${String(Number(key))}`;
    const n = Number(key);
    if (n < 100 || n > 999_999_999) return `${key} is not a VMID: VMIDs are 100-999999999 (PVE's rule)`;
    return undefined;
  }
  if (!GUEST_NAME.test(key)) return `"${key}" is neither a VMID nor a guest name (names hold letters, digits and hyphens, with dots between parts); ${hint}`;
  return undefined;
}

/** Keys of guests: must be VMIDs or guest names, each once. One pass over the mapping. */
function checkGuestKeys(root: Node | null, problemAtNode: (p: PathPart[], n: Node | null | undefined, m: string) => void): void {
  if (!isMap(root)) return;
  const guests = root.items.find((it) => isScalar(it.key) && it.key.value === "guests")?.value as Node | null | undefined;
  if (!isMap(guests)) return;
  for (const pair of guests.items) {
    const k = pair.key as Node | null;
    if (!isScalar(k)) continue; // reported by expandTree (a list or mapping as a key)
    const v = k.value;
    const text = typeof v === "string" ? v : typeof v === "number" && Number.isInteger(v) ? String(v) : null;
    const problem = text === null ? `${v === null ? "an empty key" : `${JSON.stringify(v)}`} is not a guest key; write a VMID (100-999999999) or a guest name as PVE shows it` : guestKeyProblem(text);
    if (problem) problemAtNode(["guests", text ?? String(v ?? "")], k, problem);
  }
}

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
  // uniqueKeys: false — the yaml library checks duplicates with a scan per key (quadratic: a 50,000-guest
  // map took 30 s); expandTree finds duplicates with one Set per mapping instead.
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false });
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const posOf = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const { line, col } = lc.linePos(offset);
    return { line, column: col };
  };
  for (const err of doc.errors) {
    problems.push({ key: "", ...posOf(err.pos[0]), message: `syntax: ${err.message.split("\n")[0]}` });
  }
  if (problems.length) throw new ConfigError(file, problems);

  // Key lookup by path, indexed per mapping so that errors in a 200,000-entry map stay linear.
  let pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();
  const pairOf = (map: YAMLMap, key: PathPart): Pair | undefined => {
    let idx = pairIndex.get(map);
    if (!idx) {
      idx = new Map();
      for (const it of map.items) {
        const k = isScalar(it.key) ? String(it.key.value) : String(it.key);
        if (!idx.has(k)) idx.set(k, it as Pair);
      }
      pairIndex.set(map, idx);
    }
    return idx.get(String(key));
  };
  /** The deepest node on the path that exists (so a missing key points at its parent). */
  const nodeAt = (p: PathPart[]): Node | undefined => {
    let node = doc.contents as Node | null;
    let found: Node | undefined = node?.range ? node : undefined;
    for (const part of p) {
      if (isMap(node)) node = (pairOf(node, part)?.value ?? null) as Node | null;
      else if (isSeq(node) && typeof part === "number") node = (node.items[part] ?? null) as Node | null;
      else break;
      if (!node) break;
      if (node.range) found = node;
    }
    return found;
  };
  const keyNodeAt = (p: PathPart[]): Node | undefined => {
    // For "unknown key" errors point at the key itself.
    const parent = p.length > 1 ? nodeAt(p.slice(0, -1)) : (doc.contents as Node | null);
    if (isMap(parent)) {
      const pair = pairOf(parent, p[p.length - 1]!);
      if (pair && isScalar(pair.key)) return pair.key;
    }
    return nodeAt(p);
  };
  const problemAt = (p: PathPart[], message: string, atKey = false) =>
    problems.push({ key: keyText(p), ...posOf((atKey ? keyNodeAt(p) : nodeAt(p))?.range?.[0]), message });
  const warningAt = (p: PathPart[], message: string) => warnings.push({ key: keyText(p), ...posOf(nodeAt(p)?.range?.[0]), message });
  const problemAtNode = (p: PathPart[], node: Node | null | undefined, message: string) => problems.push({ key: keyText(p), ...posOf(node?.range?.[0]), message });

  // ${VAR} expansion and *_file secrets, on the YAML tree so errors keep their line; keys checked on the way.
  const secrets: string[] = [];
  expandTree(doc, doc.contents as Node | null, [], env, problemAt, problemAtNode, (n) => posOf(n.range?.[0]).line, (n) => (n.range ? text.slice(n.range[0], n.range[1]).trim() : String(n)), secrets);
  pairIndex = new WeakMap(); // expandTree replaced *_file keys
  checkGuestKeys(doc.contents as Node | null, problemAtNode);
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
  // Checks the schema cannot express. The schema has reported wrong types already: each check below
  // looks only at values of the right type, and skips a key that already has a problem.
  const reported = new Set(problems.map((p) => p.key));
  const fresh = (p: PathPart[]) => !reported.has(keyText(p));
  const cfg = data as Record<string, any>;
  const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.map((x) => obj(x) ?? {}) : []);
  const duration = (p: PathPart[], v: unknown, bounds: DurationBounds) => {
    if (typeof v !== "string" || !fresh(p)) return;
    const problem = durationProblem(v, bounds);
    if (problem) problemAt(p, problem);
  };
  const baseDir = file.startsWith("<") ? process.cwd() : path.dirname(path.resolve(file));
  const caFile = (p: PathPart[], v: unknown) => {
    if (typeof v !== "string" || !fresh(p)) return;
    const problem = pemFileProblem(path.resolve(baseDir, v));
    if (problem) problemAt(p, problem);
  };

  const mqttCfg = obj(cfg.mqtt);
  if (mqttCfg) {
    if (typeof mqttCfg.url === "string" && fresh(["mqtt", "url"])) {
      const problem = urlProblem(mqttCfg.url, { example: "mqtt://192.168.1.10:1883", allowPath: true, allowCredentials: true });
      if (problem) problemAt(["mqtt", "url"], problem);
    }
    caFile(["mqtt", "ca_file"], mqttCfg.ca_file);
    duration(["mqtt", "removal_grace"], mqttCfg.removal_grace, BOUNDS.removalGrace);
  }
  list(cfg.proxmox).forEach((px, i) => {
    if (px.token_secret === undefined) problemAt(["proxmox", i], "token_secret (or token_secret_file) is required");
    if (px.fingerprint && px.ca_file) problemAt(["proxmox", i, "fingerprint"], "give either fingerprint or ca_file, not both");
    duration(["proxmox", i, "timeout"], px.timeout, BOUNDS.timeout);
    duration(["proxmox", i, "poll_interval"], px.poll_interval, BOUNDS.poll);
    duration(["proxmox", i, "content_interval"], px.content_interval, BOUNDS.content);
    const ssh = obj(px.ssh);
    if (ssh) duration(["proxmox", i, "ssh", "timeout"], ssh.timeout, BOUNDS.sshTimeout);
    const rt = obj(px.restore_test);
    if (rt) duration(["proxmox", i, "restore_test", "timeout"], rt.timeout, BOUNDS.restoreTimeout);
  });
  const names = new Set<string>();
  for (const section of ["proxmox", "synology", "pbs"] as const) {
    list(cfg[section]).forEach((px, i) => {
      if (typeof px.name === "string") {
        if (names.has(px.name)) problemAt([section, i, "name"], `duplicate source name "${px.name}"`);
        names.add(px.name);
      }
      if (typeof px.url === "string" && fresh([section, i, "url"])) {
        const problem = urlProblem(px.url, { example: SOURCE_URL_EXAMPLE[section], allowPath: false });
        if (problem) problemAt([section, i, "url"], problem);
      }
      caFile([section, i, "ca_file"], px.ca_file);
      if (section === "proxmox") return;
      if (px.fingerprint && px.ca_file) problemAt([section, i, "fingerprint"], "give either fingerprint or ca_file, not both");
      duration([section, i, "timeout"], px.timeout, BOUNDS.timeout);
      duration([section, i, "poll_interval"], px.poll_interval, BOUNDS.poll);
      if (section === "synology" && px.password === undefined) problemAt([section, i], "password (or password_file) is required");
      if (section === "pbs" && px.token_secret === undefined) problemAt([section, i], "token_secret (or token_secret_file) is required");
      if (section === "synology") {
        duration([section, i, "max_age"], px.max_age, BOUNDS.maxAge);
        for (const [task, t] of Object.entries(obj(px.tasks) ?? {})) duration([section, i, "tasks", task, "max_age"], obj(t)?.max_age, BOUNDS.maxAge);
        if (typeof px.timezone === "string") {
          try {
            new Intl.DateTimeFormat("en-US", { timeZone: px.timezone });
          } catch {
            problemAt([section, i, "timezone"], `unknown IANA time zone "${px.timezone}"`);
          }
        }
      }
    });
  }
  const httpCfg = obj(cfg.http);
  let listen: [string, number] = ["127.0.0.1", 8080];
  if (httpCfg && typeof httpCfg.listen === "string" && fresh(["http", "listen"])) {
    const l = parseListen(httpCfg.listen);
    if (typeof l === "string") problemAt(["http", "listen"], l);
    else listen = l;
  }

  // Tiers: ids are case-sensitive, so "p2" next to P2 is a mistake, not a new tier.
  const tierInput = obj(cfg.tiers) ?? {};
  const ids = [...Object.keys(DEFAULT_TIERS), ...Object.keys(tierInput).filter((id) => !(id in DEFAULT_TIERS))];
  const byLower = new Map<string, string>();
  for (const id of ids) {
    const other = byLower.get(id.toLowerCase());
    if (other !== undefined) problemAt(["tiers", id], `tier "${id}" differs from tier "${other}" only in case; tier ids are case-sensitive: did you mean ${other}?`, true);
    else byLower.set(id.toLowerCase(), id);
  }
  for (const [id, t] of Object.entries(tierInput)) {
    const tier = obj(t);
    if (!tier) continue;
    duration(["tiers", id, "max_age"], tier.max_age, BOUNDS.maxAge);
    duration(["tiers", id, "verify_every"], tier.verify_every, BOUNDS.verifyEvery);
  }
  let tiers: Record<string, Tier> = {};
  if (![...reported].some((k) => k === "tiers" || k.startsWith("tiers."))) {
    try {
      tiers = resolveTiers(tierInput as Record<string, TierInput>);
    } catch (e) {
      problemAt(["tiers"], (e as Error).message);
    }
  }
  for (const [id, t] of Object.entries(tiers)) {
    const p = ["tiers", id, "schedule"];
    if (!t.schedule || !fresh(p)) continue;
    const fromFile = typeof obj(tierInput[id])?.schedule === "string";
    const where = fromFile ? p : ["tiers", id];
    try {
      const f = frequency(parseCalendarEvent(t.schedule));
      if (f.gapMs === null) warningAt(where, `PVE accepts the schedule '${t.schedule}', but how often it runs cannot be derived (${f.why}): guests of tier ${id} are not checked against it`);
      else if (t.protect && f.gapMs > t.maxAgeMs)
        warningAt(where, `the schedule '${t.schedule}' runs only every ${formatDuration(f.gapMs)}, but tier ${id} allows backups at most ${formatDuration(t.maxAgeMs)} old (max_age): its guests will show as unprotected`);
    } catch (e) {
      if (!(e instanceof CalendarEventError)) throw e;
      problemAt(where, `'${t.schedule}' is not a PVE calendar event: ${e.message} (examples: ${CALENDAR_EXAMPLES})`);
    }
  }
  const knownTiers = Object.keys(tiers);
  const unknownTier = (id: string) => {
    const near = knownTiers.find((k) => k.toLowerCase() === id.toLowerCase());
    return `unknown tier "${id}"${near ? `; tier ids are case-sensitive: did you mean ${near}?` : ` (known: ${knownTiers.join(", ")})`}`;
  };
  for (const [key, g] of Object.entries(obj(cfg.guests) ?? {})) {
    const tier = obj(g)?.tier;
    if (typeof tier === "string" && knownTiers.length && !(tier in tiers)) problemAt(["guests", key, "tier"], unknownTier(tier));
  }
  const jobs = obj(cfg.jobs);
  for (const [tierId, jobId] of Object.entries(obj(jobs?.adopt) ?? {})) {
    if (knownTiers.length && !(tierId in tiers)) problemAt(["jobs", "adopt", tierId], unknownTier(tierId), true);
    if (typeof jobId === "string" && jobId.startsWith("backup2mqtt-")) problemAt(["jobs", "adopt", tierId], `job "${jobId}" is already managed by backup2mqtt; adopt names a job someone else created`);
  }
  for (const tierId of Object.keys(obj(jobs?.tiers) ?? {})) {
    if (knownTiers.length && !(tierId in tiers)) problemAt(["jobs", "tiers", tierId], unknownTier(tierId), true);
  }
  if (problems.length) throw new ConfigError(file, dedupe(problems));

  const [host, port] = listen;
  return {
    site: cfg.site ?? "home",
    mqtt: {
      url: cfg.mqtt.url,
      username: cfg.mqtt.username,
      password: cfg.mqtt.password,
      clientId: cfg.mqtt.client_id,
      baseTopic: cfg.mqtt.base_topic ?? "backup2mqtt",
      discoveryPrefix: cfg.mqtt.discovery_prefix ?? "homeassistant",
      ...(cfg.mqtt.ca_file ? { caFile: path.resolve(baseDir, cfg.mqtt.ca_file) } : {}),
      removalGraceMs: parseDuration(cfg.mqtt.removal_grace ?? "24h"),
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
    warnings,
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
  problemAtNode: (p: PathPart[], n: Node | null | undefined, m: string) => void,
  lineOf: (n: Node) => number | undefined,
  sourceOf: (n: Node) => string,
  secrets: string[],
): void {
  if (!node) return;
  if (isMap(node)) {
    const seen = new Map<string, Node>();
    for (const pair of [...node.items]) {
      const keyNode = pair.key as Node | null;
      if (keyNode && !isScalar(keyNode)) {
        problemAtNode([...at, sourceOf(keyNode)], keyNode, `a key must be a plain value, not a ${isSeq(keyNode) ? "list" : "mapping"}`);
        continue;
      }
      const key = isScalar(keyNode) ? String(keyNode.value ?? "") : "";
      const first = seen.get(key);
      if (first) {
        const line = lineOf(first);
        problemAtNode([...at, key], keyNode, `duplicate key "${key}"${line ? ` (first on line ${line})` : ""}`);
        continue;
      }
      if (keyNode) seen.set(key, keyNode);
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
        expandTree(doc, value, here, env, problemAt, problemAtNode, lineOf, sourceOf, secrets);
      }
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const here = [...at, i];
      if (isScalar(item) && typeof item.value === "string") {
        const expanded = expandString(item.value, env, here, problemAt);
        if (expanded !== undefined) item.value = expanded;
      } else expandTree(doc, item as Node, here, env, problemAt, problemAtNode, lineOf, sourceOf, secrets);
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
