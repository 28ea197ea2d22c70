/** Languages the bridge, the card and the Home Assistant integration speak (config `language`). */
export const LANGUAGES = ["en", "de"] as const;
export type Language = (typeof LANGUAGES)[number];

/** The language to use for a Home Assistant language tag ("de-CH" → de); English when unknown. */
export function pickLanguage(tag: string | null | undefined): Language {
  const base = (tag ?? "").toLowerCase().split(/[-_]/)[0];
  return (LANGUAGES as readonly string[]).includes(base ?? "") ? (base as Language) : "en";
}
