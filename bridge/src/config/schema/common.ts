/**
 * Pieces the config sections share: patterned strings, durations, keyed maps (records), and the
 * value lists of backup options. Error messages set here are the ones a config file's author reads.
 */
import { z } from "zod";
import { jsonPattern, jsonRecord } from "../../schemas/json-schema.js";

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
 * A map from free-form keys to values of one schema. With `keyPattern`, a key that does not match
 * is reported at the map (as a validator reports propertyNames), and its value is still checked.
 */
export function record<V extends z.ZodType>(value: V, keyPattern?: string) {
  if (!keyPattern) return jsonRecord(value);
  const re = jsonPattern(keyPattern);
  return jsonRecord(value, (keys, ctx) => {
    for (const key of keys) {
      if (re.test(key)) continue;
      ctx.addIssue({ code: "custom", message: patternMessage(keyPattern), params: { keyName: true } });
      ctx.addIssue({ code: "custom", message: "property name must be valid", params: { keyName: true } });
    }
  }).meta({ propertyNames: { pattern: keyPattern } });
}
