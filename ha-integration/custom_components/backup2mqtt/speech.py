"""What Assist says, in English and German: templates in the phrasebook's syntax (phrasebook.py).

The guests' problems come from the bridge as phrases and are rendered by the phrasebook; the
sentences around them are these. Plurals use {n|plural:one:other}, optional parts [ … ] (left out
when a parameter in them is missing). Every language has the same keys (tests/test_assist.py).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from .phrasebook import book, join_list, pick_language, render_template

# Lists of names are cut after this many ("… and 3 more").
MAX_NAMES = 8

ANSWERS: dict[str, dict[str, str]] = {
    "en": {
        "no_bridge": "I have not heard from the backup bridge yet.",
        "unknown_guest": "I don't know a guest called {text}.[ I know {names}.]",
        "no_guest_named": "Which guest do you mean?[ I know {names}.]",
        "more": "{count} more",
        "or": "or",
        "which_one": "Which one do you mean: {names}?",
        "failed": "Sorry, that did not work: {error}",
        "ago.now": "just now",
        "ago.minutes": "{n|plural:# minute:# minutes} ago",
        "ago.hours": "{n|plural:# hour:# hours} ago",
        "ago.days": "{n|plural:# day:# days} ago",
        "in.now": "in less than a minute",
        "in.minutes": "in {n|plural:# minute:# minutes}",
        "in.hours": "in {n|plural:# hour:# hours}",
        "in.days": "in {n|plural:# day:# days}",
        "backup.started": "Started a backup of {name}.",
        "backup.rejected": "The bridge refused to back up {name}: {reason}",
        "backup.sent": "Asked the bridge to back up {name}; it has not answered yet.",
        "verify.started": "Started verifying the newest backup of {name}.",
        "verify.rejected": "The bridge refused to verify {name}: {reason}",
        "verify.sent": "Asked the bridge to verify {name}; it has not answered yet.",
        "fallback.approved": "Approved. The backup of {name} starts {in}.",
        "fallback.approved_now": "Approved. The backup of {name} starts now.",
        "fallback.rejected": "The bridge refused to approve the backup of {name}: {reason}",
        "fallback.sent": "Asked the bridge to approve the backup of {name}; it has not answered yet.",
        "fallback.none": "Nothing to approve: no backup of {name} is waiting for approval.",
        "fallback.already": "The backup of {name} is already approved[ and starts {in}].",
        "fallback.running": "The backup of {name} is already running.",
        "last.when": "{name} was last backed up {ago}.",
        "last.never": "{name} has never been backed up.",
        "status": "Status: {status}.",
        "running_now": "A backup is running right now.",
        "guest.ok": "Yes, {name} is OK[, last backed up {ago}].",
        "guest.problems": "No, {name} has {count|plural:a problem:# problems}: {reasons}",
        "guest.unknown": "I can't tell whether {name} is OK: {reason}",
        "wrong.ok": "Nothing, {name} is OK[, last backed up {ago}].",
        "wrong.problems": "{name} has {count|plural:a problem:# problems}: {reasons}",
        "wrong.unknown": "I can't tell what is wrong with {name}: {reason}",
        "all.ok": "Yes, {total|plural:the only backup is:all # backups are} OK.",
        "all.problems": "No, {bad} of {total} {total|plural:guest:guests} {bad|plural:has a problem:have problems}: "
        "{names}.",
        "any.none": "No, {total|plural:the only backup is:all # backups are} OK.",
        "any.problems": "Yes, {bad} of {total} {total|plural:guest:guests} {bad|plural:has a problem:have problems}: "
        "{names}.",
        "which.none": "None, {total|plural:the only backup is:all # backups are} OK.",
        "which.problems": "{bad|plural:One guest has a problem:# guests have problems}. {details}",
        "summary": "Backup status of {total} {total|plural:guest:guests}: {counts}. {problems}",
        "summary.problems": "{bad|plural:# has a problem:# have problems}: {names}.",
        "summary.none": "No problems.",
        "report": "Backup report for {total} {total|plural:guest:guests}: {counts}. {details}",
        "report.none": "No problems.",
        "count": "{n} {status}",
        "counts.joiner": "",
        "detail": "{name}: {reasons}",
        "offsite.when": "The last off-site copy of {name} was made {ago}.",
        "offsite.never": "{name} has no off-site copy.",
        "next.when": "The next backup of {name} is scheduled {in}.",
        "next.overdue": "The next backup of {name} was due {ago}.",
        "next.none": "No backup of {name} is scheduled.",
        "running.none": "No, no backup is running right now.",
        "running.one": "Yes, a backup of {names} is running.",
        "running.many": "Yes, backups of {names} are running.",
    },
    "de": {
        "no_bridge": "Von der Sicherungs-Bridge habe ich noch nichts gehört.",
        "unknown_guest": "Einen Gast namens {text} kenne ich nicht.[ Ich kenne {names}.]",
        "no_guest_named": "Welchen Gast meinst du?[ Ich kenne {names}.]",
        "more": "{count} weitere",
        "or": "oder",
        "which_one": "Welchen meinst du: {names}?",
        "failed": "Das hat leider nicht geklappt: {error}",
        "ago.now": "gerade eben",
        "ago.minutes": "vor {n|plural:# Minute:# Minuten}",
        "ago.hours": "vor {n|plural:# Stunde:# Stunden}",
        "ago.days": "vor {n|plural:# Tag:# Tagen}",
        "in.now": "in weniger als einer Minute",
        "in.minutes": "in {n|plural:# Minute:# Minuten}",
        "in.hours": "in {n|plural:# Stunde:# Stunden}",
        "in.days": "in {n|plural:# Tag:# Tagen}",
        "backup.started": "Die Sicherung von {name} wurde gestartet.",
        "backup.rejected": "Die Bridge hat die Sicherung von {name} abgelehnt: {reason}",
        "backup.sent": "Die Bridge wurde gebeten, {name} zu sichern; sie hat noch nicht geantwortet.",
        "verify.started": "Die Prüfung der neuesten Sicherung von {name} wurde gestartet.",
        "verify.rejected": "Die Bridge hat die Prüfung von {name} abgelehnt: {reason}",
        "verify.sent": "Die Bridge wurde gebeten, {name} zu prüfen; sie hat noch nicht geantwortet.",
        "fallback.approved": "Freigegeben. Die Sicherung von {name} startet {in}.",
        "fallback.approved_now": "Freigegeben. Die Sicherung von {name} startet jetzt.",
        "fallback.rejected": "Die Bridge hat die Freigabe der Sicherung von {name} abgelehnt: {reason}",
        "fallback.sent": "Die Bridge wurde gebeten, die Sicherung von {name} freizugeben; "
        "sie hat noch nicht geantwortet.",
        "fallback.none": "Nichts freizugeben: Für {name} wartet keine Sicherung auf Freigabe.",
        "fallback.already": "Die Sicherung von {name} ist schon freigegeben[ und startet {in}].",
        "fallback.running": "Die Sicherung von {name} läuft bereits.",
        "last.when": "{name} wurde zuletzt {ago} gesichert.",
        "last.never": "{name} wurde noch nie gesichert.",
        "status": "Status: {status}.",
        "running_now": "Gerade läuft eine Sicherung.",
        "guest.ok": "Ja, {name} ist in Ordnung[, zuletzt {ago} gesichert].",
        "guest.problems": "Nein, {name} hat {count|plural:ein Problem:# Probleme}: {reasons}",
        "guest.unknown": "Ob {name} in Ordnung ist, kann ich nicht sagen: {reason}",
        "wrong.ok": "Nichts, {name} ist in Ordnung[, zuletzt {ago} gesichert].",
        "wrong.problems": "{name} hat {count|plural:ein Problem:# Probleme}: {reasons}",
        "wrong.unknown": "Was mit {name} los ist, kann ich nicht sagen: {reason}",
        "all.ok": "Ja, {total|plural:die einzige Sicherung ist:alle # Sicherungen sind} in Ordnung.",
        "all.problems": "Nein, {bad} von {total} {total|plural:Gast:Gästen} "
        "{bad|plural:hat ein Problem:haben Probleme}: {names}.",
        "any.none": "Nein, {total|plural:die einzige Sicherung ist:alle # Sicherungen sind} in Ordnung.",
        "any.problems": "Ja, {bad} von {total} {total|plural:Gast:Gästen} "
        "{bad|plural:hat ein Problem:haben Probleme}: {names}.",
        "which.none": "Keiner, {total|plural:die einzige Sicherung ist:alle # Sicherungen sind} in Ordnung.",
        "which.problems": "{bad|plural:Ein Gast hat ein Problem:# Gäste haben Probleme}. {details}",
        "summary": "Sicherungsstatus von {total} {total|plural:Gast:Gästen} – {counts}. {problems}",
        "summary.problems": "{bad|plural:Ein Problem hat:Probleme haben} {names}.",
        "summary.none": "Keine Probleme.",
        "report": "Sicherungsbericht für {total} {total|plural:Gast:Gäste} – {counts}. {details}",
        "report.none": "Keine Probleme.",
        "count": "{status}: {n}",
        "counts.joiner": ", ",
        "detail": "{name}: {reasons}",
        "offsite.when": "Die letzte externe Kopie von {name} wurde {ago} erstellt.",
        "offsite.never": "Von {name} gibt es keine externe Kopie.",
        "next.when": "Die nächste Sicherung von {name} ist {in} geplant.",
        "next.overdue": "Die nächste Sicherung von {name} war {ago} fällig.",
        "next.none": "Für {name} ist keine Sicherung geplant.",
        "running.none": "Nein, gerade läuft keine Sicherung.",
        "running.one": "Ja, gerade läuft eine Sicherung von {names}.",
        "running.many": "Ja, gerade laufen Sicherungen von {names}.",
    },
}


class Speaker:
    """Says things in one language, with times relative to `now` in `time_zone`."""

    def __init__(self, language: str | None, time_zone: tzinfo, now: datetime) -> None:
        """`language` is a Home Assistant language tag ("de-CH" speaks German)."""
        self.language = pick_language(language)
        self.time_zone = time_zone
        self.now = now
        self.words = ANSWERS.get(self.language, ANSWERS["en"])

    def say(self, key: str, **params: Any) -> str:
        """One answer template, rendered."""
        return render_template(self.words[key], params, self.language, self.time_zone)

    def names(self, names: list[str], conjunction: str | None = None) -> str:
        """ "a, b and c", cut after MAX_NAMES ("…, h and 3 more")."""
        shown = names[:MAX_NAMES]
        if len(names) > MAX_NAMES:
            shown.append(self.say("more", count=len(names) - MAX_NAMES))
        return join_list(shown, self.language, conjunction)

    def counts(self, counts: list[tuple[str, int]]) -> str:
        """How many guests have each status: "3 OK and 2 Stale" / "OK: 3, Veraltet: 2"."""
        items = [self.say("count", n=n, status=self.status(status)) for status, n in counts]
        joiner = self.words["counts.joiner"]
        return joiner.join(items) if joiner else join_list(items, self.language)

    def either(self, names: list[str]) -> str:
        """ "a or b"."""
        return self.names(names, self.words["or"])

    def ago(self, when: datetime) -> str:
        """ "3 hours ago" / "vor 3 Stunden" (the largest whole unit)."""
        return self._relative(int((self.now - when).total_seconds()), "ago")

    def until(self, when: datetime) -> str:
        """ "in 3 hours" / "in 3 Stunden"."""
        return self._relative(int((when - self.now).total_seconds()), "in")

    def _relative(self, seconds: int, kind: str) -> str:
        seconds = max(0, seconds)
        if seconds >= 86400:
            return self.say(f"{kind}.days", n=seconds // 86400)
        if seconds >= 3600:
            return self.say(f"{kind}.hours", n=seconds // 3600)
        if seconds >= 60:
            return self.say(f"{kind}.minutes", n=seconds // 60)
        return self.say(f"{kind}.now")

    def status(self, status: str) -> str:
        """A status word from the phrasebook ("Stale", "Veraltet")."""
        return book(self.language)["statuses"].get(status, status)


def sentences(texts: list[str]) -> str:
    """Texts joined as sentences, each ending in a full stop (or its own ., ! or ?)."""
    return " ".join(t if t.endswith((".", "!", "?")) else f"{t}." for t in (t.strip() for t in texts) if t)
