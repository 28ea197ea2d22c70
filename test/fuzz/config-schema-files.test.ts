/**
 * The JSON Schema files of bridge/schemas/ that are generated from zod (bridge/src/schemas/files.ts):
 * each committed file is exactly what `npm run schemas` writes. And each payload whose hand-written
 * JSON Schema became a zod schema accepts and refuses as before:
 * - the command: on hand-picked and fuzzed payloads, the legacy file (legacy-command.schema.json),
 *   the generated file and zod agree, the command router's per-action reasons (built from the
 *   file's branches) are word for word the same, and the inferred Command type is the hand-written one;
 * - guest state, bridge info and event: on every such payload of the recorded demo traffic
 *   (test/golden/demo-traffic.json, MQTT and HTTP) and on fuzzed changes of them, the legacy file
 *   (legacy-<name>.schema.json), the generated file (both read by Ajv with formats, as the tests do)
 *   and zod agree. The guest state changed since its legacy file, on purpose (0ddc14b): the finding
 *   code retention_drift became retention_short (the legacy file gets that rename), and it gained
 *   the phrases (status_phrase, reason_phrases, findings[].key/params) and, with issue 18, the
 *   fallback; the bridge info gained missed_jobs. The new schemas type those keys and the legacy
 *   files, open objects, let them through as anything. There the new schemas may be stricter than
 *   the legacy files, and only there: with those keys taken out, all three agree.
 */
import fs from "node:fs";
import path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bridgeInfoSchema } from "../../bridge/src/schemas/bridge-info.js";
import { commandSchema, type Command } from "../../bridge/src/schemas/command.js";
import { eventSchema } from "../../bridge/src/schemas/event.js";
import { guestStateSchema } from "../../bridge/src/schemas/guest-state.js";
import { generatedSchemaFiles } from "../../bridge/src/schemas/files.js";
import type { z } from "zod";
import { schemasDir } from "../../bridge/src/util/paths.js";
import { describeErrors, describingValidator } from "../../bridge/src/util/schemas.js";

describe("generated schema files", () => {
  it.each(Object.entries(generatedSchemaFiles()))(
    "bridge/schemas/%s is what `npm run schemas` writes",
    (name, text) => {
      expect(
        fs.readFileSync(path.join(schemasDir, name), "utf8"),
        `run \`npm run schemas\` and commit bridge/schemas/${name}`,
      ).toBe(text);
    },
  );
});

/** The Command union as it was written by hand, before it was inferred from the zod schema. */
type LegacyCommand =
  | { action: "backup"; storage?: string; mode?: "snapshot" | "suspend" | "stop"; request_id?: string; origin?: string }
  | { action: "verify"; request_id?: string; origin?: string }
  | { action: "restore_test"; request_id?: string; origin?: string }
  | { action: "set_tier"; tier: string; request_id?: string; origin?: string }
  | { action: "refresh"; request_id?: string; origin?: string }
  | { action: "run"; request_id?: string; origin?: string }
  | { action: "forget"; guest: string; request_id?: string; origin?: string };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Added after the hand-written union (issue 18); the rest is unchanged. */
type AddedSince = Extract<Command, { action: "approve_fallback" | "stop_backup" }>;
const commandTypeUnchanged: Same<LegacyCommand, Exclude<Command, AddedSince>> = true;

interface Branches {
  whole: ValidateFunction;
  /** Per action, as the command router builds them: a describing validator and the fields allowed. */
  byAction: Map<string, { validate: ValidateFunction; fields: string[] }>;
}
function branches(file: string): Branches {
  const schema = JSON.parse(fs.readFileSync(file, "utf8")) as {
    oneOf: { properties: Record<string, { const?: string }> }[];
  };
  const byAction = new Map<string, { validate: ValidateFunction; fields: string[] }>();
  for (const branch of schema.oneOf) {
    const action = branch.properties.action?.const;
    if (action)
      byAction.set(action, {
        validate: describingValidator({ type: "object", ...branch }),
        fields: Object.keys(branch.properties).filter((k) => k !== "action"),
      });
  }
  return { whole: new Ajv({ allErrors: true, strict: false }).compile(schema), byAction };
}

describe("the zod command schema accepts and refuses as the hand-written JSON Schema did", () => {
  const legacy = branches(path.join(import.meta.dirname, "legacy-command.schema.json"));
  const current = branches(path.join(schemasDir, "command.schema.json"));
  const ACTIONS = ["backup", "verify", "restore_test", "set_tier", "refresh", "run", "forget"];
  let compared = 0;
  let accepted = 0;
  const compare = (payload: unknown) => {
    const was = legacy.whole(payload);
    expect(current.whole(payload), JSON.stringify(payload)).toBe(was);
    expect(commandSchema.safeParse(payload).success, JSON.stringify(payload)).toBe(was);
    const action = (payload as { action?: unknown } | null)?.action;
    if (typeof action === "string" && legacy.byAction.has(action)) {
      const a = legacy.byAction.get(action)!;
      const b = current.byAction.get(action)!;
      expect(b.fields).toEqual(a.fields);
      const ok = a.validate(payload);
      expect(b.validate(payload)).toBe(ok);
      if (!ok)
        expect(describeErrors(b.validate, { allowed: b.fields }), JSON.stringify(payload)).toBe(
          describeErrors(a.validate, { allowed: a.fields }),
        );
    }
    compared++;
    if (was) accepted++;
  };

  it("the Command type is the one written by hand before", () => expect(commandTypeUnchanged).toBe(true));

  /** Actions added after the legacy file (issue 18): approve_fallback, stop_backup. */
  const ADDED = new Set(["approve_fallback", "stop_backup"]);
  it("both files have the same actions, apart from those added since", () =>
    expect([...current.byAction.keys()].filter((a) => !ADDED.has(a))).toEqual([...legacy.byAction.keys()]));

  it("hand-picked payloads", () => {
    const long = (n: number) => "x".repeat(n);
    const astral = (n: number) => "😀".repeat(n);
    const payloads: unknown[] = [
      ...ACTIONS.map((action) => ({ action })),
      { action: "backup", storage: "local", mode: "snapshot", request_id: "r1", origin: "ha" },
      { action: "backup", storage: "bad storage" },
      { action: "backup", storage: "_x" },
      { action: "backup", mode: "fast" },
      { action: "backup", mode: 5 },
      { action: "backup", storage: 5, mode: null, extra: 1 },
      { action: "set_tier" },
      { action: "set_tier", tier: "P1" },
      { action: "set_tier", tier: long(17) },
      { action: "set_tier", tier: astral(16) },
      { action: "set_tier", tier: astral(17) },
      { action: "forget", guest: "home_103" },
      { action: "forget", guest: "home 103" },
      { action: "forget", guest: long(129) },
      { action: "forget", guest: "" },
      { action: "verify", request_id: long(64) },
      { action: "verify", request_id: long(65) },
      { action: "verify", request_id: astral(64) },
      { action: "verify", origin: astral(65) },
      { action: "refresh", tier: "P1" },
      { action: "run", guest: "x", storage: "y" },
      { action: "nope" },
      { action: 5 },
      {},
      [],
      null,
      "backup",
      { action: "backup", __proto__: 1 },
      JSON.parse('{"action":"verify","__proto__":{"x":1}}'),
    ];
    for (const p of payloads) compare(p);
  });

  it("fuzzed payloads: any action, any field, any value", () => {
    const field = fc.constantFrom(
      "action",
      "storage",
      "mode",
      "request_id",
      "origin",
      "tier",
      "guest",
      "extra",
      "__proto__",
      "constructor",
    );
    const value = fc.oneof(
      fc.constantFrom(
        ...ACTIONS,
        "snapshot",
        "suspend",
        "stop",
        "local",
        "home_103",
        "P1",
        "",
        "a b",
        "_x",
        "😀".repeat(40),
        "x".repeat(70),
        "x".repeat(130),
      ),
      fc.string({ maxLength: 140, unit: "binary" }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const payload = fc.oneof(
      fc
        .tuple(fc.constantFrom(...ACTIONS), fc.dictionary(field, value, { maxKeys: 4 }))
        .map(([action, rest]) => ({ ...rest, action })),
      fc.dictionary(field, value, { maxKeys: 5 }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    fc.assert(
      fc.property(payload, (p) => compare(p)),
      { numRuns: 5000, seed: 3 },
    );
    console.log(`command schema: ${compared} payloads compared, ${accepted} accepted by both`);
  });
});

const RUNS = 2000;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  a: Ajv,
) => Ajv;
/** A validator of a schema file as the integration tests read it (Ajv with formats); one Ajv each, as files share their $id. */
const fileValidator = (file: string, amend: (schema: Record<string, unknown>) => void = () => {}) => {
  const schema = JSON.parse(fs.readFileSync(file, "utf8"));
  amend(schema);
  return addFormats(new Ajv({ allErrors: true, strict: false })).compile(schema);
};

/** The legacy guest state with the finding code renamed since (retention_drift is retention_short). */
const renameRetentionCode = (schema: Record<string, unknown>) => {
  const codes = (schema as { properties: { findings: { items: { properties: { code: { enum: string[] } } } } } })
    .properties.findings.items.properties.code.enum;
  expect(codes).toContain("retention_drift");
  codes.splice(codes.indexOf("retention_drift"), 1, "retention_short");
};

/**
 * The guest state's keys added after its legacy file, as JSON pointers (Ajv's instancePath): the
 * phrases, the self-healing fallback (issue 18) and what the newest backup is (protection, issue 20).
 * The legacy file lets anything through there;
 * the new schemas check them.
 */
const GUEST_STATE_ADDED =
  /^\/(status_phrase|reason_phrases|fallback|protection)(\/|$)|^\/findings\/\d+\/(key|params)(\/|$)/;

/** A copy of a guest state without the keys added after the legacy file (see GUEST_STATE_ADDED). */
function withoutPhrases(payload: unknown): unknown {
  const copy = structuredClone(payload);
  if (!copy || typeof copy !== "object" || Array.isArray(copy)) return copy;
  const state = copy as Record<string, unknown>;
  delete state.status_phrase;
  delete state.reason_phrases;
  delete state.fallback;
  delete state.protection;
  if (Array.isArray(state.findings))
    for (const f of state.findings)
      if (f && typeof f === "object" && !Array.isArray(f)) {
        delete (f as Record<string, unknown>).key;
        delete (f as Record<string, unknown>).params;
      }
  return copy;
}

/** A copy of a payload without the named top-level keys. */
const withoutKeys =
  (...keys: string[]) =>
  (payload: unknown): unknown => {
    const copy = structuredClone(payload);
    if (copy && typeof copy === "object" && !Array.isArray(copy))
      for (const k of keys) delete (copy as Record<string, unknown>)[k];
    return copy;
  };

interface Recording {
  mqtt: Record<string, { payload: unknown }[]>;
  http: Record<string, { body: unknown }>;
}
const recording = JSON.parse(
  fs.readFileSync(path.join(import.meta.dirname, "../golden/demo-traffic.json"), "utf8"),
) as Recording;
const published = (topic: RegExp) =>
  Object.entries(recording.mqtt)
    .filter(([t]) => topic.test(t))
    .flatMap(([, ms]) => ms.map((m) => m.payload))
    .filter((p) => p && typeof p === "object");
const guestsOverHttp = Object.entries(recording.http)
  .filter(([k]) => k.endsWith("GET /api/v1/guests") || /GET \/api\/v1\/guests\/home_/.test(k))
  .flatMap(([, a]) => ((a.body as { guests?: unknown[] }).guests ?? [a.body]) as unknown[]);

const PAYLOADS: {
  name: string;
  zod: z.ZodType;
  recorded: unknown[];
  /** Changes since the legacy file: a rename it gets, keys added after it (where the new schemas may be stricter). */
  since?: { amend: (schema: Record<string, unknown>) => void; added: RegExp; without: (p: unknown) => unknown };
}[] = [
  {
    name: "guest-state",
    zod: guestStateSchema,
    recorded: [...published(/\/guest\/[^/]+\/state$/), ...guestsOverHttp],
    since: { amend: renameRetentionCode, added: GUEST_STATE_ADDED, without: withoutPhrases },
  },
  {
    name: "bridge-info",
    zod: bridgeInfoSchema,
    recorded: published(/\/bridge\/info$/),
    // missed_jobs (issue 18) came after the legacy file, which lets anything through under it.
    since: { amend: () => {}, added: /^\/missed_jobs(\/|$)/, without: withoutKeys("missed_jobs") },
  },
  { name: "event", zod: eventSchema, recorded: published(/\/event$/) },
];

describe.each(PAYLOADS)(
  "the zod $name schema accepts and refuses as the hand-written JSON Schema did",
  ({ name, zod, recorded, since }) => {
    const legacy = fileValidator(path.join(import.meta.dirname, `legacy-${name}.schema.json`), since?.amend);
    const current = fileValidator(path.join(schemasDir, `${name}.schema.json`));
    /** Payloads the new schemas refuse, the legacy file accepts, for what they hold under an added key. */
    let stricter = 0;
    const compare = (payload: unknown) => {
      const text = JSON.stringify(payload);
      const was = legacy(payload);
      const now = current(payload);
      // The generated file and zod agree everywhere.
      expect(zod.safeParse(payload).success, text).toBe(now);
      if (!since) {
        expect(now, text).toBe(was);
        return now;
      }
      if (now !== was) {
        // Only stricter, and only for what is under a key added after the legacy file.
        expect({ was, now }, text).toEqual({ was: true, now: false });
        const elsewhere = (current.errors ?? []).filter((e) => !since.added.test(e.instancePath));
        expect(elsewhere, text).toEqual([]);
        stricter++;
      }
      // Without the added keys, all three agree, as before.
      const rest = since.without(payload);
      const restWas = legacy(rest);
      expect(current(rest), `without the added keys: ${text}`).toBe(restWas);
      expect(zod.safeParse(rest).success, `without the added keys: ${text}`).toBe(restWas);
      if (now !== was) expect(restWas, `without the added keys: ${text}`).toBe(true);
      return now;
    };

    it("every payload of the recorded demo traffic: valid for all three", () => {
      expect(recorded.length).toBeGreaterThan(0);
      for (const p of recorded) expect(compare(p), JSON.stringify(p)).toBe(true);
    });

    it("fuzzed changes of them: a value replaced, a key removed or added, anywhere", () => {
      const paths: { at: number; path: (string | number)[] }[] = [];
      recorded.forEach((p, at) => {
        const walk = (v: unknown, path: (string | number)[]) => {
          paths.push({ at, path });
          if (Array.isArray(v)) for (const [i, x] of v.entries()) walk(x, [...path, i]);
          else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
        };
        walk(p, []);
      });
      const odd = fc.constantFrom<unknown>(
        "2026-06-02T07:00:00.000Z",
        "2026-06-02T07:00:00+02:00",
        "2026-06-02",
        "2026-06-02T07:00:00",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "",
        "home_100",
        "Home-100",
        "qemu",
        "ok",
        "P1",
        "command_rejected",
        "retention_short",
        "retention_drift",
        null,
        true,
        0,
        -1,
        1,
        1.5,
        100,
        101,
        Infinity,
        Number.NaN,
        [],
        {},
        ["x"],
        [{}],
      );
      const value = fc.oneof(odd, fc.jsonValue({ maxDepth: 2 }));
      const key = fc.oneof(
        fc.constantFrom("__proto__", "constructor", "extra", "time", "status"),
        fc.string({ maxLength: 8 }),
      );
      const edit = fc.tuple(fc.nat(paths.length - 1), fc.constantFrom("set", "delete", "add"), value, key);
      let accepted = 0;
      fc.assert(
        fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
          const copies = new Map<number, unknown>();
          let payload: unknown;
          for (const [i, op, v, k] of edits) {
            const { at, path: p } = paths[i]!;
            if (!copies.has(at)) copies.set(at, structuredClone(recorded[at]));
            payload = copies.get(at);
            edit1(payload, p, op, v, k);
          }
          if (compare(payload)) accepted++;
        }),
        { numRuns: RUNS, seed: 5 },
      );
      console.log(
        `${name}: ${RUNS} changed payloads compared, ${accepted} still valid` +
          (since ? `, ${stricter} refused only for an added key` : ""),
      );
      // The new schemas' checks of the added keys are exercised (the fuzz changes them too).
      if (since) expect(stricter).toBeGreaterThan(0);
    });
  },
);

describe("the guest state's finding code retention_drift, renamed retention_short", () => {
  it("is retention_short for the amended legacy file, the generated file and zod alike", () => {
    const legacy = fileValidator(path.join(import.meta.dirname, "legacy-guest-state.schema.json"), renameRetentionCode);
    const current = fileValidator(path.join(schemasDir, "guest-state.schema.json"));
    const withFindings = PAYLOADS[0]!.recorded.find((p) => ((p as { findings?: unknown[] }).findings ?? []).length > 0);
    expect(withFindings).toBeDefined();
    for (const [code, valid] of [
      ["retention_short", true],
      ["retention_drift", false],
    ] as const) {
      const payload = structuredClone(withFindings) as { findings: { code: string }[] };
      payload.findings[0]!.code = code;
      expect([legacy(payload), current(payload), guestStateSchema.safeParse(payload).success], code).toEqual([
        valid,
        valid,
        valid,
      ]);
    }
  });
});

/** One change at a path of a payload (a path that no longer exists is left alone). */
function edit1(root: unknown, at: (string | number)[], op: string, value: unknown, key: string): void {
  let parent = root;
  for (const p of at.slice(0, -1))
    parent = parent && typeof parent === "object" ? (parent as Record<string | number, unknown>)[p] : undefined;
  const last = at[at.length - 1];
  const own = (o: object, k: string, v: unknown) =>
    Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  if (!parent || typeof parent !== "object" || last === undefined) {
    if (op === "add" && root && typeof root === "object" && !Array.isArray(root))
      own(root, key, structuredClone(value));
    return;
  }
  const c = parent as Record<string | number, unknown>;
  if (op === "set") c[last] = structuredClone(value);
  else if (op === "delete") Array.isArray(c) && typeof last === "number" ? c.splice(last, 1) : delete c[last];
  else if (op === "add" && c[last] && typeof c[last] === "object" && !Array.isArray(c[last]))
    own(c[last] as object, key, structuredClone(value));
}
