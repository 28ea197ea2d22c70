/**
 * What each retained topic the bridge owns last carried, as digests, so an unchanged payload is
 * never sent again (an idle refresh publishes nothing) and none is kept in full.
 *
 * Why digests and three maps (measured with `npm run bench`, 2,501 devices): keeping the payloads
 * themselves made them the largest strings in the process; the `quick` digest of the native
 * JSON.stringify ends most idle publishes before the slower stable form is built; and `inputs`
 * lets a discovery config (several kB, almost never different) skip being built at all. Together
 * they keep the idle refresh at 0 publishes and its CPU under the bench's 1 s target.
 */
import crypto from "node:crypto";

/** Stable JSON: same object → same bytes, so "unchanged" can be detected by string compare. */
export function stableStringify(v: unknown): string {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "boolean":
      return v ? "true" : "false";
    case "object":
      break;
    default:
      return JSON.stringify(v);
  }
  if (v === null) return "null";
  if (Array.isArray(v)) {
    let out = "[";
    for (let i = 0; i < v.length; i++) {
      const s = stableStringify(v[i]) as string | undefined;
      out += (i ? "," : "") + (s === undefined ? "" : s);
    }
    return `${out}]`;
  }
  const o = v as Record<string, unknown>;
  let out = "{";
  let first = true;
  for (const k of Object.keys(o).sort()) {
    const x = o[k];
    if (x === undefined) continue;
    out += `${(first ? "" : ",") + JSON.stringify(k)}:${stableStringify(x)}`;
    first = false;
  }
  return `${out}}`;
}

/** 20 bytes of SHA-1 (as base64): enough to tell "same payload as last time". */
function digestOf(text: string): string {
  return crypto.createHash("sha1").update(text).digest("base64");
}

export class RetainedCache {
  /** Every retained topic we currently own → a digest of its last payload. */
  private readonly sent = new Map<string, string>();
  /** Per topic, a digest of the native JSON.stringify of the last object given. */
  private readonly quick = new Map<string, string>();
  /** Per topic built from inputs (publishDerived): the inputs it was built from. */
  private readonly inputs = new Map<string, string>();

  get size(): number {
    return this.sent.size;
  }

  topics(): string[] {
    return [...this.sent.keys()];
  }

  /**
   * The text to send for this payload, or null when the same is already retained (`force`: send
   * anyway, after a broker or Home Assistant restart). "" clears the topic.
   */
  changed(topic: string, payload: string | object, force: boolean): string | null {
    let text: string;
    if (typeof payload === "string") {
      text = payload;
      this.quick.delete(topic);
      this.inputs.delete(topic);
    } else {
      const quick = digestOf(JSON.stringify(payload));
      if (!force && this.sent.has(topic) && this.quick.get(topic) === quick) return null;
      this.quick.set(topic, quick);
      text = stableStringify(payload);
    }
    if (text === "") this.sent.delete(topic);
    else {
      const digest = digestOf(text);
      if (!force && this.sent.get(topic) === digest) return null;
      this.sent.set(topic, digest);
    }
    return text;
  }

  sameInputs(topic: string, inputs: string): boolean {
    return this.sent.has(topic) && this.inputs.get(topic) === inputs;
  }

  setInputs(topic: string, inputs: string): void {
    this.inputs.set(topic, inputs);
  }

  forget(topic: string): void {
    this.sent.delete(topic);
    this.quick.delete(topic);
    this.inputs.delete(topic);
  }
}
