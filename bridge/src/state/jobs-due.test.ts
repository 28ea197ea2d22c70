/**
 * jobs-due.json, the missed-jobs watchdog's memory in state_dir: written only when it changed, read
 * back by the next Store (a restart), and a damaged entry dropped with one log line while the good
 * ones are kept.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import type { JobsDueState } from "../policy/missed-jobs.js";
import { Store } from "./store.js";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-jobs-due-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const state: JobsDueState = {
  "pve/backup-web": { schedule: "02:00", sinceMs: 1_000, dueMs: 2_000, ranMs: { pve1: 1_500 } },
  "pve/weekly": { schedule: "sun 03:00", sinceMs: 1_000, dueMs: null, ranMs: {} },
};

describe("jobs-due.json", () => {
  it("survives a restart; an unchanged state is not written again", () => {
    const a = new Store(dir);
    expect(a.jobsDue).toEqual({});
    a.setJobsDue(state);
    const file = path.join(dir, "jobs-due.json");
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual(state);
    const mtime = fs.statSync(file).mtimeMs;
    fs.utimesSync(file, new Date(0), new Date(0));
    a.setJobsDue(structuredClone(state));
    expect(fs.statSync(file).mtimeMs).toBe(0);
    expect(mtime).toBeGreaterThan(0);
    expect(new Store(dir).jobsDue).toEqual(state);
  });

  it("a damaged entry is dropped and said once; the others are kept", () => {
    fs.writeFileSync(
      path.join(dir, "jobs-due.json"),
      JSON.stringify({ ...state, "pve/broken": { schedule: 5, sinceMs: "yesterday" } }),
    );
    const lines: string[] = [];
    const log = createLogger("info", () => [], {
      write: (l: string) => lines.push(l) > 0,
    } as unknown as NodeJS.WritableStream);
    const s = new Store(dir, { log });
    expect(s.jobsDue).toEqual(state);
    expect(s.problems.map((p) => p.file)).toEqual([path.join(dir, "jobs-due.json")]);
    expect(lines.join("")).toMatch(/missed-jobs watchdog starts over for that backup job/);
  });
});
