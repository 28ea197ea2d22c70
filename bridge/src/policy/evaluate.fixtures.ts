/**
 * Builders for the policy's tests (evaluate.test.ts, evaluate-result.test.ts and the table in
 * evaluate-table.fixtures.ts): guests, archives, attempts and jobs at fixed ages before NOW, a
 * table case's shape, and run()/input(), which evaluate a case's inputs with the default tiers.
 */
import { archiveSet } from "../archive-set.js";
import { resolveTiers } from "../config/tiers.js";
import type { Archive, BackupAttempt, BackupJob, Evidence, GuestInfo } from "../evidence.js";
import type { ParamValue } from "../words/phrase.js";
import { evaluate, type GuestMemo, type PolicyInput } from "./evaluate.js";
import { FINDING_CODES, STATUSES } from "./types.js";

export const H = 3_600_000;
export const D = 24 * H;
export const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const tiers = resolveTiers(undefined);

export const guest = (vmid: number, extra: Partial<GuestInfo> = {}): GuestInfo => ({
  source: "pve",
  vmid,
  name: `g${vmid}`,
  type: "qemu",
  node: "n1",
  tags: [],
  template: false,
  ...extra,
});
export const archive = (vmid: number, ageMs: number, extra: Partial<Archive> = {}): Archive => ({
  source: "pve",
  volid: `local:backup/vzdump-qemu-${vmid}-${NOW - ageMs}.vma.zst`,
  storage: "local",
  vmid,
  ctimeMs: NOW - ageMs,
  size: 1000 + vmid,
  format: "vma.zst",
  protected: false,
  ...extra,
});
export const attempt = (
  vmid: number,
  ageMs: number,
  result: BackupAttempt["result"],
  error?: string,
): BackupAttempt => ({
  source: "pve",
  vmid,
  upid: `UPID:n1:00000001:00000001:${(NOW - ageMs).toString(16)}:vzdump::root@pam:`,
  node: "n1",
  startMs: NOW - ageMs,
  endMs: result === "running" ? undefined : NOW - ageMs + 60_000,
  result,
  ...(error ? { error } : {}),
});
export const dailyJob = (vmids: number[], extra: Partial<BackupJob> = {}): BackupJob => ({
  source: "pve",
  id: "daily",
  enabled: true,
  schedule: "02:00",
  nextRunMs: NOW + 14 * H,
  vmids,
  storage: "local",
  pruneBackups: { "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6 },
  ...extra,
});

export interface Case {
  name: string;
  guests?: GuestInfo[];
  archives?: Archive[];
  attempts?: BackupAttempt[];
  jobs?: BackupJob[];
  evidence?: Partial<Evidence>;
  config?: Partial<PolicyInput>;
  now?: number;
  expect: {
    status: string;
    problem?: boolean;
    tier?: string | null;
    findings?: string[];
    /** Matched against the reasons and the status reason, joined by newlines. */
    reason?: RegExp;
    /** Exactly these reasons, in order. */
    reasons?: string[];
    /** The key of the status phrase (status_phrase.key). */
    status_key?: string;
    /** The findings as phrases (key and params), in order. */
    finding_phrases?: { key: string; params: Record<string, ParamValue> }[];
    last_backup?: string | null;
    changes_at?: string | null;
    next_backup?: string | null;
    archive_count?: number;
    running?: boolean;
  };
}

/** A case's inputs (the one-off checks below have no name). */
export type Inputs = Omit<Case, "name" | "expect"> & { expect?: Case["expect"] };
export function run(c: Inputs, memo?: GuestMemo) {
  return evaluate(input(c), memo);
}

export function input(c: Inputs): PolicyInput {
  const evidence: Evidence = {
    sources: [{ name: "pve", kind: "proxmox", up: true, degraded: false }],
    guests: c.guests ?? [guest(100, { tags: ["backup-p0"] })],
    archives: archiveSet(c.archives ?? []),
    attempts: c.attempts ?? [],
    jobs: c.jobs ?? [dailyJob([100])],
    jobsReadable: { pve: true },
    visibility: [],
    ...c.evidence,
  };
  return { site: "home", tiers, guestTiers: {}, overrides: {}, evidence, now: c.now ?? NOW, ...c.config };
}

export const P0 = (vmid = 100, extra: Partial<GuestInfo> = {}) => guest(vmid, { tags: ["backup-p0"], ...extra });
export const P2 = (vmid = 100, extra: Partial<GuestInfo> = {}) => guest(vmid, { tags: ["backup-p2"], ...extra });

// retention_drift: the code retention_short replaced.
const CODE_PREFIX = new RegExp(`^(?:${[...FINDING_CODES, "retention_drift", ...STATUSES].join("|")})\\s*:`, "i");
/**
 * What a sentence for people must not look like: a finding code or a status and a colon in front
 * (the old "code: text"), an ISO 8601 timestamp, or a count of one with a plural noun. Returns the
 * texts that do, each with what is wrong with it.
 */
export function reasonFlaws(texts: readonly string[]): string[] {
  return texts.flatMap((t) => {
    const why = [
      CODE_PREFIX.test(t) && "starts with a code",
      /\d{4}-\d\d-\d\dT/.test(t) && "has an ISO timestamp",
      /(?<![\d.])1 (?:copies|archives|snapshots|backups|days|hours|minutes|seconds)\b/.test(t) && "one with a plural",
    ].filter(Boolean);
    return why.length ? [`${why.join(", ")}: ${t}`] : [];
  });
}
