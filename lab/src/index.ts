/**
 * backup2mqtt-lab: the simulated Proxmox VE lab, a real HTTPS server speaking `/api2/json` as PVE
 * does, built from a scenario file and driven by a Clock. The simulated Synology NAS and Proxmox
 * Backup Server are the `backup2mqtt-lab/dsm` and `backup2mqtt-lab/pbs` entry points, the SSH
 * double of a PVE node `backup2mqtt-lab/ssh-double`. backup2mqtt's demo command and benchmark run
 * it; every test suite uses it as its PVE test double.
 */
import { ManualClock, systemClock, type Clock } from "./clock.js";
import { createControl, type LabControl } from "./control.js";
import { replayHistory } from "./history.js";
import { loadScenario, validateScenario, type ResolvedScenario, type Scenario } from "./scenario.js";
import { labCertificate, LabServer, type RequestRecord } from "./server.js";
import { LabState } from "./state.js";
import { settle } from "./tasks.js";

export interface LabOptions {
  /** "demo"/"seed" (this package's scenarios/<name>.yaml), a path to .yaml/.json, or a scenario object. */
  scenario: string | Scenario;
  /** Default systemClock. Archive and task times come from this clock. */
  clock?: Clock;
  /** Task durations are divided by this (demo: 10 → a 60 s backup takes 6 s). Default 1. */
  taskSpeed?: number;
  /** 0 = random free port (default). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Delay before a 401, like pve-http-server's 3 s. Default 3000; tests set it low. */
  authFailDelayMs?: number;
}

export interface Lab {
  /** `https://127.0.0.1:<port>` (no path). */
  url: string;
  /** SHA-256 of the cert DER, `AA:BB:…` (32 pairs, uppercase), as PVE's ssl_fingerprint. */
  fingerprint: string;
  /** The server certificate PEM (usable as ca_file). */
  certPem: string;
  tokens: { id: string; secret: string }[];
  clock: Clock;
  control: LabControl;
  /** Every request served (path without query, as sent, including /api2/json). */
  requests: RequestRecord[];
  stop(): Promise<void>;
}

export async function startLab(opts: LabOptions): Promise<Lab> {
  const scenario: ResolvedScenario =
    typeof opts.scenario === "string" ? loadScenario(opts.scenario) : validateScenario(opts.scenario);
  const clock = opts.clock ?? systemClock;
  const taskSpeed = opts.taskSpeed ?? 1;
  if (!(taskSpeed > 0)) throw new Error(`taskSpeed must be > 0 (got ${taskSpeed})`);
  const host = opts.host ?? "127.0.0.1";

  const state = new LabState(scenario, clock, taskSpeed);
  replayHistory(state, scenario, clock.now());

  const cert = await labCertificate();
  state.fingerprint = cert.fingerprint;
  const server = new LabServer(state, { host, port: opts.port ?? 0, authFailDelayMs: opts.authFailDelayMs ?? 3000 });
  await server.listen(cert);

  // With a real (or any self-moving) clock, keep `lock`, archives and jobs current even when
  // nobody asks; a ManualClock only moves when the test says so, and requests settle lazily.
  const timer = clock instanceof ManualClock ? null : setInterval(() => settle(state, clock.now()), 250);
  timer?.unref();

  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `https://${urlHost}:${server.port}`,
    fingerprint: cert.fingerprint,
    certPem: cert.cert,
    tokens: [...state.tokens.values()].map((t) => ({ id: t.id, secret: t.secret })),
    clock,
    control: createControl(state, server),
    requests: server.requests,
    async stop() {
      if (timer) clearInterval(timer);
      await server.close();
    },
  };
}

export { loadScenario, validateScenario, scenariosDir, ScenarioError } from "./scenario.js";
export type { Scenario, ResolvedScenario, AclEntryInput, ScenarioGuest } from "./scenario.js";
export type { LabControl, AddArchiveInput } from "./control.js";
export type { LabFault } from "./faults.js";
export type { RequestRecord } from "./server.js";
export { ManualClock, systemClock, type Clock } from "./clock.js";
export { labCertificate } from "./server.js";
export type { SimFault, SimRecord } from "./https-base.js";
