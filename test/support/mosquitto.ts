import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const CANDIDATES = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"];

/** Path of the Debian mosquitto binary, or undefined when it is not installed. */
export function mosquittoBinary(): string | undefined {
  const found = CANDIDATES.find((p) => fs.existsSync(p));
  if (found) return found;
  const which = spawnSync("sh", ["-c", "command -v mosquitto"], { encoding: "utf8" });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Mosquitto {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Kill and start again on the same port (broker restart mid-run). */
  restart(): Promise<void>;
}

/** A real Mosquitto on a free loopback port with a throw-away config (no persistence). */
export async function startMosquitto(): Promise<Mosquitto> {
  const bin = mosquittoBinary();
  if (!bin) throw new Error("mosquitto is not installed (Debian: apt-get install -y mosquitto)");
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-mosquitto-"));
  const conf = path.join(dir, "mosquitto.conf");
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\n`);
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(bin, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
      const ok = await new Promise<boolean>((r) => {
        const s = net.connect(port, "127.0.0.1", () => (s.end(), r(true)));
        s.on("error", () => r(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`mosquitto did not listen on ${port}: ${stderr}`);
  };
  const kill = () =>
    new Promise<void>((resolve) => {
      if (!child || child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  await launch();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
