"""Assist: intents that answer from the bridge's state, in English and German, and the sentences that reach them.

Intents (usable by any agent or caller of `intent.async_handle`; slot `guest` = a spoken guest name,
id or VMID):

| intent | slot | asks |
|---|---|---|
| `Backup2mqttBackUp` | guest | back up a guest now |
| `Backup2mqttVerify` | guest | verify the newest archive of a guest now |
| `Backup2mqttApproveFallback` | guest | approve the fallback backup the bridge waits to run (tier `fallback: ask`) |
| `Backup2mqttLastBackup` | guest | when was it last backed up (and its status) |
| `Backup2mqttGuestStatus` | guest | is it OK / backed up (yes or no, and why not) |
| `Backup2mqttGuestProblems` | guest | what is wrong with it |
| `Backup2mqttLastOffsite` | guest | when was its last off-site copy |
| `Backup2mqttNextBackup` | guest | when is it backed up next |
| `Backup2mqttStatus` | | are my backups OK (yes or no, and which are not) |
| `Backup2mqttAnyProblems` | | do any backups have problems (yes or no, and which) |
| `Backup2mqttProblemGuests` | | which guests have problems, and the first reason of each |
| `Backup2mqttSummary` | | backup status: counts per status and the guests with problems |
| `Backup2mqttReport` | | backup report: counts per status and every problem of every guest |
| `Backup2mqttRunning` | | is a backup running (yes or no, and of which guests) |

Sentences: `sentences/<language>.yaml` (custom-sentence syntax). All of them are registered with the
built-in conversation agent as one sentence trigger, so they need no file in config/custom_sentences.
Home Assistant matches trigger sentences whatever the request's language and hands the callback
only its first match; the callback recognizes the text again against the sentences of the
request's language (then the others) and takes hassil's best match: the fewest {guest} wildcards,
the most fixed words ("backup status" is the status, not a backup of a guest called "status").
Answers are in the request's language (Home Assistant's when the caller gives none); guests'
problems are the bridge's phrases rendered by the phrasebook in that language and Home Assistant's
time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hassil.intents import Intents, WildcardSlotList
from hassil.recognize import recognize_best

try:
    import probatio as vol
except ImportError:  # pragma: no cover - older Home Assistant
    import voluptuous as vol  # type: ignore[no-redef]

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, intent
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
from homeassistant.util.yaml import load_yaml_dict

from .const import DOMAIN, PROBLEM_STATUSES
from .hub import FILLER_WORDS, finding_reason, guest_reasons, guest_status_reason, normalize_name
from .phrasebook import LANGUAGES, pick_language
from .services import hubs
from .speech import Speaker, sentences

if TYPE_CHECKING:
    from .hub import BridgeHub

INTENT_BACK_UP = "Backup2mqttBackUp"
INTENT_VERIFY = "Backup2mqttVerify"
INTENT_APPROVE_FALLBACK = "Backup2mqttApproveFallback"
INTENT_LAST_BACKUP = "Backup2mqttLastBackup"
INTENT_GUEST_STATUS = "Backup2mqttGuestStatus"
INTENT_GUEST_PROBLEMS = "Backup2mqttGuestProblems"
INTENT_LAST_OFFSITE = "Backup2mqttLastOffsite"
INTENT_NEXT_BACKUP = "Backup2mqttNextBackup"
INTENT_STATUS = "Backup2mqttStatus"
INTENT_ANY_PROBLEMS = "Backup2mqttAnyProblems"
INTENT_PROBLEM_GUESTS = "Backup2mqttProblemGuests"
INTENT_SUMMARY = "Backup2mqttSummary"
INTENT_REPORT = "Backup2mqttReport"
INTENT_RUNNING = "Backup2mqttRunning"

SLOT_GUEST = "guest"
SENTENCES_DIR = Path(__file__).parent / "sentences"
# Seconds a spoken command waits for the bridge's answer (a voice answer should not take longer).
COMMAND_WAIT = 4.0

# Problems first, worst first; counts are said in this order too.
STATUS_ORDER = ("failed", "missing", "stale", "unknown", "running", "ok")
COUNT_ORDER = ("ok", "running", "stale", "failed", "missing", "unknown")

DATA_RECOGNIZER: HassKey[Recognizer] = HassKey(f"{DOMAIN}_assist_recognizer")


# ---------------------------------------------------------------------------------------------- sentences


def load_sentences(language: str = "en") -> dict[str, list[str]]:
    """intent name → sentence templates from sentences/<language>.yaml (blocking: file I/O)."""
    data = load_yaml_dict(str(SENTENCES_DIR / f"{language}.yaml"))
    out: dict[str, list[str]] = {}
    for name, spec in (data.get("intents") or {}).items():
        out[name] = [s for block in spec.get("data", []) for s in block.get("sentences", [])]
    return out


def load_all_sentences() -> dict[str, dict[str, list[str]]]:
    """language → intent → templates, for every language the phrasebook speaks (blocking: file I/O)."""
    return {lang: load_sentences(lang) for lang in LANGUAGES if (SENTENCES_DIR / f"{lang}.yaml").is_file()}


class Recognizer:
    """Which of our intents a text asks for, and its slots (hassil, as the built-in agent uses)."""

    def __init__(self, sentences_by_language: dict[str, dict[str, list[str]]]) -> None:
        """Compile each language's sentences."""
        self.sentences = sentences_by_language
        self._intents = {
            lang: Intents.from_dict(
                {
                    "language": lang,
                    "intents": {name: {"data": [{"sentences": ts}]} for name, ts in by_intent.items()},
                }
            )
            for lang, by_intent in sentences_by_language.items()
        }
        self._slot_lists = {SLOT_GUEST: WildcardSlotList(SLOT_GUEST)}

    @property
    def templates(self) -> list[str]:
        """Every sentence template of every language."""
        return [t for by_intent in self.sentences.values() for ts in by_intent.values() for t in ts]

    def recognize(self, text: str, language: str | None = None) -> tuple[str, dict[str, str]] | None:
        """(intent, {slot: text}) for `text`, trying the request's language first; None when nothing matches."""
        first = pick_language(language)
        for lang in sorted(self._intents, key=lambda lang: lang != first):
            result = recognize_best(text, self._intents[lang], slot_lists=self._slot_lists, language=lang)
            if result is not None:
                slots = {name: str(e.text or e.value or "").strip() for name, e in result.entities.items()}
                return result.intent.name, slots
        return None


async def async_register_sentences(hass: HomeAssistant) -> None:
    """Register the sentences with the default conversation agent (once per Home Assistant start)."""
    from homeassistant.components.conversation.agent_manager import get_agent_manager  # noqa: PLC0415

    recognizer = Recognizer(await hass.async_add_executor_job(load_all_sentences))
    hass.data[DATA_RECOGNIZER] = recognizer

    async def on_sentence(user_input: Any, _result: Any) -> str | None:
        language = user_input.language or hass.config.language
        found = recognizer.recognize(user_input.text, language)
        if found is None:  # pragma: no cover - Home Assistant matched one of these very sentences
            return None
        intent_type, values = found
        try:
            response = await intent.async_handle(
                hass,
                DOMAIN,
                intent_type,
                {name: {"value": value, "text": value} for name, value in values.items()},
                text_input=user_input.text,
                context=user_input.context,
                language=language,
            )
        except intent.IntentError as err:
            return _speaker(hass, language).say("failed", error=str(err))
        return response.speech.get("plain", {}).get("speech")

    get_agent_manager(hass).register_trigger(recognizer.templates, on_sentence)


# ---------------------------------------------------------------------------------------------- answers


def _speaker(hass: HomeAssistant, language: str | None) -> Speaker:
    return Speaker(language or hass.config.language, dt_util.get_default_time_zone(), dt_util.utcnow())


def _when(ts: Any) -> datetime | None:
    return dt_util.parse_datetime(ts) if isinstance(ts, str) and ts else None


def _is_problem(g: dict[str, Any]) -> bool:
    return bool(g.get("problem")) or g.get("status") in PROBLEM_STATUSES


def _name(g: dict[str, Any]) -> str:
    return str(g.get("name") or g.get("id"))


def _order(g: dict[str, Any]) -> tuple[int, str]:
    status = str(g.get("status"))
    return (STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER), _name(g))


def _spoken(text: str) -> str:
    """The name as said, without filler words around it ("the toaster" → "toaster")."""
    words = text.split()
    while words and normalize_name(words[0]) in FILLER_WORDS:
        words.pop(0)
    while words and normalize_name(words[-1]) in FILLER_WORDS:
        words.pop()
    return " ".join(words) or text.strip()


@dataclass
class Ask:
    """One question: who asks in which language, and what the bridges know."""

    hass: HomeAssistant
    say: Speaker
    hubs: list[BridgeHub]

    @property
    def guests(self) -> list[dict[str, Any]]:
        """Every guest of every bridge, problems first (worst first), then by name."""
        return sorted((g for hub in self.hubs for g in hub.guests.values()), key=_order)

    def reasons(self, g: dict[str, Any]) -> list[str]:
        """A guest's problems in words, in the question's language."""
        reasons = guest_reasons(g, self.say.language, self.say.time_zone)
        if not reasons and _is_problem(g):
            reasons = [self.status_reason(g) or self.say.status(str(g.get("status")))]
        return reasons

    def status_reason(self, g: dict[str, Any]) -> str | None:
        """Why the guest's status is what it is."""
        return guest_status_reason(g, self.say.language, self.say.time_zone)

    def ago(self, ts: Any) -> str | None:
        """ "3 hours ago" for a timestamp, None without one."""
        when = _when(ts)
        return self.say.ago(when) if when else None

    def find(self, text: str) -> tuple[BridgeHub, str] | str:
        """(hub, guest id) for a spoken name, or the answer when there is no single one."""
        known = sorted({name for hub in self.hubs for name in hub.guest_names()}, key=str.lower)
        names = self.say.names(known) if known else None
        if not text.strip():
            return self.say.say("no_guest_named", names=names)
        matches = [(hub, gid) for hub in self.hubs for gid in hub.find_guests(text)]
        if not matches:
            return self.say.say("unknown_guest", text=_spoken(text), names=names)
        if len(matches) > 1:
            return self.say.say("which_one", names=self.say.either([_name(h.guests[g]) for h, g in matches]))
        return matches[0]


class _Backup2mqttIntent(intent.IntentHandler):
    """An intent answered from the bridges' state; subclasses say what."""

    description = ""

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Build the answer (in the intent's language) and say it."""
        hass = intent_obj.hass
        ask = Ask(hass, _speaker(hass, intent_obj.language), hubs(hass))
        if not any(hub.guests for hub in ask.hubs):
            text = ask.say.say("no_bridge")
        else:
            text = await self.answer(ask, intent_obj)
        response = intent_obj.create_response()
        response.async_set_speech(text)
        return response

    async def answer(self, ask: Ask, intent_obj: intent.Intent) -> str:
        """The answer's text."""
        raise NotImplementedError


class _GuestIntent(_Backup2mqttIntent):
    """An intent about one guest (slot `guest`)."""

    slot_schema = {vol.Required(SLOT_GUEST): cv.string}

    async def answer(self, ask: Ask, intent_obj: intent.Intent) -> str:
        """Find the guest, then answer about it."""
        slots = self.async_validate_slots(intent_obj.slots)
        found = ask.find(str(slots[SLOT_GUEST]["value"]))
        if isinstance(found, str):
            return found
        hub, gid = found
        return await self.answer_guest(ask, hub, gid)

    async def answer_guest(self, ask: Ask, hub: BridgeHub, gid: str) -> str:
        """The answer about one guest."""
        raise NotImplementedError


class BackUpIntent(_GuestIntent):
    """Start a backup of one guest."""

    intent_type = INTENT_BACK_UP
    description = "Starts a backup (vzdump) of a Proxmox guest tracked by backup2mqtt"

    async def answer_guest(self, ask: Ask, hub: BridgeHub, gid: str) -> str:
        """Started, refused (why) or no answer yet."""
        result = await hub.async_back_up(gid, wait=COMMAND_WAIT)
        name = _name(hub.guests.get(gid, {"id": gid}))
        return sentences([ask.say.say(f"backup.{result.outcome}", name=name, reason=result.reason)])


class VerifyIntent(_GuestIntent):
    """Verify the newest archive of one guest."""

    intent_type = INTENT_VERIFY
    description = "Starts an integrity check of the newest backup archive of a Proxmox guest tracked by backup2mqtt"

    async def answer_guest(self, ask: Ask, hub: BridgeHub, gid: str) -> str:
        """Started, refused (why) or no answer yet."""
        result = await hub.async_verify(gid, wait=COMMAND_WAIT)
        name = _name(hub.guests.get(gid, {"id": gid}))
        return sentences([ask.say.say(f"verify.{result.outcome}", name=name, reason=result.reason)])


def _fallback(g: dict[str, Any]) -> dict[str, Any] | None:
    """The guest's fallback backup (bridge/schemas/guest-state.schema.json `fallback`), None without one."""
    f = g.get("fallback")
    return f if isinstance(f, dict) else None


def fallback_pending(g: dict[str, Any]) -> bool:
    """Does a planned fallback of this guest wait for approval (as the bridge's *Fallback pending* sensor)?"""
    f = _fallback(g)
    return bool(f) and f.get("action") == "ask" and f.get("state") == "planned" and not f.get("approved")


class ApproveFallbackIntent(_GuestIntent):
    """Approve the fallback backup the bridge planned for one guest and waits to run."""

    intent_type = INTENT_APPROVE_FALLBACK
    description = (
        "Approves the fallback backup backup2mqtt planned for a Proxmox guest whose regular backup did not happen"
    )

    def _starts(self, ask: Ask, f: dict[str, Any] | None) -> str | None:
        """ "in 3 hours" when the fallback starts later, None when it starts now (or nobody knows when)."""
        when = _when((f or {}).get("at"))
        return ask.say.until(when) if when and when > ask.say.now + timedelta(minutes=1) else None

    async def answer_guest(self, ask: Ask, hub: BridgeHub, gid: str) -> str:
        """Approved (it starts now / in …), refused (why), nothing to approve, or no answer yet."""
        g = hub.guests[gid]
        name = _name(g)
        f = _fallback(g)
        if not fallback_pending(g):
            if f and f.get("state") == "running":
                return ask.say.say("fallback.running", name=name)
            if f and f.get("state") == "planned" and f.get("approved"):
                return ask.say.say("fallback.already", name=name, **{"in": self._starts(ask, f)})
            return ask.say.say("fallback.none", name=name)
        result = await hub.async_approve_fallback(gid, wait=COMMAND_WAIT)
        if result.outcome == "rejected":
            return sentences([ask.say.say("fallback.rejected", name=name, reason=result.reason)])
        if result.outcome == "sent":
            return ask.say.say("fallback.sent", name=name)
        now = _fallback(hub.guests.get(gid, g)) or f
        starts = None if now.get("state") == "running" else self._starts(ask, now)
        if starts is None:
            return ask.say.say("fallback.approved_now", name=name)
        return ask.say.say("fallback.approved", name=name, **{"in": starts})


class LastBackupIntent(_GuestIntent):
    """When was a guest last backed up."""

    intent_type = INTENT_LAST_BACKUP
    description = "Tells when a Proxmox guest was last backed up and its backup status"

    async def answer_guest(self, ask: Ask, hub: BridgeHub, gid: str) -> str:
        """When, its status, and why when the status is not OK."""
        g = hub.guests[gid]
        ago = ask.ago(g.get("last_backup"))
        status = str(g.get("status") or "unknown")
        parts = [
            ask.say.say("last.when", name=_name(g), ago=ago) if ago else ask.say.say("last.never", name=_name(g)),
            ask.say.say("status", status=ask.say.status(status)),
        ]
        if status not in ("ok", "running"):
            parts.append(ask.status_reason(g) or "")
        return sentences(parts)


class GuestStatusIntent(_GuestIntent):
    """Is a guest OK (backed up as its tier wants)."""

    intent_type = INTENT_GUEST_STATUS
    description = "Tells whether a Proxmox guest is backed up as its tier requires (yes or no, and why not)"
    prefix = "guest"

    async def answer_guest(self, ask: Ask, hub: BridgeHub, gid: str) -> str:
        """Yes (when last backed up) / no (its problems) / can't tell (why)."""
        g = hub.guests[gid]
        if _is_problem(g):
            reasons = ask.reasons(g)
            return ask.say.say(f"{self.prefix}.problems", name=_name(g), count=len(reasons), reasons=sentences(reasons))
        if g.get("status") == "unknown":
            reason = sentences([ask.status_reason(g) or ask.say.status("unknown")])
            return ask.say.say(f"{self.prefix}.unknown", name=_name(g), reason=reason)
        return ask.say.say(f"{self.prefix}.ok", name=_name(g), ago=ask.ago(g.get("last_backup")))


class GuestProblemsIntent(GuestStatusIntent):
    """What is wrong with a guest."""

    intent_type = INTENT_GUEST_PROBLEMS
    description = "Tells what is wrong with the backups of a Proxmox guest (nothing, or each problem)"
    prefix = "wrong"


class LastOffsiteIntent(_GuestIntent):
    """When was a guest's last off-site copy."""

    intent_type = INTENT_LAST_OFFSITE
    description = "Tells when the last off-site copy of a Proxmox guest's backup was made"

    async def answer_guest(self, ask: Ask, hub: BridgeHub, gid: str) -> str:
        """When (or never), and the no_offsite finding's words when there is one."""
        g = hub.guests[gid]
        ago = ask.ago(g.get("last_offsite"))
        parts = [
            ask.say.say("offsite.when", name=_name(g), ago=ago) if ago else ask.say.say("offsite.never", name=_name(g))
        ]
        for f in g.get("findings") or []:
            if isinstance(f, dict) and f.get("code") == "no_offsite":
                parts.append(finding_reason(f, ask.say.language, ask.say.time_zone) or "")
        return sentences(parts)


class NextBackupIntent(_GuestIntent):
    """When is a guest backed up next."""

    intent_type = INTENT_NEXT_BACKUP
    description = "Tells when the next scheduled backup of a Proxmox guest runs"

    async def answer_guest(self, ask: Ask, hub: BridgeHub, gid: str) -> str:
        """In how long (or overdue, or none: then why none)."""
        g = hub.guests[gid]
        when = _when(g.get("next_backup"))
        if when is None:
            parts = [ask.say.say("next.none", name=_name(g))]
            for f in g.get("findings") or []:
                if isinstance(f, dict) and f.get("code") == "unprotected":
                    parts.append(finding_reason(f, ask.say.language, ask.say.time_zone) or "")
            return sentences(parts)
        if when < ask.say.now:
            return ask.say.say("next.overdue", name=_name(g), ago=ask.say.ago(when))
        return ask.say.say("next.when", name=_name(g), **{"in": ask.say.until(when)})


class StatusIntent(_Backup2mqttIntent):
    """Are all backups OK (yes means OK)."""

    intent_type = INTENT_STATUS
    description = "Tells whether all Proxmox guests tracked by backup2mqtt are backed up as their tier promises"
    keys = ("all.ok", "all.problems")

    async def answer(self, ask: Ask, intent_obj: intent.Intent) -> str:
        """Yes, all n / no, k of n: names."""
        guests = ask.guests
        bad = [g for g in guests if _is_problem(g)]
        if not bad:
            return ask.say.say(self.keys[0], total=len(guests))
        return ask.say.say(self.keys[1], bad=len(bad), total=len(guests), names=ask.say.names([_name(g) for g in bad]))


class AnyProblemsIntent(StatusIntent):
    """Do any backups have problems (yes means problems)."""

    intent_type = INTENT_ANY_PROBLEMS
    description = "Tells whether any Proxmox guest tracked by backup2mqtt has a backup problem, and which"
    keys = ("any.none", "any.problems")


class ProblemGuestsIntent(_Backup2mqttIntent):
    """Which guests have problems, each with its first reason."""

    intent_type = INTENT_PROBLEM_GUESTS
    description = "Lists the Proxmox guests that have backup problems, with the main problem of each"

    async def answer(self, ask: Ask, intent_obj: intent.Intent) -> str:
        """None / k guests: name: first reason, …"""
        guests = ask.guests
        bad = [g for g in guests if _is_problem(g)]
        if not bad:
            return ask.say.say("which.none", total=len(guests))
        details = [ask.say.say("detail", name=_name(g), reasons=sentences(ask.reasons(g)[:1])) for g in bad]
        return ask.say.say("which.problems", bad=len(bad), details=" ".join(details))


def _counts(ask: Ask, guests: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for g in guests:
        status = str(g.get("status") or "unknown")
        counts[status] = counts.get(status, 0) + 1
    order = [s for s in COUNT_ORDER if s in counts] + sorted(s for s in counts if s not in COUNT_ORDER)
    return ask.say.counts([(s, counts[s]) for s in order])


class SummaryIntent(_Backup2mqttIntent):
    """Backup status: counts per status and the guests with problems."""

    intent_type = INTENT_SUMMARY
    description = "A short backup status of all Proxmox guests: how many per status and which have problems"

    async def answer(self, ask: Ask, intent_obj: intent.Intent) -> str:
        """n guests: counts. k have problems: names."""
        guests = ask.guests
        bad = [g for g in guests if _is_problem(g)]
        problems = (
            ask.say.say("summary.problems", bad=len(bad), names=ask.say.names([_name(g) for g in bad]))
            if bad
            else ask.say.say("summary.none")
        )
        return ask.say.say("summary", total=len(guests), counts=_counts(ask, guests), problems=problems)


class ReportIntent(_Backup2mqttIntent):
    """Backup report: counts per status and every problem."""

    intent_type = INTENT_REPORT
    description = "A spoken backup report of all Proxmox guests: how many per status, then every problem of each guest"

    async def answer(self, ask: Ask, intent_obj: intent.Intent) -> str:
        """n guests: counts. name: reasons. …"""
        guests = ask.guests
        bad = [g for g in guests if _is_problem(g)]
        details = (
            " ".join(ask.say.say("detail", name=_name(g), reasons=sentences(ask.reasons(g))) for g in bad)
            if bad
            else ask.say.say("report.none")
        )
        return ask.say.say("report", total=len(guests), counts=_counts(ask, guests), details=details)


class RunningIntent(_Backup2mqttIntent):
    """Is a backup running."""

    intent_type = INTENT_RUNNING
    description = "Tells whether a backup of any Proxmox guest tracked by backup2mqtt is running, and of which"

    async def answer(self, ask: Ask, intent_obj: intent.Intent) -> str:
        """No / yes: names."""
        running = sorted(
            (_name(g) for g in ask.guests if g.get("running") or g.get("status") == "running"), key=str.lower
        )
        if not running:
            return ask.say.say("running.none")
        return ask.say.say("running.one" if len(running) == 1 else "running.many", names=ask.say.names(running))


HANDLERS: tuple[type[_Backup2mqttIntent], ...] = (
    BackUpIntent,
    VerifyIntent,
    ApproveFallbackIntent,
    LastBackupIntent,
    GuestStatusIntent,
    GuestProblemsIntent,
    LastOffsiteIntent,
    NextBackupIntent,
    StatusIntent,
    AnyProblemsIntent,
    ProblemGuestsIntent,
    SummaryIntent,
    ReportIntent,
    RunningIntent,
)
INTENTS: tuple[str, ...] = tuple(h.intent_type for h in HANDLERS)
GUEST_INTENTS: frozenset[str] = frozenset(h.intent_type for h in HANDLERS if issubclass(h, _GuestIntent))


@callback
def async_register_intents(hass: HomeAssistant) -> None:
    """Register the intent handlers (once)."""
    for handler in HANDLERS:
        intent.async_register(hass, handler())
