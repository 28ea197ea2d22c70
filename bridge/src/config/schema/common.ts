/**
 * Pieces the config sections share: patterned strings, durations, keyed maps (records), and the
 * value lists of backup options. Error messages set here are the ones a config file's author reads.
 */
import { z } from "zod";
import { jsonPattern } from "../../schemas/json-schema.js";

const patternMessage = (source: string) => `value does not have the expected form (pattern ${source})`;

/**
 * A string matching a pattern. Another string is refused with "value does not have the expected
 * form (pattern <pattern>)".
 */
export function patterned(source: string) {
  // meta: the JSON Schema keeps the pattern as written (RegExp.source would escape each "/").
  return z
    .string()
    .regex(jsonPattern(source), { error: patternMessage(source) })
    .meta({ pattern: source });
}

const DURATION = "^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w)$";
const DURATION_RE = jsonPattern(DURATION);
const durationText = () => patterned(DURATION);
/** A duration such as 90s, 30m, 26h, 8d or 1w; its bounds are checked after the schema (see ../checks.ts). */
export const duration = (description: string) => durationText().meta({ description });

/**
 * A duration or null. A wrong value is reported as a validator reports a failed anyOf: what each
 * alternative wanted, then "must match a schema in anyOf". (The pattern is checked after the union:
 * inside it, zod would report only the string alternative's complaint.)
 */
export const durationOrNull = (description: string) =>
  z
    .union([z.string().meta({ pattern: DURATION }), z.null()], { error: "must match a schema in anyOf" })
    .superRefine((v, ctx) => {
      if (typeof v !== "string" || DURATION_RE.test(v)) return;
      for (const message of [patternMessage(DURATION), "must be null", "must match a schema in anyOf"])
        ctx.addIssue({ code: "custom", message });
    })
    .meta({ description });

/** A source's name (proxmox, synology, pbs): unique across all sources. */
export const sourceName = (description?: string) => {
  const s = patterned("^[a-z0-9][a-z0-9_-]{0,31}$");
  return description ? s.meta({ description }) : s;
};
/** USER@REALM!TOKENID */
export const tokenId = (description: string) =>
  patterned("^[^@!\\s]+@[^@!\\s]+![A-Za-z][A-Za-z0-9._-]*$").meta({ description });
/** A source URL (its host, port and the absence of a path are checked after the schema). */
export const httpsUrl = (description: string) => patterned("^https://").meta({ description });
/** SHA-256 certificate fingerprint, AA:BB:… */
export const fingerprint = (description?: string) => {
  const s = patterned("^([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2}$");
  return description ? s.meta({ description }) : s;
};
/** A secret value (given here, as ${ENV} or as <key>_file). */
export const secret = (description = "Secret.") => z.string().meta({ description });

export const backupModes = ["snapshot", "suspend", "stop"] as const;
export const compressions = ["0", "1", "gzip", "lzo", "zstd"] as const;

/**
 * A YAML/JSON key named "__proto__" is an ordinary key in the file (the YAML reader defines it as
 * an own property); zod's records skip it. It is renamed to this stand-in while zod reads the map
 * and named back afterwards, in the values and in error paths.
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
 * A map from free-form keys to values of one schema. With `keyPattern`, a key that does not match
 * is reported at the map (as a validator reports propertyNames), and its value is still checked.
 */
export function record<V extends z.ZodType>(value: V, keyPattern?: string) {
  let map = z.record(z.string(), value);
  if (keyPattern) {
    const re = jsonPattern(keyPattern);
    map = map.superRefine(
      (v, ctx) => {
        if (!v || typeof v !== "object" || Array.isArray(v)) return;
        for (const key of Object.keys(v)) {
          if (re.test(key === PROTO_STANDIN ? "__proto__" : key)) continue;
          ctx.addIssue({
            code: "custom",
            message: `value does not have the expected form (pattern ${keyPattern})`,
            params: { keyName: true },
          });
          ctx.addIssue({ code: "custom", message: "property name must be valid", params: { keyName: true } });
        }
      },
      // Also when a value is wrong: every key and every value is checked.
      { when: () => true },
    );
  }
  const schema = z.preprocess(hideProto, map).transform((v) => restoreProto(v as Record<string, z.output<V>>));
  return keyPattern ? schema.meta({ propertyNames: { pattern: keyPattern } }) : schema;
}
