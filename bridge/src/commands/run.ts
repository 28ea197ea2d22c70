import type { Logger } from "../log.js";

export { startService, type Running, type ServiceOptions } from "../service.js";

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
