/**
 * Debian's Mosquitto on a free loopback port with a throw-away config (no persistence), for the
 * integration suite (test/support/stack.ts) and the real Home Assistant suite (test/ha/). One
 * implementation for both: the process is tied to this Node process (test/support/process.ts), its
 * log is kept for assertions, and it can be restarted on the same port (a broker restart mid-run).
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  claimDir,
  freePort,
  registerCleanup,
  killGroup,
  spawnOwned,
  sweepStaleDirs,
  Tail,
  tcpOpen,
  terminate,
  waitFor,
} from "./process.js";

export { freePort } from "./process.js";

export interface Mosquitto {
  host: string;
  port: number;
  /** mqtt:// URL for clients */
  url: string;
  /** Everything Mosquitto logged (connections, errors), across restarts; the last 256 kB. */
  logText(): string;
  /** Kill and start again on the same port (broker restart mid-run; retained messages are lost). */
  restart(): Promise<void>;
  /** Freezes (SIGSTOP) or thaws (SIGCONT) the broker: connections stay open, nothing is answered. */
  pause(frozen: boolean): void;
  /** Stops it and removes its config dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartMosquittoOptions {
  port?: number;
  binary?: string;
}

const CANDIDATES = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"];

/** Path of the mosquitto binary ($B2M_MOSQUITTO, the Debian locations, PATH), or undefined. */
export function mosquittoBinary(explicit?: string): string | undefined {
  for (const c of [explicit, process.env.B2M_MOSQUITTO, ...CANDIDATES]) if (c && existsSync(c)) return c;
  const which = spawnSync("sh", ["-c", "command -v mosquitto"], { encoding: "utf8" });
  const found = which.stdout.trim();
  return which.status === 0 && found ? found : undefined;
}

export async function startMosquitto(opts: StartMosquittoOptions = {}): Promise<Mosquitto> {
  // A free port found here can be taken by a parallel test before mosquitto binds it: try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startMosquittoOnce(opts);
    } catch (e) {
      if (opts.port !== undefined || attempt >= 3 || !/exited/.test((e as Error).message)) throw e;
    }
  }
}

async function startMosquittoOnce(opts: StartMosquittoOptions): Promise<Mosquitto> {
  const bin = mosquittoBinary(opts.binary);
  if (!bin)
    throw new Error(
      "mosquitto binary not found (looked in /usr/sbin, /usr/bin, PATH; set B2M_MOSQUITTO to override). " +
        "Install it with: apt-get install -y mosquitto",
    );
  const host = "127.0.0.1";
  const port = opts.port ?? (await freePort(host));
  sweepStaleDirs(tmpdir(), "b2m-mosquitto-");
  const dir = mkdtempSync(join(tmpdir(), "b2m-mosquitto-"));
  claimDir(dir);
  const conf = join(dir, "mosquitto.conf");
  const lines = [
    `listener ${port} ${host}`,
    "allow_anonymous true",
    "persistence false",
    "log_dest stdout",
    "log_type error",
    "log_type warning",
    "log_type notice",
    "log_type information",
    "connection_messages true",
  ];
  // Run as the invoking user instead of dropping to the 'mosquitto' user (which may not exist).
  if (process.getuid?.() === 0) lines.push("user root");
  writeFileSync(conf, `${lines.join("\n")}\n`);
  const tail = new Tail(256_000);
  let child: ChildProcess | undefined;
  let stopped = false;

  const unregister = registerCleanup(() => {
    if (child) killGroup(child, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  const launch = async () => {
    const c = spawnOwned(bin, ["-c", conf]);
    child = c;
    c.stdout?.on("data", (d: Buffer) => tail.push(d));
    c.stderr?.on("data", (d: Buffer) => tail.push(d));
    await waitFor(
      async () => {
        if (c.exitCode !== null)
          throw Object.assign(new Error(`mosquitto exited with ${c.exitCode}: ${tail.text()}`), { fatal: true });
        return await tcpOpen(host, port);
      },
      { timeoutMs: 10_000, intervalMs: 50, description: `mosquitto on ${host}:${port}` },
    );
  };
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child) killGroup(child, "SIGCONT"); // a frozen broker would not see SIGTERM
    if (child) await terminate(child, 5_000);
    unregister();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await launch();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    host,
    port,
    url: `mqtt://${host}:${port}`,
    logText: () => tail.text(),
    restart: async () => {
      if (stopped) throw new Error("restart() after stop()");
      // SIGKILL: clients see the connection drop as on a crash (no clean shutdown).
      if (child) {
        killGroup(child, "SIGKILL");
        await terminate(child, 5_000);
      }
      await launch();
    },
    pause: (frozen) => {
      if (child) killGroup(child, frozen ? "SIGSTOP" : "SIGCONT");
    },
    stop,
  };
}
