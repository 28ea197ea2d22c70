/**
 * The living strategy document: Markdown generated from config + live state, so it
 * stays true. Pure: everything it says comes from its input.
 */
import { isoOrNull } from "../util/time.js";
import type { Config } from "../config/load.js";
import type { Tier } from "../config/tiers.js";
import type { BackupJob, Evidence, SourceHealth, Verification } from "../evidence.js";
import { jobSelects, formatRetention } from "../policy/coverage.js";
import type { GuestState, PolicyResult } from "../policy/types.js";
import { INFORMATIONAL } from "../policy/types.js";
import { formatDuration } from "../util/duration.js";
import { isManagedId } from "../plan/model.js";
import { allArchives } from "../archive-set.js";
import { ageMs, archivesOf, copiesOf, problemsFirst, shortTime } from "./facts.js";

export interface ReportInput {
  cfg: Config;
  result: PolicyResult;
  evidence: Evidence;
  now: number;
  versions: { bridge: string; node: string; pve: Record<string, string | null> };
  /** Synology / PBS sources (off-site layer), when configured. */
  offsiteHealth?: SourceHealth[];
}

/** Table cell: no pipes, no line breaks, no HTML. */
const cell = (v: unknown): string =>
  String(v ?? "")
    .replace(/\\/g, "\\\\")
    .replace(/\|/g, "\\|")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\r?\n/g, " ");
const code = (v: string) => `\`${v.replace(/`/g, "'")}\``;
const row = (cells: unknown[]) => `| ${cells.map(cell).join(" | ")} |`;
const table = (head: string[], rows: unknown[][]) =>
  [row(head), `|${head.map(() => "---").join("|")}|`, ...rows.map(row)].join("\n");
const yesNo = (b: boolean) => (b ? "yes" : "no");

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

function selectionText(j: BackupJob): string {
  if (j.vmids) return `VMIDs ${j.vmids.join(", ")}`;
  if (j.pool) return `pool ${j.pool}`;
  if (j.all) return j.exclude?.length ? `all except ${j.exclude.join(", ")}` : "all guests";
  return "nothing";
}

export function renderReport(input: ReportInput): string {
  const { cfg, result, evidence, now, versions } = input;
  const guests = problemsFirst(result.guests);
  const out: string[] = [];
  const pve = Object.entries(versions.pve)
    .map(([name, v]) => `${name} ${v ?? "(version unreadable)"}`)
    .join(", ");

  out.push(`# Backup strategy — ${cell(cfg.site)}`);
  out.push("");
  out.push(
    `Generated ${new Date(now).toISOString()} by backup2mqtt ${versions.bridge} (Node.js ${versions.node}); Proxmox VE: ${pve || "none configured"}.`,
  );
  out.push("");
  out.push(
    "This document is generated from the bridge's configuration and the live state of Proxmox VE. " +
      "Do not edit it: change the tiers, guests or jobs in the configuration and regenerate it " +
      "(`backup2mqtt report --config FILE`, or `GET /report.md` from the running bridge).",
  );
  out.push("");

  // --- summary --------------------------------------------------------------------------------
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
        shortTime(isoOrNull(s.lastSuccessMs || null)),
        s.error ?? "",
      ]),
    ),
  );
  out.push("");

  // --- tiers ------------------------------------------------------------------------------------
  out.push("## Tiers and what they promise", "");
  out.push(
    "A guest is **stale** when its newest good backup is older than the tier's maximum age. It is **unprotected** when no enabled, " +
      "scheduled PVE job selects it often enough (a disabled job does not count). **Retention drift** means the job's `prune-backups` differs from the tier.",
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

  // --- guests -----------------------------------------------------------------------------------
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
          shortTime(g.last_backup),
          age === null ? "—" : formatDuration(age),
          g.last_backup_size === null ? "—" : formatBytes(g.last_backup_size),
          g.archive_count,
          copiesOf(g, evidence),
          g.last_offsite ? shortTime(g.last_offsite) : "none",
          g.last_verified ? shortTime(g.last_verified) : "never",
          g.findings.map((f) => f.code).join(", ") || "—",
        ];
      }),
    ),
  );
  out.push("");

  // --- gaps -------------------------------------------------------------------------------------
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
        `- VMID ${o.vmid} on '${cell(o.source)}': ${o.archive_count} archive(s), newest ${shortTime(o.last_backup)}`,
      );
  }
  out.push("");

  // --- jobs -------------------------------------------------------------------------------------
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
            j.pruneBackups ? formatRetention(j.pruneBackups) : "storage default",
            j.nextRunMs && j.enabled ? shortTime(new Date(j.nextRunMs).toISOString()) : "—",
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
          t.lastSuccessMs ? shortTime(new Date(t.lastSuccessMs).toISOString()) : "never",
          yesNo(t.readable),
        ]),
      ),
    );
    if (evidence.offsite.offsiteStorages.length)
      out.push("", `PVE storages that are themselves off-site: ${evidence.offsite.offsiteStorages.join(", ")}.`);
  }
  out.push("");

  // --- verification ---------------------------------------------------------------------------
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
          shortTime(new Date(v.timeMs).toISOString()),
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
              shortTime(new Date(a.ctimeMs).toISOString()),
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

  // --- restore ----------------------------------------------------------------------------------
  out.push("## Restore procedure", "");
  out.push(
    "Run these on a Proxmox node as root (or with `pvesh` rights). A **restore test** restores into a new, free VMID and never touches the running guest; " +
      "`--unique 1` gives it new MAC addresses so it can run next to the original. A **real restore** overwrites the guest (`--force 1`): stop it first.",
  );
  out.push("");
  out.push("### Virtual machines (qemu)", "");
  out.push("```sh");
  out.push("# 1. the archives of VM <vmid> on a storage (newest last)");
  out.push(
    "pvesh get /nodes/<node>/storage/<storage>/content --content backup --vmid <vmid> --output-format json-pretty",
  );
  out.push(
    "# 2. restore test into a new VMID; disks go to the storages in the backed-up config (add --storage <s> to choose)",
  );
  out.push("NEWID=$(pvesh get /cluster/nextid)");
  out.push("qmrestore <volid> $NEWID --unique 1 --start 0");
  out.push(
    "qm start $NEWID        # boot it with its network unplugged if it would clash (qm set $NEWID --net0 ...,link_down=1)",
  );
  out.push("qm destroy $NEWID --purge   # when the test is done");
  out.push("# 3. real restore over the original");
  out.push("qm stop <vmid> && qmrestore <volid> <vmid> --force 1");
  out.push("```");
  out.push("");
  out.push("### Containers (lxc)", "");
  out.push("```sh");
  out.push(
    "pvesh get /nodes/<node>/storage/<storage>/content --content backup --vmid <vmid> --output-format json-pretty",
  );
  out.push("NEWID=$(pvesh get /cluster/nextid)");
  out.push("pct restore $NEWID <volid> --unique 1 --storage <rootfs-storage>   # e.g. local-lvm");
  out.push("pct start $NEWID; pct destroy $NEWID --purge   # test, then clean up");
  out.push("pct stop <vmid> && pct restore <vmid> <volid> --force 1 --storage <rootfs-storage>   # real restore");
  out.push("```");
  out.push("");
  out.push(
    "Check an archive without restoring: `pvesm extractconfig <volid>` prints the guest config inside it; `zstd -t <file>.zst` tests the compression.",
  );
  out.push("");
  out.push("### Per guest, with the newest archive", "");
  for (const g of [...result.guests].sort((a, b) => a.vmid - b.vmid)) {
    const newest = archivesOf(g, evidence)[0];
    out.push(`#### ${cell(g.name)} (${g.type === "qemu" ? "VM" : "CT"} ${g.vmid}, node ${cell(g.node)})`, "");
    if (!newest) {
      out.push(
        g.tier && cfg.tiers[g.tier]?.protect === false
          ? "Deliberately not backed up."
          : "**No archive exists: this guest cannot be restored.**",
        "",
      );
      continue;
    }
    out.push(
      `Newest archive: ${code(newest.volid)} (${shortTime(new Date(newest.ctimeMs).toISOString())}, ${formatBytes(newest.size)}).`,
      "",
    );
    out.push("```sh");
    out.push(`# on node ${g.node}`);
    out.push("NEWID=$(pvesh get /cluster/nextid)");
    if (g.type === "qemu") {
      out.push(`qmrestore ${newest.volid} $NEWID --unique 1 --start 0   # restore test`);
      out.push(
        `qm stop ${g.vmid} && qmrestore ${newest.volid} ${g.vmid} --force 1   # real restore (overwrites VM ${g.vmid})`,
      );
    } else {
      out.push(
        `pct restore $NEWID ${newest.volid} --unique 1 --storage local-lvm   # restore test (pick your rootfs storage)`,
      );
      out.push(
        `pct stop ${g.vmid} && pct restore ${g.vmid} ${newest.volid} --force 1 --storage local-lvm   # real restore (overwrites CT ${g.vmid})`,
      );
    }
    out.push("```", "");
  }
  return out.join("\n").replace(/\n{3,}/g, "\n\n");
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
