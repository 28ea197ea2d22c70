/**
 * The Store when its disk fails and when its files are damaged, with fake timers: a failed write
 * is reported (lastError) and never thrown, the in-memory state holds, and the next successful
 * write persists it; a damaged file is moved aside under the (fake) current time and only the
 * good entries are kept. A directory where a file or its temp file belongs makes writes fail
 * (permission bits would not stop root, which some CI runners are).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../log.js";
import { type InflightTask, Store, type VerificationRecord } from "./store.js";

const T0 = Date.UTC(2026, 5, 1, 10, 0, 0);
let dir: string;
let lines: Array<Record<string, unknown>>;
const log = () =>
  createLogger(
    "debug",
    () => [],
    {
      write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) > 0,
    } as unknown as NodeJS.WritableStream,
    { repeatWindowMs: 0 },
  );
const task = (upid: string): InflightTask => ({
  kind: "backup",
  source: "pve",
  upid,
  node: "n1",
  vmid: 100,
  startedMs: T0,
  origin: "mqtt",
});
const verification = (i: number): VerificationRecord => ({
  source: "pve",
  vmid: 100,
  volid: `local:backup/v${i}.vma.zst`,
  timeMs: T0 + i,
  ok: true,
  method: "ssh",
});
/** Makes the next write of `name` fail: a directory where its temp file goes. Returns the undo. */
const blockWrites = (name: string) => {
  const tmp = path.join(dir, `${name}.${process.pid}.tmp`);
  fs.mkdirSync(tmp);
  return () => fs.rmdirSync(tmp);
};
const onDisk = (name: string) => JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")) as unknown;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-store-fail-"));
  lines = [];
});
afterEach(() => {
  vi.useRealTimers();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("Store: a write that fails", () => {
  it("addInflight says false and lastError why; memory keeps the task; the next good write persists both and clears the error", () => {
    const s = new Store(dir, { log: log() });
    const unblock = blockWrites("inflight.json");
    expect(s.addInflight(task("UPID:a"))).toBe(false);
    expect(s.lastError).toMatch(/^EISDIR/);
    expect(s.inflight.map((t) => t.upid)).toEqual(["UPID:a"]);
    expect(fs.existsSync(path.join(dir, "inflight.json"))).toBe(false);
    unblock();
    expect(s.addInflight(task("UPID:b"))).toBe(true);
    expect(s.lastError).toBeUndefined();
    expect(new Store(dir).inflight.map((t) => t.upid)).toEqual(["UPID:a", "UPID:b"]);
  });

  it("removeInflight still forgets the task in memory; the file catches up at the next good write", () => {
    const s = new Store(dir);
    s.addInflight(task("UPID:a"));
    s.addInflight(task("UPID:b"));
    const unblock = blockWrites("inflight.json");
    s.removeInflight("UPID:a");
    expect(s.lastError).toMatch(/^EISDIR/);
    expect(s.inflight.map((t) => t.upid)).toEqual(["UPID:b"]);
    expect((onDisk("inflight.json") as InflightTask[]).map((t) => t.upid)).toEqual(["UPID:a", "UPID:b"]);
    unblock();
    s.removeInflight("UPID:unknown"); // nothing to remove: no write
    expect(s.lastError).toMatch(/^EISDIR/);
    s.removeInflight("UPID:b");
    expect(s.lastError).toBeUndefined();
    expect(onDisk("inflight.json")).toEqual([]);
  });

  it("a verification that cannot be written still counts as evidence in this run", () => {
    const s = new Store(dir);
    blockWrites("verifications.json");
    s.addVerification(verification(1));
    expect(s.lastError).toMatch(/^EISDIR/);
    expect(s.evidence().verifications).toEqual([
      { source: "pve", vmid: 100, volid: "local:backup/v1.vma.zst", timeMs: T0 + 1, ok: true },
    ]);
  });

  it("an audit log that cannot be appended to is reported, not thrown, and the rest of the store works", () => {
    fs.mkdirSync(path.join(dir, "audit.jsonl"));
    const s = new Store(dir, { log: log() });
    expect(() =>
      s.audit({
        time: new Date(T0).toISOString(),
        action: "backup",
        target: "home_100",
        origin: "mqtt",
        result: "accepted",
      }),
    ).not.toThrow();
    expect(s.lastError).toMatch(/^audit log: EISDIR/);
    expect(s.readAudit()).toEqual([]);
    expect(s.addInflight(task("UPID:a"))).toBe(true);
  });

  it("verifications and restore tests keep the newest 5000 records", () => {
    fs.writeFileSync(
      path.join(dir, "verifications.json"),
      JSON.stringify(Array.from({ length: 5000 }, (_, i) => verification(i))),
    );
    const s = new Store(dir);
    s.addVerification(verification(5000));
    expect(s.verifications).toHaveLength(5000);
    expect([s.verifications[0]!.timeMs, s.verifications.at(-1)!.timeMs]).toEqual([T0 + 1, T0 + 5000]);
    expect((onDisk("verifications.json") as VerificationRecord[]).length).toBe(5000);
  });
});

describe("Store: damaged files at start (fake time names the copies)", () => {
  it("each damaged file is moved aside as <name>.corrupt-20260601T100000Z, its problem listed once, the good entries kept", () => {
    fs.writeFileSync(
      path.join(dir, "inflight.json"),
      JSON.stringify([task("UPID:a"), { ...task("UPID:b"), kind: "restore" }]),
    );
    fs.writeFileSync(path.join(dir, "restore-tests.json"), "[");
    vi.advanceTimersByTime(59_999);
    const s = new Store(dir, { log: log() });
    expect(s.inflight.map((t) => t.upid)).toEqual(["UPID:a"]);
    expect(s.restores).toEqual([]);
    expect(
      s.problems.map((p) => [
        path.basename(p.file),
        p.reason,
        p.movedTo && path.basename(p.movedTo),
        p.dropped,
        p.kept,
      ]),
    ).toEqual([
      [
        "inflight.json",
        `entry 2: 'kind' is "restore", not one of "backup", "restore_test"`,
        "inflight.json.corrupt-20260601T100059Z",
        1,
        1,
      ],
      [
        "restore-tests.json",
        "it is not valid JSON (cut off or damaged)",
        "restore-tests.json.corrupt-20260601T100059Z",
        undefined,
        undefined,
      ],
    ]);
    expect(lines.map((l) => l.msg)).toEqual(s.problems.map((p) => p.message));
    expect(fs.readdirSync(dir).sort()).toEqual([
      "inflight.json",
      "inflight.json.corrupt-20260601T100059Z",
      "restore-tests.json.corrupt-20260601T100059Z",
    ]);
    // A second start finds nothing wrong: the good entry was written back.
    lines = [];
    expect(new Store(dir, { log: log() }).problems).toEqual([]);
    expect(lines).toEqual([]);
  });
});
