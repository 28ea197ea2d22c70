/**
 * The living strategy document: Markdown generated from config + live state, so it
 * stays true. Pure: everything it says comes from its input. This file holds the document's head
 * and its order; the sections are in overview.ts, coverage.ts, self-healing.ts, procedures.ts,
 * checks-log.ts, restore-procedure.ts and file-copy-restore.ts.
 */
import type { Config } from "../config/load.js";
import type { Evidence, SourceHealth } from "../evidence.js";
import type { PolicyResult } from "../policy/types.js";
import { checksLogSection } from "./checks-log.js";
import { copiesSection, gapsSection, jobsSection } from "./coverage.js";
import { problemsFirst, shortTime } from "./facts.js";
import { cell } from "./format.js";
import { guestsSection, summarySection, tiersSection } from "./overview.js";
import { verificationSection, whenToUseSection } from "./procedures.js";
import { restoreSection } from "./restore-procedure.js";
import { fileCopyRestoreSection } from "./file-copy-restore.js";
import { selfHealingSection } from "./self-healing.js";

export interface ReportInput {
  cfg: Config;
  result: PolicyResult;
  evidence: Evidence;
  now: number;
  versions: { bridge: string; node: string; pve: Record<string, string | null> };
  /** Synology / PBS sources (off-site layer), when configured. */
  offsiteHealth?: SourceHealth[];
}

export function renderReport(input: ReportInput): string {
  const { cfg, result, now, versions } = input;
  const guests = problemsFirst(result.guests);
  const out: string[] = [];
  const pve = Object.entries(versions.pve)
    .map(([name, v]) => `${name} ${v ?? "(version unreadable)"}`)
    .join(", ");

  out.push(`# Backup strategy — ${cell(cfg.site)}`);
  out.push("");
  out.push(
    `Generated ${shortTime(new Date(now).toISOString(), cfg.timeZone)} by backup2mqtt ${versions.bridge} (Node.js ${versions.node}); Proxmox VE: ${pve || "none configured"}.`,
  );
  out.push("");
  out.push(
    "This document is generated from the bridge's configuration and the live state of Proxmox VE. " +
      "Do not edit it: change the tiers, guests or jobs in the configuration and regenerate it " +
      "(`backup2mqtt report --config FILE`, `backup2mqtt report --config FILE --update PAGE` inside a page of your own, " +
      "or `GET /report.md` from the running bridge).",
  );
  out.push("");

  summarySection(input, out);
  tiersSection(input, out);
  guestsSection(input, guests, out);
  gapsSection(input, guests, out);
  selfHealingSection(input, guests, out);
  jobsSection(input, out);
  copiesSection(input, out);
  whenToUseSection(input, out);
  verificationSection(input, out);
  checksLogSection(input, guests, out);
  restoreSection(input, out);
  fileCopyRestoreSection(input, out);
  return out.join("\n").replace(/\n{3,}/g, "\n\n");
}
