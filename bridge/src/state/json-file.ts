import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { Logger } from "../log.js";

export interface JsonFileOptions<T> {
  /**
   * The shape of the document. A list (`z.array`) or a map (`z.record`) is checked entry by entry:
   * the good entries are kept and only the bad ones are dropped.
   */
  schema: z.ZodType<T>;
  /**
   * What the bridge loses when the file cannot be read, as the end of a sentence: `n` is the
   * number of dropped entries, or undefined when the whole file is unreadable.
   */
  loss: (n?: number) => string;
  /** Where the one line about an unreadable file goes. */
  log?: Logger;
  /** Leave an unreadable file where it is (commands that must not change state_dir: report, plan). */
  readOnly?: boolean;
}

/** What was wrong with the file when it was read; undefined when it was fine or missing. */
export interface ReadProblem {
  file: string;
  /** Why, for a person: "it is not JSON", "entry 2 has no 'upid'", … */
  reason: string;
  /** Entries dropped (a list or map where only some were bad); undefined when the whole file was lost. */
  dropped?: number;
  kept?: number;
  /** Where the original bytes are now; undefined when they were left in place (read-only, or the move failed). */
  movedTo?: string;
  /** Why the file could not be moved aside. */
  moveError?: string;
  /** The sentence that was logged. */
  message: string;
}

/**
 * A small JSON document on disk, replaced atomically (write to a temp file, fsync, rename),
 * so a crash never leaves half a file. A read-only or full disk is reported, never thrown.
 *
 * With a schema, every read is validated: a missing file is the fallback, silently; a file that
 * cannot be used (not UTF-8, not JSON, the wrong shape, a directory, unreadable) is moved aside to
 * `<name>.corrupt-<time>` with its bytes untouched, one line says so and what is lost, and the
 * fallback is used. Reading never throws.
 */
export class JsonFile<T> {
  /** The problem the last read() found (also logged once). */
  problem: ReadProblem | undefined;

  constructor(
    private readonly file: string,
    private readonly fallback: T,
    private readonly options?: JsonFileOptions<T>,
  ) {}

  read(): T {
    this.problem = undefined;
    const o = this.options;
    if (!o) {
      try {
        return JSON.parse(fs.readFileSync(this.file, "utf8")) as T;
      } catch {
        return structuredClone(this.fallback);
      }
    }
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(this.file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return structuredClone(this.fallback);
      return this.lost(
        code === "EISDIR"
          ? "it is a directory, not a file"
          : code === "EACCES" || code === "EPERM"
            ? "the bridge may not read it"
            : `reading it failed: ${(e as Error).message}`,
      );
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      return this.lost("it is not UTF-8 text");
    }
    if (!text.trim()) return this.lost("it is empty");
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return this.lost(/^\s*[[{]/.test(text) ? "it is not valid JSON (cut off or damaged)" : "it is not JSON");
    }
    const whole = o.schema.safeParse(doc);
    if (whole.success) return whole.data;

    // A list or map whose container is right: keep the entries that are fine.
    const s = o.schema as z.ZodType;
    if (s instanceof z.ZodArray && Array.isArray(doc)) {
      const item = s.element as z.ZodType;
      const kept: unknown[] = [];
      let firstBad: string | undefined;
      doc.forEach((entry, i) => {
        const r = item.safeParse(entry);
        if (r.success) kept.push(r.data);
        else firstBad ??= describeIssue(r.error.issues[0], `entry ${i + 1}`, entry);
      });
      return this.partial(kept as T, doc.length - kept.length, kept.length, firstBad!);
    }
    if (s instanceof z.ZodRecord && isPlainObject(doc)) {
      const value = s.valueType as z.ZodType;
      const kept: Record<string, unknown> = {};
      let firstBad: string | undefined;
      let dropped = 0;
      for (const [k, v] of Object.entries(doc)) {
        const r = value.safeParse(v);
        if (r.success) kept[k] = r.data;
        else {
          dropped++;
          firstBad ??= describeIssue(r.error.issues[0], `'${k}'`, v);
        }
      }
      return this.partial(kept as T, dropped, Object.keys(kept).length, firstBad!);
    }
    return this.lost(describeIssue(whole.error.issues[0], "it", doc));
  }

  /** Returns an error message when the write failed. */
  write(value: T): string | undefined {
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      const fd = fs.openSync(tmp, "w", 0o600);
      try {
        fs.writeSync(fd, JSON.stringify(value, null, 2));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.file);
      return undefined;
    } catch (e) {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        /* nothing to clean */
      }
      return (e as Error).message;
    }
  }

  private lost(reason: string): T {
    const o = this.options!;
    const aside = this.moveAside();
    const name = path.basename(this.file);
    const message = `${name} could not be read (${reason}); ${aside.text}; ${o.loss()}`;
    this.report({ file: this.file, reason, message, ...aside.fields });
    return structuredClone(this.fallback);
  }

  private partial(kept: T, dropped: number, keptCount: number, reason: string): T {
    if (dropped === 0) return kept;
    const o = this.options!;
    const aside = this.moveAside();
    const name = path.basename(this.file);
    const entries = (n: number) => `${n} ${n === 1 ? "entry" : "entries"}`;
    const message = `${name}: ${dropped} of ${entries(dropped + keptCount)} could not be read (${reason}) and ${dropped === 1 ? "was" : "were"} dropped, ${keptCount === 0 ? "none is" : `the other ${keptCount === 1 ? "one is" : `${keptCount} are`}`} kept; ${aside.text.replace(/\bit\b/, "the original")}; ${o.loss(dropped)}`;
    this.report({ file: this.file, reason, dropped, kept: keptCount, message, ...aside.fields });
    // The good entries are written back at once, so a restart before the next change keeps them.
    if (aside.fields.movedTo && keptCount > 0) this.write(kept);
    return kept;
  }

  private moveAside(): { text: string; fields: Pick<ReadProblem, "movedTo" | "moveError"> } {
    if (this.options!.readOnly)
      return { text: "left it in place (this command changes nothing in state_dir)", fields: {} };
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d+Z$/, "Z");
    for (let i = 1; i < 100; i++) {
      const to = `${this.file}.corrupt-${stamp}${i === 1 ? "" : `-${i}`}`;
      if (fs.existsSync(to)) continue;
      try {
        fs.renameSync(this.file, to);
        return { text: `moved it to ${to}`, fields: { movedTo: to } };
      } catch (e) {
        return {
          text: `could not move it aside (${(e as Error).message}), so the next save replaces it`,
          fields: { moveError: (e as Error).message },
        };
      }
    }
    return {
      text: "could not move it aside (too many earlier copies), so the next save replaces it",
      fields: { moveError: "too many earlier copies" },
    };
  }

  private report(p: ReadProblem): void {
    this.problem = p;
    this.options!.log?.error(
      {
        file: p.file,
        ...(p.movedTo ? { moved_to: p.movedTo } : {}),
        ...(p.dropped !== undefined ? { dropped: p.dropped, kept: p.kept } : {}),
      },
      p.message,
    );
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const TYPE_WORDS: Record<string, string> = {
  string: "text",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "an object",
  record: "an object",
};

function kindOf(v: unknown): string {
  if (v === undefined) return "missing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return "text";
  if (typeof v === "number") return Number.isInteger(v) ? "a whole number" : "a number";
  if (typeof v === "boolean") return v ? "true" : "false";
  return "an object";
}

function at(root: unknown, p: PropertyKey[]): unknown {
  let v = root;
  for (const k of p) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** A zod issue as words for a person ("entry 1: 'upid' is a whole number, not text"). */
function describeIssue(issue: z.core.$ZodIssue | undefined, subject: string, root: unknown): string {
  if (!issue) return `${subject} has the wrong shape`;
  const where = issue.path.length ? `${subject}: '${issue.path.map(String).join(".")}'` : subject;
  const value = at(root, issue.path);
  switch (issue.code) {
    case "invalid_type": {
      const want = TYPE_WORDS[issue.expected] ?? issue.expected;
      return value === undefined ? `${where} is missing` : `${where} is ${kindOf(value)}, not ${want}`;
    }
    case "invalid_value":
      return `${where} is ${JSON.stringify(value) ?? kindOf(value)}, not one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_small":
    case "too_big":
      return `${where} is out of range`;
    default:
      return `${where} has the wrong shape`;
  }
}
