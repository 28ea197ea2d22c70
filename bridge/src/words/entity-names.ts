/**
 * The names of the Home Assistant entities the bridge publishes in discovery, per language
 * (config `language`). Home Assistant shows them after the device's name ("vaultwarden Letzte
 * Sicherung"), so none repeats the device. Only names change with the language: unique_ids and
 * default_entity_ids are built from the keys, so entity ids stay the same in every language.
 * MQTT discovery has no labels for enum options or event types: those stay machine values.
 */
import type { Language } from "./language.js";

const NAMES = {
  // A guest's device
  last_backup: { en: "Last backup", de: "Letzte Sicherung" },
  backup_status: { en: "Backup status", de: "Sicherungsstatus" },
  backup_problem: { en: "Backup problem", de: "Sicherungsproblem" },
  backup_size: { en: "Backup size", de: "Sicherungsgröße" },
  archive_count: { en: "Backup archives", de: "Sicherungsarchive" },
  next_backup: { en: "Next scheduled backup", de: "Nächste geplante Sicherung" },
  last_verified: { en: "Last verified", de: "Letzte Prüfung" },
  last_offsite: { en: "Last off-site copy", de: "Letzte externe Kopie" },
  backup_tier: { en: "Backup tier", de: "Sicherungsstufe" },
  backup_running: { en: "Backup running", de: "Sicherung läuft" },
  backup_progress: { en: "Backup progress", de: "Sicherungsfortschritt" },
  back_up_now: { en: "Back up now", de: "Jetzt sichern" },
  verify_now: { en: "Verify now", de: "Jetzt prüfen" },
  restore_test: { en: "Restore test", de: "Wiederherstellungstest" },
  last_restore_test: { en: "Last restore test", de: "Letzter Wiederherstellungstest" },
  backup_event: { en: "Backup event", de: "Sicherungsereignis" },
  // Only for guests whose tier's fallback is `ask`
  fallback_pending: { en: "Fallback pending", de: "Ersatzsicherung ausstehend" },
  approve_fallback: { en: "Approve fallback", de: "Ersatzsicherung freigeben" },
  // Only for guests whose tier has allow_stop: true
  stop_backup: { en: "Stop backup", de: "Sicherung abbrechen" },

  // The bridge's device ({source}: a configured source's name)
  source: { en: "Source {source}", de: "Quelle {source}" },
  guests_ok: { en: "Guests ok", de: "Gäste OK" },
  guests_stale: { en: "Guests stale", de: "Gäste veraltet" },
  guests_failed: { en: "Guests failed", de: "Gäste fehlgeschlagen" },
  guests_missing: { en: "Guests missing", de: "Gäste ohne Sicherung" },
  guests_running: { en: "Guests running", de: "Gäste in Sicherung" },
  guests_unknown: { en: "Guests unknown", de: "Gäste unbekannt" },
  guests_problem: { en: "Guests with problems", de: "Gäste mit Problemen" },
  guests_untiered: { en: "Guests untiered", de: "Gäste ohne Stufe" },
  guests_orphaned: { en: "Orphaned archive groups", de: "Verwaiste Archivgruppen" },
  last_refresh: { en: "Last refresh", de: "Letzte Aktualisierung" },
  missed_jobs: { en: "Missed jobs", de: "Verpasste Sicherungsaufträge" },
  refresh: { en: "Refresh", de: "Aktualisieren" },

  // Off-site devices: a Hyper Backup task, a PBS datastore
  status: { en: "Status", de: "Status" },
  problem: { en: "Problem", de: "Problem" },
  last_result: { en: "Last result", de: "Letztes Ergebnis" },
  last_success: { en: "Last success", de: "Letzter Erfolg" },
  last_attempt: { en: "Last attempt", de: "Letzter Versuch" },
  next_run: { en: "Next run", de: "Nächster Lauf" },
  progress: { en: "Progress", de: "Fortschritt" },
  last_integrity_check: { en: "Last integrity check", de: "Letzte Integritätsprüfung" },
  running: { en: "Running", de: "Läuft" },
  run_now: { en: "Run now", de: "Jetzt ausführen" },
  event: { en: "Event", de: "Ereignis" },
  usage: { en: "Usage", de: "Belegung" },
  used: { en: "Used", de: "Belegt" },
  available: { en: "Available", de: "Verfügbar" },
  snapshots: { en: "Snapshots", de: "Snapshots" },
  unverified_snapshots: { en: "Unverified snapshots", de: "Ungeprüfte Snapshots" },
  failed_verifications: { en: "Failed verifications", de: "Fehlgeschlagene Prüfungen" },
  last_verify: { en: "Last verify", de: "Letzte Prüfung" },
  last_verify_state: { en: "Last verify state", de: "Ergebnis der letzten Prüfung" },
  last_sync: { en: "Last sync", de: "Letzte Synchronisierung" },
  last_sync_state: { en: "Last sync state", de: "Ergebnis der letzten Synchronisierung" },
  last_gc: { en: "Last garbage collection", de: "Letzte Speicherbereinigung" },
  last_gc_state: { en: "Last garbage collection state", de: "Ergebnis der letzten Speicherbereinigung" },
} as const satisfies Record<string, Record<Language, string>>;

export type EntityNameKey = keyof typeof NAMES;

/** Every key, for tests that check each language names every entity. */
export const ENTITY_NAME_KEYS = Object.keys(NAMES) as EntityNameKey[];

/** An entity's name in `language`; `{name}` placeholders are filled from `vars`. */
export function entityName(key: EntityNameKey, language: Language, vars: Record<string, string> = {}): string {
  return NAMES[key][language].replace(/\{(\w+)\}/g, (whole, v: string) => vars[v] ?? whole);
}
