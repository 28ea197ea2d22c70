import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { Store, tierOverridesFile, type InflightTask } from "./store.js";

let dir: string;
let lines: Array<Record<string, unknown>>;
const log = () => {
  const sink = {
    write: (l: string) => {
      lines.push(JSON.parse(l) as Record<string, unknown>);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  return createLogger("debug", () => [], sink);
};
const put = (name: string, text: string | Buffer) => fs.writeFileSync(path.join(dir, name), text);
const corrupt = (name: string) => fs.readdirSync(dir).filter((f) => f.startsWith(`${name}.corrupt-`));
const task = (upid: string): InflightTask => ({
  kind: "backup",
  source: "pve",
  upid,
  node: "pve1",
  vmid: 100,
  startedMs: 1_700_000_000_000,
  origin: "mqtt",
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-store-"));
  lines = [];
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("Store: state files that cannot be read", () => {
  it("missing files are the empty state, silently", () => {
    const s = new Store(dir, { log: log() });
    expect([s.inflight, s.verifications, s.restores, s.tierOverridesFile.read()]).toEqual([[], [], [], {}]);
    expect(s.problems).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('an object where a list belongs ({"a":1}) does not stop the bridge: moved aside with its bytes, one line naming the file and what is lost', () => {
    put("inflight.json", '{"a":1}');
    const s = new Store(dir, { log: log() });
    expect(s.inflight).toEqual([]);
    expect(() => [...s.inflight]).not.toThrow(); // was "this.d.store.inflight is not iterable"
    const [aside] = corrupt("inflight.json");
    expect(aside).toMatch(/^inflight\.json\.corrupt-\d{8}T\d{6}Z$/);
    expect(fs.readFileSync(path.join(dir, aside!), "utf8")).toBe('{"a":1}');
    expect(fs.existsSync(path.join(dir, "inflight.json"))).toBe(false);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 50,
      file: path.join(dir, "inflight.json"),
      moved_to: path.join(dir, aside!),
    });
    expect(lines[0]!.msg).toBe(
      `inflight.json could not be read (it is an object, not a list); moved it to ${path.join(dir, aside!)}; the bridge will not report the end of the backups and restore tests that were running before this start`,
    );
  });

  it("a list with some bad entries keeps the good ones, says how many were dropped, and keeps the original aside", () => {
    const original = JSON.stringify([task("UPID:a"), null, { upid: 5 }, task("UPID:b")]);
    put("inflight.json", original);
    const s = new Store(dir, { log: log() });
    expect(s.inflight.map((t) => t.upid)).toEqual(["UPID:a", "UPID:b"]);
    expect(fs.readFileSync(path.join(dir, corrupt("inflight.json")[0]!), "utf8")).toBe(original);
    // The good entries are on disk again, so a restart keeps them.
    expect(new Store(dir).inflight.map((t) => t.upid)).toEqual(["UPID:a", "UPID:b"]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ dropped: 2, kept: 2 });
    expect(lines[0]!.msg).toMatch(
      /^inflight\.json: 2 of 4 entries could not be read \(entry 2 is null, not an object\) and were dropped, the other 2 are kept; moved the original to .*inflight\.json\.corrupt-\d{8}T\d{6}Z; the bridge will not report the end of 2 backups or restore tests that were running before this start$/,
    );
  });

  it('[null] and [{"upid":5}] lose their only entry and say why in words', () => {
    put("verifications.json", "[null]");
    put("restore-tests.json", '[{"upid":5}]');
    const s = new Store(dir, { log: log() });
    expect([s.verifications, s.restores]).toEqual([[], []]);
    expect(lines.map((l) => l.msg)).toEqual([
      expect.stringMatching(
        /^verifications\.json: 1 of 1 entry could not be read \(entry 1 is null, not an object\) and was dropped, none is kept; moved the original to .*; that verification result is forgotten/,
      ),
      expect.stringMatching(
        /^restore-tests\.json: 1 of 1 entry could not be read \(entry 1: 'source' is missing\) and was dropped, none is kept; moved the original to .*; that restore test result is forgotten until the next restore test$/,
      ),
    ]);
  });

  it("garbage, empty files and non-UTF-8 bytes are named as such", () => {
    put("inflight.json", "\u0000\u0001garbage");
    put("verifications.json", "");
    put("restore-tests.json", Buffer.from([0x5b, 0xff, 0xfe, 0x5d]));
    new Store(dir, { log: log() });
    expect(lines.map((l) => /\(([^)]*)\)/.exec(String(l.msg))?.[1])).toEqual([
      "it is not JSON",
      "it is empty",
      "it is not UTF-8 text",
    ]);
    expect(fs.readFileSync(path.join(dir, corrupt("restore-tests.json")[0]!))).toEqual(
      Buffer.from([0x5b, 0xff, 0xfe, 0x5d]),
    );
  });

  it("a directory where the file belongs is moved aside too, so saving works again", () => {
    fs.mkdirSync(path.join(dir, "inflight.json"));
    fs.writeFileSync(path.join(dir, "inflight.json", "inside"), "kept");
    const s = new Store(dir, { log: log() });
    expect(lines[0]!.msg).toMatch(/^inflight\.json could not be read \(it is a directory, not a file\); moved it to /);
    expect(fs.readFileSync(path.join(dir, corrupt("inflight.json")[0]!, "inside"), "utf8")).toBe("kept");
    expect(s.addInflight(task("UPID:c"))).toBe(true);
  });

  it("fields a newer version wrote are kept", () => {
    put("inflight.json", JSON.stringify([{ ...task("UPID:a"), requestId: "r1" }]));
    expect(new Store(dir, { log: log() }).inflight[0]).toMatchObject({ upid: "UPID:a", requestId: "r1" });
    expect(lines).toEqual([]);
  });

  it("tier-overrides.json: bad values are dropped, good ones kept; a list is not a map", () => {
    put("tier-overrides.json", JSON.stringify({ home_100: "P2", home_101: 1 }));
    expect(tierOverridesFile(dir, { log: log() }).read()).toEqual({ home_100: "P2" });
    expect(lines[0]!.msg).toMatch(
      /^tier-overrides\.json: 1 of 2 entries could not be read \('home_101' is a whole number, not text\) and was dropped, the other one is kept; moved the original to .*; that guest is back on its configured tier$/,
    );
    put("tier-overrides.json", "[null]");
    expect(tierOverridesFile(dir, { log: log() }).read()).toEqual({});
    expect(lines[1]!.msg).toMatch(
      /^tier-overrides\.json could not be read \(it is a list, not an object\); moved it to .*; every tier set from Home Assistant is forgotten/,
    );
    expect(corrupt("tier-overrides.json")).toHaveLength(2); // two moves in the same second do not overwrite each other
  });

  it("read-only readers (report, plan) leave a bad file in place and say so", () => {
    put("inflight.json", '{"a":1}');
    const s = new Store(dir, { log: log(), readOnly: true });
    expect(s.inflight).toEqual([]);
    expect(fs.readFileSync(path.join(dir, "inflight.json"), "utf8")).toBe('{"a":1}');
    expect(corrupt("inflight.json")).toEqual([]);
    expect(lines[0]!.msg).toMatch(/left it in place \(this command changes nothing in state_dir\)/);
  });

  it("without a logger the constructor still never throws", () => {
    put("inflight.json", "{");
    const s = new Store(dir);
    expect(s.inflight).toEqual([]);
    expect(s.problems).toMatchObject([{ reason: "it is not valid JSON (cut off or damaged)" }]);
  });
});

describe("Store: audit log", () => {
  const rec = (n: number) => ({
    time: `2026-12-02T18:15:0${n}Z`,
    action: "backup",
    target: "home_100",
    origin: "mqtt",
    result: "accepted" as const,
  });

  it("skips damaged lines instead of losing the whole audit, and says so once", () => {
    put(
      "audit.jsonl",
      [JSON.stringify(rec(1)), "not json", JSON.stringify({ a: 1 }), JSON.stringify(rec(2)), ""].join("\n"),
    );
    const s = new Store(dir, { log: log() });
    expect(s.readAudit()).toEqual([rec(1), rec(2)]);
    expect(s.readAudit(1)).toEqual([rec(2)]);
    expect(lines.map((l) => l.msg)).toEqual([
      "audit.jsonl has 2 lines that could not be read; they are skipped and the rest of the audit is shown",
    ]);
  });

  it("a line cut off by a crash does not swallow the next record", () => {
    put("audit.jsonl", `${JSON.stringify(rec(1))}\n${JSON.stringify(rec(2)).slice(0, 20)}`);
    const s = new Store(dir, { log: log() });
    s.audit(rec(3));
    expect(s.readAudit()).toEqual([rec(1), rec(3)]);
  });
});
