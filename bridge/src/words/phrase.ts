/**
 * A sentence for people, kept as data: a phrasebook key and its parameters. The bridge publishes
 * both the phrase and its rendering (in the config's language); the card and the Home Assistant
 * integration render the same phrase again in Home Assistant's language.
 */
export type ParamValue = string | number | boolean | null | Phrase | ParamValue[] | { [key: string]: ParamValue };

export interface Phrase {
  /** A key of the phrasebook (bridge/src/words/phrasebook/en.ts lists them all). */
  key: string;
  params?: Record<string, ParamValue>;
}

/** A phrase, leaving out parameters that are undefined (so optional parts of its template drop). */
export function phrase(key: string, params: Record<string, ParamValue | undefined> = {}): Phrase {
  const kept: Record<string, ParamValue> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) kept[k] = v;
  return Object.keys(kept).length ? { key, params: kept } : { key };
}
