/**
 * A running bridge: the engine plus its extensions, started in order and stopped in reverse.
 * The one place that decides which features run (the `run` and `demo` commands use it).
 */
import type { Config } from "./config/load.js";
import { createLogger, type Logger } from "./log.js";
import { autoVerify } from "./extensions/auto-verify.js";
import { fallback } from "./extensions/fallback.js";
import { heartbeat } from "./extensions/heartbeat.js";
import type { Extension, ExtensionContext } from "./extensions/extension.js";
import { HttpExtension } from "./extensions/http/index.js";
import { MqttExtension } from "./extensions/mqtt/index.js";
import { tierOverrides } from "./extensions/tier-overrides.js";
import { Engine, type EngineOptions } from "./core/engine.js";

export interface ServiceOptions extends EngineOptions {
  log?: Logger;
  /** Start the HTTP API (default true). */
  http?: boolean;
  birthDelayMs?: number;
  /** How often automatic verification looks for work (ms). */
  verifyTickMs?: number;
  /** The bridge cannot go on (its MQTT topics turned out to be another bridge's); the caller ends the process. */
  onFatal?: (err: Error) => void;
}

export interface Running {
  engine: Engine;
  mqtt: MqttExtension;
  httpUrl?: string;
  stop(): Promise<void>;
}

export function extensionContext(engine: Engine, log: Logger): ExtensionContext {
  return {
    cfg: engine.cfg,
    view: engine,
    bus: engine.bus,
    router: engine.router,
    scheduler: engine.scheduler,
    clock: engine.clock,
    log,
    refresh: (opts) => engine.refreshAll(opts),
    reevaluate: () => engine.evaluate(),
    engine: {
      devices: engine.devices,
      confirmsGone: (e) => engine.confirmsGone(e),
      actions: engine.actions,
      store: engine.store,
      setOverrides: (o) => engine.setOverrides(o),
      setMqttConnected: (c) => engine.setMqttConnected(c),
      fallbackPlan: () => engine.fallbackPlan,
    },
  };
}

/** Starts the engine and its extensions for a loaded config. */
export async function startService(cfg: Config, opts: ServiceOptions = {}): Promise<Running> {
  const log = opts.log ?? createLogger(cfg.logLevel, () => cfg.secrets);
  const engine = new Engine(cfg, log, opts);
  const ctx = extensionContext(engine, log);
  const mqtt = new MqttExtension({ birthDelayMs: opts.birthDelayMs, onFatal: opts.onFatal });
  const http = opts.http !== false ? new HttpExtension(log.child({ part: "http" })) : undefined;
  // Before the first reading: what it depends on (tier overrides) and what must see it (MQTT).
  const before: Extension[] = [tierOverrides(), mqtt];
  // The self-healing fallback acts on every evaluation, the first one included.
  before.push(fallback());
  // After it: automatic verification judges evaluated guests; HTTP answers only once there is a view.
  const after: Extension[] = [autoVerify(opts.verifyTickMs), ...(http ? [http] : [])];
  // The heartbeat pings after every successful refresh (the first one included); off without `heartbeat:`.
  after.push(heartbeat());
  const started: Extension[] = [];
  const stop = async () => {
    await engine.stop();
    for (const e of [...started].reverse()) await e.stop?.();
  };
  try {
    const startAll = async (list: Extension[]) => {
      for (const e of list) {
        await e.start(ctx);
        started.push(e);
      }
    };
    await engine.load();
    await startAll(before);
    await engine.start();
    await startAll(after);
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  if (http?.url) log.info({ url: http.url }, "HTTP API listening");
  return { engine, mqtt, httpUrl: http?.url, stop };
}
