/**
 * The benchmark's steady-state figures: what happened between consecutive refresh cycles of the
 * bridge (lab API calls, CPU time, publishes seen by the probe), and the calls by kind.
 */

/** A message the probe saw: receive time (epoch ms), topic, size, payload ("-" when not asked for). */
export interface Seen {
  at: number;
  topic: string;
  bytes: number;
  payload: string;
}

/** A refresh cycle's start (its GET /cluster/resources): where the logs stood, and the bridge's CPU and RSS. */
export interface CycleStart {
  reqIndex: number;
  at: number;
  cpuMs: number;
  seenIndex: number;
  rssMb: number;
}

/** One entry per cycle between consecutive starts in `measured`. */
export function idleCycles<R extends { path: string }>(measured: CycleStart[], requests: R[], seen: Seen[]) {
  return measured.slice(0, -1).map((c, i) => {
    const next = measured[i + 1]!;
    const reqs = requests.slice(c.reqIndex, next.reqIndex);
    const pubs = seen.slice(c.seenIndex, next.seenIndex).filter((m) => m.topic !== "$ready");
    // The bridge's own heartbeat (bridge/info: "last poll" entity) changes every poll by design;
    // everything else — discovery, guest states, events — must stay silent when nothing changed.
    const heartbeat = pubs.filter((m) => m.topic === "backup2mqtt/bridge/info");
    const other = pubs.filter((m) => m.topic !== "backup2mqtt/bridge/info");
    return {
      calls: reqs.length,
      cpuMs: next.cpuMs - c.cpuMs,
      publishes: other.length,
      heartbeat: heartbeat.length,
      pubTopics: [...new Set(other.map((p) => p.topic))],
      paths: reqs,
      rssMb: c.rssMb,
    };
  });
}

/** API calls by kind: cluster resources, node task lists, storage content listings, other. */
export function callKinds(reqs: { path: string }[]) {
  const k = { resources: 0, tasks: 0, content: 0, other: 0 };
  for (const r of reqs) {
    if (r.path.endsWith("/cluster/resources")) k.resources++;
    else if (/\/nodes\/[^/]+\/tasks$/.test(r.path)) k.tasks++;
    else if (/\/storage\/[^/]+\/content$/.test(r.path)) k.content++;
    else k.other++;
  }
  return k;
}

/** The slow-cadence reads (jobs, storage retention, privileges): not part of a poll's change detection. */
const META = /\/(cluster\/backup|storage|access\/permissions)$/;

/**
 * A poll's calls without the slow-cadence reads, and whether it was a safety sweep (every node's
 * task list, or every backup storage listed).
 */
export function pollCalls(reqs: { path: string }[], nodes: number, backupStorages: number) {
  const meta = reqs.filter((r) => META.test(r.path)).length;
  const k = callKinds(reqs);
  return { calls: reqs.length - meta, meta, sweep: k.tasks >= nodes || k.content >= backupStorages };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
