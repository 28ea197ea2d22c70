import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { startLab } from "backup2mqtt-lab";
import { startEmbeddedBroker } from "../demo/broker.js";
import { labConfig, selfHealingDemo, startOffsiteLabs, withOffsiteLabs } from "../demo/lab-wiring.js";
import { createLogger } from "../log.js";
import type { GuestState } from "../policy/types.js";
import { startService, stopOnSignals } from "./run.js";
import { count } from "../words/count.js";

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
 * The demo's HTTP token: new for each run, so that a demo left running does not accept actions
 * from whoever has read a fixed value in the documentation. The banner shows it (the one place
 * it is printed); the logger redacts it like every other secret of the config.
 * Hex, so that a double click in a terminal selects all of it.
 */
function newDemoToken(): string {
  return crypto.randomBytes(16).toString("hex");
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
  const httpToken = newDemoToken();
  const labCfg = withOffsiteLabs(
    labConfig(lab, broker.url, { stateDir, httpPort, pollMs: o.pollSeconds * 1000, logLevel: o.logLevel }),
    offsiteLabs,
    o.pollSeconds * 1000,
  );
  const cfg = {
    ...(o.scenario === "self-healing" ? selfHealingDemo(labCfg, lab) : labCfg),
    http: { ...labCfg.http, token: httpToken },
    secrets: [...labCfg.secrets, httpToken],
  };
  const log = createLogger(o.logLevel, () => cfg.secrets);
  const service = await startService(cfg, { log });
  const stop = async () => {
    await service.stop();
    await broker.close();
    await lab.stop();
    await offsiteLabs.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
  // The guest the banner's curl line backs up: the lowest VMID, with the id the bridge gave it
  // (the service has read the lab once when it starts; no line if that read found no guest).
  const exampleGuest = service.engine.result?.guests.reduce<GuestState | undefined>(
    (first, g) => (first && first.vmid <= g.vmid ? first : g),
    undefined,
  );
  return { lab, offsiteLabs, broker, service, cfg, httpToken, exampleGuest, stop, log };
}

export function printDemoBanner(d: Awaited<ReturnType<typeof runDemo>>, scenario: string): void {
  const g = d.exampleGuest;
  const lines = [
    "",
    `backup2mqtt demo — scenario '${scenario}'`,
    `  MQTT broker (embedded):  ${d.broker.url} (MQTT 5 and 3.1.1)`,
    `  HTTP API:                ${d.service.httpUrl}/api/v1/guests`,
    `  Status page:             ${d.service.httpUrl}/`,
    `  HTTP token:              ${d.httpToken}   (new on each run; Back up now on the status page asks for it)`,
    `  Simulated Proxmox VE:    ${d.lab.url}/api2/json (fingerprint ${d.lab.fingerprint})`,
    ...(d.offsiteLabs.dsm
      ? [
          `  Simulated Synology NAS:  ${d.offsiteLabs.dsm.url}/webapi/ (Hyper Backup, ${count(d.offsiteLabs.dsm.scenario.tasks.length, "task")})`,
        ]
      : []),
    ...(d.offsiteLabs.pbs
      ? [
          `  Simulated PBS:           ${d.offsiteLabs.pbs.url}/api2/json (${count(d.offsiteLabs.pbs.scenario.datastores.length, "datastore")})`,
        ]
      : []),
    "",
    "  Look at it:",
    `    mosquitto_sub -h 127.0.0.1 -p ${d.broker.port} -t 'backup2mqtt/#' -t 'homeassistant/device/#' -v   (mosquitto-clients)`,
    `    curl ${d.service.httpUrl}/api/v1/guests`,
    ...(g
      ? [
          `  Back up ${g.name} (${g.vmid}) over HTTP; the answer is 202 Accepted and the backup runs in the lab:`,
          `    curl -X POST -H 'Authorization: Bearer ${d.httpToken}' ${d.service.httpUrl}/api/v1/guests/${g.id}/backup`,
        ]
      : []),
    ...(scenario === "self-healing"
      ? [
          "  What happens (scenario self-healing):",
          "    vaultwarden failed (its job's hook failed two nights): its tier P0 has fallback auto, so the bridge",
          "      backs it up itself within a minute (events fallback_started, backup_finished) and it turns ok;",
          "    paperless: its job was due 2 h ago and never ran (finding job_missed);",
          "    nextcloud: its vzdump has hung for 3 h without progress (finding overrunning).",
        ]
      : []),
    `  Or point Home Assistant's MQTT integration at ${d.broker.url.replace("mqtt://", "")}: each guest appears as a device.`,
    "  Press Ctrl+C to stop.",
    "",
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
}

export function demoStopOnSignals(d: Awaited<ReturnType<typeof runDemo>>): void {
  stopOnSignals(d.stop, d.log);
}
