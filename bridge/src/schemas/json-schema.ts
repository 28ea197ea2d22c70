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
import { fullFormats } from "ajv-formats/dist/formats.js";
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

const isDateTime = (fullFormats["date-time"] as { validate: (s: string) => boolean }).validate;
/** A string of JSON Schema's format "date-time", checked as ajv-formats checks it (RFC 3339, time zone required). */
export const jsonDateTime = () =>
  z
    .string()
    .refine((s) => isDateTime(s), { error: 'must match format "date-time"' })
    .meta({ format: "date-time" });

/**
 * A YAML/JSON key named "__proto__" is an ordinary key in the data (the YAML reader and JSON.parse
 * define it as an own property), but zod's records skip it unchecked. It is renamed to this
 * stand-in while zod reads the map and named back afterwards, in the values; error paths name it
 * with the stand-in.
 */
export const PROTO_STANDIN = "__proto__\u0000backup2mqtt";

function hideProto(input: unknown): unknown {
  if (!input || typeof input !== "object" || Array.isArray(input) || !Object.hasOwn(input, "__proto__")) return input;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) out[k === "__proto__" ? PROTO_STANDIN : k] = v;
  return out;
}

function restoreProto<T>(value: Record<string, T>): Record<string, T> {
  if (!Object.hasOwn(value, PROTO_STANDIN)) return value;
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === PROTO_STANDIN)
      Object.defineProperty(out, "__proto__", { value: v, writable: true, enumerable: true, configurable: true });
    else out[k] = v;
  }
  return out;
}

/**
 * JSON Schema's map: an object whose every value matches one schema (additionalProperties), every
 * key included. `checkKeys` sees all keys (by their real names) and runs even when a value is wrong.
 */
export function jsonRecord<V extends z.ZodType>(
  value: V,
  checkKeys?: (keys: string[], ctx: z.core.$RefinementCtx<unknown>) => void,
) {
  let map = z.record(z.string(), value);
  if (checkKeys)
    map = map.superRefine(
      (v, ctx) => {
        if (v && typeof v === "object" && !Array.isArray(v))
          checkKeys(
            Object.keys(v).map((k) => (k === PROTO_STANDIN ? "__proto__" : k)),
            ctx,
          );
      },
      // Also when a value is wrong: every key and every value is checked.
      { when: () => true },
    );
  const schema = z.preprocess(hideProto, map).transform((v) => restoreProto(v as Record<string, z.output<V>>));
  records.add(schema);
  return schema;
}

/** Maps made by jsonRecord: zod takes their renaming step for an optional input, toJsonSchema knows better. */
const records = new WeakSet<z.ZodType>();
const isRecord = (s: z.core.$ZodType | undefined): boolean =>
  !!s && (records.has(s as z.ZodType) || isRecord(s._zod.parent));

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
 * allowed values instead of first complaining about the type. Maps from jsonRecord without a
 * default are required.
 */
export function toJsonSchema(schema: z.ZodType, meta: SchemaFileMeta): Record<string, unknown> {
  const json = z.toJSONSchema(schema, {
    target: "draft-07",
    io: "input",
    unrepresentable: "any",
    override: ({ zodSchema, jsonSchema }) => {
      const type = zodSchema._zod.def.type;
      if (type === "enum" || type === "literal") delete jsonSchema.type;
      if (type === "object") {
        // A map given as is (no default, not optional) is required, as zod's own parse says.
        const shape = (zodSchema as z.ZodObject)._zod.def.shape;
        const required = new Set(jsonSchema.required ?? []);
        const all = Object.keys(shape).filter((k) => required.has(k) || isRecord(shape[k]));
        if (all.length) jsonSchema.required = all;
      }
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
