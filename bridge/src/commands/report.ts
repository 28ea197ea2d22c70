/**
 * `backup2mqtt report --config FILE`: the strategy document (Markdown) on stdout; with
 * `--update PAGE`, written into PAGE between its backup2mqtt markers instead (report/update-file.ts).
 */
import { renderReport } from "../report/render.js";
import { checkReportFile, updateReportFile } from "../report/update-file.js";
import { pveVersions } from "../core/pve-versions.js";
import { systemClock } from "../util/clock.js";
import { withSnapshot, type CommandResult } from "./one-shot.js";
import { VERSION } from "../util/version.js";

export async function reportCommand(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  opts: { update?: string } = {},
): Promise<CommandResult> {
  // A page that cannot take the report fails before any source is read.
  const unusable = opts.update === undefined ? undefined : checkReportFile(opts.update);
  if (unusable) return { exitCode: 2, stdout: "", stderr: `Not updated: ${unusable}.\n` };
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
    const sourceErrors = down.map((s) => `${s.kind} '${s.name}': ${s.error ?? "not readable"}\n`).join("");
    if (opts.update === undefined) return { exitCode: down.length ? 1 : 0, stdout: md, stderr: sourceErrors };
    const written = updateReportFile(opts.update, md);
    if (!written.ok) return { exitCode: 2, stdout: "", stderr: `${sourceErrors}Not updated: ${written.error}.\n` };
    return {
      exitCode: down.length ? 1 : 0,
      stdout: `Updated ${opts.update}: the report is on lines ${written.lines.begin} to ${written.lines.end}, between the backup2mqtt markers; nothing outside them changed.\n`,
      stderr: sourceErrors,
    };
  });
}
