import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startLab, type Lab, type LabOptions } from "backup2mqtt-lab";
import { startEmbeddedBroker } from "../../bridge/src/demo/broker.js";
import { labConfig, startOffsiteLabs, withOffsiteLabs } from "../../bridge/src/demo/lab-wiring.js";
import { startService, type Running } from "../../bridge/src/commands/run.js";
import { createLogger } from "../../bridge/src/log.js";
import type { Config } from "../../bridge/src/config/load.js";
import type { ServiceOptions as BridgeOptions } from "../../bridge/src/service.js";
import { startMosquitto, mosquittoBinary } from "./mosquitto.js";
import { Observer } from "./observer.js";

export type BrokerKind = "embedded" | "mosquitto";

/** Brokers the integration suite runs against: always the embedded one; Mosquitto where installed (CI installs it). */
export function brokerKinds(): BrokerKind[] {
  if (mosquittoBinary()) return ["embedded", "mosquitto"];
  if (process.env.CI) throw new Error("CI must install mosquitto (apt-get install -y mosquitto)");
  process.stderr.write(
    "note: mosquitto is not installed here; integration tests run against the embedded broker only\n",
  );
  return ["embedded"];
}

export interface Broker {
  url: string;
  stop(): Promise<void>;
  restart?(): Promise<void>;
}

export async function startBroker(kind: BrokerKind): Promise<Broker> {
  if (kind === "mosquitto") return startMosquitto();
  const b = await startEmbeddedBroker(0);
  return { url: b.url, stop: b.close };
}

export type OffsiteLabs = Awaited<ReturnType<typeof startOffsiteLabs>>;

export interface Stack {
  lab: Lab;
  /** The simulated NAS / PBS of the scenario, when `offsite` was asked for. */
  offsite?: OffsiteLabs;
  broker: Broker;
  observer: Observer;
  service: Running;
  cfg: Config;
  logs: string[];
  /** Stop just the bridge (the lab and broker stay). */
  stopBridge(): Promise<void>;
  startBridge(): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** A kind to start a broker for this stack, or a running broker the caller owns (not stopped by stop()). */
  broker: BrokerKind | Broker;
  lab: Omit<LabOptions, "authFailDelayMs"> & { authFailDelayMs?: number };
  pollMs?: number;
  contentMs?: number;
  tokenIndex?: number;
  guestTiers?: Record<string, string>;
  /** Also start the scenario's simulated NAS and PBS (its `synology` / `pbs` sections) and add them as sources polled every pollMs (default: the PVE pollMs). */
  offsite?: { pollMs?: number };
  /** Bridge options (timers) over the test defaults. */
  bridge?: BridgeOptions;
  /** Adjusts the bridge config before the bridge starts (SSH, restore tests, tiers…). */
  configure?: (cfg: Config, lab: Lab) => void | Promise<void>;
  /** Runs before the bridge starts (e.g. plant retained left-overs). */
  beforeBridge?: (observer: Observer, broker: Broker) => Promise<void>;
}

/** Lab + broker + observer + bridge, all real, on loopback. Logs are captured to assert on them. */
export async function startStack(o: StackOptions): Promise<Stack> {
  const lab = await startLab({ authFailDelayMs: 0, ...o.lab });
  const ownBroker = typeof o.broker === "string";
  const broker = typeof o.broker === "string" ? await startBroker(o.broker) : o.broker;
  const observer = await Observer.connect(broker.url);
  const offsite = o.offsite ? await startOffsiteLabs(o.lab.scenario, lab.clock, o.lab.taskSpeed) : undefined;
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-it-"));
  let cfg = labConfig(lab, broker.url, {
    stateDir,
    pollMs: o.pollMs ?? 500,
    contentMs: o.contentMs ?? 60_000,
    tokenIndex: o.tokenIndex,
    guestTiers: o.guestTiers,
    logLevel: "debug",
  });
  if (offsite) cfg = withOffsiteLabs(cfg, offsite, o.offsite?.pollMs ?? o.pollMs ?? 500);
  await o.configure?.(cfg, lab);
  const logs: string[] = [];
  const sink = {
    write: (line: string) => {
      logs.push(line);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const log = createLogger("debug", () => cfg.secrets, sink);
  await o.beforeBridge?.(observer, broker);
  const stack: Stack = {
    lab,
    offsite,
    broker,
    observer,
    cfg,
    logs,
    service: undefined as unknown as Running,
    async startBridge() {
      stack.service = await startService(cfg, { log, fastPollMs: 200, birthDelayMs: 100, ...o.bridge });
    },
    async stopBridge() {
      await stack.service.stop();
    },
    async stop() {
      await stack.service?.stop().catch(() => undefined);
      await observer.close().catch(() => undefined);
      if (ownBroker) await broker.stop();
      await lab.stop();
      await offsite?.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
  try {
    await stack.startBridge();
  } catch (e) {
    await stack.stop().catch(() => undefined);
    throw e;
  }
  return stack;
}
