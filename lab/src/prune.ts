/**
 * vzdump retention (`prune-backups`), following pve-storage's `prune_mark_backup_group`:
 * protected archives are kept, then keep-last, -hourly, -daily, -weekly, -monthly, -yearly
 * each keep the newest archive of every not-yet-covered period, in node-local time.
 */
import { toLocal } from "./timezone.js";

export type PruneMark = "keep" | "remove" | "protected";

export interface PruneEntry {
  ctime: number; // epoch seconds
  protected?: boolean;
  mark?: PruneMark;
}

const pad = (n: number): string => String(n).padStart(2, "0");

/** ISO week key (year/week) without a library: Thursday of the week decides the year. */
function isoWeek(y: number, m: number, d: number): string {
  const date = new Date(Date.UTC(y, m - 1, d));
  const dow = (date.getUTCDay() + 6) % 7; // mon = 0
  date.setUTCDate(date.getUTCDate() - dow + 3);
  const weekYear = date.getUTCFullYear();
  const firstThu = new Date(Date.UTC(weekYear, 0, 4));
  const week =
    1 + Math.round((date.getTime() - firstThu.getTime()) / 86400000 / 7 - (((firstThu.getUTCDay() + 6) % 7) - 3) / 7);
  return `${weekYear}/${pad(week)}`;
}

/** Parse `{"keep-last":"3"}` or `keep-last=3,keep-daily=7` into numbers. */
export function parsePruneOptions(input: Record<string, string | number> | string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (input === undefined) return out;
  const pairs: [string, string | number][] =
    typeof input === "string"
      ? input
          .split(",")
          .filter(Boolean)
          .map((kv) => {
            const [k, v] = kv.split("=");
            return [(k ?? "").trim(), (v ?? "").trim()];
          })
      : Object.entries(input);
  for (const [k, v] of pairs) {
    const n = Number(v);
    if (!/^keep-(all|last|hourly|daily|weekly|monthly|yearly)$/.test(k) || !Number.isInteger(n) || n < 0) {
      throw new Error(`invalid prune-backups option '${k}=${v}'`);
    }
    out[k] = n;
  }
  return out;
}

export function formatPruneOptions(opts: Record<string, number>): string {
  return Object.entries(opts)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

/** Marks entries in place; returns them newest first. */
export function pruneMark<T extends PruneEntry>(
  entries: T[],
  opts: Record<string, number>,
  tz: string,
): (T & { mark: PruneMark })[] {
  const list = [...entries].sort((a, b) => b.ctime - a.ctime);
  for (const e of list) e.mark = e.protected ? "protected" : undefined;
  if (opts["keep-all"] || Object.keys(opts).length === 0) {
    for (const e of list) e.mark ??= "keep";
    return list as (T & { mark: PruneMark })[];
  }
  const local = (c: number) => toLocal(c * 1000, tz);
  const idFuncs: [string, (c: number) => string][] = [
    ["keep-last", (c) => String(c)], // replaced by a unique index below
    [
      "keep-hourly",
      (c) => {
        const l = local(c);
        return `${l.year}/${l.month}/${l.day}/${l.hour}`;
      },
    ],
    [
      "keep-daily",
      (c) => {
        const l = local(c);
        return `${l.year}/${l.month}/${l.day}`;
      },
    ],
    [
      "keep-weekly",
      (c) => {
        const l = local(c);
        return isoWeek(l.year, l.month, l.day);
      },
    ],
    [
      "keep-monthly",
      (c) => {
        const l = local(c);
        return `${l.year}/${l.month}`;
      },
    ],
    ["keep-yearly", (c) => String(local(c).year)],
  ];
  let seq = 0;
  for (const [key, idOf] of idFuncs) {
    const count = opts[key];
    if (!count) continue;
    // keep-last ids are unique per entry (an index, not random, to stay deterministic)
    const id = key === "keep-last" ? () => String(seq++) : idOf;
    const already = new Set<string>();
    const ids = new Map<T, string>();
    for (const e of list) ids.set(e, id(e.ctime));
    for (const e of list) if (e.mark === "keep") already.add(ids.get(e) ?? "");
    const newly = new Set<string>();
    for (const e of list) {
      const eid = ids.get(e) ?? "";
      if (e.mark !== undefined || already.has(eid)) continue;
      if (!newly.has(eid)) {
        if (newly.size >= count) break;
        newly.add(eid);
        e.mark = "keep";
      } else {
        e.mark = "remove";
      }
    }
  }
  for (const e of list) e.mark ??= "remove";
  return list as (T & { mark: PruneMark })[];
}
