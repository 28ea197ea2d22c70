/**
 * The health of a PBS datastore: ok, problem (a verify, sync or garbage-collection job failed,
 * snapshots failed verification, or the datastore is 90 % full or more) or unknown (the PBS is
 * unreachable or unreadable, or the token may not read the datastore or its sync jobs — then no
 * problem is judged from the last answer, and the reason names what to grant). Every surface
 * (MQTT, HTTP, metrics, the report) shows this one verdict.
 */
import { phrase, type Phrase } from "../words/phrase.js";
import { render, type RenderOptions } from "../words/render.js";

/** A datastore is reported full at this usage (percent): PBS garbage collection and backups need room. */
export const DATASTORE_FULL_PERCENT = 90;

/** A job run as the PBS reports it: ok null = not known. */
export interface JobRunFacts {
  state: string | null;
  ok: boolean | null;
  id?: string;
}

/** What the policy needs to know about one datastore (the PBS source's facts, structurally). */
export interface PbsDatastoreFacts {
  used: number;
  total: number;
  verifyJobs: JobRunFacts[];
  syncJobs: Array<JobRunFacts & { direction: string }>;
  gc: JobRunFacts | null;
  verification: { failed: number };
  /** Why the token may not read the datastore; absent when it may. */
  unreadable?: string | null;
  /** Why the token may not see its sync jobs; absent when it may. */
  syncUnreadable?: string | null;
}

export interface PbsDatastoreVerdict {
  status: "ok" | "problem" | "unknown";
  /** Why it is unknown while the PBS answers (a missing privilege); null otherwise. */
  statusReason: string | null;
  problem: boolean;
  reasons: string[];
  /** `reasons` as phrases, in the same order. */
  reasonPhrases: Phrase[];
  /** Used space in percent with one decimal; null when the total is unknown. */
  usage: number | null;
}

export function pbsDatastoreHealth(d: PbsDatastoreFacts, readable: boolean, words: RenderOptions): PbsDatastoreVerdict {
  const phrases: Phrase[] = [];
  const bad = (key: string, r: JobRunFacts | null, extra: Record<string, string> = {}) => {
    if (r && r.ok === false) phrases.push(phrase(key, { job: r.id ?? undefined, state: r.state, ...extra }));
  };
  for (const v of d.verifyJobs) bad("datastore.verify_failed", v);
  for (const s of d.syncJobs) bad(`datastore.sync_failed.${s.direction === "pull" ? "pull" : "push"}`, s);
  bad("datastore.gc_failed", d.gc);
  if (d.verification.failed) phrases.push(phrase("datastore.snapshots_failed", { count: d.verification.failed }));
  const usage = d.total > 0 ? Math.round((d.used / d.total) * 1000) / 10 : null;
  if (usage !== null && usage >= DATASTORE_FULL_PERCENT) phrases.push(phrase("datastore.full", { percent: usage }));
  const reasons = phrases.map((p) => render(p, words));
  const judged = readable && !d.unreadable && !d.syncUnreadable;
  const unknownWhy = !readable ? null : (d.unreadable ?? d.syncUnreadable ?? null);
  return {
    // Without "unknown" the state stayed the last good one (problem false) while the PBS was away.
    status: !readable || unknownWhy ? "unknown" : reasons.length > 0 ? "problem" : "ok",
    statusReason: unknownWhy,
    problem: judged && reasons.length > 0,
    reasons: judged ? reasons : [],
    reasonPhrases: judged ? phrases : [],
    usage,
  };
}
