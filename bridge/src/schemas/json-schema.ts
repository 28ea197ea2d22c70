/**
 * zod building blocks that check exactly what their JSON Schema says when a JSON Schema validator
 * (Ajv, an editor) reads it, and the one function that turns a zod schema into a JSON Schema file.
 *
 * Where zod and JSON Schema disagree, these follow JSON Schema as Ajv implements it:
 * - a pattern is matched with the `u` flag, so `\S{1,50}` counts characters, not UTF-16 units;
 * - minLength / maxLength count characters (code points), not UTF-16 units;
 * - "integer" is any number without a fraction, including ±Infinity and integers above 2^53
 *   (Ajv with strict mode off), which z.int() refuses.
 */
import { z } from "zod";

/** A RegExp for a JSON Schema pattern, matched as JSON Schema validators do (unicode mode). */
export const jsonPattern = (source: string): RegExp => new RegExp(source, "u");

/** Characters (code points) in a string, as JSON Schema's minLength / maxLength count them. */
export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** A string of minLength..maxLength characters; the messages are Ajv's. */
export function lengthLimited(schema: z.ZodString, limits: { minLength?: number; maxLength?: number }): z.ZodString {
  let s = schema;
  const { minLength, maxLength } = limits;
  if (minLength !== undefined)
    s = s.refine((v) => codePoints(v) >= minLength, { error: `must NOT have fewer than ${minLength} characters` });
  if (maxLength !== undefined)
    s = s.refine((v) => codePoints(v) <= maxLength, { error: `must NOT have more than ${maxLength} characters` });
  return s.meta(limits);
}

/**
 * JSON Schema's "integer" with optional bounds; the messages are Ajv's. As Ajv does, a number that
 * is not an integer (a fraction, NaN) is also held against the bounds: NaN fails both.
 */
export function jsonInteger(bounds: { minimum?: number; maximum?: number } = {}) {
  // No check aborts (a failed abort would stop the checks of every enclosing map): the later ones skip non-numbers.
  const isNumber = (v: unknown): v is number => typeof v === "number";
  let s = z
    .custom<number>(isNumber, { error: "must be integer", abort: false })
    .refine((v) => !isNumber(v) || (!(v % 1) && !Number.isNaN(v)), { error: "must be integer" });
  const { minimum, maximum } = bounds;
  if (maximum !== undefined) s = s.refine((v) => !isNumber(v) || v <= maximum, { error: `must be <= ${maximum}` });
  if (minimum !== undefined) s = s.refine((v) => !isNumber(v) || v >= minimum, { error: `must be >= ${minimum}` });
  return s.meta({ type: "integer", ...bounds });
}

export interface SchemaFileMeta {
  /** e.g. https://backup2mqtt.dev/schemas/config.schema.json */
  id: string;
  title: string;
  description?: string;
}

/**
 * The JSON Schema (draft-07) of a zod schema, as written to bridge/schemas/<name>.schema.json.
 * io "input": keys with a default stay optional (what a person may write, not what the bridge
 * reads). Enums and constants carry no "type" next to their values, so a validator names the
 * allowed values instead of first complaining about the type.
 */
export function toJsonSchema(schema: z.ZodType, meta: SchemaFileMeta): Record<string, unknown> {
  const json = z.toJSONSchema(schema, {
    target: "draft-07",
    io: "input",
    unrepresentable: "any",
    override: ({ zodSchema, jsonSchema }) => {
      const type = zodSchema._zod.def.type;
      if (type === "enum" || type === "literal") delete jsonSchema.type;
    },
  }) as Record<string, unknown>;
  // The file's identity first, then what the document is, then the rest as zod wrote it.
  const { $schema, type, required, ...rest } = json;
  return {
    $schema,
    $id: meta.id,
    title: meta.title,
    ...(meta.description ? { description: meta.description } : {}),
    ...(type ? { type } : {}),
    ...(required ? { required } : {}),
    ...rest,
  };
}

/** The text of a schema file: two-space JSON with a final newline. */
export const schemaFileText = (json: unknown): string => `${JSON.stringify(json, null, 2)}\n`;
