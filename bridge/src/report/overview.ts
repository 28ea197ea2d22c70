/**
 * The strategy report's first sections: the summary (guest counts, sources and their reachability),
 * the tiers and what they promise, and the table of every guest, problems first.
 */
import type { Tier } from "../config/tiers.js";
import { formatRetention } from "../policy/coverage.js";
import type { GuestState } from "../policy/types.js";
import { formatDuration } from "../util/duration.js";
import { isoOrNull } from "../util/time.js";
import { ageMs, copiesOf, shortTime } from "./facts.js";
import { formatBytes, table, yesNo } from "./format.js";
import type { ReportInput } from "./render.js";

function tierText(t: Tier): string[] {
  return [
    `**${t.id}**`,
    t.label,
    t.protect ? formatDuration(t.maxAgeMs) : "—",
    t.protect ? t.schedule || "(none)" : "—",
    t.protect ? formatRetention(t.retention) : "—",
    t.protect ? String(t.minCopies) : "—",
    t.protect ? yesNo(t.offsite) : "—",
    t.protect && t.verifyEveryMs ? formatDuration(t.verifyEveryMs) : "—",
    yesNo(t.allowManual),
  ];
}

/** Counts per status, then every source (PVE and off-site) with its reachability. */
export function summarySection(input: ReportInput, out: string[]): void {
  const { result, evidence } = input;
  const c = result.counts;
  out.push("## Summary", "");
  out.push(
    `${result.guests.length} guests: ${c.ok} ok, ${c.stale} stale, ${c.failed} failed, ${c.missing} missing, ${c.running} running, ${c.unknown} unknown. ` +
      `**${c.problem} with problems**, ${c.untiered} untiered, ${c.excluded} excluded, ${result.orphans.length} orphaned archive groups.`,
  );
  out.push("");
  out.push(
    table(
      ["source", "kind", "reachable", "last success", "error"],
      [...evidence.sources, ...(input.offsiteHealth ?? [])].map((s) => [
        s.name,
        s.kind,
        s.up && !s.degraded ? "yes" : s.up ? "degraded" : "no",
        shortTime(isoOrNull(s.lastSuccessMs || null), input.cfg.timeZone),
        s.error ?? "",
      ]),
    ),
  );
  out.push("");
}

/** The tiers with their promises and their guests, and where a guest's tier comes from. */
export function tiersSection(input: ReportInput, out: string[]): void {
  const { cfg, result } = input;
  out.push("## Tiers and what they promise", "");
  out.push(
    "A guest is **stale** when its newest good backup is older than the tier's maximum age. It is **unprotected** when no enabled, " +
      "scheduled PVE job selects it often enough (a disabled job does not count). **Retention short** means the job keeps fewer backups " +
      "than the tier wants: PVE's pruning (simulated on one backup a day) would remove backups the tier's retention keeps. A job " +
      "without its own `prune-backups` uses its storage's; with neither, PVE keeps every backup. Keeping more than the tier is fine.",
  );
  out.push("");
  const tierRows = Object.values(cfg.tiers).map((t) => {
    const members = result.guests.filter((g) => g.tier === t.id).map((g) => `${g.name} (${g.vmid})`);
    return [...tierText(t), members.join(", ") || "—"];
  });
  out.push(
    table(
      [
        "tier",
        "label",
        "max age",
        "schedule",
        "retention",
        "min copies",
        "off-site",
        "verify every",
        "manual backups",
        "guests",
      ],
      tierRows,
    ),
  );
  out.push("");
  out.push(
    "Tiers come from the config (`guests:` by VMID or name), else from a PVE tag `backup-p0`/`backup-p1`/`backup-p2` (`nobackup` excludes); the tier select in Home Assistant overrides both.",
  );
  out.push("");
}

/** Every guest, in the order given (problems first). */
export function guestsSection(input: ReportInput, guests: GuestState[], out: string[]): void {
  const { evidence, now } = input;
  out.push("## Guests", "", "Problems first.", "");
  out.push(
    table(
      [
        "guest",
        "VMID",
        "type",
        "node",
        "tier",
        "status",
        "problem",
        "last backup",
        "age",
        "size",
        "archives",
        "copies",
        "off-site",
        "verified",
        "findings",
      ],
      guests.map((g) => {
        const age = ageMs(g.last_backup, now);
        return [
          g.name,
          g.vmid,
          g.type,
          g.node,
          g.tier ?? "untiered",
          g.status,
          g.problem ? "**yes**" : "no",
          shortTime(g.last_backup, input.cfg.timeZone),
          age === null ? "—" : formatDuration(age),
          g.last_backup_size === null ? "—" : formatBytes(g.last_backup_size),
          g.archive_count,
          copiesOf(g, evidence),
          g.last_offsite ? shortTime(g.last_offsite, input.cfg.timeZone) : "none",
          g.last_verified ? shortTime(g.last_verified, input.cfg.timeZone) : "never",
          g.findings.map((f) => f.code).join(", ") || "—",
        ];
      }),
    ),
  );
  out.push("");
}
