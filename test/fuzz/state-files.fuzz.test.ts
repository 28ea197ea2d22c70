/**
 * Bad state files (issue 12, item 3): each kind of damage written into state_dir before the real
 * bridge starts (lab over HTTPS, broker, bridge — nothing mocked). The bridge must start, say once
 * per file which file it could not read, where the original went and what is lost, and keep the
 * original bytes in `<name>.corrupt-<time>`. Then the same properties over generated inputs
 * through the Store itself (fast-check): no throw, nothing lost.
 *
 * Counts (inputs tried, handled, crashes, lost) are printed at the end of the run.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../bridge/src/log.js";
import { Store, tierOverridesFile } from "../../bridge/src/state/store.js";
import { startStack, type Stack } from "../support/stack.js";

const FILES = ["inflight.json", "verifications.json", "restore-tests.json", "tier-overrides.json"] as const;
const STATE = (id: string) => `backup2mqtt/guest/${id}/state`;

const counts = { tried: 0, handled: 0, crashes: 0, lost: 0 };
afterAll(() => {
  process.stdout.write(
    `state files: ${counts.tried} inputs tried, ${counts.handled} handled, ${counts.crashes} crashes, ${counts.lost} lost\n`,
  );
});

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const valid = {
  "inflight.json": JSON.stringify(
    [
      {
        kind: "backup",
        source: "pve",
        upid: "UPID:pve1:000A1B2C:0000FFFF:65000000:vzdump:102:root@pam:",
        node: "pve1",
        vmid: 102,
        startedMs: 1_764_000_000_000,
        origin: "mqtt",
      },
    ],
    null,
    2,
  ),
  "verifications.json": JSON.stringify(
    [
      {
        source: "pve",
        vmid: 100,
        volid: "local:backup/vzdump-qemu-100.vma.zst",
        timeMs: 1_764_000_000_000,
        ok: true,
        method: "ssh",
      },
    ],
    null,
    2,
  ),
  "restore-tests.json": JSON.stringify(
    [
      {
        source: "pve",
        vmid: 100,
        volid: "local:backup/vzdump-qemu-100.vma.zst",
        scratchVmid: 9999,
        timeMs: 1_764_000_000_000,
        durationMs: 1000,
        ok: true,
        cleanedUp: true,
      },
    ],
    null,
    2,
  ),
  "tier-overrides.json": JSON.stringify({ home_100: "P2" }, null, 2),
};

/** One kind of damage: what goes where each state file belongs. */
interface Damage {
  name: string;
  write(file: string, base: (typeof FILES)[number]): void;
}
const bytes = (b: Buffer | string) => (file: string) => fs.writeFileSync(file, b);
const DAMAGE: Damage[] = [
  {
    name: "garbage bytes (not UTF-8, not JSON)",
    write: bytes(Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x22, 0x80, 0x0a, 0xc3, 0x28, 0x5d])),
  },
  { name: "an empty file", write: bytes("") },
  { name: '{"a":1}', write: bytes('{"a":1}') },
  { name: "[null]", write: bytes("[null]") },
  { name: '[{"upid":5}]', write: bytes('[{"upid":5}]') },
  {
    name: "truncated JSON (a good file cut in the middle)",
    write: (file, base) => fs.writeFileSync(file, valid[base].slice(0, Math.floor(valid[base].length / 2))),
  },
  {
    name: "a directory where the file belongs",
    write: (file) => {
      fs.mkdirSync(file);
      fs.writeFileSync(path.join(file, "left-inside"), "x");
    },
  },
];

/** What is at `p` (a file's bytes, or a directory's listing with its files' bytes), to compare before and after. */
function snapshot(p: string): string {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return fs.readFileSync(p).toString("base64");
  return JSON.stringify(fs.readdirSync(p).map((f) => [f, snapshot(path.join(p, f))]));
}

describe("the real bridge starts with damaged state files", () => {
  for (const damage of DAMAGE) {
    it(`${damage.name} in every state file`, async () => {
      const originals = new Map<string, string>();
      stack = await startStack({
        broker: "embedded",
        lab: { scenario: "seed" },
        configure: (cfg) => {
          for (const f of FILES) {
            const p = path.join(cfg.stateDir, f);
            damage.write(p, f);
            originals.set(f, snapshot(p));
          }
          // The append-only audit: a damaged line among good ones.
          fs.writeFileSync(
            path.join(cfg.stateDir, "audit.jsonl"),
            `${JSON.stringify({ time: "2026-12-02T18:15:00Z", action: "backup", target: "home_100", origin: "mqtt", result: "accepted" })}\n\u0000garbage\n`,
          );
        },
      });
      counts.tried += FILES.length;
      const s = stack;
      // It started and works: guests are published.
      await s.observer.until("a guest state", () => s.observer.json(STATE("home_100")));
      expect(s.service.engine.store.inflight).toEqual([]);
      const dir = s.cfg.stateDir;
      for (const f of FILES) {
        const lines = s.logs
          .map((l) => JSON.parse(l) as { level: number; msg: string; file?: string; moved_to?: string })
          .filter((l) => l.file === path.join(dir, f));
        expect(lines, `${f}: ${JSON.stringify(lines)}`).toHaveLength(1);
        expect(lines[0]!.level).toBe(50);
        expect(lines[0]!.msg.startsWith(f)).toBe(true);
        const aside = fs.readdirSync(dir).filter((n) => n.startsWith(`${f}.corrupt-`));
        expect(aside, f).toHaveLength(1);
        expect(aside[0]).toMatch(/\.corrupt-\d{8}T\d{6}Z$/);
        expect(lines[0]!.moved_to).toBe(path.join(dir, aside[0]!));
        expect(lines[0]!.msg).toContain(` to ${lines[0]!.moved_to}; `); // and then what is lost
        const kept = snapshot(path.join(dir, aside[0]!)) === originals.get(f);
        if (!kept) counts.lost++;
        expect(kept, `${f}: original bytes kept`).toBe(true);
        counts.handled++;
      }
      expect(s.service.engine.store.readAudit()).toMatchObject([{ target: "home_100", result: "accepted" }]);
      // Saving works again (the damaged file, even a directory, is out of the way).
      expect(
        s.service.engine.store.addInflight({
          kind: "backup",
          source: "pve",
          upid: "UPID:x",
          node: "pve1",
          vmid: 100,
          startedMs: Date.now(),
          origin: "test",
        }),
      ).toBe(true);
      expect(JSON.parse(fs.readFileSync(path.join(dir, "inflight.json"), "utf8"))).toMatchObject([{ upid: "UPID:x" }]);
    });
  }

  const root = process.getuid?.() === 0;
  // As root (CI, this machine) a mode-000 file can still be read, so there is no permission error to test.
  it.skipIf(root)("a file the bridge may not read (mode 000)", async () => {
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: "seed" },
      configure: (cfg) => {
        const p = path.join(cfg.stateDir, "inflight.json");
        fs.writeFileSync(p, valid["inflight.json"]);
        fs.chmodSync(p, 0o000);
      },
    });
    counts.tried++;
    const s = stack;
    await s.observer.until("a guest state", () => s.observer.json(STATE("home_100")));
    expect(
      s.logs.filter((l) => l.includes("inflight.json could not be read (the bridge may not read it)")),
    ).toHaveLength(1);
    const aside = fs.readdirSync(s.cfg.stateDir).filter((n) => n.startsWith("inflight.json.corrupt-"));
    expect(aside).toHaveLength(1);
    fs.chmodSync(path.join(s.cfg.stateDir, aside[0]!), 0o600);
    expect(fs.readFileSync(path.join(s.cfg.stateDir, aside[0]!), "utf8")).toBe(valid["inflight.json"]);
    counts.handled++;
  });
});

describe("generated state files through the Store", () => {
  const entry = fc.record(
    {
      kind: fc.oneof(fc.constantFrom("backup", "restore_test"), fc.string(), fc.integer()),
      source: fc.oneof(fc.constant("pve"), fc.integer(), fc.constant(null)),
      upid: fc.oneof(fc.string(), fc.integer()),
      node: fc.oneof(fc.constant("pve1"), fc.boolean()),
      vmid: fc.oneof(fc.integer({ min: 100, max: 999 }), fc.double(), fc.string()),
      startedMs: fc.oneof(fc.nat(), fc.constant("soon")),
      origin: fc.string(),
      volid: fc.string(),
      timeMs: fc.oneof(fc.nat(), fc.constant(null)),
      ok: fc.oneof(fc.boolean(), fc.integer()),
      method: fc.constantFrom("ssh", "pbs", "rsync"),
      scratchVmid: fc.nat(),
      durationMs: fc.nat(),
      cleanedUp: fc.boolean(),
    },
    { requiredKeys: [] },
  );
  const content = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? "")),
    fc.array(fc.oneof(entry, fc.constant(null)), { maxLength: 6 }).map((v) => Buffer.from(JSON.stringify(v))),
    fc
      .dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.constant(null)))
      .map((v) => Buffer.from(JSON.stringify(v))),
    fc
      .tuple(fc.constantFrom(...FILES), fc.nat())
      .map(([f, n]) => Buffer.from(valid[f].slice(0, n % (valid[f].length + 1)))),
  );

  it("never throws and never loses the original bytes (1,000 generated file sets)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-fuzz-state-"));
    try {
      fc.assert(
        fc.property(fc.tuple(content, content, content, content), (inputs) => {
          fs.rmSync(dir, { recursive: true, force: true });
          fs.mkdirSync(dir);
          for (const [i, f] of FILES.entries()) fs.writeFileSync(path.join(dir, f), inputs[i]!);
          const lines: Array<{ file?: string; moved_to?: string }> = [];
          const log = createLogger("debug", () => [], {
            write: (l: string) => {
              lines.push(JSON.parse(l));
              return true;
            },
          } as unknown as NodeJS.WritableStream);
          counts.tried += FILES.length;
          try {
            const store = new Store(dir, { log });
            expect(
              Array.isArray(store.inflight) && Array.isArray(store.verifications) && Array.isArray(store.restores),
            ).toBe(true);
            for (const t of store.inflight) expect(typeof t.upid).toBe("string");
            const overrides = tierOverridesFile(dir, { log }).read();
            for (const v of Object.values(overrides)) expect(typeof v).toBe("string");
          } catch (e) {
            counts.crashes++;
            throw e;
          }
          FILES.forEach((f, i) => {
            const p = path.join(dir, f);
            const logged = lines.filter((l) => l.file === p);
            expect(logged.length).toBeLessThanOrEqual(1);
            // Either the file was fine and is untouched, or its bytes are in the one .corrupt file the line names.
            const untouched = logged.length === 0 && fs.existsSync(p) && fs.readFileSync(p).equals(inputs[i]!);
            const aside = logged[0]?.moved_to;
            const movedIntact = !!aside && fs.readFileSync(aside).equals(inputs[i]!);
            if (!untouched && !movedIntact) counts.lost++;
            expect(untouched || movedIntact, `${f}: ${inputs[i]!.toString("base64")}`).toBe(true);
            counts.handled++;
          });
        }),
        { numRuns: 1000 },
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
