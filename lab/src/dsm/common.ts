/** What the DSM lab's API modules share: the answer envelopes, the request they see, lab times. */
import type { SimResponse } from "../https-base.js";
import type { Clock } from "../clock.js";
import type { ResolvedDsm } from "./scenario.js";
import { formatNasTime } from "./time.js";

/** DSM answers errors with HTTP 200 and `{"error": {"code": N}, "success": false}`. */
export const ok = (data?: unknown): SimResponse => ({
  status: 200,
  body: JSON.stringify(data === undefined ? { success: true } : { data, success: true }),
});
export const fail = (code: number, errors?: unknown): SimResponse => ({
  status: 200,
  body: JSON.stringify({ error: { code, ...(errors ? { errors } : {}) }, success: false }),
});

export interface DsmRequest {
  api: string;
  method: string;
  version: number;
  /** Query and form parameters; for `requestFormat: JSON` APIs JSON strings are already unwrapped. */
  params: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
}

export interface DsmCtx {
  sc: ResolvedDsm;
  clock: Clock;
  /** Lab start, ms. */
  start: number;
  /** A NAS-local time string ("" for null), as Hyper Backup writes them. */
  fmt(ms: number | null): string;
}

export function makeCtx(sc: ResolvedDsm, clock: Clock): DsmCtx {
  return {
    sc,
    clock,
    start: clock.now(),
    fmt: (ms) => (ms === null ? "" : formatNasTime(ms, sc.timezone, sc.secondsInTimes)),
  };
}

const AGE_UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const ageMs = (t: string) =>
  [...t.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)].reduce((a, m) => a + Number(m[1]) * AGE_UNIT[m[2]!]! * 1000, 0);
/** A scenario moment ({age} before lab start or an absolute {time}) in ms, null when absent. */
export const at = (w: { age?: string; time?: string } | undefined, start: number): number | null =>
  w ? (w.time ? Date.parse(w.time) : start - ageMs(w.age ?? "0s")) : null;

/** The `additional` parameter: a JSON array of field groups ([] when absent or not an array). */
export function additionalOf(p: Record<string, string>): Set<string> {
  if (!p.additional) return new Set();
  try {
    const v = JSON.parse(p.additional) as unknown;
    return new Set(Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  } catch {
    return new Set();
  }
}
