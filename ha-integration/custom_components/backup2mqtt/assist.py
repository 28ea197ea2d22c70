"""Assist: intents that answer from the bridge's state, and English sentences that reach them.

Intents (usable by any agent or `intent_script`-style caller through `intent.async_handle`):
- `Backup2mqttBackUp` (slot `guest`): start a backup of a guest;
- `Backup2mqttLastBackup` (slot `guest`): when was it last backed up, and its status;
- `Backup2mqttStatus`: are all backups ok, and which are not.

Sentences (`sentences/<language>.yaml`, custom-sentence syntax) are registered with the built-in
conversation agent as sentence triggers, so they need no file in config/custom_sentences.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

try:
    import probatio as vol
except ImportError:  # pragma: no cover - older Home Assistant
    import voluptuous as vol  # type: ignore[no-redef]

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, intent
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml_dict

from .const import DOMAIN, PROBLEM_STATUSES
from .services import hubs

INTENT_BACK_UP = "Backup2mqttBackUp"
INTENT_LAST_BACKUP = "Backup2mqttLastBackup"
INTENT_STATUS = "Backup2mqttStatus"

SENTENCES_DIR = Path(__file__).parent / "sentences"

STATUS_PHRASE = {
    "ok": "is ok",
    "stale": "is stale",
    "failed": "failed its last backup",
    "missing": "has never been backed up",
    "running": "is being backed up right now",
    "unknown": "has an unknown backup state",
}


def _age(ts: str | None, now: datetime) -> str | None:
    """'3 hours ago' style age of an ISO timestamp."""
    when = dt_util.parse_datetime(ts) if ts else None
    if when is None:
        return None
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def _find_one(hass: HomeAssistant, text: str) -> tuple[Any, str] | str:
    """(hub, guest id) for spoken text, or the sentence to say when that fails."""
    matches = [(hub, gid) for hub in hubs(hass) for gid in hub.find_guests(text)]
    if not matches:
        return f"I don't know a guest called {text}."
    if len(matches) > 1:
        names = " or ".join(str(h.guests[g].get("name")) for h, g in matches)
        return f"Which one do you mean: {names}?"
    return matches[0]


def _speech(intent_obj: intent.Intent, text: str) -> intent.IntentResponse:
    response = intent_obj.create_response()
    response.async_set_speech(text)
    return response


class BackUpIntent(intent.IntentHandler):
    """Start a backup of one guest."""

    intent_type = INTENT_BACK_UP
    description = "Starts a backup (vzdump) of a Proxmox guest tracked by backup2mqtt"
    slot_schema = {vol.Required("guest"): cv.string}

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        slots = self.async_validate_slots(intent_obj.slots)
        found = _find_one(intent_obj.hass, slots["guest"]["value"])
        if isinstance(found, str):
            return _speech(intent_obj, found)
        hub, gid = found
        name = hub.guests[gid].get("name") or gid
        result = await hub.async_back_up(gid, wait=4.0)
        if result.outcome == "rejected":
            return _speech(intent_obj, f"The bridge refused to back up {name}: {result.reason}")
        if result.outcome == "started":
            return _speech(intent_obj, f"Started a backup of {name}.")
        return _speech(intent_obj, f"Asked the bridge to back up {name}.")


class LastBackupIntent(intent.IntentHandler):
    """When was a guest last backed up."""

    intent_type = INTENT_LAST_BACKUP
    description = "Tells when a Proxmox guest was last backed up and its backup status"
    slot_schema = {vol.Required("guest"): cv.string}

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        slots = self.async_validate_slots(intent_obj.slots)
        found = _find_one(intent_obj.hass, slots["guest"]["value"])
        if isinstance(found, str):
            return _speech(intent_obj, found)
        hub, gid = found
        g = hub.guests[gid]
        name = g.get("name") or gid
        age = _age(g.get("last_backup"), dt_util.utcnow())
        first = f"{name} was last backed up {age}" if age else f"{name} has no good backup"
        status = str(g.get("status") or "unknown")
        if status == "ok":
            text = f"{first}, which is within its tier {g.get('tier')}."
        else:
            text = f"{first}. It {STATUS_PHRASE.get(status, status)}"
            reasons = [r for r in g.get("reasons") or [] if isinstance(r, str)]
            text += f": {reasons[0]}." if reasons else "."
        return _speech(intent_obj, text)


class StatusIntent(intent.IntentHandler):
    """Are all backups ok."""

    intent_type = INTENT_STATUS
    description = "Tells whether all Proxmox guests tracked by backup2mqtt are backed up as their tier promises"

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        guests = [g for hub in hubs(intent_obj.hass) for g in hub.guests.values()]
        if not guests:
            return _speech(intent_obj, "I have not heard from the backup bridge yet.")
        bad = [g for g in guests if g.get("problem") or g.get("status") in PROBLEM_STATUSES]
        if not bad:
            return _speech(intent_obj, f"Yes, all {len(guests)} backups are ok.")
        parts = [f"{g.get('name')} {STATUS_PHRASE.get(str(g.get('status')), str(g.get('status')))}" for g in bad]
        for g in bad:
            if g.get("status") not in PROBLEM_STATUSES:
                codes = [f.get("code") for f in g.get("findings") or [] if isinstance(f, dict)]
                described = " and ".join(c.replace("_", " ") for c in codes if c) or "not ok"
                parts[bad.index(g)] = f"{g.get('name')} is {described}"
        verb = "needs" if len(bad) == 1 else "need"
        return _speech(intent_obj, f"No, {len(bad)} of {len(guests)} {verb} attention: {'; '.join(parts)}.")


HANDLERS = (BackUpIntent, LastBackupIntent, StatusIntent)


@callback
def async_register_intents(hass: HomeAssistant) -> None:
    """Register the intent handlers (once)."""
    for handler in HANDLERS:
        intent.async_register(hass, handler())


def load_sentences(language: str = "en") -> dict[str, list[str]]:
    """intent name → sentence templates from sentences/<language>.yaml (blocking: file I/O)."""
    data = load_yaml_dict(str(SENTENCES_DIR / f"{language}.yaml"))
    out: dict[str, list[str]] = {}
    for name, spec in (data.get("intents") or {}).items():
        out[name] = [s for block in spec.get("data", []) for s in block.get("sentences", [])]
    return out


async def async_register_sentences(hass: HomeAssistant) -> None:
    """Register the sentences with the default conversation agent (once per Home Assistant start)."""
    from homeassistant.components.conversation.agent_manager import get_agent_manager  # noqa: PLC0415

    sentences = await hass.async_add_executor_job(load_sentences, "en")
    manager = get_agent_manager(hass)
    for intent_type, templates in sentences.items():

        async def on_sentence(user_input: Any, result: Any, intent_type: str = intent_type) -> str | None:
            slots = {name: {"value": ent.value, "text": ent.text} for name, ent in result.entities.items()}
            for slot in slots.values():
                if isinstance(slot["value"], str):
                    slot["value"] = slot["value"].strip()
            response = await intent.async_handle(
                hass,
                DOMAIN,
                intent_type,
                slots,
                text_input=user_input.text,
                context=user_input.context,
                language=user_input.language,
            )
            return response.speech.get("plain", {}).get("speech")

        manager.register_trigger(templates, on_sentence)
