/**
 * From the validated file (snake_case, every default already filled in by the schema) to the
 * Config the bridge runs with: camelCase, durations in ms, paths resolved against the config
 * file's folder, fingerprints upper-case, source URLs without a trailing slash, the SSH private
 * key read. No defaults live here; the two values derived from other keys are named where made:
 * ssh.host (the host of the cluster's url) and a Hyper Backup task's max_age (its NAS's max_age).
 */
import fs from "node:fs";
import path from "node:path";
import { parseDuration } from "../util/duration.js";
import type { Checked } from "./checks.js";
import type { ConfigFile } from "./schema/index.js";
import type { Config, HeartbeatConfig, JobsConfig, SshConfig } from "./types.js";
import { heartbeatUrlProblem } from "./schema/heartbeat.js";
import { parseListen, pemFileProblem } from "./value-checks.js";
import { systemTimeZone } from "../words/time.js";
import type { PathPart } from "./yaml-locations.js";

export interface MapContext {
  baseDir: string;
  /** Every secret value read so far; the SSH private key is added. */
  secrets: string[];
  warnings: Config["warnings"];
  /** Reports a problem found only now (an unreadable private key file) and does not return. */
  fail(at: PathPart[], message: string): never;
}

const sourceUrl = (url: string) => url.replace(/\/+$/, "");
const resolved = (ctx: MapContext, file: string | undefined) => (file ? path.resolve(ctx.baseDir, file) : undefined);

export function toConfig(f: ConfigFile, checked: Checked, ctx: MapContext): Config {
  const listen = parseListen(f.http.listen);
  // The checks refused a listen that does not parse.
  if (typeof listen === "string") return ctx.fail(["http", "listen"], listen);
  const [host, port] = listen;
  return {
    site: f.site,
    timeZone: f.timezone ?? systemTimeZone(),
    language: f.language,
    mqtt: {
      url: f.mqtt.url,
      username: f.mqtt.username,
      password: f.mqtt.password,
      clientId: f.mqtt.client_id,
      baseTopic: f.mqtt.base_topic,
      discoveryPrefix: f.mqtt.discovery_prefix,
      ...(f.mqtt.ca_file ? { caFile: path.resolve(ctx.baseDir, f.mqtt.ca_file) } : {}),
      removalGraceMs: parseDuration(f.mqtt.removal_grace),
    },
    proxmox: f.proxmox.map((px, i) => ({
      name: px.name,
      url: sourceUrl(px.url),
      tokenId: px.token_id,
      // The checks refused a source without its secret.
      tokenSecret: px.token_secret!,
      fingerprint: px.fingerprint?.toUpperCase(),
      caFile: resolved(ctx, px.ca_file),
      timeoutMs: parseDuration(px.timeout),
      pollIntervalMs: parseDuration(px.poll_interval),
      contentIntervalMs: parseDuration(px.content_interval),
      backup: {
        storage: px.backup.storage,
        mode: px.backup.mode,
        compress: px.backup.compress,
        notesTemplate: px.backup.notes_template,
        method: px.backup.method,
      },
      ...(px.ssh ? { ssh: sshConfig(px.url, px.ssh, ctx, (k, m) => ctx.fail(["proxmox", i, ...k], m)) } : {}),
      verify: {
        automatic: px.verify.automatic,
        ...(px.verify.quiet_hours ? { quietHours: px.verify.quiet_hours } : {}),
      },
      ...(px.restore_test
        ? {
            restoreTest: {
              scratchVmid: px.restore_test.scratch_vmid,
              storage: px.restore_test.storage,
              ...(px.restore_test.node ? { node: px.restore_test.node } : {}),
              timeoutMs: parseDuration(px.restore_test.timeout),
            },
          }
        : {}),
    })),
    synology: f.synology.map((n) => ({
      name: n.name,
      url: sourceUrl(n.url),
      username: n.username,
      password: n.password!,
      session: n.session,
      deviceName: n.device_name,
      timeZone: n.timezone,
      fingerprint: n.fingerprint?.toUpperCase(),
      caFile: resolved(ctx, n.ca_file),
      timeoutMs: parseDuration(n.timeout),
      pollIntervalMs: parseDuration(n.poll_interval),
      defaultMaxAgeMs: parseDuration(n.max_age),
      ...(n.hosts?.length ? { hosts: n.hosts } : {}),
      tasks: Object.entries(n.tasks).map(([match, t]) => ({
        match,
        storages: t.protects,
        offsite: t.offsite,
        // A task without its own max_age has its NAS's.
        maxAgeMs: parseDuration(t.max_age ?? n.max_age),
      })),
    })),
    pbs: f.pbs.map((b) => ({
      name: b.name,
      url: sourceUrl(b.url),
      tokenId: b.token_id,
      tokenSecret: b.token_secret!,
      fingerprint: b.fingerprint?.toUpperCase(),
      caFile: resolved(ctx, b.ca_file),
      timeoutMs: parseDuration(b.timeout),
      pollIntervalMs: parseDuration(b.poll_interval),
      offsite: b.offsite,
      syncOffsite: b.sync_offsite,
      datastores: Object.entries(b.datastores).map(([store, d]) => ({ store, storages: d.storages })),
    })),
    tiers: checked.tiers,
    guestTiers: Object.fromEntries(
      Object.entries(f.guests)
        .filter(([, g]) => g.tier)
        .map(([k, g]) => [k, g.tier!]),
    ),
    http: {
      host,
      port,
      token: f.http.token,
      ...(f.http.webhook_secret ? { webhookSecret: f.http.webhook_secret } : {}),
    },
    ...(f.jobs ? { jobs: jobsConfig(f.jobs) } : {}),
    ...(f.heartbeat ? { heartbeat: heartbeatConfig(f.heartbeat, ctx) } : {}),
    stateDir: path.resolve(ctx.baseDir, f.state_dir),
    logLevel: f.log.level,
    secrets: ctx.secrets,
    warnings: ctx.warnings,
  };
}

function jobsConfig(j: NonNullable<ConfigFile["jobs"]>): JobsConfig {
  return {
    enabled: j.enabled,
    ...(j.storage ? { storage: j.storage } : {}),
    mode: j.mode,
    compress: j.compress,
    notesTemplate: j.notes_template,
    adopt: { ...j.adopt },
    tiers: Object.fromEntries(Object.entries(j.tiers).map(([k, v]) => [k, { ...v }])),
  };
}

/** heartbeat: the URL from url or url_file (a secret, also scrubbed as its path alone), durations in ms. */
function heartbeatConfig(h: NonNullable<ConfigFile["heartbeat"]>, ctx: MapContext): HeartbeatConfig {
  let url = h.url;
  if (url === undefined && h.url_file !== undefined) {
    try {
      url = fs.readFileSync(path.resolve(ctx.baseDir, h.url_file), "utf8").trim();
    } catch (e) {
      return ctx.fail(
        ["heartbeat", "url_file"],
        `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    const problem = heartbeatUrlProblem(url);
    if (problem) return ctx.fail(["heartbeat", "url_file"], problem);
  }
  // The schema refused a heartbeat without url or url_file.
  const text = url!.trim();
  ctx.secrets.push(text);
  // A Healthchecks URL's secret part is its path (/<uuid> or /<ping-key>/<slug>): scrubbed on its own too.
  const secretPath = new URL(text).pathname.replace(/\/+$/, "");
  if (secretPath.length >= 8) ctx.secrets.push(secretPath);
  const caFile = resolved(ctx, h.ca_file);
  const caProblem = caFile ? pemFileProblem(caFile) : undefined;
  if (caProblem) return ctx.fail(["heartbeat", "ca_file"], caProblem);
  return {
    url: text,
    onProblem: h.on_problem,
    timeoutMs: parseDuration(h.timeout),
    ...(caFile ? { caFile } : {}),
  };
}

type SshFile = NonNullable<ConfigFile["proxmox"][number]["ssh"]>;

function sshConfig(url: string, ssh: SshFile, ctx: MapContext, fail: (k: PathPart[], m: string) => never): SshConfig {
  let privateKey: string | undefined;
  if (ssh.private_key_file) {
    try {
      privateKey = fs.readFileSync(path.resolve(ctx.baseDir, ssh.private_key_file), "utf8");
      ctx.secrets.push(privateKey.trim());
    } catch (e) {
      fail(["ssh", "private_key_file"], `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return {
    // Without its own host, SSH goes to the host of the cluster's url.
    host: ssh.host ?? new URL(url).hostname,
    port: ssh.port,
    username: ssh.username,
    ...(privateKey ? { privateKey } : {}),
    ...(ssh.password ? { password: ssh.password } : {}),
    hostKey: ssh.host_key,
    nodes: Object.fromEntries(
      Object.entries(ssh.nodes).map(([n, v]) => [
        n,
        { ...(v.host ? { host: v.host } : {}), ...(v.port ? { port: v.port } : {}), hostKey: v.host_key },
      ]),
    ),
    timeoutMs: parseDuration(ssh.timeout),
  };
}
