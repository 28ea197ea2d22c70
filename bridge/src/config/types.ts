/**
 * The resolved configuration the bridge runs with (camelCase, durations in ms, paths absolute,
 * secrets read), and the error that lists every problem of a config file with its key path and line.
 * The file's own shape (snake_case keys, defaults) is the zod schema in ./schema/.
 */
import type { Language } from "../words/language.js";
import type { Tier } from "./tiers.js";
import { count } from "../words/count.js";

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
  /**
   * Other names and addresses Proxmox storages use for this NAS (storage.cfg `server`), besides the
   * URL's host and what it resolves to (config `hosts`).
   */
  hosts?: string[];
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
  /** IANA zone for times in texts (config `timezone`, default the system's); absent in configs built in code = UTC. */
  timeZone?: string;
  /** Language of reasons and entity names the bridge publishes (config `language`); absent = en. */
  language?: Language;
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
    removalGraceMs: number;
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
  /** `heartbeat:` — ping a Healthchecks-style URL after every successful refresh. Absent = off. */
  heartbeat?: HeartbeatConfig;
  stateDir: string;
  logLevel: string;
  /** Every secret value in the config, so loggers and dumps can scrub them. */
  secrets: string[];
  /** Things that work but probably not as meant (e.g. a schedule whose frequency cannot be derived): `check` prints them, `run` logs them. */
  warnings?: ConfigProblem[];
}

/** `heartbeat:` in the config file: the dead man's switch for the bridge itself. */
export interface HeartbeatConfig {
  /** The ping URL (a secret: never logged, only its host). */
  url: string;
  /** "fail": ping <url>/fail while a problem exists; "ok": always <url>. */
  onProblem: "fail" | "ok";
  timeoutMs: number;
  /** PEM CA file for a self-hosted monitor (absolute path). */
  caFile?: string;
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
      `${file}: ${count(problems.length, "problem")}\n` +
        problems
          .map((p) => `  ${p.line ? `line ${p.line}:${p.column} ` : ""}${p.key || "(root)"}: ${p.message}`)
          .join("\n"),
    );
    this.name = "ConfigError";
  }
}
