import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { startLab } from "backup2mqtt-lab";
import { startEmbeddedBroker } from "../demo/broker.js";
import { labConfig, startOffsiteLabs, withOffsiteLabs } from "../demo/lab-wiring.js";
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
async function withFallbackPort<T>(
  wanted: number | undefined,
  preferred: number,
  start: (port: number) => Promise<T>,
): Promise<T> {
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

/**
 * The first look: the simulated lab, an embedded MQTT broker and the bridge, wired together.
 * Only this command, the benchmark and the tests ever import the lab.
 */
export async function runDemo(o: DemoOptions) {
  const lab = await startLab({ scenario: o.scenario, taskSpeed: o.taskSpeed });
  const offsiteLabs = await startOffsiteLabs(o.scenario, lab.clock, o.taskSpeed);
  const broker = await withFallbackPort(o.mqttPort, 1883, (port) => startEmbeddedBroker(port));
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "backup2mqtt-demo-"));
  const httpPort = o.httpPort ?? ((await portFree(8080)) ? 8080 : 0);
  const cfg = withOffsiteLabs(
    labConfig(lab, broker.url, { stateDir, httpPort, pollMs: o.pollSeconds * 1000, logLevel: o.logLevel }),
    offsiteLabs,
    o.pollSeconds * 1000,
  );
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
    ...(d.offsiteLabs.dsm
      ? [
          `  Simulated Synology NAS:  ${d.offsiteLabs.dsm.url}/webapi/ (Hyper Backup, ${d.offsiteLabs.dsm.scenario.tasks.length} task(s))`,
        ]
      : []),
    ...(d.offsiteLabs.pbs
      ? [
          `  Simulated PBS:           ${d.offsiteLabs.pbs.url}/api2/json (${d.offsiteLabs.pbs.scenario.datastores.length} datastore(s))`,
        ]
      : []),
    "",
    "  Look at it:",
    `    mosquitto_sub -h 127.0.0.1 -p ${d.broker.port} -t 'backup2mqtt/#' -t 'homeassistant/device/#' -v   (mosquitto-clients)`,
    `    curl ${d.service.httpUrl}/api/v1/guests`,
    `  Or point Home Assistant's MQTT integration at ${d.broker.url.replace("mqtt://", "")}: each guest appears as a device.`,
    "  Press Ctrl+C to stop.",
    "",
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
}

export function demoStopOnSignals(d: Awaited<ReturnType<typeof runDemo>>): void {
  stopOnSignals(d.stop, d.log);
}
