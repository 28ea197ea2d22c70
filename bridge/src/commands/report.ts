/** `backup2mqtt report --config FILE`: the strategy document (Markdown) on stdout. */
import { renderReport } from "../report/render.js";
import { pveVersions } from "../core/pve-versions.js";
import { systemClock } from "../util/clock.js";
import { withSnapshot, type CommandResult } from "./one-shot.js";
import { VERSION } from "../util/version.js";

export function reportCommand(file: string, env: NodeJS.ProcessEnv = process.env): Promise<CommandResult> {
  return withSnapshot(file, env, async (cfg, snap) => {
    const pve = await pveVersions(snap.sources, systemClock);
    const md = renderReport({
      cfg,
      result: snap.result,
      evidence: snap.evidence,
      now: snap.now,
      versions: { bridge: VERSION, node: process.version, pve },
      offsiteHealth: snap.offsiteHealth,
    });
    const down = [...snap.evidence.sources, ...snap.offsiteHealth].filter((s) => !s.up || s.degraded);
    // The document is still written (it says what is unknown); the exit code tells scripts a source failed.
    return {
      exitCode: down.length ? 1 : 0,
      stdout: md,
      stderr: down.map((s) => `${s.kind} '${s.name}': ${s.error ?? "not readable"}\n`).join(""),
    };
  });
}
