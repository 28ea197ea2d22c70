/**
 * The YAML tree before validation, where every problem still has its line: ${VAR} expansion,
 * <secret>_file keys replaced by the file's content, duplicate keys and keys that are lists or
 * mappings, and the keys of guests (VMIDs or guest names).
 */
import fs from "node:fs";
import { isMap, isScalar, isSeq, type Document, type Node } from "yaml";
import { guestKeyProblem } from "./value-checks.js";
import type { PathPart } from "./yaml-locations.js";

/** Keys whose value is a secret: scrubbed from logs and dumps, and also accepted as <key>_file. */
export const SECRET_KEYS = new Set(["password", "token_secret", "token", "webhook_secret"]);

/** Keys of guests: must be VMIDs or guest names, each once. One pass over the mapping. */
export function checkGuestKeys(
  root: Node | null,
  problemAtNode: (p: PathPart[], n: Node | null | undefined, m: string) => void,
): void {
  if (!isMap(root)) return;
  const guests = root.items.find((it) => isScalar(it.key) && it.key.value === "guests")?.value as
    | Node
    | null
    | undefined;
  if (!isMap(guests)) return;
  for (const pair of guests.items) {
    const k = pair.key as Node | null;
    if (!isScalar(k)) continue; // reported by expandTree (a list or mapping as a key)
    const v = k.value;
    const text = typeof v === "string" ? v : typeof v === "number" && Number.isInteger(v) ? String(v) : null;
    const problem =
      text === null
        ? `${v === null ? "an empty key" : `${JSON.stringify(v)}`} is not a guest key; write a VMID (100-999999999) or a guest name as PVE shows it`
        : guestKeyProblem(text);
    if (problem) problemAtNode(["guests", text ?? String(v ?? "")], k, problem);
  }
}

/** Walks the YAML tree: expands ${VAR} in scalars, replaces <secret>_file keys by the file's content. */
export function expandTree(
  doc: Document,
  node: Node | null,
  at: PathPart[],
  env: NodeJS.ProcessEnv,
  problemAt: (p: PathPart[], m: string, atKey?: boolean) => void,
  problemAtNode: (p: PathPart[], n: Node | null | undefined, m: string) => void,
  lineOf: (n: Node) => number | undefined,
  sourceOf: (n: Node) => string,
  secrets: string[],
): void {
  if (!node) return;
  if (isMap(node)) {
    const seen = new Map<string, Node>();
    for (const pair of [...node.items]) {
      const keyNode = pair.key as Node | null;
      if (keyNode && !isScalar(keyNode)) {
        problemAtNode(
          [...at, sourceOf(keyNode)],
          keyNode,
          `a key must be a plain value, not a ${isSeq(keyNode) ? "list" : "mapping"}`,
        );
        continue;
      }
      const key = isScalar(keyNode) ? String(keyNode.value ?? "") : "";
      const first = seen.get(key);
      if (first) {
        const line = lineOf(first);
        problemAtNode([...at, key], keyNode, `duplicate key "${key}"${line ? ` (first on line ${line})` : ""}`);
        continue;
      }
      if (keyNode) seen.set(key, keyNode);
      const value = pair.value as Node | null;
      const here = [...at, key];
      if (key.endsWith("_file") && SECRET_KEYS.has(key.slice(0, -5)) && isScalar(value)) {
        const target = key.slice(0, -5);
        if (node.has(target)) {
          problemAt(here, `give either ${target} or ${key}, not both`, true);
          continue;
        }
        const filePath = expandString(String(value.value), env, here, problemAt);
        if (filePath === undefined) continue;
        try {
          const secret = fs.readFileSync(filePath, "utf8").replace(/\r?\n$/, "");
          if (!secret) problemAt(here, `file ${filePath} is empty`);
          node.set(target, secret);
          node.delete(key);
          secrets.push(secret);
        } catch (e) {
          problemAt(
            here,
            `cannot read secret file ${filePath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          );
        }
        continue;
      }
      if (isScalar(value) && typeof value.value === "string") {
        const expanded = expandString(value.value, env, here, problemAt);
        if (expanded !== undefined) value.value = expanded;
        if (SECRET_KEYS.has(key) && typeof value.value === "string" && value.value) secrets.push(value.value);
      } else {
        expandTree(doc, value, here, env, problemAt, problemAtNode, lineOf, sourceOf, secrets);
      }
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const here = [...at, i];
      if (isScalar(item) && typeof item.value === "string") {
        const expanded = expandString(item.value, env, here, problemAt);
        if (expanded !== undefined) item.value = expanded;
      } else expandTree(doc, item as Node, here, env, problemAt, problemAtNode, lineOf, sourceOf, secrets);
    });
  }
}

function expandString(
  s: string,
  env: NodeJS.ProcessEnv,
  at: PathPart[],
  problemAt: (p: PathPart[], m: string) => void,
): string | undefined {
  let ok = true;
  const out = s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const v = env[name];
    if (v === undefined) {
      ok = false;
      problemAt(at, `environment variable ${name} is not set`);
      return "";
    }
    return v;
  });
  return ok ? out : undefined;
}
