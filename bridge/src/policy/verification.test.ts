import { describe, expect, it } from "vitest";
import { evaluate } from "./evaluate.js";
import { resolveTiers } from "../config/tiers.js";
import type { Archive, Evidence, Verification } from "../evidence.js";
import { archiveSet } from "../archive-set.js";
import type { RenderOptions } from "../words/render.js";

const H = 3_600_000;
const D = 24 * H;
const NOW = Date.UTC(2026, 10, 26, 12);
const tiers = resolveTiers(undefined); // P0 verify_every 7d, P1 30d, P2 none

const archive = (ageMs: number, extra: Partial<Archive> = {}): Archive => ({
  source: "pve",
  volid: `local:backup/vzdump-qemu-100-${ageMs}.vma.zst`,
  storage: "local",
  vmid: 100,
  ctimeMs: NOW - ageMs,
  size: 10,
  format: "vma.zst",
  protected: false,
  ...extra,
});
const check = (a: Archive, ageMs: number, ok: boolean, reason?: string): Verification => ({
  source: "pve",
  vmid: 100,
  volid: a.volid,
  timeMs: NOW - ageMs,
  ok,
  ...(reason ? { reason } : {}),
});

function guest(opts: {
  tag?: string;
  archives: Archive[];
  verifications?: Verification[];
  verifiable?: boolean;
  words?: RenderOptions;
}) {
  const evidence: Evidence = {
    sources: [{ name: "pve", kind: "proxmox", up: true, degraded: false }],
    guests: [
      {
        source: "pve",
        vmid: 100,
        name: "ha",
        type: "qemu",
        node: "n1",
        tags: [opts.tag ?? "backup-p0"],
        template: false,
      },
    ],
    archives: archiveSet(opts.archives),
    attempts: [],
    jobs: [
      {
        source: "pve",
        id: "daily",
        enabled: true,
        schedule: "02:00",
        vmids: [100],
        storage: "local",
        pruneBackups: { "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6 },
      },
    ],
    jobsReadable: { pve: true },
    visibility: [],
    verifications: opts.verifications ?? [],
    verifiable: { pve: opts.verifiable ?? true },
  };
  const r = evaluate({ site: "home", tiers, guestTiers: {}, overrides: {}, evidence, now: NOW, words: opts.words });
  return { g: r.guests[0]!, next: r.nextChangeMs };
}

describe("policy: verification", () => {
  const fresh = archive(5 * H);
  const older = archive(29 * H);

  it("a corrupt newest archive is not a good backup, and the finding names it with the reason", () => {
    const { g } = guest({
      archives: [fresh, older],
      verifications: [check(fresh, H, false, "zstd: Corrupted block detected")],
    });
    expect(g.status).toBe("stale"); // the older archive is 29 h old, P0 allows 26 h
    expect(g.findings.map((f) => f.code)).toContain("verify_failed");
    const failed = g.findings.find((f) => f.code === "verify_failed")!;
    expect({ key: failed.key, params: failed.params }).toEqual({
      key: "verify_failed",
      params: {
        archive: `vzdump-qemu-100-${5 * H}.vma.zst`,
        at: new Date(NOW - H).toISOString(),
        error: "zstd: Corrupted block detected",
      },
    });
    expect(failed.reason).toBe(
      `Archive vzdump-qemu-100-${5 * H}.vma.zst failed verification on Thu 26 Nov, 11:00: zstd: Corrupted block detected.`,
    );
    expect(g.reasons).toContain(failed.reason);
    expect(g.problem).toBe(true);
    expect(g.last_verification).toMatchObject({ ok: false, volid: fresh.volid });
  });

  it("the only archive corrupt → missing, saying why", () => {
    const { g } = guest({ archives: [fresh], verifications: [check(fresh, H, false, "tar: Unexpected EOF")] });
    expect(g.status).toBe("missing");
    expect(g.status_phrase).toEqual({ key: "status.missing.unverified", params: { count: 1 } });
    expect(g.status_reason).toBe("No good backup: the only archive failed verification.");
  });

  it("a later successful check clears an earlier failure of the same archive", () => {
    const { g } = guest({ archives: [fresh], verifications: [check(fresh, 3 * H, false, "x"), check(fresh, H, true)] });
    expect(g.status).toBe("ok");
    expect(g.findings).toEqual([]);
    expect(g.last_verified).toBe(new Date(NOW - H).toISOString());
  });

  it("verify_overdue once verify_every has passed since the last successful check", () => {
    const { g } = guest({ archives: [fresh], verifications: [check(archive(8 * D), 8 * D, true)] });
    // the 8-day-old verification was of an archive that no longer exists: it does not count
    expect(g.findings.map((f) => f.code)).toEqual([]);
    const a = archive(5 * H);
    const r2 = guest({ archives: [a, archive(9 * D)], verifications: [check(archive(9 * D), 8 * D, true)] });
    expect(r2.g.findings.map((f) => f.code)).toEqual(["verify_overdue"]);
    const overdue = r2.g.findings[0]!;
    expect({ key: overdue.key, params: overdue.params }).toEqual({
      key: "verify_overdue",
      params: { last: "2026-11-18T12:00:00.000Z", tier: "P0", every: 7 * D },
    });
    expect(r2.g.reasons).toEqual([
      "The last successful verification was on Wed 18 Nov, 12:00; tier P0 wants one every 7 days.",
    ]);
    const de = guest({
      archives: [a, archive(9 * D)],
      verifications: [check(archive(9 * D), 8 * D, true)],
      words: { language: "de", timeZone: "Europe/Berlin" },
    });
    expect(de.g.reasons).toEqual([
      "Die letzte erfolgreiche Prüfung war am Mi., 18. Nov., 13:00 Uhr; Stufe P0 will alle 7 Tage eine.",
    ]);
  });

  it("never verified: grace from the newest archive, then overdue at the exact instant", () => {
    const a = archive(6 * D);
    const { g, next } = guest({ archives: [a] });
    expect(g.findings.map((f) => f.code)).not.toContain("verify_overdue");
    expect(next).toBe(NOW - 6 * D + 7 * D); // already stale, so the next change is the verification deadline
    expect(g.status).toBe("stale");
    const b = archive(7 * D);
    const never = guest({ archives: [b] }).g;
    expect(never.findings.map((f) => ({ key: f.key, params: f.params }))).toEqual([
      { key: "verify_overdue.never", params: { tier: "P0", every: 7 * D } },
    ]);
    expect(never.reasons).toEqual([
      "The newest backup is from Thu 19 Nov, 12:00, older than tier P0 allows (1 day and 2 hours).",
      "No archive of this guest was ever verified; tier P0 wants a verification every 7 days.",
    ]);
  });

  it("no verify_overdue where the bridge cannot verify (no SSH) and the archive is not on PBS", () => {
    const { g } = guest({ archives: [archive(5 * H), archive(20 * D)], verifiable: false, verifications: [] });
    expect(g.findings.map((f) => f.code)).toEqual([]);
  });

  it("PBS verify state ok counts as verified; failed is not a good backup", () => {
    const pbsOk = archive(5 * H, {
      format: "pbs-vm",
      volid: "pbs:backup/vm/100/2026-11-26T07:00:00Z",
      verification: "ok",
    });
    expect(guest({ archives: [pbsOk], verifiable: false }).g.last_verified).toBe(new Date(NOW - 5 * H).toISOString());
    const pbsBad = archive(5 * H, { format: "pbs-vm", volid: "pbs:backup/vm/100/x", verification: "failed" });
    expect(guest({ archives: [pbsBad], verifiable: false }).g.status).toBe("missing");
  });

  it("P2 (no verify_every) is never overdue", () => {
    const { g } = guest({ tag: "backup-p2", archives: [archive(2 * D)] });
    expect(g.findings.map((f) => f.code)).not.toContain("verify_overdue");
  });
});
