import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import type { Ajv, ErrorObject, ValidateFunction } from "ajv";
import { schemasDir } from "./paths.js";

/**
 * The one Ajv instance of the bridge, made at the first compile: ajv (CommonJS, loaded
 * synchronously) costs memory that a running bridge only needs once a command arrives.
 * verbose: errors carry the offending value and its schema, which describeErrors turns into sentences.
 */
let ajvInstance: Ajv | undefined;
function ajv(): Ajv {
  if (!ajvInstance) {
    const require = createRequire(import.meta.url);
    const { Ajv: AjvClass } = require("ajv") as typeof import("ajv");
    // ajv-formats is CommonJS; its plugin is module.exports (and .default).
    const formats = require("ajv-formats") as { default?: unknown };
    const addFormats = (formats.default ?? formats) as (a: Ajv) => Ajv;
    ajvInstance = new AjvClass({ allErrors: true, strict: false, verbose: true });
    addFormats(ajvInstance);
  }
  return ajvInstance;
}
const cache = new Map<string, ValidateFunction>();

/** The parsed JSON of one of the public schemas in bridge/schemas/ (e.g. "command"). */
export function schemaJson(name: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(schemasDir, `${name}.schema.json`), "utf8")) as Record<string, unknown>;
}

/** A validator for one of the public schemas in bridge/schemas/ (e.g. "command", "guest-state"). */
export function schemaValidator(name: string): ValidateFunction {
  let v = cache.get(name);
  if (!v) {
    v = ajv().compile(schemaJson(name));
    cache.set(name, v);
  }
  return v;
}

/** A validator for a (part of a) schema whose errors describeErrors turns into sentences. */
export function describingValidator(schema: object): ValidateFunction {
  return ajv().compile(schema);
}

/** A value as a person would quote it in a sentence: 'text', 5, true, null, an array, an object. */
export function quoteValue(v: unknown): string {
  if (typeof v === "string") return `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return String(v);
}

/** What kind of JSON value this is, with its article: "a string", "an array", "null". */
export function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "number") return "a number";
  if (typeof v === "boolean") return "a boolean";
  return `a ${typeof v}`;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  integer: "a whole number",
  boolean: "true or false",
  object: "an object",
  array: "an array",
  null: "null",
};

/** "a", "a or b", "a, b or c" */
function orList(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

/** "a", "a and b", "a, b and c" */
export function andList(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * The errors of the last validation, as sentences for people: "unknown field 'foo'", "'tier' is
 * missing", "'mode' must be one of snapshot, suspend, stop (got 'fast')", naming the offending
 * values (validators of another Ajv instance leave them out). `allowed` lists the valid field
 * names to name after unknown fields.
 */
export function describeErrors(v: ValidateFunction, opts: { allowed?: string[] } = {}): string {
  const errors = v.errors ?? [];
  const out: string[] = [];
  const unknown: string[] = [];
  for (const e of errors) {
    const field = fieldOf(e);
    if (e.keyword === "additionalProperties") {
      const name = String((e.params as { additionalProperty: string }).additionalProperty);
      unknown.push(`'${e.instancePath ? `${field.slice(1, -1)}.` : ""}${name}'`);
      continue;
    }
    out.push(sentence(e, field));
  }
  if (unknown.length) {
    const valid = opts.allowed?.length ? ` (valid fields: ${opts.allowed.join(", ")})` : "";
    out.unshift(`unknown ${unknown.length === 1 ? "field" : "fields"} ${andList(unknown)}${valid}`);
  }
  return [...new Set(out)].join("; ");
}

/** The field an error is about, quoted: 'mode', 'a.b'; "the value" for the whole document. */
function fieldOf(e: ErrorObject): string {
  if (!e.instancePath) return "the value";
  return `'${e.instancePath
    .slice(1)
    .split("/")
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".")}'`;
}

function sentence(e: ErrorObject, field: string): string {
  const p = e.params as Record<string, unknown>;
  const got = "data" in e ? ` (got ${quoteValue(e.data)})` : "";
  const description =
    typeof (e.parentSchema as { description?: unknown } | undefined)?.description === "string"
      ? (e.parentSchema as { description: string }).description
      : undefined;
  switch (e.keyword) {
    case "required": {
      const inner = e.instancePath ? `${field.slice(1, -1)}.` : "";
      return `'${inner}${String(p.missingProperty)}' is missing`;
    }
    case "enum":
      return `${field} must be one of ${(p.allowedValues as unknown[]).join(", ")}${got}`;
    case "const":
      return `${field} must be ${quoteValue(p.allowedValue)}${got}`;
    case "type": {
      const types = String(p.type)
        .split(",")
        .map((t) => TYPE_NAMES[t] ?? t);
      return `${field} must be ${orList(types)}${"data" in e ? ` (got ${jsonKind(e.data)})` : ""}`;
    }
    case "pattern":
    case "format":
      return description ? `${field} must be ${description}${got}` : `${field} is not in the expected format${got}`;
    case "maxLength":
      return `${field} must be at most ${plural(Number(p.limit), "character")} long${"data" in e && typeof e.data === "string" ? ` (got ${e.data.length})` : ""}`;
    case "minLength":
      return Number(p.limit) === 1
        ? `${field} must not be empty`
        : `${field} must be at least ${plural(Number(p.limit), "character")} long`;
    case "maximum":
    case "exclusiveMaximum":
    case "minimum":
    case "exclusiveMinimum":
      return `${field} must be ${String(p.comparison)} ${String(p.limit)}${got}`;
    default:
      return `${field} ${e.message ?? "is not valid"}${got}`;
  }
}
