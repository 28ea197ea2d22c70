/**
 * The benchmark's harness: waiting for a condition, a free port, the MQTT broker (Mosquitto in its
 * own process when installed, else the embedded one), and CPU time and memory of a process read
 * from /proc.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { startEmbeddedBroker } from "../demo/broker.js";

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

export async function until<T>(
  what: string,
  fn: () => T | undefined | false,
  timeoutMs: number,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Mosquitto in its own process when installed (CI installs it), else the embedded broker. */
export async function startBroker(dir: string): Promise<{ url: string; kind: string; stop(): Promise<void> }> {
  const bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((b) => fs.existsSync(b));
  if (!bin) {
    const b = await startEmbeddedBroker(0);
    return { url: b.url, kind: "embedded (aedes, in the bench process)", stop: b.close };
  }
  const port = await freePort();
  const conf = path.join(dir, "mosquitto.conf");
  fs.writeFileSync(
    conf,
    `${[
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence false",
      "max_queued_messages 0",
      "max_queued_bytes 0",
      "log_type error",
      ...(process.getuid?.() === 0 ? ["user root"] : []),
    ].join("\n")}\n`,
  );
  const child = spawn(bin, ["-c", conf], { stdio: "ignore" });
  await until("mosquitto", () => child.exitCode === null && true, 1000);
  const open = () =>
    new Promise<boolean>((r) =>
      net
        .connect(port, "127.0.0.1")
        .once("connect", function (this: net.Socket) {
          this.destroy();
          r(true);
        })
        .once("error", () => r(false)),
    );
  for (let i = 0; i < 200 && !(await open()); i++) await sleep(25);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    kind: "mosquitto (own process)",
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
    },
  };
}

export interface ProcSample {
  cpuMs: number;
  rssMb: number;
  hwmMb: number;
}
export function procSample(pid: number): ProcSample | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(f[11]) + Number(f[12]); // utime + stime
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
    return { cpuMs: (ticks * 1000) / CLK_TCK, rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * `backup2mqtt run --config <file>` as its own process (so its CPU and memory are its own). Its last
 * `keep` output chunks are kept in `output`; an exit before `stopping()` was called is logged with them.
 */
export function spawnBridge(
  cli: string,
  cfgFile: string,
  o: { output: string[]; keep: number; label: string; env?: NodeJS.ProcessEnv },
): { child: ChildProcess; stopping(): void } {
  const child = spawn(process.execPath, [cli, "run", "--config", cfgFile], {
    stdio: ["ignore", "pipe", "pipe"],
    ...(o.env ? { env: o.env } : {}),
  });
  let stopping = false;
  for (const s of [child.stdout!, child.stderr!])
    s.on("data", (d: Buffer) => o.output.push(d.toString("utf8")) > o.keep && o.output.shift());
  child.once("exit", (code, sig) => {
    if (!stopping) log(`${o.label} exited (${code ?? sig}):\n${o.output.join("")}`);
  });
  return {
    child,
    stopping() {
      stopping = true;
    },
  };
}
