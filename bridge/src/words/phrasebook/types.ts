/**
 * One language's words. Templates use {name} for a parameter and {name|filter:arg:…} to format it
 * (see ../render.ts for the filters); text in [square brackets] is left out when a parameter in it is
 * missing. Every phrasebook has the same keys (a test holds de.ts to en.ts).
 */
export interface Phrasebook {
  /** Sunday first, as Date#getDay counts. */
  weekdays: readonly string[];
  months: readonly string[];
  /** A point in time: {weekday} {day} {month} {hour} {minute} (hour and minute two digits). */
  time: string;
  /** Joins the last two items of a list ("a, b and c"). */
  and: string;
  decimalSeparator: string;
  /** [one, other] */
  units: Record<"second" | "minute" | "hour" | "day", readonly [string, string]>;
  /** A retention: how each keep-* option reads with its count, and the noun after the list. */
  retention: Record<
    "keep-last" | "keep-hourly" | "keep-daily" | "keep-weekly" | "keep-monthly" | "keep-yearly",
    string
  > & { backups: readonly [string, string]; all: string; none: string };
  /** A guest's status as one word or two, for lists and entity states. */
  statuses: Record<"ok" | "running" | "failed" | "missing" | "stale" | "unknown", string>;
  phrases: Record<string, string>;
}
