import type { Archive, Evidence } from "../evidence.js";
import type { Tier } from "../config/tiers.js";
import type { RenderOptions } from "../words/render.js";
import { makeFinding } from "./finding.js";
import type { Finding } from "./types.js";

export interface VerificationVerdict {
  /** Archives whose newest check failed: not good backups. */
  failedVolids: Set<string>;
  findings: Finding[];
  lastVerifiedMs: number | null;
  /** When verify_overdue starts by itself. */
  changesAt: number | null;
  last: { time: string; ok: boolean; volid: string; reason?: string } | null;
}

const fileOf = (volid: string) => volid.slice(volid.indexOf(":") + 1).replace(/^backup\//, "");

/**
 * What the bridge's own integrity checks (and PBS's verify state) say about one guest's archives.
 * Pure: evidence and now in, verdict out.
 */
export function evaluateVerification(
  guest: { source: string; vmid: number },
  archives: Archive[],
  tier: Tier | null,
  evidence: Evidence,
  now: number,
  words: RenderOptions,
): VerificationVerdict {
  const mine = (evidence.verifications ?? [])
    .filter((v) => v.source === guest.source && v.vmid === guest.vmid)
    .sort((a, b) => a.timeMs - b.timeMs);
  const latestByVolid = new Map<string, (typeof mine)[number]>();
  for (const v of mine) latestByVolid.set(v.volid, v);
  const present = new Set(archives.map((a) => a.volid));
  const failedVolids = new Set(
    [...latestByVolid.values()].filter((v) => !v.ok && present.has(v.volid)).map((v) => v.volid),
  );
  const findings: Finding[] = [];
  for (const volid of failedVolids) {
    const v = latestByVolid.get(volid)!;
    findings.push(
      makeFinding(
        "verify_failed",
        "verify_failed",
        { archive: fileOf(volid), at: new Date(v.timeMs).toISOString(), error: v.reason || undefined },
        words,
      ),
    );
  }
  // Verified = our check passed, or PBS says its verify passed (its time is not in the listing: the snapshot time is a safe lower bound).
  let lastVerifiedMs: number | null = null;
  for (const v of latestByVolid.values())
    if (v.ok && present.has(v.volid)) lastVerifiedMs = Math.max(lastVerifiedMs ?? 0, v.timeMs);
  for (const a of archives) if (a.verification === "ok") lastVerifiedMs = Math.max(lastVerifiedMs ?? 0, a.ctimeMs);

  let changesAt: number | null = null;
  const good = archives
    .filter((a) => a.verification !== "failed" && !failedVolids.has(a.volid))
    .sort((a, b) => b.ctimeMs - a.ctimeMs);
  const newest = good[0];
  const capable = evidence.verifiable?.[guest.source] || archives.some((a) => a.format.startsWith("pbs-"));
  if (tier?.protect && tier.verifyEveryMs && capable && newest) {
    // Grace after a new archive: the clock starts at the last successful check, or at the newest archive.
    const since = lastVerifiedMs ?? newest.ctimeMs;
    const due = since + tier.verifyEveryMs;
    if (now >= due) {
      findings.push(
        makeFinding(
          "verify_overdue",
          lastVerifiedMs ? "verify_overdue" : "verify_overdue.never",
          {
            last: lastVerifiedMs ? new Date(lastVerifiedMs).toISOString() : undefined,
            tier: tier.id,
            every: tier.verifyEveryMs,
          },
          words,
        ),
      );
    } else changesAt = due;
  }
  const lastRec = mine.filter((v) => present.has(v.volid)).at(-1);
  return {
    failedVolids,
    findings,
    lastVerifiedMs,
    changesAt,
    last: lastRec
      ? {
          time: new Date(lastRec.timeMs).toISOString(),
          ok: lastRec.ok,
          volid: lastRec.volid,
          ...(lastRec.reason ? { reason: lastRec.reason } : {}),
        }
      : null,
  };
}
