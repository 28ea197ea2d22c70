/**
 * The home-lab footprint: the lab's `seed` scenario (one node, 5 guests), a broker, and
 * `backup2mqtt run` in its own process with MQTT and the HTTP API on and the default 60 s poll.
 * After 2 minutes it reads the bridge's RSS (VmRSS), then its CPU time (utime + stime) over
 * 5 idle minutes, as a percentage of one core. Targets: under 70 MB and under 0.1 %.
 *
 * `node bridge/dist/bench/homelab.js` prints the figures as one JSON line; `npm run bench` calls
 * measureHomelab(). HOMELAB_SETTLE_S and HOMELAB_IDLE_S shorten the waits for a quick look.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startLab } from "backup2mqtt-lab";
import { freePort, log, procSample, sleep, spawnBridge, startBroker } from "./harness.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, "..", "cli.js");

export interface HomelabFigures {
  /** VmRSS after the settle time, MB. */
  homelab_rss_mb: number;
  /** VmHWM (peak RSS) at the end, MB. */
  homelab_peak_rss_mb: number;
  /** utime + stime over the idle window, percent of one core. */
  homelab_idle_cpu_pct: number;
}

export const HOMELAB_TARGETS = { rssMb: 70, idleCpuPct: 0.1 } as const;

const seconds = (name: string, dflt: number) => {
  const v = Number(process.env[name]);
  return v > 0 ? v : dflt;
};

export async function measureHomelab(
  opts: { settleS?: number; idleS?: number; cliPath?: string } = {},
): Promise<HomelabFigures> {
  const settleS = opts.settleS ?? seconds("HOMELAB_SETTLE_S", 120);
  const idleS = opts.idleS ?? seconds("HOMELAB_IDLE_S", 300);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-homelab-"));
  const cleanups: (() => Promise<unknown>)[] = [];
  const output: string[] = [];
  try {
    const lab = await startLab({ scenario: "seed", authFailDelayMs: 0 });
    cleanups.push(() => lab.stop());
    const token = lab.tokens[0]!;
    const broker = await startBroker(tmp);
    cleanups.push(() => broker.stop());
    const httpPort = await freePort();
    const httpToken = randomBytes(16).toString("hex");
    const cfgFile = path.join(tmp, "backup2mqtt.yaml");
    fs.writeFileSync(path.join(tmp, "pve-secret"), token.secret);
    fs.writeFileSync(
      cfgFile,
      `site: home
mqtt: { url: "${broker.url}" }
proxmox:
  - name: pve
    url: ${lab.url}
    token_id: "${token.id}"
    token_secret_file: ${path.join(tmp, "pve-secret")}
    fingerprint: "${lab.fingerprint}"
http:
  listen: 127.0.0.1:${httpPort}
  token: ${httpToken}
state_dir: ${path.join(tmp, "state")}
log: { level: info }
`,
    );
    const { child: bridge, stopping } = spawnBridge(opts.cliPath ?? cli, cfgFile, {
      output,
      keep: 100,
      label: "homelab: bridge",
    });
    const exited = new Promise<void>((r) => bridge.once("exit", () => r()));
    cleanups.push(async () => {
      stopping();
      if (bridge.exitCode === null && bridge.signalCode === null) bridge.kill("SIGTERM");
      await exited;
    });
    const started = Date.now();
    // Up when the HTTP API answers with the lab's 5 guests.
    let guests = 0;
    for (;;) {
      if (bridge.exitCode !== null) throw new Error("the bridge exited");
      const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/guests`, {
        headers: { authorization: `Bearer ${httpToken}` },
      }).catch(() => undefined);
      if (res?.ok) {
        const body = (await res.json()) as unknown;
        guests = Array.isArray(body) ? body.length : ((body as { guests?: unknown[] }).guests?.length ?? 0);
        if (guests > 0) break;
      }
      if (Date.now() - started > 60_000) throw new Error(`the bridge's HTTP API did not list guests in 60 s`);
      await sleep(250);
    }
    log(`homelab: bridge up with ${guests} guests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await sleep(Math.max(0, started + settleS * 1000 - Date.now()));
    const settled = procSample(bridge.pid!);
    if (!settled) throw new Error("the bridge is gone");
    const t0 = performance.now();
    await sleep(idleS * 1000);
    const end = procSample(bridge.pid!);
    if (!end) throw new Error("the bridge is gone");
    const wallMs = performance.now() - t0;
    const figures: HomelabFigures = {
      homelab_rss_mb: Math.round(settled.rssMb * 10) / 10,
      homelab_peak_rss_mb: Math.round(end.hwmMb * 10) / 10,
      homelab_idle_cpu_pct: Math.round(((end.cpuMs - settled.cpuMs) / wallMs) * 100 * 1000) / 1000,
    };
    log(
      `homelab: RSS ${figures.homelab_rss_mb} MB after ${settleS} s (peak ${figures.homelab_peak_rss_mb} MB), CPU ${(end.cpuMs - settled.cpuMs).toFixed(0)} ms in ${idleS} s idle = ${figures.homelab_idle_cpu_pct} %`,
    );
    return figures;
  } finally {
    for (const f of cleanups.reverse()) await f().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  measureHomelab({ cliPath: process.env.HOMELAB_CLI })
    .then((f) => {
      process.stdout.write(`${JSON.stringify(f)}\n`);
      process.exitCode =
        f.homelab_rss_mb < HOMELAB_TARGETS.rssMb && f.homelab_idle_cpu_pct < HOMELAB_TARGETS.idleCpuPct ? 0 : 1;
    })
    .catch((e) => {
      process.stderr.write(`homelab bench failed: ${(e as Error).stack ?? e}\n`);
      process.exit(2);
    });
}
