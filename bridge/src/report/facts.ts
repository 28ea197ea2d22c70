/**
 * Presentation facts about a guest that every operator surface shows the same way (status page,
 * metrics, report): copies, newest archive, ordering "problems first". Pure functions of the
 * policy result and the evidence.
 */
import type { Archive, Evidence } from "../evidence.js";
import type { GuestState, GuestStatus } from "../policy/types.js";
import { PHRASEBOOKS, formatTime } from "../words/render.js";

/** Severity for "problems first" ordering: lower sorts first. */
const STATUS_ORDER: Record<GuestStatus, number> = { failed: 0, missing: 1, stale: 2, unknown: 3, running: 4, ok: 5 };

/** Problems first, then by how bad the status is, then untiered/excluded last, then by name. */
export function problemsFirst(guests: readonly GuestState[]): GuestState[] {
  return [...guests].sort(
    (a, b) =>
      Number(b.problem) - Number(a.problem) ||
      STATUS_ORDER[a.status] - STATUS_ORDER[b.status] ||
      Number(a.tier === null) - Number(b.tier === null) ||
      a.name.localeCompare(b.name) ||
      a.vmid - b.vmid,
  );
}

/** The guest's archives (good ones: not failed verification), newest first. */
export function archivesOf(g: Pick<GuestState, "source" | "vmid">, evidence: Evidence): Archive[] {
  return evidence.archives
    .of(g.source, g.vmid)
    .filter((a) => a.verification !== "failed")
    .sort((a, b) => b.ctimeMs - a.ctimeMs);
}

/**
 * Copies: the policy's 3-2-1 count (storages + copy targets holding a recent backup) when it
 * evaluated one (an off-site source is configured); otherwise the number of distinct PVE
 * storages holding a good archive of the guest.
 */
export function copiesOf(g: GuestState, evidence: Evidence): number {
  if (typeof g.copies === "number" && Number.isFinite(g.copies)) return g.copies;
  return new Set(archivesOf(g, evidence).map((a) => (a.node ? `${a.node}/${a.storage}` : a.storage))).size;
}

export function ageMs(iso: string | null, now: number): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? Math.max(0, now - t) : null;
}

/** "Mon 5 Jan, 03:00" in the site's time zone (config `timezone`; UTC for configs built in code). */
export function shortTime(iso: string | null, timeZone = "UTC"): string {
  if (!iso) return "never";
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  return formatTime(ms, PHRASEBOOKS.en, timeZone);
}
