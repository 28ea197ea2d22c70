/**
 * The policy's result beyond each guest's status: orphaned archives, the next change time,
 * purity (time is a parameter), the counts, and ids with several clusters.
 */
import { describe, expect, it } from "vitest";
import { archive, type Case, D, dailyJob, guest, H, NOW, P0, run } from "./evaluate.fixtures.js";

describe("policy result", () => {
  it("lists archives of guests that no longer exist as orphaned, without alarm", () => {
    const r = run({ archives: [archive(100, H), archive(999, 2 * D), archive(999, 3 * D)], expect: { status: "ok" } });
    expect(r.orphans).toEqual([
      { source: "pve", vmid: 999, archive_count: 2, last_backup: new Date(NOW - 2 * D).toISOString() },
    ]);
    expect(r.counts.problem).toBe(0);
  });

  it("nextChangeMs is the earliest stale deadline across guests", () => {
    const r = run({
      guests: [P0(100), P0(101)],
      jobs: [dailyJob([100, 101])],
      archives: [archive(100, 20 * H), archive(101, 10 * H)],
      expect: { status: "ok" },
    });
    expect(r.nextChangeMs).toBe(NOW - 20 * H + 26 * H);
  });

  it("is pure: time is a parameter", () => {
    const c: Case = { archives: [archive(100, 20 * H)], name: "", expect: { status: "ok" } };
    expect(run({ ...c, now: NOW }).guests[0]!.status).toBe("ok");
    expect(run({ ...c, now: NOW + 6 * H }).guests[0]!.status).toBe("stale");
  });

  it("counts statuses, problems and untiered guests", () => {
    const r = run({
      guests: [P0(100), P0(101), guest(102)],
      jobs: [dailyJob([100, 101])],
      archives: [archive(100, H), archive(101, 30 * H)],
      expect: { status: "ok" },
    });
    expect(r.counts).toMatchObject({ ok: 1, stale: 1, missing: 1, problem: 1, untiered: 1 });
  });

  it("with several clusters, ids carry the cluster name", () => {
    const r = run({
      evidence: {
        sources: [
          { name: "pve", kind: "proxmox", up: true, degraded: false },
          { name: "lab-2", kind: "proxmox", up: true, degraded: false },
        ],
        jobsReadable: { pve: true, "lab-2": true },
      },
      guests: [P0(100), { ...P0(100), source: "lab-2" }],
      expect: { status: "missing" },
    });
    expect(r.guests.map((g) => g.id)).toEqual(["home_lab_2_100", "home_pve_100"]);
  });
});
