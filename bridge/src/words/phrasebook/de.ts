import type { Phrasebook } from "./types.js";

/** German (Deutsch). */
export const de: Phrasebook = {
  weekdays: ["So.", "Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa."],
  months: ["Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."],
  time: "{weekday}, {day}. {month}, {hour}:{minute} Uhr",
  and: "und",
  decimalSeparator: ",",
  units: {
    second: ["Sekunde", "Sekunden"],
    minute: ["Minute", "Minuten"],
    hour: ["Stunde", "Stunden"],
    day: ["Tag", "Tage"],
  },
  retention: {
    "keep-last": "# neueste",
    "keep-hourly": "# stündliche",
    "keep-daily": "# tägliche",
    "keep-weekly": "# wöchentliche",
    "keep-monthly": "# monatliche",
    "keep-yearly": "# jährliche",
    backups: ["Sicherung", "Sicherungen"],
    all: "jede Sicherung",
    none: "keine Sicherungen",
  },
  statuses: {
    ok: "OK",
    running: "Läuft",
    failed: "Fehlgeschlagen",
    missing: "Fehlt",
    stale: "Veraltet",
    unknown: "Unbekannt",
  },
  phrases: {
    text: "{text}",

    "status.unknown.unreachable": "Die Proxmox-Quelle {source} ist nicht erreichbar[: {error}].",
    "status.unknown.unreadable":
      "Die Proxmox-Quelle {source} hat geantwortet, aber die Antwort ist nicht lesbar[: {error}].",
    "status.unknown.hidden": "{why|phrases:semicolon}",
    "status.running": "Eine Sicherung dieses Gastes läuft gerade.",
    "status.failed":
      "Der letzte Sicherungsversuch am {at|time} ist fehlgeschlagen[: {error}].[ Die neueste gute Sicherung ist vom {newest|time}.]",
    "status.failed.none":
      "Der letzte Sicherungsversuch am {at|time} ist fehlgeschlagen[: {error}]. Es gibt keine gute Sicherung.",
    "status.missing": "Auf keinem Speicher gibt es eine Sicherung dieses Gastes.",
    "status.missing.unverified":
      "Keine gute Sicherung: {count|plural:das einzige Archiv hat:alle # Archive haben} die Prüfung nicht bestanden.",
    "status.stale": "Die neueste Sicherung ist vom {newest|time} und älter, als Stufe {tier} erlaubt ({max|duration}).",
    "status.ok":
      "Die neueste Sicherung ist vom {newest|time}.[ {fallbackCount|plural:Der Sicherungsauftrag:Die Sicherungsaufträge} {fallback|list} {fallbackCount|plural:bleibt:bleiben} als manueller Notbehelf deaktiviert.]",
    "status.ok.until":
      "Die neueste Sicherung ist vom {newest|time}; ohne neuere gilt sie ab {until|time} als veraltet (Stufe {tier} erlaubt {max|duration}).[ {fallbackCount|plural:Der Sicherungsauftrag:Die Sicherungsaufträge} {fallback|list} {fallbackCount|plural:bleibt:bleiben} als manueller Notbehelf deaktiviert.]",
    "status.unknown.nas":
      "Das Synology-NAS {nas} ist gerade nicht lesbar, und seine Hyper-Backup-Aufgabe „{task}“ hält die Kopien dieses Gastes.",
    "status.missing.hyperbackup":
      "Es gibt keine Sicherung dieses Gastes: {tasks|phrases} {count|plural:kopiert:kopieren} seine Festplatten, {count|plural:hat:haben} aber noch nie eine Sicherung abgeschlossen.",
    "status.stale.hyperbackup":
      "Hyper Backup auf {nas} hat die Festplatten dieses Gastes zuletzt am {newest|time} kopiert; das ist länger her, als Stufe {tier} erlaubt ({max|duration}).",
    "status.ok.hyperbackup":
      "Die Festplatten dieses Gastes wurden am {newest|time} kopiert von: {tasks|phrases} (eine Dateikopie, kein Abbild eines Zeitpunkts).[ {fallbackCount|plural:Der Sicherungsauftrag:Die Sicherungsaufträge} {fallback|list} {fallbackCount|plural:bleibt:bleiben} als manueller Notbehelf deaktiviert.]",
    "status.ok.hyperbackup.until":
      "Die Festplatten dieses Gastes wurden am {newest|time} kopiert von: {tasks|phrases} (eine Dateikopie, kein Abbild eines Zeitpunkts); ohne neuere Kopie gilt sie ab {until|time} als veraltet (Stufe {tier} erlaubt {max|duration}).[ {fallbackCount|plural:Der Sicherungsauftrag:Die Sicherungsaufträge} {fallback|list} {fallbackCount|plural:bleibt:bleiben} als manueller Notbehelf deaktiviert.]",

    untiered:
      "Keine Stufe zugewiesen: unter guests in der Konfiguration eintragen oder den Gast in Proxmox mit backup-p0, backup-p1, backup-p2 oder nobackup markieren.",
    excluded: "Wird absichtlich nicht gesichert (Stufe {tier}).",
    unprotected: "Kein geplanter Sicherungsauftrag erfasst diesen Gast.",
    "unprotected.disabled":
      "{count|plural:Der Sicherungsauftrag:Die Sicherungsaufträge} {jobs|list} {count|plural:erfasst:erfassen} diesen Gast, {count|plural:ist:sind} aber deaktiviert.",
    "unprotected.too_rare":
      "Der Auftrag {job} läuft nur alle {every|duration} ({schedule}); Stufe {tier} braucht mindestens alle {max|duration} eine Sicherung.",
    "unprotected.hyperbackup_unscheduled":
      "{why|phrases} Die Hyper-Backup-Aufgabe „{task}“ auf {nas} kopiert seine Festplatten, hat aber keinen aktiven Zeitplan.",
    "unprotected.hyperbackup_rare":
      "{why|phrases} Die Hyper-Backup-Aufgabe „{task}“ auf {nas} kopiert seine Festplatten, läuft aber nur alle {every|duration}; Stufe {tier} braucht mindestens alle {max|duration} eine Sicherung.",
    "unprotected.hyperbackup_not_in_task":
      "{why|phrases} Festplatte {disk} liegt auf Speicher {storage} auf {nas}, aber keine Hyper-Backup-Aufgabe dort kopiert sie[: den Ordner {folder} in eine Aufgabe aufnehmen].",
    "unprotected.hyperbackup_missing":
      "{why|phrases} Festplatte {disk} liegt auf Speicher {storage}, aber der Ordner, aus dem eine Hyper-Backup-Aufgabe auf {nas} sie kopiert, fehlt dort[ ({folder})].",
    "unprotected.hyperbackup_excluded":
      "{why|phrases} Festplatte {disk} liegt auf Speicher {storage}, aber die Hyper-Backup-Aufgabe auf {nas}, die ihren Ordner enthält, schließt sie aus[ ({folder})].",
    "unprotected.hyperbackup_elsewhere":
      "{why|phrases} Festplatte {disk} liegt auf Speicher {storage}, den keine überwachte Hyper-Backup-Aufgabe kopiert; dieser Gast ist also nur teilweise gesichert.",
    "unprotected.hyperbackup_passthrough":
      "{why|phrases} Festplatte {disk} ({volume}) liegt auf keinem Proxmox-Speicher, also kann keine Hyper-Backup-Aufgabe sie kopieren.",
    retention_short:
      "Der Auftrag {job} behält {keeps|retention}; Stufe {tier} will {wants|retention}; verloren gingen: {missing|retention}.",
    "retention_short.storage":
      "Der Auftrag {job} hat keine eigene Aufbewahrung; Speicher {storage} behält {keeps|retention}, Stufe {tier} will aber {wants|retention}; verloren gingen: {missing|retention}.",
    verify_failed: "Archiv {archive} hat die Prüfung am {at|time} nicht bestanden[: {error}].",
    verify_overdue: "Die letzte erfolgreiche Prüfung war am {last|time}; Stufe {tier} will alle {every|duration} eine.",
    "verify_overdue.never":
      "Kein Archiv dieses Gastes wurde je geprüft; Stufe {tier} will alle {every|duration} eine Prüfung.",
    no_offsite:
      "Stufe {tier} will eine externe Kopie einer Sicherung, die nicht älter als {max|duration} ist: {why|phrases:semicolon}.",
    "offsite.never": "{target|phrases} war noch nie erfolgreich",
    "offsite.too_old":
      "{target|phrases} war zuletzt am {at|time} erfolgreich, und das Archiv darin (vom {archive|time}) ist älter, als die Stufe erlaubt",
    "offsite.before_newest":
      "{target|phrases} war zuletzt am {at|time} erfolgreich, vor dem neuesten Archiv auf Speicher {storage} (vom {archive|time})",
    "offsite.storage_too_old":
      "das neueste Archiv auf dem externen Speicher {storage} (vom {archive|time}) ist älter, als die Stufe erlaubt",
    "offsite.nothing":
      "nichts kopiert {count|plural:den Speicher:die Speicher} {storages|list} nach extern (das täte eine Hyper-Backup-Aufgabe, ein PBS-Sync-Auftrag oder ein externer PBS)",
    too_few_copies:
      "Stufe {tier} will {want|plural:# Kopie:# Kopien}, nicht älter als {max|duration}; {found|plural:gefunden wurde nur #:gefunden wurden nur #:gefunden wurde keine}[: {counted|phrases}].",
    "copy.storage": "das Archiv vom {at|time} auf Speicher {storage}",
    "copy.storage.offsite": "das Archiv vom {at|time} auf dem externen Speicher {storage}",
    "copy.target": "{target|phrases} mit dem Archiv vom {at|time}",
    "copy.target.offsite": "{target|phrases} (extern) mit dem Archiv vom {at|time}",
    "copy.file": "{target|phrases}, eine Dateikopie seiner Festplatten vom {at|time}",
    "copy.file.offsite": "{target|phrases} (extern), eine Dateikopie seiner Festplatten vom {at|time}",
    "offsite.file_too_old":
      "{target|phrases} hat seine Festplatten zuletzt am {at|time} kopiert; das ist länger her, als die Stufe erlaubt",
    "offsite.no_offsite_task": "keine Hyper-Backup-Aufgabe, die seine Festplatten kopiert, sichert nach extern",
    "target.hyperbackup": "Hyper-Backup-Aufgabe „{task}“ auf {nas}",
    "target.pbs_sync": "PBS-Sync-Auftrag {job} ({from} → {to})",

    "hyperbackup.unknown": "Das NAS ist nicht erreichbar, oder seine Antwort ist nicht lesbar.",
    "hyperbackup.broken": "Die Aufgabe ist im Zustand {state}[: {error}][ (Code {code})].",
    "hyperbackup.running": "Die Aufgabe läuft ({detail}).",
    "hyperbackup.failed": "Der letzte Lauf endete mit {result}[: {error}][ (Code {code})].",
    "hyperbackup.never": "Die Aufgabe hat noch nie eine Sicherung abgeschlossen.",
    "hyperbackup.stale": "Der letzte Erfolg war am {last|time}, länger her als erlaubt ({max|duration}).",
    "hyperbackup.ok":
      "Der letzte Erfolg war am {last|time}; ohne neueren gilt die Aufgabe ab {until|time} als veraltet.",
    "datastore.verify_failed": "Prüfauftrag[ {job}] fehlgeschlagen: {state}.",
    "datastore.sync_failed.push": "Push-Sync-Auftrag[ {job}] fehlgeschlagen: {state}.",
    "datastore.sync_failed.pull": "Pull-Sync-Auftrag[ {job}] fehlgeschlagen: {state}.",
    "datastore.gc_failed": "Speicherbereinigung fehlgeschlagen: {state}.",
    "fallback.running": "Die eigene Ersatzsicherung der Bridge läuft auf Knoten {node}.",
    "fallback.done": "Die eigene Ersatzsicherung der Bridge ist am {at|time} fertig geworden.",
    "fallback.failed": "Die eigene Ersatzsicherung der Bridge ist am {at|time} fehlgeschlagen.",
    fallback_failed:
      "Die eigene Ersatzsicherung der Bridge ist heute {count|plural:einmal:#-mal} fehlgeschlagen (zuletzt am {at|time}); für heute versucht sie es nicht mehr.",
    "fallback.limit":
      "Die Bridge hat heute schon {count|plural:eine Ersatzsicherung:# Ersatzsicherungen} ausgeführt (die letzte endete am {at|time}); die nächste darf morgen starten.",
    "fallback.waiting_for_job": "Eine Ersatzsicherung wartet auf den Sicherungsauftrag {job}, fällig am {at|time}.",
    "fallback.node_busy":
      "Eine Ersatzsicherung ist geplant; sie wartet, bis die Ersatzsicherung von {other} auf Knoten {node} zu Ende ist.",
    "fallback.ask":
      "Eine Ersatzsicherung ist ab {at|time} geplant[ (Zeitfenster {window})]; sie startet, sobald sie freigegeben ist.",
    "fallback.planned": "Eine Ersatzsicherung ist für {at|time} geplant[ (Zeitfenster {window})].",
    "fallback.starting": "Eine Ersatzsicherung startet jetzt.",
    "fallback.retry":
      "Die eigene Ersatzsicherung der Bridge ist am {failed|time} fehlgeschlagen; sie versucht es am {at|time} erneut.",
    "fallback.started": "Die Bridge hat eine Ersatzsicherung auf Knoten {node} gestartet: {why|phrases}",
    "approve_fallback.nothing": "Keine Ersatzsicherung dieses Gastes wartet auf Freigabe.",
    "approve_fallback.not_ask":
      "Stufe {tier} fragt vor einer Ersatzsicherung nicht nach (ihr fallback ist {action}), daher gibt es nichts freizugeben.",
    "approve_fallback.approved": "Freigegeben: Die Ersatzsicherung startet[ am {at|time}].",
    "datastore.snapshots_failed": "{count|plural:# Snapshot hat:# Snapshots haben} die Prüfung nicht bestanden.",
    job_missed: "Der Sicherungsauftrag {job} war am {due|time} fällig und ist auf Knoten {node} nicht gelaufen.",
    "job_missed.repeat":
      "Der Sicherungsauftrag {job} war am {due|time} fällig und ist auf Knoten {node} nicht gelaufen; er holt verpasste Läufe nach, also startet Proxmox ihn, wenn der Knoten wieder da ist, bisher aber nicht.",
    overrunning: "Die seit {since|time} laufende Sicherung dauert schon länger als {limit|duration}.",
    "overrunning.stalled":
      "Die seit {since|time} laufende Sicherung dauert schon länger als {limit|duration}, und ihr Protokoll zeigt seit {last|time} nichts Neues (über {stall|duration}).",
    "overrunning.stalled_only":
      "Die seit {since|time} laufende Sicherung scheint zu hängen: Ihr Protokoll zeigt seit {last|time} nichts Neues (über {stall|duration}).",
    "stop_backup.nothing": "Von diesem Gast läuft keine Sicherung, es gibt nichts abzubrechen.",
    "stop_backup.not_allowed": "Stufe {tier} erlaubt kein Abbrechen von Sicherungen (allow_stop: true setzen).",
    "stop_backup.untiered": "Dieser Gast hat keine Stufe, daher darf seine Sicherung nicht abgebrochen werden.",
    "stop_backup.failed": "Proxmox hat die Sicherung nicht abgebrochen: {error}",
    "stop_backup.stopped": "Proxmox wurde gebeten, die am {since|time} gestartete Sicherung abzubrechen.",
    "datastore.full": "Der Datenspeicher ist zu {percent} % voll.",
  },
};
