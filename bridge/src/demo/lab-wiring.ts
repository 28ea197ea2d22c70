/**
 * Bridge configuration for the simulated lab (the `backup2mqtt-lab` package): what the demo
 * command, the benchmark and the tests point the bridge at. The lab knows nothing about the
 * bridge; this file is the only place that translates a running lab into bridge config.
 */
import { REMOVAL_GRACE_DEFAULT } from "../config/schema/mqtt.js";
import { parseDuration } from "../util/duration.js";
import { loadScenario, validateScenario, type Clock, type Lab, type Scenario } from "backup2mqtt-lab";
import { startDsmLab, type DsmLab } from "backup2mqtt-lab/dsm";
import { startPbsLab, type PbsLab } from "backup2mqtt-lab/pbs";
import type { Config, PbsSourceConfig, SynologySourceConfig } from "../config/load.js";
import { resolveTiers } from "../config/tiers.js";

/** A bridge config pointing at a simulated PVE lab (the demo's, and the tests'). */
export function labConfig(
  lab: Lab,
  mqttUrl: string,
  o: {
    stateDir: string;
    httpPort?: number;
    pollMs?: number;
    contentMs?: number;
    logLevel?: string;
    tokenIndex?: number;
    guestTiers?: Record<string, string>;
  },
): Config {
  const token = lab.tokens[o.tokenIndex ?? 0]!;
  return {
    site: "home",
    mqtt: {
      url: mqttUrl,
      baseTopic: "backup2mqtt",
      discoveryPrefix: "homeassistant",
      removalGraceMs: parseDuration(REMOVAL_GRACE_DEFAULT),
    },
    proxmox: [
      {
        name: "pve",
        url: lab.url,
        tokenId: token.id,
        tokenSecret: token.secret,
        fingerprint: lab.fingerprint,
        timeoutMs: 5_000,
        pollIntervalMs: o.pollMs ?? 5_000,
        contentIntervalMs: o.contentMs ?? 60_000,
        backup: { mode: "snapshot", compress: "zstd", notesTemplate: "{{guestname}}", method: "api" },
        verify: { automatic: true },
      },
    ],
    tiers: resolveTiers(undefined),
    guestTiers: o.guestTiers ?? {},
    http: { host: "127.0.0.1", port: o.httpPort ?? 0 },
    stateDir: o.stateDir,
    logLevel: o.logLevel ?? "info",
    secrets: [token.secret],
  };
}

/**
 * The `self-healing` demo (lab/scenarios/self-healing.yaml) over a lab config: the P0 tier backs its
 * guests up itself (`fallback: { action: auto, window: any, grace: 10s, storage: local }`), and times
 * are in the nodes' zone (the missed-jobs watchdog and the fallback read job schedules in the
 * config's zone, which must be the nodes').
 */
export function selfHealingDemo(cfg: Config, lab: Lab): Config {
  return {
    ...cfg,
    timeZone: lab.control.state.tz(undefined),
    tiers: resolveTiers({
      P0: { fallback: { action: "auto", window: "any", grace: "10s", storage: "local" } },
    }),
  };
}

/** The simulated Synology NAS and PBS a scenario describes (its `synology` / `pbs` sections), on the lab's clock. */
export async function startOffsiteLabs(
  scenario: string | Scenario,
  clock: Clock,
  taskSpeed = 1,
): Promise<{ dsm?: DsmLab; pbs?: PbsLab; stop(): Promise<void> }> {
  const sc = typeof scenario === "string" ? loadScenario(scenario) : validateScenario(scenario);
  const dsm = sc.synology ? await startDsmLab({ scenario: sc.synology, clock, taskSpeed }) : undefined;
  const pbs = sc.pbs ? await startPbsLab({ scenario: sc.pbs, clock, taskSpeed }) : undefined;
  return { dsm, pbs, stop: async () => void (await Promise.all([dsm?.stop(), pbs?.stop()])) };
}

/** Adds the simulated NAS/PBS to a lab config as `synology[]` / `pbs[]` sources. */
export function withOffsiteLabs(cfg: Config, labs: { dsm?: DsmLab; pbs?: PbsLab }, pollMs?: number): Config {
  const synology = labs.dsm ? [dsmLabSourceConfig(labs.dsm, { pollMs })] : [];
  const pbs = labs.pbs ? [pbsLabSourceConfig(labs.pbs, { pollMs })] : [];
  return {
    ...cfg,
    synology,
    pbs,
    secrets: [...cfg.secrets, ...synology.map((n) => n.password), ...pbs.map((b) => b.tokenSecret)],
  };
}

/** The bridge's `synology[]` entry for a simulated NAS (first user; tasks that name `protects` or `offsite`). */
export function dsmLabSourceConfig(lab: DsmLab, o: { pollMs?: number } = {}): SynologySourceConfig {
  const user = lab.scenario.users[0]!;
  return {
    name: lab.name,
    url: lab.url,
    username: user.account,
    password: user.password,
    session: "webui",
    deviceName: "backup2mqtt",
    timeZone: lab.scenario.timezone,
    fingerprint: lab.fingerprint,
    timeoutMs: 5_000,
    pollIntervalMs: o.pollMs ?? 5_000,
    defaultMaxAgeMs: 26 * 3_600_000,
    // The lab listens on 127.0.0.1; Proxmox's NFS/CIFS storages name the NAS by its host name.
    hosts: [lab.hostname],
    tasks: lab.scenario.tasks
      .filter((t) => t.protects || t.offsite !== undefined)
      .map((t) => ({
        match: String(t.id),
        storages: t.protects ?? [],
        offsite: t.offsite ?? true,
        maxAgeMs: 26 * 3_600_000,
      })),
  };
}

/** The bridge's `pbs[]` entry for a simulated PBS. */
export function pbsLabSourceConfig(lab: PbsLab, o: { pollMs?: number } = {}): PbsSourceConfig {
  const t = lab.tokens[0]!;
  return {
    name: lab.name,
    url: lab.url,
    tokenId: t.id,
    tokenSecret: t.secret,
    fingerprint: lab.fingerprint,
    timeoutMs: 5_000,
    pollIntervalMs: o.pollMs ?? 5_000,
    offsite: lab.scenario.offsite,
    syncOffsite: true,
    datastores: lab.scenario.datastores.map((d) => ({ store: d.name, storages: d.storages })),
  };
}
