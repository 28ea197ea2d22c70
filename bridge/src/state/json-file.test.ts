/**
 * JsonFile on its own, with fake timers: the name a damaged file is moved aside to comes from the
 * (fake) system time, so it is asserted exactly. Also: lists and maps keep their good entries,
 * a write that fails is reported and leaves the old file whole, and reading never throws.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { createLogger } from "../log.js";
import { JsonFile } from "./json-file.js";

const T0 = Date.UTC(2026, 5, 1, 10, 0, 0);
let dir: string;
let file: string;
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
const loss = (n?: number) => (n === undefined ? "everything in it is forgotten" : `${n} forgotten`);
const list = z.array(z.object({ id: z.string(), n: z.number().int() }));
const things = (o: { readOnly?: boolean } = {}) =>
  new JsonFile<z.infer<typeof list>>(file, [], { schema: list, loss, log: log(), ...o });
const names = () => fs.readdirSync(dir).sort();

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-jsonfile-"));
  file = path.join(dir, "things.json");
  lines = [];
});
afterEach(() => {
  vi.useRealTimers();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("JsonFile: a damaged file is moved aside under the current time", () => {
  it("<name>.corrupt-<UTC time to the second>; a second copy in the same second gets -2; the next second a new stamp", () => {
    fs.writeFileSync(file, "[{");
    const f = things();
    expect(f.read()).toEqual([]);
    const aside = `${file}.corrupt-20260601T100000Z`;
    expect(f.problem).toEqual({
      file,
      reason: "it is not valid JSON (cut off or damaged)",
      movedTo: aside,
      message: `things.json could not be read (it is not valid JSON (cut off or damaged)); moved it to ${aside}; everything in it is forgotten`,
    });
    expect(fs.readFileSync(aside, "utf8")).toBe("[{");
    expect(lines.map((l) => [l.level, l.file, l.moved_to, l.msg])).toEqual([[50, file, aside, f.problem!.message]]);

    vi.advanceTimersByTime(999);
    fs.writeFileSync(file, "nonsense");
    f.read();
    expect(f.problem).toMatchObject({ reason: "it is not JSON", movedTo: `${aside}-2` });
    vi.advanceTimersByTime(1);
    fs.writeFileSync(file, "");
    f.read();
    expect(f.problem).toMatchObject({ reason: "it is empty", movedTo: `${file}.corrupt-20260601T100001Z` });
    expect(names()).toEqual([
      "things.json.corrupt-20260601T100000Z",
      "things.json.corrupt-20260601T100000Z-2",
      "things.json.corrupt-20260601T100001Z",
    ]);
    // A good read clears the problem.
    fs.writeFileSync(file, "[]");
    f.read();
    expect(f.problem).toBeUndefined();
  });

  it("with 99 copies of this second already there it gives up moving, says so, and the next save replaces the file", () => {
    const stamp = `${file}.corrupt-20260601T100000Z`;
    for (let i = 1; i < 100; i++) fs.writeFileSync(i === 1 ? stamp : `${stamp}-${i}`, "old");
    fs.writeFileSync(file, "[{");
    const f = things();
    expect(f.read()).toEqual([]);
    expect(f.problem).toEqual({
      file,
      reason: "it is not valid JSON (cut off or damaged)",
      moveError: "too many earlier copies",
      message:
        "things.json could not be read (it is not valid JSON (cut off or damaged)); could not move it aside (too many earlier copies), so the next save replaces it; everything in it is forgotten",
    });
    expect(fs.readFileSync(file, "utf8")).toBe("[{");
    expect(f.write([{ id: "a", n: 1 }])).toBeUndefined();
    expect(f.read()).toEqual([{ id: "a", n: 1 }]);
  });

  it("the wrong shape of a whole document is named by its path", () => {
    fs.writeFileSync(file, JSON.stringify({ version: 2 }));
    const f = new JsonFile(file, { version: 1 }, { schema: z.object({ version: z.literal(1) }), loss, log: log() });
    expect(f.read()).toEqual({ version: 1 });
    expect(f.problem).toMatchObject({
      reason: "it: 'version' is 2, not one of 1",
      movedTo: `${file}.corrupt-20260601T100000Z`,
    });
  });
});

describe("JsonFile: lists and maps keep their good entries", () => {
  it("a list: the good entries are returned and written back at once; the original is kept aside", () => {
    const original = JSON.stringify([{ id: "a", n: 1 }, { id: "b", n: 1.5 }, { id: "c", n: 3 }, "x"]);
    fs.writeFileSync(file, original);
    const f = things();
    expect(f.read()).toEqual([
      { id: "a", n: 1 },
      { id: "c", n: 3 },
    ]);
    const aside = `${file}.corrupt-20260601T100000Z`;
    expect(f.problem).toEqual({
      file,
      reason: "entry 2: 'n' is a number, not a whole number",
      dropped: 2,
      kept: 2,
      movedTo: aside,
      message: `things.json: 2 of 4 entries could not be read (entry 2: 'n' is a number, not a whole number) and were dropped, the other 2 are kept; moved the original to ${aside}; 2 forgotten`,
    });
    expect(fs.readFileSync(aside, "utf8")).toBe(original);
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual([
      { id: "a", n: 1 },
      { id: "c", n: 3 },
    ]);
    expect(lines.map((l) => [l.dropped, l.kept])).toEqual([[2, 2]]);
  });

  it("a map: the good keys are kept", () => {
    fs.writeFileSync(file, JSON.stringify({ a: 1, b: "two", c: 3 }));
    const f = new JsonFile<Record<string, number>>(
      file,
      {},
      { schema: z.record(z.string(), z.number()), loss, log: log() },
    );
    expect(f.read()).toEqual({ a: 1, c: 3 });
    expect(f.problem?.message).toBe(
      `things.json: 1 of 3 entries could not be read ('b' is text, not a number) and was dropped, the other 2 are kept; moved the original to ${file}.corrupt-20260601T100000Z; 1 forgotten`,
    );
  });

  it("read-only: the good entries are used, the file is neither moved nor rewritten", () => {
    const original = JSON.stringify([{ id: "a", n: 1 }, null]);
    fs.writeFileSync(file, original);
    const f = things({ readOnly: true });
    expect(f.read()).toEqual([{ id: "a", n: 1 }]);
    expect(f.problem).toMatchObject({ dropped: 1, kept: 1 });
    expect(f.problem?.movedTo).toBeUndefined();
    expect(f.problem?.message).toMatch(/left the original in place \(this command changes nothing in state_dir\)/);
    expect(names()).toEqual(["things.json"]);
    expect(fs.readFileSync(file, "utf8")).toBe(original);
  });
});

describe("JsonFile: reading and writing never throw", () => {
  it("a write that fails returns the error and leaves the old file whole; the next write works once the cause is gone", () => {
    const f = things();
    expect(f.write([{ id: "a", n: 1 }])).toBeUndefined();
    // A directory where the temp file goes (permission bits would not stop root).
    const tmp = `${file}.${process.pid}.tmp`;
    fs.mkdirSync(tmp);
    expect(f.write([{ id: "b", n: 2 }])).toMatch(/^EISDIR/);
    expect(f.read()).toEqual([{ id: "a", n: 1 }]);
    fs.rmdirSync(tmp);
    expect(f.write([{ id: "b", n: 2 }])).toBeUndefined();
    expect(f.read()).toEqual([{ id: "b", n: 2 }]);
    expect(names()).toEqual(["things.json"]);
  });

  it("a state directory that cannot be created (a file is in the way) is an error message", () => {
    fs.writeFileSync(path.join(dir, "state"), "");
    const f = new JsonFile(path.join(dir, "state", "x.json"), [], { schema: list, loss });
    expect(f.write([])).toMatch(/^(EEXIST|ENOTDIR)/);
    expect(f.read()).toEqual([]);
  });

  it("a missing file is a fresh copy of the fallback each time, silently; without a schema garbage is the fallback too", () => {
    const fallback = { items: [] as number[] };
    const f = new JsonFile(file, fallback, { schema: z.object({ items: z.array(z.number()) }), loss, log: log() });
    f.read().items.push(1);
    expect(f.read()).toEqual({ items: [] });
    expect(fallback).toEqual({ items: [] });
    expect(f.problem).toBeUndefined();
    fs.writeFileSync(file, "garbage");
    const plain = new JsonFile(file, fallback);
    expect(plain.read()).toEqual({ items: [] });
    expect(names()).toEqual(["things.json"]);
    expect(lines).toEqual([]);
  });
});
