/**
 * The strategy report's coverage sections: the gaps (guests with problems, informational findings,
 * orphaned archives), the PVE jobs that implement the tiers, and the copies elsewhere (Hyper Backup
 * tasks, PBS sync jobs).
 */
import type { BackupJob } from "../evidence.js";
import { isManagedId } from "../plan/model.js";
import { formatRetention, jobSelects } from "../policy/coverage.js";
import type { GuestState } from "../policy/types.js";
import { INFORMATIONAL } from "../policy/types.js";
import { shortTime } from "./facts.js";
import { cell, table, yesNo } from "./format.js";
import type { ReportInput } from "./render.js";
import { count } from "../words/count.js";

function selectionText(j: BackupJob): string {
  if (j.vmids) return `VMIDs ${j.vmids.join(", ")}`;
  if (j.pool) return `pool ${j.pool}`;
  if (j.all) return j.exclude?.length ? `all except ${j.exclude.join(", ")}` : "all guests";
  return "nothing";
}

/**
 * A job's retention column: its own `prune-backups`, else its storage's (which PVE then applies),
 * else "storage default" (the storage sets none, so PVE keeps every backup, or the token may not
 * see the storage's configuration).
 */
function retentionText(j: BackupJob, storagePrune: Record<string, Record<string, number>> | undefined): string {
  if (j.pruneBackups) return formatRetention(j.pruneBackups);
  const fromStorage = j.storage ? storagePrune?.[`${j.source}/${j.storage}`] : undefined;
  if (fromStorage) return `${formatRetention(fromStorage)} (storage's)`;
  return "storage default";
}

/** Guests with problems (or unknown) and their reasons, informational findings, orphaned archives. */
export function gapsSection(input: ReportInput, guests: GuestState[], out: string[]): void {
  const { result } = input;
  out.push("## Coverage gaps", "");
  const gapGuests = guests.filter((g) => g.problem || g.status === "unknown");
  if (!gapGuests.length) out.push("None: every tiered guest is backed up as its tier promises.");
  for (const g of gapGuests) {
    out.push(`- **${cell(g.name)}** (${g.vmid}, tier ${g.tier ?? "none"}, ${g.status}):`);
    for (const r of g.reasons) out.push(`  - ${cell(r)}`);
  }
  const info = guests.filter(
    (g) => !g.problem && g.status !== "unknown" && g.findings.some((f) => INFORMATIONAL.has(f.code)),
  );
  if (info.length) {
    out.push("", "Informational (never a problem):", "");
    for (const g of info)
      for (const f of g.findings.filter((x) => INFORMATIONAL.has(x.code)))
        out.push(`- ${cell(g.name)} (${g.vmid}): ${f.code}: ${cell(f.reason)}`);
  }
  if (result.orphans.length) {
    out.push("", "Orphaned archives (their guest no longer exists; listed, not alarmed on):", "");
    for (const o of result.orphans)
      out.push(
        `- VMID ${o.vmid} on '${cell(o.source)}': ${count(o.archive_count, "archive")}, newest ${shortTime(o.last_backup, input.cfg.timeZone)}`,
      );
  }
  out.push("");
}

/** The PVE backup jobs: who manages them, what they select, which tiers they serve; tiers no job protects. */
export function jobsSection(input: ReportInput, out: string[]): void {
  const { cfg, result, evidence } = input;
  out.push("## Jobs that implement the tiers", "");
  const jobsUnreadable = Object.entries(evidence.jobsReadable)
    .filter(([, ok]) => !ok)
    .map(([s]) => s);
  if (jobsUnreadable.length)
    out.push(
      `The backup jobs of ${jobsUnreadable.map((s) => `'${cell(s)}'`).join(", ")} cannot be read (the token needs Sys.Audit on /); coverage there is unknown.`,
      "",
    );
  if (!evidence.jobs.length) out.push("PVE has no backup jobs.", "");
  else {
    out.push(
      table(
        [
          "job",
          "source",
          "managed by",
          "enabled",
          "schedule",
          "selects",
          "storage",
          "retention",
          "next run",
          "tiers served",
        ],
        evidence.jobs.map((j) => {
          const served = evidence.guests
            .filter((gi) => jobSelects(j, gi))
            .map((gi) => result.guests.find((g) => g.source === gi.source && g.vmid === gi.vmid))
            .filter((g): g is GuestState => !!g);
          const tiers = [...new Set(served.map((g) => g.tier ?? "untiered"))];
          return [
            j.id,
            j.source,
            isManagedId(j.id)
              ? "backup2mqtt"
              : Object.values(cfg.jobs?.adopt ?? {}).includes(j.id)
                ? "backup2mqtt (adopted)"
                : "someone else",
            j.enabled ? "yes" : "**no**",
            j.schedule ?? "—",
            `${selectionText(j)}${served.length ? ` (${served.map((g) => g.name).join(", ")})` : ""}`,
            j.storage ?? "—",
            retentionText(j, evidence.storagePrune),
            j.nextRunMs && j.enabled ? shortTime(new Date(j.nextRunMs).toISOString(), input.cfg.timeZone) : "—",
            tiers.join(", ") || "—",
          ];
        }),
      ),
    );
    out.push("");
  }
  const tiersWithoutJob = Object.values(cfg.tiers).filter((t) =>
    result.guests.some((g) => g.tier === t.id && g.findings.some((f) => f.code === "unprotected")),
  );
  if (tiersWithoutJob.length)
    out.push(
      `Tiers with guests no enabled job protects: ${tiersWithoutJob.map((t) => t.id).join(", ")}. \`backup2mqtt plan --config FILE\` shows the jobs that would fix this, \`apply --yes\` creates them.`,
      "",
    );
}

/** Copies outside PVE's own storages: Hyper Backup tasks and PBS sync jobs, and off-site PVE storages. */
export function copiesSection(input: ReportInput, out: string[]): void {
  const { cfg, evidence } = input;
  out.push("### Copies elsewhere (Hyper Backup tasks, PBS sync jobs)", "");
  const targets = evidence.offsite?.targets ?? [];
  const offsiteTiers = Object.values(cfg.tiers)
    .filter((t) => t.protect && t.offsite)
    .map((t) => t.id);
  if (!evidence.offsite) {
    out.push(
      "No Synology (Hyper Backup) or PBS source is configured, so no copy outside PVE's own storages is known and the 3-2-1 findings " +
        `(copies, off-site) are not evaluated${offsiteTiers.length ? `; tiers ${offsiteTiers.join(", ")} require an off-site copy that this document cannot confirm` : ""}.`,
    );
  } else if (!targets.length) {
    out.push("The configured Synology/PBS sources carry no PVE backup storage anywhere: no copy outside PVE is known.");
  } else {
    out.push(
      table(
        ["copy", "kind", "source", "carries PVE storages", "off-site", "last success", "readable"],
        targets.map((t) => [
          t.label,
          t.kind === "hyperbackup" ? "Hyper Backup task" : "PBS sync job",
          t.source,
          t.storages.join(", ") || "—",
          yesNo(t.offsite),
          t.lastSuccessMs ? shortTime(new Date(t.lastSuccessMs).toISOString(), input.cfg.timeZone) : "never",
          yesNo(t.readable),
        ]),
      ),
    );
    if (evidence.offsite.offsiteStorages.length)
      out.push("", `PVE storages that are themselves off-site: ${evidence.offsite.offsiteStorages.join(", ")}.`);
  }
  out.push("");
}
