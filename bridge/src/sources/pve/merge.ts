import { unionOf } from "../../archive-set.js";
import type { Evidence } from "../../evidence.js";
import type { PveSource } from "./source.js";

/** The Proxmox part of the evidence, merged over every configured cluster. */
export function mergeEvidence(sources: PveSource[]): Evidence {
  const parts = sources.map((s) => s.evidence());
  return {
    sources: parts.map((p) => p.health),
    guests: parts.flatMap((p) => p.guests),
    archives: unionOf(parts.map((p) => p.archives)),
    attempts: parts.flatMap((p) => p.attempts),
    jobs: parts.flatMap((p) => p.jobs),
    jobsReadable: Object.fromEntries(parts.map((p) => [p.health.name, p.jobsReadable])),
    visibility: parts.flatMap((p) => p.visibility),
    offlineNodes: Object.fromEntries(parts.map((p) => [p.health.name, p.offlineNodes])),
    jobTimeZones: Object.fromEntries(parts.flatMap((p) => (p.jobTimeZone ? [[p.health.name, p.jobTimeZone]] : []))),
    hiddenTaskNodes: Object.fromEntries(parts.map((p) => [p.health.name, p.hiddenTaskNodes])),
    ...(parts.some((p) => p.storagePrune)
      ? {
          storagePrune: Object.fromEntries(
            parts.flatMap((p) =>
              Object.entries(p.storagePrune ?? {}).map(([storage, keep]) => [`${p.health.name}/${storage}`, keep]),
            ),
          ),
        }
      : {}),
    ...(parts.some((p) => p.storageMounts) ? { storageMounts: parts.flatMap((p) => p.storageMounts ?? []) } : {}),
    ...(parts.some((p) => p.guestDisks) ? { guestDisks: parts.flatMap((p) => p.guestDisks ?? []) } : {}),
  };
}
