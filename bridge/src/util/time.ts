/** Small helpers for times held as epoch milliseconds, where "no time" is null or undefined. */

/** A value that is a time: a finite number (null, undefined, NaN and ±Infinity are "no time"). */
const isTime = (t: number | null | undefined): t is number => typeof t === "number" && Number.isFinite(t);

/**
 * The earliest of the given times, or null when none of them is a time. For "when must I look
 * again": each candidate may be absent, and absent ones never win.
 */
export function earliest(...times: (number | null | undefined)[]): number | null {
  let first: number | null = null;
  for (const t of times) if (isTime(t) && (first === null || t < first)) first = t;
  return first;
}

/** Epoch ms → ISO 8601 UTC ("2026-01-02T03:04:05.000Z"), or null when there is no time. */
export function isoOrNull(ms: number | null | undefined): string | null {
  return isTime(ms) ? new Date(ms).toISOString() : null;
}
