import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { Config } from "../config/load.js";
import { resolveTiers } from "../config/tiers.js";
import { startEmbeddedBroker } from "../demo/broker.js";
import { loadScenario, startLab, validateScenario, type Lab, type Scenario } from "../lab/index.js";
import { dsmLabSourceConfig, startDsmLab, type DsmLab } from "../lab/dsm/index.js";
import { pbsLabSourceConfig, startPbsLab, type PbsLab } from "../lab/pbs/index.js";
import type { Clock } from "../util/clock.js";
import { createLogger } from "../log.js";
import { startService, stopOnSignals } from "./run.js";

export interface DemoOptions {
  scenario: string;
  /** undefined = 1883, or any free port when 1883 is taken. */
  mqttPort?: number;
  /** undefined = 8080, or any free port when 8080 is taken. */
  httpPort?: number;
  taskSpeed: number;
  logLevel: string;
  /** Seconds between polls; the demo polls often so changes show quickly. */
  pollSeconds: number;
}

/** Binds the wanted port; the default one may fall back to any free port (a newcomer may run a broker already). */
async function withFallbackPort<T>(wanted: number | undefined, preferred: number, start: (port: number) => Promise<T>): Promise<T> {
  if (wanted !== undefined) return start(wanted);
  try {
    return await start(preferred);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EADDRINUSE") throw e;
    return start(0);
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A bridge config pointing at a simulated lab (the demo's, and the tests'). */
export function labConfig(
  lab: Lab,
  mqttUrl: string,
  o: { stateDir: string; httpPort?: number; pollMs?: number; contentMs?: number; logLevel?: string; tokenIndex?: number; guestTiers?: Record<string, string> },
): Config {
  const token = lab.tokens[o.tokenIndex ?? 0]!;
  return {
    site: "home",
    mqtt: { url: mqttUrl, baseTopic: "backup2mqtt", discoveryPrefix: "homeassistant" },
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
 * The first look: the simulated lab, an embedded MQTT broker and the bridge, wired together.
 * Only this command (and the tests) ever import the lab.
 */
/** The simulated Synology NAS and PBS a scenario describes (its `synology` / `pbs` sections), on the lab's clock. */
export async function startOffsiteLabs(scenario: string | Scenario, clock: Clock, taskSpeed = 1): Promise<{ dsm?: DsmLab; pbs?: PbsLab; stop(): Promise<void> }> {
  const sc = typeof scenario === "string" ? loadScenario(scenario) : validateScenario(scenario);
  const dsm = sc.synology ? await startDsmLab({ scenario: sc.synology, clock, taskSpeed }) : undefined;
  const pbs = sc.pbs ? await startPbsLab({ scenario: sc.pbs, clock, taskSpeed }) : undefined;
  return { dsm, pbs, stop: async () => void (await Promise.all([dsm?.stop(), pbs?.stop()])) };
}

/** Adds the simulated NAS/PBS to a lab config as `synology[]` / `pbs[]` sources. */
export function withOffsiteLabs(cfg: Config, labs: { dsm?: DsmLab; pbs?: PbsLab }, pollMs?: number): Config {
  const synology = labs.dsm ? [dsmLabSourceConfig(labs.dsm, { pollMs })] : [];
  const pbs = labs.pbs ? [pbsLabSourceConfig(labs.pbs, { pollMs })] : [];
  return { ...cfg, synology, pbs, secrets: [...cfg.secrets, ...synology.map((n) => n.password), ...pbs.map((b) => b.tokenSecret)] };
}

export async function runDemo(o: DemoOptions) {
  const lab = await startLab({ scenario: o.scenario, taskSpeed: o.taskSpeed });
  const offsiteLabs = await startOffsiteLabs(o.scenario, lab.clock, o.taskSpeed);
  const broker = await withFallbackPort(o.mqttPort, 1883, (port) => startEmbeddedBroker(port));
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "backup2mqtt-demo-"));
  const httpPort = o.httpPort ?? ((await portFree(8080)) ? 8080 : 0);
  const cfg = withOffsiteLabs(labConfig(lab, broker.url, { stateDir, httpPort, pollMs: o.pollSeconds * 1000, logLevel: o.logLevel }), offsiteLabs, o.pollSeconds * 1000);
  const log = createLogger(o.logLevel, () => cfg.secrets);
  const service = await startService(cfg, { log });
  const stop = async () => {
    await service.stop();
    await broker.close();
    await lab.stop();
    await offsiteLabs.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
  return { lab, offsiteLabs, broker, service, cfg, stop, log };
}

export function printDemoBanner(d: Awaited<ReturnType<typeof runDemo>>, scenario: string): void {
  const lines = [
    "",
    `backup2mqtt demo — scenario '${scenario}'`,
    `  MQTT broker (embedded):  ${d.broker.url}`,
    `  HTTP API:                ${d.service.httpUrl}/api/v1/guests`,
    `  Simulated Proxmox VE:    ${d.lab.url}/api2/json (fingerprint ${d.lab.fingerprint})`,
    ...(d.offsiteLabs.dsm ? [`  Simulated Synology NAS:  ${d.offsiteLabs.dsm.url}/webapi/ (Hyper Backup, ${d.offsiteLabs.dsm.scenario.tasks.length} task(s))`] : []),
    ...(d.offsiteLabs.pbs ? [`  Simulated PBS:           ${d.offsiteLabs.pbs.url}/api2/json (${d.offsiteLabs.pbs.scenario.datastores.length} datastore(s))`] : []),
    "",
    "  Look at it:",
    `    mosquitto_sub -h 127.0.0.1 -p ${d.broker.port} -t 'backup2mqtt/#' -t 'homeassistant/device/#' -v   (mosquitto-clients)`,
    `    curl ${d.service.httpUrl}/api/v1/guests`,
    `  Or point Home Assistant's MQTT integration at ${d.broker.url.replace("mqtt://", "")}: each guest appears as a device.`,
    "  Press Ctrl+C to stop.",
    "",
  ];
  process.stderr.write(lines.join("\n") + "\n");
}

export function demoStopOnSignals(d: Awaited<ReturnType<typeof runDemo>>): void {
  stopOnSignals(d.stop, d.log);
}
