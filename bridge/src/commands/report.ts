/** `backup2mqtt report --config FILE`: the strategy document (Markdown) on stdout. */
import { ConfigError, loadConfig, type Config } from "../config/load.js";
import { createLogger } from "../log.js";
import { renderReport } from "../report/render.js";
import { pveVersions, takeSnapshot } from "../report/snapshot.js";
import { VERSION } from "../util/version.js";

export async function reportCommand(file: string, env: NodeJS.ProcessEnv = process.env): Promise<{ exitCode: number; stdout: string; stderr: string }> {
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
    const pve = await pveVersions(snap.sources);
    const md = renderReport({ cfg, result: snap.result, evidence: snap.evidence, now: snap.now, versions: { bridge: VERSION, node: process.version, pve }, offsiteHealth: snap.offsiteHealth });
    const down = [...snap.evidence.sources, ...snap.offsiteHealth].filter((s) => !s.up || s.degraded);
    // The document is still written (it says what is unknown); the exit code tells scripts a source failed.
    return { exitCode: down.length ? 1 : 0, stdout: md, stderr: down.map((s) => `${s.kind} '${s.name}': ${s.error ?? "not readable"}\n`).join("") };
  } finally {
    await snap.close();
  }
}
