/**
 * Evidence assembly, the same for the service and for the one-shot commands (report, plan):
 * what the Proxmox sources read, what the bridge recorded itself (verifications, restore tests)
 * and the off-site layer's copy targets.
 */
import type { Config } from "../config/load.js";
import type { Evidence } from "../evidence.js";
import type { PolicyInput } from "../policy/evaluate.js";
import type { PveSource } from "../sources/pve/source.js";
import { mergeEvidence } from "../sources/pve/merge.js";
import type { OffsiteSources } from "./offsite.js";
import { wordsOf } from "../words/render.js";

/** Sources whose archives the bridge can verify: those with SSH configured (verification runs over SSH). */
export const verifiableSources = (cfg: Config): Record<string, boolean> =>
  Object.fromEntries(cfg.proxmox.map((p) => [p.name, !!p.ssh]));

export function assembleEvidence(
  cfg: Config,
  sources: PveSource[],
  own: Pick<Evidence, "verifications" | "restoreTests">,
  offsite: OffsiteSources,
): Evidence {
  return {
    ...mergeEvidence(sources),
    ...own,
    verifiable: verifiableSources(cfg),
    ...(offsite.configured ? { offsite: offsite.evidence() } : {}),
    ...hyperBackupOf(offsite),
  };
}

/** `hyperBackup` when a Synology source is configured. */
function hyperBackupOf(offsite: OffsiteSources): Pick<Evidence, "hyperBackup"> {
  const hyperBackup = offsite.hyperBackupEvidence();
  return hyperBackup ? { hyperBackup } : {};
}

/** The policy's input for this config, evidence and instant. */
export function policyInput(
  cfg: Config,
  evidence: Evidence,
  overrides: Record<string, string>,
  now: number,
  guestIds?: Map<string, string>,
): PolicyInput {
  return {
    site: cfg.site,
    tiers: cfg.tiers,
    guestTiers: cfg.guestTiers,
    overrides,
    evidence,
    now,
    words: wordsOf(cfg),
    ...(guestIds ? { guestIds } : {}),
  };
}
