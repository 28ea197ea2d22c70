import type http from "node:http";
import { Bridge, type BridgeOptions } from "../bridge.js";
import type { Config } from "../config/load.js";
import { createLogger, type Logger } from "../log.js";
import { createHttpApp, startHttpServer } from "../publish/http/server.js";

export interface Running {
  bridge: Bridge;
  httpUrl?: string;
  stop(): Promise<void>;
}

/** Starts the bridge and its HTTP API for a loaded config. */
export async function startService(cfg: Config, opts: BridgeOptions & { log?: Logger; http?: boolean } = {}): Promise<Running> {
  const log = opts.log ?? createLogger(cfg.logLevel, () => cfg.secrets);
  const bridge = new Bridge(cfg, log, opts);
  await bridge.start();
  let server: http.Server | undefined;
  let httpUrl: string | undefined;
  if (opts.http !== false) {
    const started = await startHttpServer(createHttpApp(bridge, cfg.http.token, log.child({ part: "http" })), cfg.http.host, cfg.http.port);
    server = started.server;
    httpUrl = started.url;
    log.info({ url: httpUrl }, "HTTP API listening");
  }
  return {
    bridge,
    httpUrl,
    stop: async () => {
      await bridge.stop();
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((r) => server!.close(() => r()));
      }
    },
  };
}

/** Stops cleanly on SIGINT/SIGTERM, so the LWT is replaced by an explicit "offline". */
export function stopOnSignals(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const handler = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, "stopping");
    stop()
      .catch((e) => log.error({ err: (e as Error).message }, "error while stopping"))
      .finally(() => process.exit(0));
  };
  process.on("SIGINT", () => handler("SIGINT"));
  process.on("SIGTERM", () => handler("SIGTERM"));
}
