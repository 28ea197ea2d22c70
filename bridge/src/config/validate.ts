/**
 * Validates a config file's data against its zod schema (./schema/) and words every failure as a
 * problem with its key path: `missing required key "url"` at the mapping that lacks it, `unknown key
 * "polling"` at the key, `must be string`, `must be one of "snapshot", "suspend", "stop"`, `value
 * does not have the expected form (…)`. Problems come in the order a JSON Schema validator walks
 * the file: at each mapping its missing keys, then its misnamed keys, then its unknown keys, then
 * its values in the schema's order (list items and map entries in the file's order).
 */
import type { z } from "zod";
import { PROTO_STANDIN } from "../schemas/json-schema.js";
import { configFileSchema, type ConfigFile } from "./schema/index.js";
import type { PathPart } from "./yaml-locations.js";

export interface SchemaProblem {
  path: PathPart[];
  message: string;
  /** Point at the key rather than its value (unknown keys). */
  atKey: boolean;
}

export type Validated = { ok: true; file: ConfigFile } | { ok: false; problems: SchemaProblem[] };

export function validateConfigFile(data: unknown): Validated {
  const r = configFileSchema.safeParse(data);
  if (r.success) return { ok: true, file: r.data };
  return {
    ok: false,
    problems: inWalkOrder(found(r.error.issues, [], data)).map(({ path, message, atKey }) => ({
      path,
      message,
      atKey,
    })),
  };
}

/** Where in a mapping's report a problem stands (see the file comment). */
const Phase = { Own: 0, MissingKey: 1, KeyName: 2, UnknownKey: 3, Child: 4 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

interface Found extends SchemaProblem {
  /** The node whose report holds the problem (a missing or unknown key belongs to its mapping). */
  node: PathPart[];
  phase: Phase;
  seq: number;
}

const TYPE_NAMES: Record<string, string> = { record: "object" };

/** Key paths as the messages always named them: a key made of digits only reads as an index, guests[100].tier. */
const asPath = (parts: readonly PropertyKey[]): PathPart[] =>
  parts.map((p) =>
    p === PROTO_STANDIN ? "__proto__" : typeof p === "string" && /^[0-9]+$/.test(p) ? Number(p) : (p as PathPart),
  );

/** The key at `parts` is absent from a mapping that exists. */
function isMissing(data: unknown, parts: readonly PropertyKey[]): boolean {
  let parent = data;
  for (const p of parts.slice(0, -1)) {
    if (!parent || typeof parent !== "object") return false;
    parent = (parent as Record<PropertyKey, unknown>)[p === PROTO_STANDIN ? "__proto__" : p];
  }
  const last = parts[parts.length - 1];
  return (
    last !== undefined &&
    !!parent &&
    typeof parent === "object" &&
    !Array.isArray(parent) &&
    !Object.hasOwn(parent, last === PROTO_STANDIN ? "__proto__" : last)
  );
}

function found(
  issues: readonly z.core.$ZodIssue[],
  base: readonly PropertyKey[],
  data: unknown,
  out: Found[] = [],
): Found[] {
  const add = (node: PathPart[], phase: Phase, path: PathPart[], message: string, atKey = false) =>
    out.push({ node, phase, path, message, atKey, seq: out.length });
  for (const issue of issues) {
    const raw = [...base, ...issue.path];
    const path = asPath(raw);
    switch (issue.code) {
      case "unrecognized_keys":
        for (const key of issue.keys) add(path, Phase.UnknownKey, [...path, key], `unknown key "${key}"`, true);
        break;
      case "invalid_union":
        // Each alternative's complaint, then that none matched.
        for (const branch of issue.errors) found(branch, raw, data, out);
        add(path, Phase.Own, path, issue.message);
        break;
      case "invalid_type":
      case "custom":
        if (isMissing(data, raw)) {
          const parent = path.slice(0, -1);
          add(parent, Phase.MissingKey, parent, `missing required key "${String(raw[raw.length - 1])}"`);
        } else if (issue.code === "custom")
          add(path, issue.params?.keyName ? Phase.KeyName : Phase.Own, path, issue.message);
        else add(path, Phase.Own, path, `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`);
        break;
      case "invalid_value":
        add(path, Phase.Own, path, `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`);
        break;
      default:
        add(path, Phase.Own, path, issue.message);
    }
  }
  return out;
}

/**
 * zod reports a mapping's values in schema order and its unknown keys last; a missing key where
 * the key would be. Sorted here into the walk order of the file comment: each problem's rank is,
 * for every mapping or list on its way, the position of the branch taken (the first problem seen
 * under it, as zod visits branches in order), then its phase at its own node.
 */
function inWalkOrder(all: Found[]): Found[] {
  const first = new Map<string, number>();
  for (const f of all)
    for (let i = 1; i <= f.node.length; i++) {
      const k = JSON.stringify(f.node.slice(0, i));
      if (!first.has(k)) first.set(k, f.seq);
    }
  const rank = (f: Found) => {
    const r: number[] = [];
    for (let i = 1; i <= f.node.length; i++) r.push(Phase.Child, first.get(JSON.stringify(f.node.slice(0, i)))!);
    r.push(f.phase);
    return r;
  };
  const ranked = all.map((f) => ({ f, r: rank(f) }));
  ranked.sort((a, b) => {
    for (let i = 0; i < Math.min(a.r.length, b.r.length); i++) if (a.r[i] !== b.r[i]) return a.r[i]! - b.r[i]!;
    return a.r.length - b.r.length || a.f.seq - b.f.seq;
  });
  return ranked.map((x) => x.f);
}
