/**
 * The strategy report's verification and restore-test log: the bridge's verifications, what PBS
 * verified, the restore tests, and the guests never verified although their tier asks for it — or,
 * when nothing was checked yet, the plain statement that nothing proves an archive restorable.
 */
import { allArchives } from "../archive-set.js";
import type { Verification } from "../evidence.js";
import type { GuestState } from "../policy/types.js";
import { formatDuration } from "../util/duration.js";
import { shortTime } from "./facts.js";
import { cell, table } from "./format.js";
import type { ReportInput } from "./render.js";

/** The log, newest first, at most 50 rows per table. */
export function checksLogSection(input: ReportInput, guests: GuestState[], out: string[]): void {
  const { cfg, result, evidence } = input;
  out.push("## Verification and restore-test log", "");
  const verifications = [...(evidence.verifications ?? [])].sort((a, b) => b.timeMs - a.timeMs);
  const restores = [...(evidence.restoreTests ?? [])].sort((a, b) => b.timeMs - a.timeMs);
  const nameOf = (source: string, vmid: number) =>
    result.guests.find((g) => g.source === source && g.vmid === vmid)?.name ?? `VMID ${vmid}`;
  const LOG_ROWS = 50;
  // Verifications and restore tests record the same facts (RestoreTest is a Verification).
  const checksTable = (checks: Verification[]) =>
    table(
      ["time", "guest", "VMID", "archive", "result"],
      checks
        .slice(0, LOG_ROWS)
        .map((v) => [
          shortTime(new Date(v.timeMs).toISOString(), input.cfg.timeZone),
          nameOf(v.source, v.vmid),
          v.vmid,
          v.volid,
          v.ok ? "ok" : `**failed**: ${v.reason ?? "no reason given"}`,
        ]),
    );
  const pbsVerified = allArchives(evidence.archives)
    .filter((a) => a.verification)
    .sort((a, b) => b.ctimeMs - a.ctimeMs);
  if (!verifications.length && !restores.length && !pbsVerified.length) {
    out.push(
      "**No verification or restore test has been recorded yet.** Nothing in this document proves that an archive can be restored. " +
        "Until the bridge verifies archives (SSH configured per Proxmox source, or PBS verify jobs) and runs restore tests, do the restore test below by hand, at least as often as each tier asks:",
    );
    out.push("");
    for (const t of Object.values(cfg.tiers).filter((x) => x.protect))
      out.push(
        `- ${t.id}: ${t.verifyEveryMs ? `every ${formatDuration(t.verifyEveryMs)}` : "no regular verification required"}`,
      );
  } else {
    out.push("### Archive verifications by the bridge (newest first)", "");
    if (!verifications.length)
      out.push("None recorded yet (the bridge verifies archives over SSH when a Proxmox source has an ssh section).");
    else out.push(checksTable(verifications));
    if (verifications.length > LOG_ROWS) out.push("", `… and ${verifications.length - LOG_ROWS} older ones.`);
    if (pbsVerified.length) {
      out.push("", "### Verified by Proxmox Backup Server (verify jobs; newest archive first)", "");
      out.push(
        table(
          ["archive made", "guest", "VMID", "archive", "PBS verify state"],
          pbsVerified
            .slice(0, LOG_ROWS)
            .map((a) => [
              shortTime(new Date(a.ctimeMs).toISOString(), input.cfg.timeZone),
              nameOf(a.source, a.vmid),
              a.vmid,
              a.volid,
              a.verification === "ok" ? "ok" : "**failed**",
            ]),
        ),
      );
    }
    out.push("", "### Restore tests (newest first)", "");
    if (!restores.length)
      out.push("None recorded yet: an archive that verifies is still not proven restorable until a restore test ran.");
    else out.push(checksTable(restores));
    const never = guests.filter(
      (g) => !g.last_verified && g.tier && cfg.tiers[g.tier]?.protect && cfg.tiers[g.tier]?.verifyEveryMs,
    );
    if (never.length)
      out.push(
        "",
        `Never verified although their tier asks for it: ${never.map((g) => `${cell(g.name)} (${g.vmid})`).join(", ")}.`,
      );
  }
  out.push("");
}
