/**
 * PVE puts a failed command whole into its error (pve-common PVE/Tools.pm run_command: "command
 * '<cmd>' failed: exit code N"); for a container's tar pipeline that is some 600 characters of
 * options. In a reason a person reads, the programs of the pipeline say enough — "command 'tar … |
 * zstd …' failed: exit code 2"; the whole command stays in PVE's task log.
 */
const QUOTED_COMMAND = /command '(.*)' failed/s;
/** Commands up to this length are kept as PVE wrote them. */
const KEEP_UP_TO = 60;

export function shortenCommand(error: string): string {
  const m = QUOTED_COMMAND.exec(error);
  if (!m || m[1]!.length <= KEEP_UP_TO) return error;
  const programs = m[1]!
    .split(/\s*(?:&&|\|\||;)\s*/)
    .flatMap((part) => part.split(/\s+\|\s+/))
    // A wrapper's own options end at " -- " (lxc-usernsexec … -- tar …); "set -o pipefail" is shell setup.
    .map((stage) => (stage.includes(" -- ") ? stage.slice(stage.lastIndexOf(" -- ") + 4) : stage).trim())
    .filter((stage) => stage && !stage.startsWith("set "))
    .map((stage) => `${stage.split(/\s+/)[0]!.replace(/^'|'$/g, "").split("/").pop()} …`);
  if (!programs.length) return error;
  return error.replace(m[0], `command '${programs.join(" | ")}' failed`);
}
