/**
 * Times as the bridge's sentences show them ("Thu 3 Dec, 15:06"), worked out here without the
 * product's renderer so that tests hold it to the form: English, in UTC, the zone of configs built
 * in code (the stacks' labConfig; words/render.ts wordsOf).
 */
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => String(n).padStart(2, "0");

/** An instant (ISO 8601 or epoch ms) as "Thu 3 Dec, 15:06" in UTC. */
export function utcTime(at: string | number): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) throw new Error(`not a time: ${at}`);
  return `${WEEKDAYS[d.getUTCDay()]} ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}, ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}
