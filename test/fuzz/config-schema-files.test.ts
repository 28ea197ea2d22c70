/**
 * The JSON Schema files of bridge/schemas/ that are generated from zod (bridge/src/schemas/files.ts):
 * each committed file is exactly what `npm run schemas` writes. And the command payload, whose
 * hand-written JSON Schema (legacy-command.schema.json) and hand-written Command type became one
 * zod schema: on hand-picked and fuzzed payloads, the legacy file, the generated file and zod accept
 * and refuse alike, and the command router's per-action reasons (built from the file's branches)
 * are word for word the same.
 */
import fs from "node:fs";
import path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { commandSchema, type Command } from "../../bridge/src/schemas/command.js";
import { generatedSchemaFiles } from "../../bridge/src/schemas/files.js";
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
const commandTypeUnchanged: Same<LegacyCommand, Command> = true;

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

  it("both files have the same actions", () =>
    expect([...current.byAction.keys()]).toEqual([...legacy.byAction.keys()]));

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
