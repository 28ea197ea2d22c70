/**
 * The simulated lab on its own, for outside tools (test/fidelity points proxmoxer,
 * prometheus-pve-exporter and synology-api at it): `npm run lab -- --scenario NAME [--task-speed F]`
 * (or `node lab/dist/serve.js …`) starts the PVE lab of the scenario and, when the scenario has them,
 * its Synology NAS and its Proxmox Backup Server, on one real clock. It prints ONE JSON line, the
 * lab's stable interface:
 *   {"pve": {url, fingerprint, certPem, tokens: [{id, secret}]},
 *    "dsm": {url, certPem, users: [{account, password}]} | null,
 *    "pbs": {url, fingerprint, certPem, tokens: [{id, secret}]} | null}
 * and serves until stdin closes or SIGTERM/SIGINT.
 */
import { parseArgs } from "node:util";
import { systemClock } from "./clock.js";
import { startDsmLab, type DsmLab } from "./dsm/index.js";
import { loadScenario, startLab } from "./index.js";
import { startPbsLab, type PbsLab } from "./pbs/index.js";

const USAGE = "usage: npm run lab -- [--scenario demo|seed|logs|<file.yaml>] [--task-speed 10]";

function options() {
  try {
    const { values } = parseArgs({
      options: {
        scenario: { type: "string", default: "demo" },
        "task-speed": { type: "string", default: "10" },
        "auth-fail-delay-ms": { type: "string", default: "3000" },
        host: { type: "string", default: "127.0.0.1" },
        help: { type: "boolean", default: false },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const taskSpeed = Number(values["task-speed"]);
    if (!(taskSpeed > 0)) throw new Error(`--task-speed must be a number above 0 (got "${values["task-speed"]}")`);
    const authFailDelayMs = Number(values["auth-fail-delay-ms"]);
    if (!(authFailDelayMs >= 0)) throw new Error("--auth-fail-delay-ms must be 0 or more");
    return { scenario: values.scenario, taskSpeed, authFailDelayMs, host: values.host };
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
}

const o = options();
let pve: Awaited<ReturnType<typeof startLab>>;
let dsm: DsmLab | undefined;
let pbs: PbsLab | undefined;
try {
  const scenario = loadScenario(o.scenario);
  const clock = systemClock;
  pve = await startLab({ scenario, clock, taskSpeed: o.taskSpeed, authFailDelayMs: o.authFailDelayMs, host: o.host });
  dsm = scenario.synology
    ? await startDsmLab({ scenario: scenario.synology, clock, taskSpeed: o.taskSpeed, host: o.host })
    : undefined;
  pbs = scenario.pbs
    ? await startPbsLab({ scenario: scenario.pbs, clock, taskSpeed: o.taskSpeed, host: o.host })
    : undefined;
} catch (e) {
  process.stderr.write(`The lab could not start: ${(e as Error).message}\n`);
  process.exit(1);
}

process.stdout.write(
  `${JSON.stringify({
    pve: { url: pve.url, fingerprint: pve.fingerprint, certPem: pve.certPem, tokens: pve.tokens },
    dsm: dsm
      ? {
          url: dsm.url,
          certPem: dsm.certPem,
          users: dsm.scenario.users.map((u) => ({ account: u.account, password: u.password })),
        }
      : null,
    pbs: pbs ? { url: pbs.url, fingerprint: pbs.fingerprint, certPem: pbs.certPem, tokens: pbs.tokens } : null,
  })}\n`,
);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void Promise.all([pve.stop(), dsm?.stop(), pbs?.stop()]).then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.on("error", stop);
process.stdin.resume();
