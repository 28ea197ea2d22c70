import { ConfigError, loadConfig, type Config } from "../config/load.js";
import { createLogger } from "../log.js";
import { takeSnapshot, type Snapshot } from "../report/snapshot.js";

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * The frame of the one-shot commands (report, plan, apply): load the config (exit 2 with every
 * problem when it is invalid), read every source once, run `fn`, always close the sources.
 * Logs go to stderr (warnings only at the default level) so stdout stays the command's output.
 */
export async function withSnapshot(
  file: string,
  env: NodeJS.ProcessEnv,
  fn: (cfg: Config, snap: Snapshot) => Promise<CommandResult>,
): Promise<CommandResult> {
  let cfg: Config;
  try {
    cfg = loadConfig(file, env);
  } catch (e) {
    if (e instanceof ConfigError) return { exitCode: 2, stdout: "", stderr: `${e.message}\n` };
    throw e;
  }
  const log = createLogger(cfg.logLevel === "info" ? "warn" : cfg.logLevel, () => cfg.secrets, process.stderr);
  const snap = await takeSnapshot(cfg, log);
  try {
    return await fn(cfg, snap);
  } finally {
    await snap.close();
  }
}
