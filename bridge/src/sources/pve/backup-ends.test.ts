import { describe, expect, it } from "vitest";
import type { Archive, BackupAttempt, GuestInfo } from "../../evidence.js";
import { BackupEnds } from "./backup-ends.js";

const UPID = "UPID:pve1:00001234:00005678:6B000000:vzdump:101:root@pam:";
const START = 1_790_000_000_000;

const guest = (vmid: number, lock?: string): GuestInfo => ({
  source: "pve",
  vmid,
  name: `g${vmid}`,
  type: "qemu",
  node: "pve1",
  tags: [],
  template: false,
  ...(lock ? { lock } : {}),
});
const attempt = (vmid: number, result: BackupAttempt["result"]): BackupAttempt => ({
  source: "pve",
  vmid,
  upid: UPID,
  node: "pve1",
  startMs: START,
  ...(result === "running" ? {} : { endMs: START + 60_000 }),
  result,
});
const archive = (vmid: number, ctimeMs: number): Archive =>
  ({ source: "pve", storage: "local", volid: `local:backup/${vmid}-${ctimeMs}`, vmid, ctimeMs, size: 1 }) as Archive;

describe("BackupEnds", () => {
  it("an attempt that ended well is still running until a listing read after the end shows its archive", () => {
    const ends = new BackupEnds();
    let listed: Archive[] = [archive(101, START - 86_400_000)];
    const of = () => listed;
    const before = ends.step(); // a listing begun before the end
    ends.ended(101, UPID, START);
    expect(ends.attempts([attempt(101, "ok")], of)).toEqual([
      { source: "pve", vmid: 101, upid: UPID, node: "pve1", startMs: START, result: "running" },
    ]);
    expect(ends.waiting).toBe(true);
    // The listing that began before the end says nothing about it, even when it shows nothing new.
    expect(ends.listingApplied(before, of)).toEqual([]);
    expect(ends.waiting).toBe(true);
    listed = [...listed, archive(101, START + 1000)];
    // Listed: the ended attempt is told as it is, in the same evidence as the archive.
    expect(ends.attempts([attempt(101, "ok")], of)[0]!.result).toBe("ok");
    expect(ends.listingApplied(ends.step(), of)).toEqual([]);
    expect(ends.waiting).toBe(false);
  });

  it("an archive no listing shows: given up after that refresh's listing and one more", () => {
    const ends = new BackupEnds();
    const of = () => [] as Archive[];
    ends.ended(101, UPID, START);
    expect(ends.listingApplied(ends.step(), of)).toEqual([]);
    expect(ends.attempts([attempt(101, "warnings")], of)[0]!.result).toBe("running");
    expect(ends.listingApplied(ends.step(), of).map((p) => p.vmid)).toEqual([101]);
    expect(ends.waiting).toBe(false);
    expect(ends.attempts([attempt(101, "warnings")], of)[0]!.result).toBe("warnings");
  });

  it("failed and running attempts, and other tasks, are told as they are", () => {
    const ends = new BackupEnds();
    ends.ended(101, UPID, START);
    const other = { ...attempt(101, "ok"), upid: "UPID:other" };
    const given = [attempt(101, "failed"), attempt(102, "ok"), other];
    expect(ends.attempts(given, () => [])).toEqual(given);
  });

  it("a backup lock from an inventory read begun before the end was seen is the ended backup's own; a later read's is real", () => {
    const ends = new BackupEnds();
    const readBefore = ends.step();
    ends.inventoryApplied(readBefore, new Map([[101, guest(101, "backup")]]));
    ends.ended(101, UPID, START);
    expect(ends.guests([guest(101, "backup"), guest(102, "backup"), guest(103, "migrate")])).toEqual([
      guest(101),
      guest(102, "backup"),
      guest(103, "migrate"),
    ]);
    // A read begun after the end that still shows the lock: another backup holds it.
    ends.inventoryApplied(ends.step(), new Map([[101, guest(101, "backup")]]));
    expect(ends.guests([guest(101, "backup")])).toEqual([guest(101, "backup")]);
    // An older read applied after a newer one (two polls overlapping): its lock is the ended backup's again.
    ends.inventoryApplied(readBefore, new Map([[101, guest(101, "backup")]]));
    expect(ends.guests([guest(101, "backup")])).toEqual([guest(101)]);
  });
});
