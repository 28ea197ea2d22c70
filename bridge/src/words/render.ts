/**
 * Renders phrases with a phrasebook. No Node.js APIs: the Lovelace card bundles this file too, and
 * the Home Assistant integration has a Python twin (phrasebook.py) held to the same cases by
 * test/fixtures/phrasebook-cases.json.
 *
 * Template syntax: {name} inserts a parameter; {name|filter:arg:…} formats it:
 *   time            ISO 8601 or epoch ms → "Mon 30 Nov, 16:19" in the time zone given
 *   duration        ms → "8 days", "1 day and 2 hours"
 *   size            bytes → "1.6 GiB"
 *   plural:one:other[:zero]   picks a form by the number; # in it is the number
 *   list            array of strings → "a, b and c"
 *   phrases[:semicolon]       a phrase or an array of them (a string stands for itself), rendered
 *                             and joined as a list, or by "; "
 *   retention       { "keep-daily": 7, … } → "7 daily and 4 weekly backups"
 * [text] is left out when any parameter in it is missing (undefined, null, "" or an empty list).
 */
import type { Language } from "./language.js";
import type { Phrase, ParamValue } from "./phrase.js";
import { de } from "./phrasebook/de.js";
import { en } from "./phrasebook/en.js";
import type { Phrasebook } from "./phrasebook/types.js";
import { wallTime } from "./time.js";

export const PHRASEBOOKS: Record<Language, Phrasebook> = { en, de };

export interface RenderOptions {
  language: Language;
  /** IANA zone for times, e.g. Europe/Berlin. */
  timeZone: string;
}

const PLACEHOLDER = /\{([a-zA-Z_][a-zA-Z0-9_]*)(?:\|([^{}]*))?\}/g;
const OPTIONAL = /\[([^[\]]*)\]/g;

/** One phrase as text; an unknown key renders its English text, or the key itself if none. */
export function render(p: Phrase, o: RenderOptions): string {
  const book = PHRASEBOOKS[o.language] ?? en;
  const template = book.phrases[p.key] ?? en.phrases[p.key] ?? p.key;
  const params = p.params ?? {};
  const withOptional = template.replace(OPTIONAL, (_all, inner: string) => {
    for (const m of inner.matchAll(PLACEHOLDER)) if (isMissing(params[m[1]!])) return "";
    return inner;
  });
  const text = withOptional.replace(PLACEHOLDER, (_all, name: string, filter: string | undefined) =>
    format(params[name], filter, book, o),
  );
  // Upstream errors often end with their own full stop ("… delete old backups."); the template's
  // period after them would make "..": keep one. An ellipsis ("lock...") is left as it is.
  return text.replace(/(?<!\.)([.!?])\.(?=\s|$)/g, "$1");
}

function isMissing(v: ParamValue | undefined): boolean {
  return v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);
}

function format(v: ParamValue | undefined, filter: string | undefined, book: Phrasebook, o: RenderOptions): string {
  if (v === undefined || v === null) return "";
  const [name, ...args] = (filter ?? "").split(":");
  switch (name) {
    case "":
      return typeof v === "object" ? JSON.stringify(v) : String(v);
    case "time":
      return formatTime(typeof v === "number" ? v : Date.parse(String(v)), book, o.timeZone);
    case "duration":
      return formatDuration(Number(v), book);
    case "size":
      return formatSize(Number(v), book);
    case "plural": {
      const n = Number(v);
      const form = n === 0 && args[2] !== undefined ? args[2] : n === 1 ? args[0] : args[1];
      return (form ?? "").replaceAll("#", String(n));
    }
    case "list":
      return joinList((Array.isArray(v) ? v : [v]).map(String), book);
    case "phrases": {
      // A plain string stands for itself (a name, or text from upstream).
      const items = (Array.isArray(v) ? v : [v]).map((x) => (typeof x === "string" ? x : render(x as Phrase, o)));
      return args[0] === "semicolon" ? items.join("; ") : joinList(items, book);
    }
    case "retention":
      return formatRetention(v as Record<string, number>, book);
    default:
      return String(v);
  }
}

export function joinList(items: string[], book: Phrasebook): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} ${book.and} ${items.at(-1)}`;
}

const pad = (n: number) => String(n).padStart(2, "0");

export function formatTime(ms: number, book: Phrasebook, timeZone: string): string {
  if (!Number.isFinite(ms)) return "";
  const t = wallTime(ms, timeZone);
  const fields: Record<string, string> = {
    weekday: book.weekdays[t.weekday]!,
    day: String(t.day),
    month: book.months[t.month - 1]!,
    hour: pad(t.hour),
    minute: pad(t.minute),
  };
  return book.time.replace(/\{(\w+)\}/g, (_a, k: string) => fields[k] ?? "");
}

const unit = (n: number, forms: readonly [string, string]) => `${n} ${n === 1 ? forms[0] : forms[1]}`;

/** The largest unit and the next one when it is not zero: "8 days", "1 day and 2 hours", "45 minutes". */
export function formatDuration(ms: number, book: Phrasebook): string {
  let s = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const u = book.units;
  const parts: string[] =
    d > 0
      ? [unit(d, u.day), ...(h ? [unit(h, u.hour)] : [])]
      : h > 0
        ? [unit(h, u.hour), ...(m ? [unit(m, u.minute)] : [])]
        : m > 0
          ? [unit(m, u.minute)]
          : [unit(s, u.second)];
  return parts.join(` ${book.and} `);
}

const SIZE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** Binary units, one decimal below 10 ("1.6 GiB", "12 GiB", "512 B"). */
export function formatSize(bytes: number, book: Phrasebook): string {
  let v = Math.max(0, bytes);
  let i = 0;
  while (v >= 1024 && i < SIZE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const text = i > 0 && v < 10 ? v.toFixed(1) : String(Math.round(v));
  return `${text.replace(".", book.decimalSeparator)} ${SIZE_UNITS[i]}`;
}

// The order PVE applies the keep options in (policy/retention.ts PRUNE_OPTIONS; not imported, so the
// card's bundle stays free of the policy).
const KEEP_ORDER = ["keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly"] as const;

/** A prune-backups setting in words: "7 daily and 4 weekly backups", "every backup" (keep-all). */
export function formatRetention(r: Record<string, number>, book: Phrasebook): string {
  if (r["keep-all"]) return book.retention.all;
  const present = KEEP_ORDER.filter((k) => (r[k] ?? 0) > 0);
  if (!present.length) return book.retention.none;
  const parts = present.map((k) => book.retention[k].replaceAll("#", String(r[k])));
  const total = present.reduce((n, k) => n + (r[k] ?? 0), 0);
  return `${joinList(parts, book)} ${total === 1 ? book.retention.backups[0] : book.retention.backups[1]}`;
}

/** A guest status as a word in this language ("Failed", "Veraltet"). */
export function statusWord(status: string, language: Language): string {
  const book = PHRASEBOOKS[language] ?? en;
  return (book.statuses as Record<string, string>)[status] ?? status;
}

/** The bridge's own language and zone from its config (configs built in code: English, UTC). */
export function wordsOf(cfg: { language?: Language; timeZone?: string }): RenderOptions {
  return { language: cfg.language ?? "en", timeZone: cfg.timeZone ?? "UTC" };
}
