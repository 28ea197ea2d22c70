/**
 * The compiled CLI's `demo` as a newcomer starts it, for the demo tests: ports 0 (the demo binds free
 * ports itself and prints them — a port picked here could be taken by a parallel test first), the
 * banner awaited, its broker and HTTP URLs read from it, an MQTT observer connected. (npm test builds
 * first, so bridge/dist exists.)
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { Observer } from "./observer.js";

const cli = path.resolve(import.meta.dirname, "../../bridge/dist/cli.js");

export interface DemoCli {
  child: ChildProcess;
  observer: Observer;
  t0: number;
  banner: string;
  /** Everything the demo wrote (logs on stdout, the banner on stderr), in order. */
  output: string[];
  mqttUrl: string;
  httpPort: number;
  /** http://127.0.0.1:<port> */
  httpUrl: string;
  stop(): Promise<void>;
}

export async function startDemoCli(args: string[], topics = ["backup2mqtt/#"]): Promise<DemoCli> {
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    [cli, "demo", "--mqtt-port", "0", "--http-port", "0", "--log-level", "warn", ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let banner = "";
  const output: string[] = [];
  child.stderr!.on("data", (d) => {
    banner += d;
    output.push(String(d));
  });
  child.stdout!.on("data", (d) => output.push(String(d)));
  const stopChild = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  };
  const deadline = t0 + 20_000;
  while (!banner.includes("Press Ctrl+C")) {
    if (child.exitCode !== null) throw new Error(`demo exited: ${banner}`);
    if (Date.now() > deadline) {
      await stopChild();
      throw new Error(`no banner: ${banner}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const mqttUrl = /MQTT broker \(embedded\):\s+(mqtt:\/\/127\.0\.0\.1:[1-9]\d*)/.exec(banner)?.[1];
  const httpPort = Number(/HTTP API:\s+http:\/\/127\.0\.0\.1:(\d+)\/api\/v1\/guests/.exec(banner)?.[1]);
  if (!mqttUrl || !(httpPort > 0)) {
    await stopChild();
    throw new Error(`no broker or HTTP URL in the banner: ${banner}`);
  }
  const observer = await Observer.connect(mqttUrl, topics);
  return {
    child,
    observer,
    t0,
    banner,
    output,
    mqttUrl,
    httpPort,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    stop: async () => {
      await observer.close();
      await stopChild();
    },
  };
}
