/**
 * The config loader as it was before its schema moved to zod, kept to prove the new one accepts,
 * refuses and resolves every config alike (config-legacy.test.ts): the JSON Schema of that time
 * (legacy-config.schema.json) checked by Ajv with its defaults filled in, its errors worded as they
 * were, and its untyped mapping with its own fallbacks. The stages that did not change (the YAML
 * tree, the checks after the schema) are the product's own.
 *
 * Two top-level keys came after the move (with the phrasebook, 6d4a50e): `timezone` (an IANA zone
 * name, optional; Config.timeZone is the system's zone without it) and `language` (en or de,
 * default en). The legacy schema never had them, so it is amended with exactly these two, as the
 * new schema added them (legacyConfigSchema), and the legacy mapping maps them the same way: the
 * comparison stays exact for every other key, and configs that use the two keys are compared too.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import fs from "node:fs";
import path from "node:path";
import { Ajv, type ErrorObject } from "ajv";
import { checkConfig } from "../../bridge/src/config/checks.js";
import { configDir, readConfigData } from "../../bridge/src/config/load.js";
import {
  ConfigError,
  type Config,
  type ConfigProblem,
  type JobsConfig,
  type SshConfig,
} from "../../bridge/src/config/types.js";
import type { PathPart } from "../../bridge/src/config/yaml-locations.js";
import { parseListen } from "../../bridge/src/config/value-checks.js";
import { parseDuration } from "../../bridge/src/util/duration.js";
import { LANGUAGES } from "../../bridge/src/words/language.js";
import { systemTimeZone } from "../../bridge/src/words/time.js";

/**
 * The legacy JSON Schema (legacy-config.schema.json, as it was) plus the two top-level keys added
 * after it, right after `site` where the new schema has them (Ajv reports in schema order):
 * `timezone`, a string that Intl must know as a zone (the keyword `ianaTimeZone`, which the
 * validator of the loader below implements and a plain Ajv ignores, like an editor reading the
 * generated schema), and `language`, one of the languages, default en.
 */
export function legacyConfigSchema(): Record<string, unknown> {
  const schema = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "legacy-config.schema.json"), "utf8"));
  const { site, ...rest } = schema.properties as Record<string, unknown>;
  schema.properties = {
    site,
    timezone: { type: "string", ianaTimeZone: true },
    language: { enum: [...LANGUAGES], default: "en" },
    ...rest,
  };
  return schema;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
ajv.addKeyword({
  keyword: "ianaTimeZone",
  type: "string",
  errors: true,
  validate: function ianaTimeZone(_schema: unknown, name: string) {
    let known = name.length > 0;
    try {
      new Intl.DateTimeFormat("en", { timeZone: name });
    } catch {
      known = false;
    }
    if (!known)
      (ianaTimeZone as unknown as { errors: Partial<ErrorObject>[] }).errors = [
        {
          keyword: "ianaTimeZone",
          message: `"${name}" is not a time zone; write an IANA name such as Europe/Berlin or America/New_York`,
          params: {},
        },
      ];
    return known;
  },
});
const validate = ajv.compile(legacyConfigSchema());

/** What the legacy schema said about a file's data (which it fills with its defaults). */
export function legacySchemaProblems(
  data: Record<string, unknown>,
): { path: PathPart[]; message: string; atKey: boolean }[] {
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => {
    const p = pointerToPath(e.instancePath);
    if (e.keyword === "additionalProperties") {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      return { path: [...p, extra], message: `unknown key "${extra}"`, atKey: true };
    }
    return { path: p, message: describeAjvError(e), atKey: false };
  });
}

/** The whole legacy loader: the same YAML stage and checks, the legacy schema and mapping. */
export function legacyParseConfigText(text: string, file = "<config>", env: NodeJS.ProcessEnv = process.env): Config {
  const { data, loc, secrets } = readConfigData(text, file, env);
  const problems: ConfigProblem[] = legacySchemaProblems(data).map((p) => loc.problem(p.path, p.message, p.atKey));
  const warnings: ConfigProblem[] = [];
  const baseDir = configDir(file);
  const { tiers } = checkConfig(data, { loc, baseDir, problems, warnings });
  if (problems.length) throw new ConfigError(file, dedupe(problems));
  const cfg = data as Record<string, any>;
  // As the legacy loader worked out http.listen (its own fallback when the file has none).
  let listen: [string, number] = ["127.0.0.1", 8080];
  if (typeof cfg.http?.listen === "string") {
    const l = parseListen(cfg.http.listen);
    if (typeof l !== "string") listen = l;
  }
  const [host, port] = listen;
  const config: Config = {
    site: cfg.site ?? "home",
    // The two keys added after the legacy schema (see the file comment).
    timeZone: cfg.timezone ?? systemTimeZone(),
    language: cfg.language ?? "en",
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
              throw new ConfigError(file, [loc.problem(at, m)]);
            }),
          }
        : {}),
      verify: {
        automatic: px.verify?.automatic ?? true,
        ...(px.verify?.quiet_hours ? { quietHours: px.verify.quiet_hours } : {}),
      },
      ...(px.restore_test
        ? {
            restoreTest: {
              scratchVmid: px.restore_test.scratch_vmid,
              storage: px.restore_test.storage,
              ...(px.restore_test.node ? { node: px.restore_test.node } : {}),
              timeoutMs: parseDuration(px.restore_test.timeout ?? "2h"),
            },
          }
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
      tasks: Object.entries(
        (n.tasks ?? {}) as Record<string, { protects?: string[]; offsite?: boolean; max_age?: string }>,
      ).map(([match, t]) => ({
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
      datastores: Object.entries((b.datastores ?? {}) as Record<string, { storages?: string[] }>).map(([store, d]) => ({
        store,
        storages: d?.storages ?? [],
      })),
    })),
    tiers,
    guestTiers: Object.fromEntries(
      Object.entries((cfg.guests ?? {}) as Record<string, { tier?: string }>)
        .filter(([, g]) => g?.tier)
        .map(([k, g]) => [k, g.tier!]),
    ),
    http: {
      host,
      port,
      token: cfg.http?.token,
      ...(cfg.http?.webhook_secret ? { webhookSecret: cfg.http.webhook_secret } : {}),
    },
    ...(cfg.jobs ? { jobs: jobsConfig(cfg.jobs) } : {}),
    stateDir: path.resolve(baseDir, cfg.state_dir ?? "./state"),
    logLevel: cfg.log?.level ?? "info",
    secrets,
    warnings,
  };
  return config;
}

function jobsConfig(j: Record<string, any>): JobsConfig {
  return {
    enabled: j.enabled ?? true,
    ...(j.storage ? { storage: j.storage } : {}),
    mode: j.mode ?? "snapshot",
    compress: j.compress ?? "zstd",
    notesTemplate: j.notes_template ?? "{{guestname}}",
    adopt: { ...(j.adopt ?? {}) },
    tiers: Object.fromEntries(
      Object.entries((j.tiers ?? {}) as Record<string, { enabled?: boolean; storage?: string }>).map(([k, v]) => [
        k,
        { ...v },
      ]),
    ),
  };
}

function sshConfig(
  px: Record<string, any>,
  baseDir: string,
  secrets: string[],
  problemAt: (k: PathPart[], m: string) => void,
): SshConfig {
  const ssh = px.ssh as Record<string, any>;
  let privateKey: string | undefined;
  if (ssh.private_key_file) {
    try {
      privateKey = fs.readFileSync(path.resolve(baseDir, ssh.private_key_file), "utf8");
      secrets.push(privateKey.trim());
    } catch (e) {
      problemAt(
        ["ssh", "private_key_file"],
        `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  }
  return {
    host: ssh.host ?? new URL(String(px.url)).hostname,
    port: ssh.port ?? 22,
    username: ssh.username ?? "root",
    ...(privateKey ? { privateKey } : {}),
    ...(ssh.password ? { password: ssh.password } : {}),
    hostKey: ssh.host_key,
    nodes: Object.fromEntries(
      Object.entries((ssh.nodes ?? {}) as Record<string, any>).map(([n, v]) => [
        n,
        { ...(v.host ? { host: v.host } : {}), ...(v.port ? { port: v.port } : {}), hostKey: v.host_key },
      ]),
    ),
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
