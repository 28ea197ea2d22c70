/**
 * Hyper Backup times are NAS-local wall-clock strings without a zone: "YYYY/MM/DD HH:MM",
 * newer builds "YYYY/MM/DD HH:MM:SS", schedules "YYYY-MM-DD HH:MM", and "" for "never".
 * They are read with the NAS's configured IANA time zone.
 */
import { earliest } from "../../util/time.js";

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Offset of the zone at an instant, in ms (local − UTC). */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(ms)) if (p.type !== "literal") parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour! % 24, parts.minute!, parts.second!);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * Wall-clock fields in a zone → epoch ms. A time that occurs twice (the hour repeated when DST
 * ends) resolves to the earlier instant — for "last success" the conservative one; a time in the
 * skipped hour (DST starts) resolves as if the clock had not been changed yet.
 */
export function wallClockToEpoch(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  timeZone: string,
): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const before = zoneOffsetMs(wall - 86_400_000, timeZone);
  const after = zoneOffsetMs(wall + 86_400_000, timeZone);
  const candidates = [...new Set([before, after])]
    .map((o) => wall - o)
    .filter((t) => wall - zoneOffsetMs(t, timeZone) === t);
  return earliest(...candidates) ?? wall - before;
}

const NAS_TIME = /^(\d{4})[/-](\d{2})[/-](\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/;

/** "" / null / undefined → null; a well-formed string → epoch ms; anything else → undefined (malformed). */
export function parseNasTime(text: string | null | undefined, timeZone: string): number | null | undefined {
  if (text === null || text === undefined) return null;
  const t = text.trim();
  if (t === "") return null;
  const m = NAS_TIME.exec(t);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v))) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  return wallClockToEpoch(y, mo, d, h, mi, s, timeZone);
}

/** Epoch ms → NAS-local "YYYY/MM/DD HH:MM" (with seconds when asked), the way DSM writes it. */
export function formatNasTime(ms: number, timeZone: string, seconds = false): string {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(ms)) parts[p.type] = p.value;
  const hh = String(Number(parts.hour) % 24).padStart(2, "0");
  return `${parts.year}/${parts.month}/${parts.day} ${hh}:${parts.minute}${seconds ? `:${parts.second}` : ""}`;
}
