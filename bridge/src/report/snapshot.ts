/**
 * One look at the lab without the service: the Proxmox sources are read once (content included),
 * the pure policy evaluates them. Used by the `report` and `plan`/`apply` commands, which must
 * not need MQTT.
 */
import type { Config } from "../config/load.js";
import type { Evidence } from "../evidence.js";
import type { Logger } from "../log.js";
import { evaluate } from "../policy/evaluate.js";
import type { PolicyResult } from "../policy/types.js";
import { PveSource } from "../sources/pve/source.js";
import { Store, tierOverridesFile } from "../state/store.js";
import { OffsiteSources } from "../core/offsite.js";
import { assembleEvidence, policyInput } from "../core/evidence.js";
import type { SourceHealth } from "../evidence.js";

export interface Snapshot {
  sources: PveSource[];
  /** Health of the Synology / PBS sources (off-site layer), if configured. */
  offsiteHealth: SourceHealth[];
  evidence: Evidence;
  result: PolicyResult;
  now: number;
  close(): Promise<void>;
}

/** The tier overrides set from Home Assistant (kept by the service in state_dir). */
export function readOverrides(cfg: Config, log?: Logger): Record<string, string> {
  return tierOverridesFile(cfg.stateDir, { log, readOnly: true }).read();
}

/**
 * Reads every configured source once, plus what the service recorded in state_dir (verifications,
 * restore tests), and evaluates. Read-only: nothing is written to state_dir.
 */
export async function takeSnapshot(cfg: Config, log: Logger, now: () => number = Date.now): Promise<Snapshot> {
  const sources = cfg.proxmox.map((p) => new PveSource(p, log.child({ source: p.name }), now));
  const offsite = new OffsiteSources(cfg, log.child({ part: "offsite" }), now);
  await Promise.all([...sources.map((s) => s.refresh({ content: true })), offsite.refreshAll()]);
  const store = new Store(cfg.stateDir, { log, readOnly: true });
  const evidence: Evidence = assembleEvidence(cfg, sources, store.evidence(), offsite);
  const t = now();
  const result = evaluate(policyInput(cfg, evidence, readOverrides(cfg, log), t));
  return {
    sources,
    offsiteHealth: offsite.sourceViews().map((s) => s.health),
    evidence,
    result,
    now: t,
    close: async () => void (await Promise.all([...sources.map((s) => s.close()), offsite.stop()])),
  };
}
