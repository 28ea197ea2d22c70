/**
 * 3-2-1 per guest, pure: how many copies of a guest's recent backups exist and whether one of
 * them is off-site. Also the health of a Hyper Backup task and of a PBS job state, so every
 * judgement about backups lives in the policy.
 *
 * A copy is
 *   - the newest good archive on each distinct PVE storage, and
 *   - each copy target (Hyper Backup task, PBS sync job) carrying that storage whose last success
 *     is at or after that archive's time (the run saw the archive, so its copy includes it),
 * and it counts only while the archive it holds is no older than the tier's max_age: an old
 * archive on a second storage does not protect today's data. A storage that is itself off-site
 * (a datastore on an off-site PBS) holds an off-site copy of its archives.
 */
import { earliest, isoOrNull } from "../util/time.js";
import type { Archive, CopyTarget, OffsiteEvidence } from "../evidence.js";
import type { Tier } from "../config/tiers.js";
import { phrase, type Phrase } from "../words/phrase.js";
import { render, type RenderOptions } from "../words/render.js";
import { makeFinding } from "./finding.js";
import type { Finding } from "./types.js";

export interface CopiesResult {
  /** null when not evaluated (no off-site source configured, or the tier protects nothing). */
  copies: number | null;
  /** Newest off-site copy that holds any good archive of the guest (ms), null if none known. */
  lastOffsiteMs: number | null;
  findings: Finding[];
  /** When a counted copy ages out (the count may drop then), ms; null if never. */
  changesAt: number | null;
  /** What was counted, as phrases (the too_few_copies reason lists them). */
  counted: Phrase[];
}

/** A Hyper Backup task that copies every disk of the guest (policy/hyperbackup.ts): one whole copy of it. */
export interface FileCopy {
  label: Phrase;
  /** End of the task's newest successful run; null = never. */
  atMs: number | null;
  offsite: boolean;
  readable: boolean;
}

/**
 * @param archives every archive of this guest (bad ones are ignored here)
 * @param fileCopies Hyper Backup tasks that copy the guest's disks themselves: each fresh one is a copy
 */
export function evaluateCopies(
  archives: Archive[],
  tier: Tier | null,
  offsite: OffsiteEvidence | undefined,
  now: number,
  words: RenderOptions,
  fileCopies: FileCopy[] = [],
): CopiesResult {
  const none: CopiesResult = { copies: null, lastOffsiteMs: null, findings: [], changesAt: null, counted: [] };
  if (!offsite) return none;
  const good = archives.filter((a) => a.verification !== "failed");
  const newestByStorage = new Map<string, Archive>();
  for (const a of good) {
    const cur = newestByStorage.get(a.storage);
    if (!cur || a.ctimeMs > cur.ctimeMs) newestByStorage.set(a.storage, a);
  }
  const offsiteStorages = new Set(offsite.offsiteStorages);
  const protect = !!tier?.protect;
  const freshUntil = (a: Archive) => (protect ? a.ctimeMs + tier!.maxAgeMs : Number.POSITIVE_INFINITY);
  const fresh = (a: Archive) => now < freshUntil(a);

  let copies = 0;
  let changesAt: number | null = null;
  const noteExpiry = (a: Archive) => {
    const until = freshUntil(a);
    if (until > now) changesAt = earliest(changesAt, until);
  };
  const counted: Phrase[] = [];
  const label = (t: CopyTarget): Phrase | string => t.labelPhrase ?? t.label;
  let lastOffsiteMs: number | null = null;
  let offsiteFresh = false;
  const unknownTargets: CopyTarget[] = [];
  /** Per target: why it does not hold a fresh copy (for the no_offsite reason). */
  const misses: Phrase[] = [];

  for (const [storage, newest] of [...newestByStorage].sort((a, b) => a[0].localeCompare(b[0]))) {
    const isFresh = fresh(newest);
    if (isFresh) {
      copies++;
      noteExpiry(newest);
      counted.push(
        phrase(offsiteStorages.has(storage) ? "copy.storage.offsite" : "copy.storage", {
          at: isoOrNull(newest.ctimeMs),
          storage,
        }),
      );
      if (offsiteStorages.has(storage)) offsiteFresh = true;
    }
    if (offsiteStorages.has(storage) && (lastOffsiteMs === null || newest.ctimeMs > lastOffsiteMs))
      lastOffsiteMs = newest.ctimeMs;
    if (offsiteStorages.has(storage) && !isFresh)
      misses.push(phrase("offsite.storage_too_old", { storage, archive: isoOrNull(newest.ctimeMs) }));
  }

  for (const t of offsite.targets) {
    const onStorages = good.filter((a) => t.storages.includes(a.storage));
    if (!onStorages.length) continue;
    if (!t.readable) {
      unknownTargets.push(t);
      continue;
    }
    if (t.lastSuccessMs === null) {
      if (t.offsite) misses.push(phrase("offsite.never", { target: label(t) }));
      continue;
    }
    // The newest archive this run saw, per storage; the freshest of those is what the copy holds.
    const included = onStorages.filter((a) => a.ctimeMs <= t.lastSuccessMs!).sort((a, b) => b.ctimeMs - a.ctimeMs)[0];
    if (included && t.offsite && (lastOffsiteMs === null || t.lastSuccessMs > lastOffsiteMs))
      lastOffsiteMs = t.lastSuccessMs;
    if (included && fresh(included)) {
      copies++;
      noteExpiry(included);
      counted.push(
        phrase(t.offsite ? "copy.target.offsite" : "copy.target", {
          target: label(t),
          at: isoOrNull(included.ctimeMs),
        }),
      );
      if (t.offsite) offsiteFresh = true;
    } else if (t.offsite) {
      const newest = onStorages.reduce((a, b) => (b.ctimeMs > a.ctimeMs ? b : a));
      misses.push(
        included
          ? phrase("offsite.too_old", {
              target: label(t),
              at: isoOrNull(t.lastSuccessMs),
              archive: isoOrNull(included.ctimeMs),
            })
          : phrase("offsite.before_newest", {
              target: label(t),
              at: isoOrNull(t.lastSuccessMs),
              storage: newest.storage,
              archive: isoOrNull(newest.ctimeMs),
            }),
      );
    }
  }

  // The guest's disks copied by Hyper Backup: each task's last success is a copy while fresh.
  let fileUnknown = false;
  for (const f of fileCopies) {
    if (!f.readable) {
      fileUnknown = true;
      continue;
    }
    if (f.atMs === null) {
      if (f.offsite) misses.push(phrase("offsite.never", { target: f.label }));
      continue;
    }
    if (f.offsite && (lastOffsiteMs === null || f.atMs > lastOffsiteMs)) lastOffsiteMs = f.atMs;
    const until = protect ? f.atMs + tier!.maxAgeMs : Number.POSITIVE_INFINITY;
    if (now < until) {
      copies++;
      if (until !== Number.POSITIVE_INFINITY) changesAt = earliest(changesAt, until);
      counted.push(phrase(f.offsite ? "copy.file.offsite" : "copy.file", { target: f.label, at: isoOrNull(f.atMs) }));
      if (f.offsite) offsiteFresh = true;
    } else if (f.offsite) misses.push(phrase("offsite.file_too_old", { target: f.label, at: isoOrNull(f.atMs) }));
  }

  const findings: Finding[] = [];
  if (protect && (good.length || fileCopies.length)) {
    const unknown = unknownTargets.length > 0 || fileUnknown;
    if (tier!.offsite && !offsiteFresh && !unknown) {
      const carried = new Set([
        ...offsite.targets.filter((t) => t.offsite).flatMap((t) => t.storages),
        ...offsiteStorages,
      ]);
      const uncarried = [...newestByStorage.keys()].filter((s) => !carried.has(s));
      const why = misses.length
        ? misses
        : uncarried.length || !fileCopies.length
          ? [phrase("offsite.nothing", { count: uncarried.length, storages: uncarried })]
          : [phrase("offsite.no_offsite_task")];
      findings.push(makeFinding("no_offsite", "no_offsite", { tier: tier!.id, max: tier!.maxAgeMs, why }, words));
    }
    if (copies < tier!.minCopies && !unknown) {
      findings.push(
        makeFinding(
          "too_few_copies",
          "too_few_copies",
          { tier: tier!.id, want: tier!.minCopies, max: tier!.maxAgeMs, found: copies, counted },
          words,
        ),
      );
    }
  }
  return { copies: protect ? copies : null, lastOffsiteMs, findings, changesAt, counted };
}

// --- Hyper Backup task health ------------------------------------------------------------------

export const HYPER_BACKUP_STATUSES = ["ok", "running", "failed", "stale", "never", "broken", "unknown"] as const;
export type HyperBackupStatus = (typeof HYPER_BACKUP_STATUSES)[number];

export interface HyperBackupTaskFacts {
  state: string;
  status: string;
  lastResult: string | null;
  lastAttemptMs: number | null;
  lastSuccessMs: number | null;
  errorCode: number | null;
  error: string | null;
}

const RUNNING_STATUS = new Set([
  "backup",
  "detect",
  "version_deleting",
  "preparing_version_delete",
  "waiting",
  "detect_waiting",
]);
const BROKEN_STATE = new Set(["restore_only", "error_detect", "broken", "unauth", "endofservice"]);
const NOT_FAILED_RESULT = new Set(["done", "backingup", "resuming", "none"]);

/**
 * One value per Hyper Backup task, from the fields DSM's SYNO.Backup.Task status API returns
 * (`state`, `status`, `last_bkp_result`, and `last_bkp_success_time` for freshness): unknown (NAS unreachable — never stale) › broken (state restore_only & co) ›
 * running › failed (last result not a success) › never › stale (last success older than max age) › ok.
 * Error code 4401 with an empty error text is what healthy tasks carry: not a failure.
 */
export function hyperBackupHealth(
  t: HyperBackupTaskFacts | null,
  readable: boolean,
  maxAgeMs: number,
  now: number,
  words: RenderOptions,
): { status: HyperBackupStatus; problem: boolean; reason: string; phrase: Phrase; changesAt: number | null } {
  const say = (status: HyperBackupStatus, problem: boolean, p: Phrase, changesAt: number | null = null) => ({
    status,
    problem,
    reason: render(p, words),
    phrase: p,
    changesAt,
  });
  if (!readable || !t) return say("unknown", false, phrase("hyperbackup.unknown"));
  const err = { error: t.error ?? undefined, code: t.error && t.errorCode ? t.errorCode : undefined };
  if (BROKEN_STATE.has(t.state)) return say("broken", true, phrase("hyperbackup.broken", { state: t.state, ...err }));
  if (RUNNING_STATUS.has(t.status) || t.lastResult === "backingup")
    return say("running", false, phrase("hyperbackup.running", { detail: t.status }));
  const failedResult = t.lastResult !== null && !NOT_FAILED_RESULT.has(t.lastResult);
  if (failedResult) return say("failed", true, phrase("hyperbackup.failed", { result: t.lastResult, ...err }));
  if (t.lastSuccessMs === null) return say("never", true, phrase("hyperbackup.never"));
  const last = isoOrNull(t.lastSuccessMs);
  if (now >= t.lastSuccessMs + maxAgeMs)
    return say("stale", true, phrase("hyperbackup.stale", { last, max: maxAgeMs }));
  const until = t.lastSuccessMs + maxAgeMs;
  return say("ok", false, phrase("hyperbackup.ok", { last, until: isoOrNull(until) }), until);
}

/** PBS `last-run-state`: "OK", "WARNINGS: n", "unknown", or the raw error text (anything else ⇒ failure). */
export function pbsRunStateOk(state: string | null | undefined): boolean | null {
  if (state === null || state === undefined) return null;
  if (state === "OK" || /^WARNINGS: \d+$/.test(state)) return true;
  if (state === "unknown") return null;
  return false;
}

/** A Hyper Backup task's verdict (status, problem, reason, the instant it turns stale). */
export type HyperBackupVerdict = ReturnType<typeof hyperBackupHealth>;
