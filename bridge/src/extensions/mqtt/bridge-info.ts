/** The retained `<base>/bridge/info`: version, site, sources, counts, devices waiting for removal. */
import type { SourceView, View } from "../../core/view.js";
import { objectIdOf, type Topics } from "../../core/identity.js";
import { isoOrNull } from "../../util/time.js";
import { VERSION } from "../../util/version.js";

function sourceInfo(s: SourceView) {
  const h = s.health;
  return {
    kind: h.kind,
    up: h.up,
    degraded: h.degraded,
    ...(h.error ? { error: h.error } : {}),
    last_success: isoOrNull(h.lastSuccessMs),
    requests_last_refresh: s.requests,
  };
}

export function bridgeInfo(view: View, topics: Topics) {
  const result = view.result;
  const c = result?.counts;
  return {
    version: VERSION,
    site: view.cfg.site,
    base_topic: topics.base,
    sources: Object.fromEntries([...view.proxmox, ...view.offsiteSources].map((s) => [s.health.name, sourceInfo(s)])),
    counts: {
      guests: result?.guests.length ?? 0,
      ok: c?.ok ?? 0,
      stale: c?.stale ?? 0,
      failed: c?.failed ?? 0,
      missing: c?.missing ?? 0,
      running: c?.running ?? 0,
      unknown: c?.unknown ?? 0,
      problem: c?.problem ?? 0,
      untiered: c?.untiered ?? 0,
      orphaned: result?.orphans.length ?? 0,
    },
    last_refresh: isoOrNull(view.lastRefreshMs),
    // Enabled backup jobs that did not run when due (policy/missed-jobs.ts): the "Missed jobs" sensor.
    missed_jobs: (result?.missedJobs ?? []).map((m) => ({
      job: m.jobId,
      ...(m.label !== m.jobId ? { comment: m.label } : {}),
      source: m.source,
      due: isoOrNull(m.dueMs),
      nodes: m.nodes,
      guests: m.vmids.map(
        (vmid) => result?.guests.find((g) => g.source === m.source && g.vmid === vmid)?.id ?? String(vmid),
      ),
      repeat_missed: m.repeatMissed,
    })),
    pending_removal: view.pendingRemoval().map((d) => ({
      device: objectIdOf(d.deviceId),
      ...(d.name ? { name: d.name } : {}),
      gone_since: isoOrNull(d.goneSinceMs),
      remove_after: isoOrNull((d.goneSinceMs ?? 0) + view.removalGraceMs),
    })),
  };
}
