import fs from "node:fs";
import path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { schemasDir } from "./paths.js";

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv) => Ajv;

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const cache = new Map<string, ValidateFunction>();

/** A validator for one of the public schemas in schemas/ (e.g. "command", "guest-state"). */
export function schemaValidator(name: string): ValidateFunction {
  let v = cache.get(name);
  if (!v) {
    v = ajv.compile(JSON.parse(fs.readFileSync(path.join(schemasDir, `${name}.schema.json`), "utf8")));
    cache.set(name, v);
  }
  return v;
}

export function describeErrors(v: ValidateFunction): string {
  return (v.errors ?? [])
    .map((e) => `${e.instancePath || "(payload)"} ${e.message}${e.params && "allowedValues" in e.params ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(", ")})` : ""}`)
    .join("; ");
}
