import { earliest, isoOrNull as iso } from "../util/time.js";
import type { Archive, BackupAttempt, CopyTarget, Evidence, GuestDisk, GuestInfo } from "../evidence.js";
import type { Tier } from "../config/tiers.js";
import { coverage, jobSelects } from "./coverage.js";
import {
  acceptsHyperBackup,
  acceptsVzdump,
  guestHyperBackup,
  scheduledOftenEnough,
  taskStorages,
  type GuestHyperBackup,
} from "./hyperbackup.js";
import { makeFinding } from "./finding.js";
import { retentionShort } from "./retention.js";
import { render, type RenderOptions } from "../words/render.js";
import { phrase, type Phrase } from "../words/phrase.js";
import { evaluateCopies } from "./offsite.js";
import { evaluateVerification } from "./verification.js";
import { jobMissedFindings, missedJobs, type JobsDueState, type MissedJob } from "./missed-jobs.js";
import { evaluateOverrun } from "./overrun.js";
import {
  isInformational,
  STATUSES,
  type Finding,
  type GuestState,
  type GuestStatus,
  type OrphanGroup,
  type PolicyResult,
} from "./types.js";

export interface PolicyInput {
  site: string;
  tiers: Record<string, Tier>;
  /** From the config: key = VMID or guest name, value = tier id. */
  guestTiers: Record<string, string>;
  /** Set at run time (tier select in Home Assistant): key = guest id. */
  overrides: Record<string, string>;
  evidence: Evidence;
  now: number;
  /**
   * Ids pinned earlier, key `<source>/<vmid>` (the service keeps them in state_dir so adding a
   * second Proxmox source renames nobody); a guest not listed gets guestId()'s form.
   */
  guestIds?: ReadonlyMap<string, string>;
  /** Language and time zone of the reasons (config `language`, `timezone`); default English, UTC. */
  words?: RenderOptions;
  /** What the missed-jobs watchdog remembers (state_dir jobs-due.json); absent = nothing yet. */
  jobsDue?: JobsDueState;
}

const DEFAULT_WORDS: RenderOptions = { language: "en", timeZone: "UTC" };

/** Guest ids are <site>_<vmid>; with several Proxmox clusters, <site>_<cluster>_<vmid> keeps them apart. */
export function guestId(site: string, source: string, vmid: number, multiSource: boolean): string {
  return multiSource ? `${site}_${source.replace(/-/g, "_")}_${vmid}` : `${site}_${vmid}`;
}

function resolveTier(
  guest: GuestInfo,
  id: string,
  input: PolicyInput,
): { tier: Tier | null; from: GuestState["tier_source"] } {
  const pick = (tierId: string | undefined, from: GuestState["tier_source"]) =>
    tierId && input.tiers[tierId] ? { tier: input.tiers[tierId]!, from } : undefined;
  const byTag = () => {
    const tags = guest.tags.map((t) => t.toLowerCase());
    if (tags.includes("nobackup")) return pick("none", "tag");
    for (const tierId of Object.keys(input.tiers)) {
      if (tags.includes(`backup-${tierId.toLowerCase()}`)) return pick(tierId, "tag");
    }
    return undefined;
  };
  return (
    pick(input.overrides[id], "override") ??
    pick(input.guestTiers[String(guest.vmid)], "config") ??
    pick(input.guestTiers[guest.name], "config") ??
    byTag() ?? { tier: null, from: null }
  );
}

/**
 * Remembers each guest's last evaluation with a key of everything it was computed from. A guest
 * whose key is the same and whose next change time has not come would be evaluated to the same
 * state again (the policy is pure, and reads the clock only against those change times), so
 * evaluate() reuses it: with thousands of guests and one backup running, a refresh then judges
 * one guest instead of all (and makes no Archive objects for the others).
 */
export class GuestMemo {
  private shared = "";
  private readonly entries = new Map<string, { key: string; value: GuestVerdict }>();
  hits = 0;
  misses = 0;
  /** Starts an evaluation; a different shared key (facts every guest may depend on) forgets all. */
  begin(shared: string): void {
    if (shared !== this.shared) this.entries.clear();
    this.shared = shared;
  }
  get(id: string, key: string, now: number): GuestVerdict | undefined {
    const e = this.entries.get(id);
    return e && e.key === key && (e.value.changesAt === null || now < e.value.changesAt) ? e.value : undefined;
  }
  set(id: string, key: string, value: GuestVerdict): void {
    this.entries.set(id, { key, value });
  }
  /** Forgets guests that are gone. */
  keepOnly(ids: Set<string>): void {
    for (const id of this.entries.keys()) if (!ids.has(id)) this.entries.delete(id);
  }
}

type GuestVerdict = { state: GuestState; changesAt: number | null };

/** The pure policy: evidence + config + now → every guest's state (status and findings as the README's "Status" paragraph lists them). */
export function evaluate(given: PolicyInput, memo?: GuestMemo): PolicyResult {
  const input = withDetectedCopyTargets(given);
  const { evidence, now } = input;
  const multi = new Set(evidence.sources.map((s) => s.name)).size > 1;
  const sourceByName = new Map(evidence.sources.map((s) => [s.name, s]));
  const key = (source: string, vmid: number) => `${source}/${vmid}`;
  const attemptsByGuest = groupBy(evidence.attempts, (a) => key(a.source, a.vmid));
  const disksByGuest = new Map((evidence.guestDisks ?? []).map((d) => [key(d.source, d.vmid), d.disks] as const));
  // The missed-jobs watchdog (policy/missed-jobs.ts), judged once for every job.
  const watch = missedJobs({
    jobs: evidence.jobs,
    jobsReadable: evidence.jobsReadable,
    readable: (s) => !!sourceByName.get(s)?.up && !sourceByName.get(s)?.degraded,
    guests: evidence.guests,
    attempts: evidence.attempts,
    offlineNodes: evidence.offlineNodes,
    hiddenTaskNodes: evidence.hiddenTaskNodes,
    state: input.jobsDue ?? {},
    now,
    timeZone: (input.words ?? DEFAULT_WORDS).timeZone,
    ...(evidence.jobTimeZones ? { timeZones: evidence.jobTimeZones } : {}),
  });
  // What every guest's state may depend on, beyond its own facts (for the memo's keys).
  // (Source health without its last-success time, which changes every poll and is not judged.)
  memo?.begin(
    JSON.stringify([
      input.site,
      input.words,
      input.tiers,
      multi,
      evidence.sources.map((s) => [s.name, s.kind, s.up, s.degraded, s.error]),
      evidence.jobs,
      evidence.jobsReadable,
      evidence.storagePrune,
      evidence.visibility,
      evidence.verifiable,
      evidence.verifications,
      evidence.restoreTests,
      evidence.offsite,
      evidence.archives.version,
      watch.missed,
      evidence.storageMounts,
      evidence.hyperBackup,
    ]),
  );

  const guests: GuestState[] = [];
  const ids = new Set<string>();
  let nextChangeMs: number | null = null;
  for (const guest of evidence.guests) {
    if (guest.template) continue; // templates are not guests to protect
    const id =
      input.guestIds?.get(key(guest.source, guest.vmid)) ?? guestId(input.site, guest.source, guest.vmid, multi);
    ids.add(id);
    const { tier, from } = resolveTier(guest, id, input);
    const attempts = attemptsByGuest.get(key(guest.source, guest.vmid)) ?? [];
    const disks = disksByGuest.get(key(guest.source, guest.vmid));
    const memoKey = memo ? JSON.stringify([guest, tier?.id ?? null, from, attempts, disks]) : "";
    let state: GuestVerdict | undefined = memo?.get(id, memoKey, now);
    if (state) memo!.hits++;
    else {
      // Archive objects exist for one guest at a time (see archive-set.ts).
      state = evaluateGuest(
        guest,
        id,
        tier,
        from,
        input,
        evidence.archives.of(guest.source, guest.vmid),
        attempts,
        watch.missed,
        disks,
      );
      if (memo) {
        memo.misses++;
        memo.set(id, memoKey, state);
      }
    }
    guests.push(state.state);
    nextChangeMs = earliest(nextChangeMs, state.changesAt);
  }
  memo?.keepOnly(ids);
  guests.sort((a, b) => a.source.localeCompare(b.source) || a.vmid - b.vmid);

  const known = new Set(evidence.guests.map((g) => key(g.source, g.vmid)));
  const orphans: OrphanGroup[] = [];
  for (const { source, vmid } of evidence.archives.guests()) {
    if (known.has(key(source, vmid)) || !sourceByName.get(source)?.up) continue;
    const list = evidence.archives.of(source, vmid);
    const newest = list.reduce((m, a) => Math.max(m, a.ctimeMs), -Infinity);
    orphans.push({ source, vmid, archive_count: list.length, last_backup: iso(newest)! });
  }
  orphans.sort((a, b) => a.vmid - b.vmid);

  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as PolicyResult["counts"];
  counts.problem = counts.untiered = counts.excluded = 0;
  for (const g of guests) {
    counts[g.status]++;
    if (g.problem) counts.problem++;
    if (g.tier === null) counts.untiered++;
    if (g.findings.some((f) => f.code === "excluded")) counts.excluded++;
  }
  return {
    guests,
    orphans,
    counts,
    nextChangeMs,
    missedJobs: watch.missed,
    jobsDue: watch.state,
    missedJobsChangeMs: watch.nextChangeMs,
  };
}

function evaluateGuest(
  guest: GuestInfo,
  id: string,
  tier: Tier | null,
  tierFrom: GuestState["tier_source"],
  input: PolicyInput,
  archives: Archive[],
  attempts: BackupAttempt[],
  missed: MissedJob[] = [],
  disks?: GuestDisk[],
): { state: GuestState; changesAt: number | null } {
  const { evidence, now } = input;
  const source = evidence.sources.find((s) => s.name === guest.source);
  const verification = evaluateVerification(guest, archives, tier, evidence, now, input.words ?? DEFAULT_WORDS);
  const good = archives
    .filter((a) => a.verification !== "failed" && !verification.failedVolids.has(a.volid))
    .sort((a, b) => b.ctimeMs - a.ctimeMs);
  // A tier that takes only Hyper Backup file copies does not count vzdump archives (tier `accepts`).
  const newest = acceptsVzdump(tier) ? good[0] : undefined;
  // Hyper Backup as the guest's own backup (policy/hyperbackup.ts): its disks' file copies.
  const hbAll = evidence.hyperBackup?.length
    ? guestHyperBackup(guest, disks, evidence.storageMounts ?? [], evidence.hyperBackup)
    : null;
  const hb = hbAll && acceptsHyperBackup(tier) ? hbAll : null;
  const hbMs = hb?.covered ? hb.lastCopyMs : null;
  const byHb = hbMs !== null && (!newest || hbMs > newest.ctimeMs);
  const newestMs = byHb ? hbMs : newest?.ctimeMs;
  const hbTasks = hb?.wholeTasks.length ? hb.wholeTasks : (hb?.copies[0]?.tasks ?? []);
  const hbWho = { tasks: [...new Set(hbTasks.map((t) => t.name))], nas: hbTasks[0]?.source };
  // The tasks as phrases ("Hyper Backup task “VMs daily” on nas"), for reasons in any language.
  const hbSaid = {
    count: hbTasks.length,
    tasks: hbTasks.map((t) => phrase("target.hyperbackup", { task: t.name, nas: t.source })),
  };
  // A NAS we cannot read holds the only copy we know of: unknown, never a false missing or stale.
  const hbUnknown =
    !!hb?.covered && hb.unreadable && (!newest || (!!tier?.protect && now >= newest.ctimeMs + tier.maxAgeMs));
  const disabledFallbackJobs =
    hb?.covered && tier?.protect && evidence.jobsReadable[guest.source]
      ? evidence.jobs.filter((j) => !j.enabled && jobSelects(j, guest)).map((j) => j.id)
      : [];
  const finished = attempts
    .filter((a) => a.result !== "running")
    .sort((a, b) => (b.endMs ?? b.startMs) - (a.endMs ?? a.startMs));
  const lastAttempt = finished[0];
  const running = guest.lock === "backup" || attempts.some((a) => a.result === "running");
  const hidden = evidence.visibility.filter(
    (v) => v.source === guest.source && (v.vmid === undefined || v.vmid === guest.vmid),
  );

  const sourceReadable = !!source && source.up && !source.degraded;
  const words = input.words ?? DEFAULT_WORDS;
  let status: GuestStatus;
  let statusPhrase: Phrase;
  let changesAt: number | null = null;
  // Reasons name instants, never "N hours ago": an age in the text would change the state (and
  // republish every guest) as the clock moves, with nothing new to say.
  if (!sourceReadable) {
    status = "unknown";
    statusPhrase = phrase(`status.unknown.${!source?.up ? "unreachable" : "unreadable"}`, {
      source: guest.source,
      error: source?.error,
    });
  } else if (hidden.length) {
    status = "unknown";
    statusPhrase = phrase("status.unknown.hidden", { why: hidden.map((h) => phrase("text", { text: h.reason })) });
  } else if (running) {
    status = "running";
    statusPhrase = phrase("status.running");
  } else if (hbUnknown) {
    const nas = hb!.copies.flatMap((c) => c.tasks).find((t) => !t.readable)!;
    status = "unknown";
    statusPhrase = phrase("status.unknown.nas", { nas: nas.source, task: nas.name });
  } else if (lastAttempt?.result === "failed" && (newestMs === undefined || newestMs < lastAttempt.startMs)) {
    status = "failed";
    statusPhrase = phrase(newestMs !== undefined ? "status.failed" : "status.failed.none", {
      at: iso(lastAttempt.startMs),
      error: lastAttempt.error || undefined,
      newest: iso(newestMs),
    });
  } else if (newestMs === undefined) {
    status = "missing";
    statusPhrase = hb?.covered
      ? phrase("status.missing.hyperbackup", hbSaid)
      : archives.length && acceptsVzdump(tier)
        ? phrase("status.missing.unverified", { count: archives.length })
        : phrase("status.missing");
  } else if (tier?.protect && now >= newestMs + tier.maxAgeMs) {
    status = "stale";
    statusPhrase = byHb
      ? phrase("status.stale.hyperbackup", { newest: iso(newestMs), tier: tier.id, max: tier.maxAgeMs, nas: hbWho.nas })
      : phrase("status.stale", { newest: iso(newestMs), tier: tier.id, max: tier.maxAgeMs });
  } else {
    status = "ok";
    const fallbackJobs = disabledFallbackJobs.length
      ? { fallback: disabledFallbackJobs, fallbackCount: disabledFallbackJobs.length }
      : {};
    statusPhrase = byHb
      ? phrase("status.ok.hyperbackup", {
          newest: iso(newestMs),
          ...hbSaid,
          ...fallbackJobs,
        })
      : phrase("status.ok", { newest: iso(newestMs), ...fallbackJobs });
    if (tier?.protect) {
      changesAt = newestMs + tier.maxAgeMs;
      statusPhrase = phrase(byHb ? "status.ok.hyperbackup.until" : "status.ok.until", {
        newest: iso(newestMs),
        until: iso(changesAt),
        tier: tier.id,
        max: tier.maxAgeMs,
        ...(byHb ? hbSaid : {}),
        ...fallbackJobs,
      });
    }
  }
  const statusReason = render(statusPhrase, words);

  const findings: Finding[] = [];
  let nextBackupMs: number | undefined;
  if (tier === null) {
    findings.push(makeFinding("untiered", "untiered", {}, words));
  } else if (!tier.protect) {
    findings.push(makeFinding("excluded", "excluded", { tier: tier.id }, words));
  } else if (sourceReadable && evidence.jobsReadable[guest.source]) {
    const cov = coverage(guest, tier, evidence.jobs);
    if (!cov.covered) {
      const why = hyperBackupCoverage(hb, tier, cov.why!);
      if (why) findings.push(makeFinding("unprotected", why.key, why.params ?? {}, words));
    }
    for (const job of cov.enabledJobs) {
      const storagePrune = job.storage ? evidence.storagePrune?.[`${job.source}/${job.storage}`] : undefined;
      const short = retentionShort(job.pruneBackups, storagePrune, tier.retention, words.timeZone);
      if (short)
        findings.push(
          makeFinding(
            "retention_short",
            short.from === "storage" ? "retention_short.storage" : "retention_short",
            {
              job: job.id,
              storage: short.from === "storage" ? job.storage : undefined,
              tier: tier.id,
              keeps: short.keeps,
              wants: short.wants,
              missing: short.missing,
            },
            words,
          ),
        );
      if (job.nextRunMs !== undefined && (nextBackupMs === undefined || job.nextRunMs < nextBackupMs))
        nextBackupMs = job.nextRunMs;
    }
  }

  if (sourceReadable && !hidden.length && tier?.protect) findings.push(...verification.findings);
  if (status !== "unknown") changesAt = earliest(changesAt, verification.changesAt);

  // 3-2-1 (policy/offsite.ts): only with an off-site source configured and this guest's archives readable.
  const fileCopies = (hb?.covered ? hb.wholeTasks : []).map((t) => ({
    label: phrase("target.hyperbackup", { task: t.name, nas: t.source }),
    atMs: t.lastSuccessMs,
    offsite: t.offsite,
    readable: t.readable,
  }));
  const copies =
    sourceReadable && !hidden.length
      ? evaluateCopies(acceptsVzdump(tier) ? archives : [], tier, evidence.offsite, now, words, fileCopies)
      : null;
  if (copies) findings.push(...copies.findings);

  // Watchdogs: a job that did not run when due (missed-jobs.ts), a vzdump that hangs (overrun.ts).
  findings.push(...jobMissedFindings(guest, tier, missed, evidence.jobs, words));
  const overrun = sourceReadable ? evaluateOverrun(attempts, tier, now, words) : null;
  if (overrun?.finding) findings.push(overrun.finding);

  const protectedTier = tier?.protect === true;
  const statusIsProblem = status === "failed" || status === "missing" || status === "stale";
  const problem = protectedTier && (statusIsProblem || findings.some((f) => !isInformational(f)));
  const withStatus = status === "unknown" || (protectedTier && statusIsProblem);
  const shown = findings.filter((f) => protectedTier || isInformational(f));
  const reasonPhrases: Phrase[] = [
    ...(withStatus ? [statusPhrase] : []),
    ...shown.map((f) => (Object.keys(f.params).length ? { key: f.key, params: f.params } : { key: f.key })),
  ];
  const reasons = [...(withStatus ? [statusReason] : []), ...shown.map((f) => f.reason)];

  // The guest's next change: its own deadline or, with 3-2-1 judged, its off-site copy's.
  const nextChange = earliest(changesAt, copies?.changesAt, overrun?.changesAt);
  return {
    changesAt: nextChange,
    state: {
      id,
      source: guest.source,
      vmid: guest.vmid,
      name: guest.name,
      type: guest.type,
      node: guest.node,
      tier: tier?.id ?? null,
      tier_source: tierFrom,
      status,
      status_reason: statusReason,
      status_phrase: statusPhrase,
      problem,
      reasons,
      reason_phrases: reasonPhrases,
      findings,
      last_backup: iso(newestMs),
      last_backup_size: byHb ? null : (newest?.size ?? null),
      archive_count: good.length,
      next_backup: iso(nextBackupMs),
      last_verified: iso(verification.lastVerifiedMs),
      last_verification: verification.last,
      last_restore_test: lastRestore(evidence, guest),
      progress: running ? (attempts.find((a) => a.result === "running")?.progress ?? null) : null,
      last_offsite: iso(copies?.lastOffsiteMs),
      copies: copies?.copies ?? null,
      running,
      last_attempt: lastAttempt
        ? {
            time: iso(lastAttempt.endMs ?? lastAttempt.startMs)!,
            result: lastAttempt.result,
            ...(lastAttempt.error ? { error: lastAttempt.error } : {}),
          }
        : null,
      changes_at: iso(nextChange),
      fallback: null,
      protection:
        newestMs === undefined
          ? null
          : byHb
            ? { by: "hyperbackup", consistency: "file-copy", tasks: hbWho.tasks, nas: hbWho.nas! }
            : { by: "vzdump", consistency: "point-in-time" },
    },
  };
}

/**
 * Hyper Backup tasks the config does not link to storages (`protects`) copy the vzdump archives of
 * the storages found from their source folders (policy/hyperbackup.ts taskStorages): such a task is
 * a copy target for 3-2-1 like a configured one.
 */
function withDetectedCopyTargets(input: PolicyInput): PolicyInput {
  const { offsite, hyperBackup, storageMounts } = input.evidence;
  if (!offsite || !hyperBackup?.length || !storageMounts?.length) return input;
  const known = new Set(offsite.targets.map((t) => `${t.kind}/${t.source}/${t.id}`));
  const detected: CopyTarget[] = hyperBackup
    .filter((t) => t.configuredStorages === null && !known.has(`hyperbackup/${t.source}/${t.taskId}`))
    .map((t) => ({ t, storages: taskStorages(t, storageMounts) }))
    .filter((x) => x.storages.length)
    .map(({ t, storages }) => ({
      kind: "hyperbackup",
      source: t.source,
      id: String(t.taskId),
      label: `Hyper Backup task '${t.name}' on ${t.source}`,
      labelPhrase: phrase("target.hyperbackup", { task: t.name, nas: t.source }),
      storages,
      offsite: t.offsite,
      lastSuccessMs: t.lastSuccessMs,
      readable: t.readable,
    }));
  if (!detected.length) return input;
  return {
    ...input,
    evidence: { ...input.evidence, offsite: { ...offsite, targets: [...offsite.targets, ...detected] } },
  };
}

/**
 * No vzdump job covers the guest (`vzdumpWhy`): Hyper Backup may. Covered and scheduled often
 * enough → no finding (disabled jobs are then the manual fallback); otherwise why not, naming the
 * task, or the disk and the folder to add to a task. Without Hyper Backup facts: the vzdump reason.
 */
function hyperBackupCoverage(hb: GuestHyperBackup | null, tier: Tier, vzdumpWhy: Phrase): Phrase | null {
  if (!hb) return vzdumpWhy;
  if (hb.covered) {
    const sched = scheduledOftenEnough(hb, tier);
    if (sched.ok) return null;
    return sched.every === null
      ? phrase("unprotected.hyperbackup_unscheduled", {
          task: sched.task.name,
          nas: sched.task.source,
          why: [vzdumpWhy],
        })
      : phrase("unprotected.hyperbackup_rare", {
          task: sched.task.name,
          nas: sched.task.source,
          every: sched.every,
          tier: tier.id,
          max: tier.maxAgeMs,
          why: [vzdumpWhy],
        });
  }
  // A disk elsewhere is worth naming only when others are copied (the guest is partly covered).
  const gap = hb.gaps.find((g) => g.why !== "elsewhere") ?? (hb.copies.length ? hb.gaps[0] : undefined);
  if (!gap) return vzdumpWhy;
  return phrase(`unprotected.hyperbackup_${gap.why}`, {
    disk: gap.disk.key,
    volume: gap.disk.volume,
    storage: gap.disk.storage,
    nas: gap.nas,
    folder: gap.folder,
    why: [vzdumpWhy],
  });
}

function lastRestore(evidence: Evidence, guest: GuestInfo): GuestState["last_restore_test"] {
  const r = (evidence.restoreTests ?? []).filter((x) => x.source === guest.source && x.vmid === guest.vmid).at(-1);
  return r
    ? { time: new Date(r.timeMs).toISOString(), ok: r.ok, volid: r.volid, ...(r.reason ? { reason: r.reason } : {}) }
    : null;
}

function groupBy<T>(items: T[], keyOf: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = keyOf(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}
