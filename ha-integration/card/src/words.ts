/**
 * The card's own words, in each language the bridge's phrasebook speaks (en, de), and the card's
 * locale: Home Assistant's language and time zone. Sentences about a guest (reasons, status words,
 * absolute times) come from the shared phrasebook (bridge/src/words), which the build bundles; the
 * words here are only the card's labels, buttons, relative times and messages.
 */
import { pickLanguage, type Language } from "../../../bridge/src/words/language.js";
import { formatTime, PHRASEBOOKS, statusWord } from "../../../bridge/src/words/render.js";
import { systemTimeZone } from "../../../bridge/src/words/time.js";

export { pickLanguage, type Language };

/** [one, other]; # in a form is the number. */
type Forms = readonly [string, string];

export interface CardWords {
  /** Card title when the config has none. */
  title: string;
  columns: Record<"guest" | "tier" | "status" | "last" | "offsite" | "verified", string>;
  /** Header summary: how many guests have a problem; all fine. */
  needAttention: Forms;
  allOk: string;
  empty: string;
  /** A status sensor that is unavailable (bridge or MQTT down); the phrasebook has no word for it. */
  unavailable: string;
  /** A running backup's progress after the status word: "#%". */
  percent: string;
  backUp: string;
  /** Tooltip of the button; {name} is the guest. */
  backUpTitle: string;
  /** The button while a backup runs or was just asked for. */
  busy: string;
  /** Toast when Home Assistant refuses the button press; {name}, {error}. */
  pressFailed: string;
  justNow: string;
  ago: Record<"minute" | "hour" | "day", Forms>;
  /** Tooltips of an empty time cell. */
  never: Record<"last" | "offsite" | "verified", string>;
  noTier: string;
  /** The visual editor's labels and help. */
  form: Record<"title" | "show_ok" | "compact" | "guests" | "guestsHelper", string>;
  /** Config errors, shown by Home Assistant in the card's place or in the editor. */
  errors: Record<"object" | "title" | "show_ok" | "compact" | "guests", string>;
  /** The card picker's description. */
  description: string;
}

export const WORDS: Record<Language, CardWords> = {
  en: {
    title: "Backups",
    columns: {
      guest: "Guest",
      tier: "Tier",
      status: "Status",
      last: "Backed up",
      offsite: "Off-site",
      verified: "Verified",
    },
    needAttention: ["# needs attention", "# need attention"],
    allOk: "All OK",
    empty: "No backup2mqtt guests found. Is the bridge running and MQTT discovery on?",
    unavailable: "Unavailable",
    percent: "#%",
    backUp: "Back up",
    backUpTitle: "Back up {name} now",
    busy: "Running…",
    pressFailed: "Could not start a backup of {name}: {error}",
    justNow: "just now",
    ago: {
      minute: ["1 minute ago", "# minutes ago"],
      hour: ["1 hour ago", "# hours ago"],
      day: ["1 day ago", "# days ago"],
    },
    never: { last: "never backed up", offsite: "no off-site copy known", verified: "never verified" },
    noTier: "no tier",
    form: {
      title: "Title",
      show_ok: "Show guests that are OK",
      compact: "Compact (hide off-site and verified)",
      guests: "Only these guests (names)",
      guestsHelper: "Empty: every guest of every backup2mqtt bridge",
    },
    errors: {
      object: "the configuration must be an object",
      title: "title must be text",
      show_ok: "show_ok must be true or false",
      compact: "compact must be true or false",
      guests: "guests must be a list of guest names",
    },
    description:
      "Backup state of every Proxmox guest (tier, status, age, off-site, verified), problems first, with a Back up button.",
  },
  de: {
    title: "Sicherungen",
    columns: {
      guest: "Gast",
      tier: "Stufe",
      status: "Status",
      last: "Gesichert",
      offsite: "Extern",
      verified: "Geprüft",
    },
    needAttention: ["# braucht Aufmerksamkeit", "# brauchen Aufmerksamkeit"],
    allOk: "Alles OK",
    empty: "Keine backup2mqtt-Gäste gefunden. Läuft die Bridge, und ist MQTT-Discovery eingeschaltet?",
    unavailable: "Nicht verfügbar",
    percent: "# %",
    backUp: "Sichern",
    backUpTitle: "{name} jetzt sichern",
    busy: "Läuft…",
    pressFailed: "Die Sicherung von {name} ließ sich nicht starten: {error}",
    justNow: "gerade eben",
    ago: {
      minute: ["vor 1 Minute", "vor # Minuten"],
      hour: ["vor 1 Stunde", "vor # Stunden"],
      day: ["vor 1 Tag", "vor # Tagen"],
    },
    never: { last: "nie gesichert", offsite: "keine externe Kopie bekannt", verified: "nie geprüft" },
    noTier: "keine Stufe",
    form: {
      title: "Titel",
      show_ok: "Gäste anzeigen, die OK sind",
      compact: "Kompakt (ohne Extern und Geprüft)",
      guests: "Nur diese Gäste (Namen)",
      guestsHelper: "Leer: jeder Gast jeder backup2mqtt-Bridge",
    },
    errors: {
      object: "die Konfiguration muss ein Objekt sein",
      title: "title muss Text sein",
      show_ok: "show_ok muss true oder false sein",
      compact: "compact muss true oder false sein",
      guests: "guests muss eine Liste von Gastnamen sein",
    },
    description:
      "Sicherungsstand jedes Proxmox-Gastes (Stufe, Status, Alter, extern, geprüft), Probleme zuerst, mit einer Sichern-Taste.",
  },
};

/** The form for this number, # replaced by it. */
export function count(forms: Forms, n: number): string {
  return (n === 1 ? forms[0] : forms[1]).replaceAll("#", String(n));
}

/** A template with {name} placeholders filled in. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (all, k: string) => values[k] ?? all);
}

/** How the card speaks: Home Assistant's language and the zone its times are shown in. */
export interface CardLocale {
  language: Language;
  /** IANA zone, e.g. Europe/Berlin. */
  timeZone: string;
}

/** The part of `hass` that says which language and zone: the user's language, the server's zone. */
export interface HassLocaleLike {
  language?: string;
  locale?: { language?: string };
  config?: { time_zone?: string };
}

const validZone = (zone: string | undefined): string | null => {
  if (!zone) return null;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return zone;
  } catch {
    return null;
  }
};

/**
 * Home Assistant's language (the user's profile, `hass.locale.language`, else `hass.language`) as
 * one the phrasebook speaks, and Home Assistant's time zone (`hass.config.time_zone`; the browser's
 * when absent or not a zone this browser knows).
 */
export function cardLocale(hass: HassLocaleLike | undefined): CardLocale {
  return {
    language: pickLanguage(hass?.locale?.language || hass?.language),
    timeZone: validZone(hass?.config?.time_zone) ?? systemTimeZone(),
  };
}

/**
 * The language of the page, for what the card shows before it has a `hass` (config errors, the
 * visual editor, the card picker): Home Assistant sets `<html lang>` to the user's language.
 */
export function pageLanguage(): Language {
  return pickLanguage(typeof document === "undefined" ? undefined : document.documentElement.lang);
}

/** A guest status as a word: the phrasebook's, and the card's own for an unavailable sensor. */
export function statusLabel(status: string, language: Language): string {
  return status === "unavailable" ? WORDS[language].unavailable : statusWord(status, language);
}

/** How long ago an ISO time was: "just now", "12 minutes ago", "30 hours ago", "10 days ago". Null/invalid → "—". */
export function formatAgo(iso: string | null, language: Language, now: number = Date.now()): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "—";
  const w = WORDS[language];
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return w.justNow;
  if (s < 3600) return count(w.ago.minute, Math.floor(s / 60));
  if (s < 48 * 3600) return count(w.ago.hour, Math.floor(s / 3600));
  return count(w.ago.day, Math.floor(s / 86400));
}

/** An ISO time as the phrasebook writes one ("Mon 30 Nov, 16:19"), in the card's zone; "" when invalid. */
export function formatAbsolute(iso: string | null, locale: CardLocale): string {
  const t = iso ? Date.parse(iso) : Number.NaN;
  return Number.isNaN(t) ? "" : formatTime(t, PHRASEBOOKS[locale.language], locale.timeZone);
}
