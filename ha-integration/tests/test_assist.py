"""Assist: the sentences reach the intents (the corpus, both languages), and the intents answer from
the bridge's state in the request's language, with yes and no the right way round."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import json
from pathlib import Path
import re
from typing import Any

import pytest
import yaml

from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message

from custom_components.backup2mqtt import assist
from custom_components.backup2mqtt.assist import INTENTS, Recognizer, load_all_sentences, load_sentences
from custom_components.backup2mqtt.const import DOMAIN
from custom_components.backup2mqtt.phrasebook import render, status_word
from custom_components.backup2mqtt.speech import ANSWERS

from .conftest import BASE, guest, publish_guest

CORPUS = yaml.safe_load((Path(__file__).parent / "assist_corpus.yaml").read_text(encoding="utf-8"))
TZ = "Europe/Berlin"  # Home Assistant's time zone in these tests
T = "2026-11-30T15:19:40.000Z"

# The bridge's phrases of the lab's guests. The expected answers below contain them as the
# phrasebook renders them (test_phrasebook.py holds that rendering to the TypeScript one), so
# these tests check the sentences around them and stay right when the phrasebook's words change.
STALE_100 = {"key": "status.stale", "params": {"newest": T, "tier": "P0", "max": 93_600_000}}
STALE_101 = {"key": "status.stale", "params": {"newest": T, "tier": "P2", "max": 691_200_000}}
COPIES = {
    "key": "too_few_copies",
    "params": {
        "tier": "P1",
        "want": 2,
        "max": 93_600_000,
        "found": 1,
        "counted": [{"key": "copy.storage", "params": {"at": T, "storage": "local"}}],
    },
}
OFFSITE = {
    "key": "no_offsite",
    "params": {
        "tier": "P1",
        "max": 93_600_000,
        "why": [{"key": "offsite.nothing", "params": {"count": 1, "storages": ["local"]}}],
    },
}
DISABLED = {"key": "unprotected.disabled", "params": {"count": 1, "jobs": ["backup-p2-weekly"]}}
NEXTCLOUD_REASON = "No scheduled backup job selects this guest."


def r(phrase: dict[str, Any], language: str = "en") -> str:
    """A phrase as the answers contain it."""
    return render(phrase, language, TZ)


def sw(status: str, language: str = "en") -> str:
    """A status word as the answers contain it."""
    return status_word(status, language)


def _iso(delta: timedelta) -> str:
    return (dt_util.utcnow() + delta).isoformat()


def lab_guests() -> list[dict[str, Any]]:
    """The five guests of the corpus (test/ha/integration-world.ts's lab), with the bridge's phrases."""
    copies = {"code": "too_few_copies", "reason": r(COPIES), **COPIES}
    offsite = {"code": "no_offsite", "reason": r(OFFSITE), **OFFSITE}
    disabled = {"code": "unprotected", "reason": r(DISABLED), **DISABLED}
    return [
        guest(
            100,
            "homeassistant",
            "P0",
            "stale",
            last_backup=_iso(-timedelta(hours=30, minutes=5)),
            status_phrase=STALE_100,
            reason_phrases=[STALE_100],
        ),
        guest(
            101,
            "immich",
            "P2",
            "stale",
            findings=[disabled],
            last_backup=_iso(-timedelta(days=10, minutes=5)),
            status_phrase=STALE_101,
            reason_phrases=[STALE_101, DISABLED],
        ),
        guest(
            102,
            "vaultwarden",
            "P1",
            "ok",
            findings=[copies, offsite],
            last_backup=_iso(-timedelta(hours=5, minutes=5)),
            next_backup=_iso(timedelta(hours=3, minutes=5)),
            status_phrase={"key": "status.ok", "params": {"newest": T}},
            reason_phrases=[COPIES, OFFSITE],
        ),
        # no phrases: answers fall back to the bridge's own reasons
        guest(
            104,
            "nextcloud",
            "P0",
            "ok",
            findings=[{"code": "unprotected", "reason": NEXTCLOUD_REASON}],
            reasons=[f"unprotected: {NEXTCLOUD_REASON}"],  # as bridges before reason phrases wrote it
            last_backup=_iso(-timedelta(hours=2, minutes=5)),
        ),
        guest(
            105,
            "pihole-home",
            "P2",
            "ok",
            last_backup=_iso(-timedelta(hours=3, minutes=5)),
            last_offsite=_iso(-timedelta(hours=2, minutes=5)),
            next_backup=_iso(timedelta(days=2, minutes=5)),
        ),
    ]


@pytest.fixture
async def lab(hass: HomeAssistant, setup_entry: MockConfigEntry) -> MockConfigEntry:
    """The integration with the corpus's five guests, conversation loaded, Home Assistant in Berlin."""
    await hass.config.async_set_time_zone("Europe/Berlin")
    for state in lab_guests():
        publish_guest(hass, state)
    await hass.async_block_till_done()
    assert await async_setup_component(hass, "conversation", {})
    return setup_entry


async def say(hass: HomeAssistant, text: str, language: str | None = "en") -> str:
    result = await conversation.async_converse(hass, text, None, Context(), language=language)
    return result.response.speech["plain"]["speech"]


def all_ok(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    for g in entry.runtime_data.guests.values():
        g.update(status="ok", problem=False, findings=[], reasons=[], reason_phrases=[], running=False)


# ---------------------------------------------------------------------------------------------- sentences


def test_every_intent_has_sentences_and_answers_in_both_languages() -> None:
    for language in ("en", "de"):
        sentences = load_sentences(language)
        assert set(sentences) == set(INTENTS), language
        assert all(sentences.values())
    assert set(ANSWERS["de"]) == set(ANSWERS["en"])


def test_the_corpus_has_40_phrasings_per_language_for_every_intent() -> None:
    assert set(CORPUS["phrases"]) == {"en", "de"}
    for language, phrases in CORPUS["phrases"].items():
        assert len(phrases) >= 40, language
        assert {p["intent"] for p in phrases} == set(INTENTS), language
        assert set(CORPUS["answers"][language]) == {*INTENTS, "unknown"}


def test_recognizer_prefers_fixed_words_over_a_guest_wildcard() -> None:
    r = Recognizer(load_all_sentences())
    assert r.recognize("backup status", "en") == ("Backup2mqttSummary", {})
    assert r.recognize("backup report", "en") == ("Backup2mqttReport", {})
    assert r.recognize("back up backup status", "en") == ("Backup2mqttBackUp", {"guest": "backup status"})
    assert r.recognize("what is wrong with my backups", "en") == ("Backup2mqttProblemGuests", {})
    assert r.recognize("is everything backed up", "en") == ("Backup2mqttStatus", {})
    assert r.recognize("ist alles gesichert", "de") == ("Backup2mqttStatus", {})
    # a German sentence in an English request is still understood
    assert r.recognize("sichere vaultwarden", "en") == ("Backup2mqttBackUp", {"guest": "vaultwarden"})
    assert r.recognize("turn on the kitchen light", "en") is None


# ---------------------------------------------------------------------------------------------- the corpus


def _answer_re(language: str, item: dict[str, Any]) -> re.Pattern[str]:
    answers = CORPUS["answers"][language]
    if "unknown" in item:
        return re.compile(answers["unknown"].replace("{text}", re.escape(item["unknown"])))
    name = CORPUS["guests"].get(item.get("guest"), "")
    return re.compile(answers[item["intent"]].replace("{name}", re.escape(name)))


@pytest.mark.parametrize("language", ["en", "de"])
async def test_corpus(
    hass: HomeAssistant, lab: MockConfigEntry, mqtt_mock: Any, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    """Every phrasing: its intent and guest are recognized, and the answer has its intent's form."""
    monkeypatch.setattr(assist, "COMMAND_WAIT", 0.01)  # the mocked bridge never answers: "sent"
    hub = lab.runtime_data
    recognizer = Recognizer(load_all_sentences())
    wrong: list[str] = []
    for item in CORPUS["phrases"][language]:
        text = item["text"]
        found = recognizer.recognize(text, language)
        if found is None or found[0] != item["intent"]:
            wrong.append(f"{text!r}: intent {found and found[0]}, want {item['intent']}")
            continue
        slot = found[1].get("guest")
        if item["intent"] in assist.GUEST_INTENTS:
            want = [] if "unknown" in item else [item["guest"]]
            if slot is None or hub.find_guests(slot) != want:
                wrong.append(f"{text!r}: slot {slot!r} → {slot and hub.find_guests(slot)}, want {want}")
                continue
        elif slot is not None:
            wrong.append(f"{text!r}: unexpected slot {slot!r}")
            continue
        mqtt_mock.async_publish.reset_mock()
        answer = await say(hass, text, language)
        if not _answer_re(language, item).search(answer):
            wrong.append(f"{text!r}: answer {answer!r} is not the form of {item['intent']}")
            continue
        if item["intent"] in ("Backup2mqttBackUp", "Backup2mqttVerify") and "guest" in item:
            sent = [c.args for c in mqtt_mock.async_publish.call_args_list]
            want_action = "backup" if item["intent"] == "Backup2mqttBackUp" else "verify"
            if [(t, json.loads(p)["action"]) for t, p, *_ in sent] != [
                (f"{BASE}/guest/{item['guest']}/command", want_action)
            ]:
                wrong.append(f"{text!r}: sent {sent}")
    assert wrong == []


# ---------------------------------------------------------------------------------------------- answers


async def test_yes_and_no_follow_the_question(hass: HomeAssistant, lab: MockConfigEntry) -> None:
    problems = "homeassistant, immich, nextcloud and vaultwarden"
    assert await say(hass, "are my backups ok") == f"No, 4 of 5 guests have problems: {problems}."
    assert await say(hass, "do any of my backups have problems") == f"Yes, 4 of 5 guests have problems: {problems}."
    assert await say(hass, "sind meine Sicherungen in Ordnung", "de") == (
        f"Nein, 4 von 5 Gästen haben Probleme: {problems.replace(' and ', ' und ')}."
    )
    assert await say(hass, "gibt es Sicherungsprobleme", "de") == (
        f"Ja, 4 von 5 Gästen haben Probleme: {problems.replace(' and ', ' und ')}."
    )
    assert await say(hass, "is vaultwarden ok") == f"No, vaultwarden has 2 problems: {r(COPIES)} {r(OFFSITE)}"
    assert (await say(hass, "is pihole home backed up")) == "Yes, pihole-home is OK, last backed up 3 hours ago."

    all_ok(hass, lab)
    assert await say(hass, "are my backups ok") == "Yes, all 5 backups are OK."
    assert await say(hass, "do any of my backups have problems") == "No, all 5 backups are OK."
    assert await say(hass, "which guests have problems") == "None, all 5 backups are OK."
    assert await say(hass, "sind meine Sicherungen in Ordnung", "de") == "Ja, alle 5 Sicherungen sind in Ordnung."
    assert await say(hass, "haben meine Sicherungen Probleme", "de") == "Nein, alle 5 Sicherungen sind in Ordnung."
    assert (
        await say(hass, "what is wrong with vaultwarden") == "Nothing, vaultwarden is OK, last backed up 5 hours ago."
    )


async def test_problems_are_the_bridge_phrases_in_the_request_language(
    hass: HomeAssistant, lab: MockConfigEntry
) -> None:
    assert await say(hass, "what is wrong with the vaultwarden vm") == (
        f"vaultwarden has 2 problems: {r(COPIES)} {r(OFFSITE)}"
    )
    assert await say(hass, "was ist mit vaultwarden los", "de") == (
        f"vaultwarden hat 2 Probleme: {r(COPIES, 'de')} {r(OFFSITE, 'de')}"
    )
    assert r(COPIES, "de").startswith("Stufe P1 will 2 Kopien")  # German indeed
    # the same question in Home Assistant's language when the request has none
    hass.config.language = "de"
    response = await intent.async_handle(hass, "test", "Backup2mqttGuestProblems", {"guest": {"value": "immich"}})
    assert response.speech["plain"]["speech"] == f"immich hat 2 Probleme: {r(STALE_101, 'de')} {r(DISABLED, 'de')}"
    # no phrases from the bridge (an older bridge): its own reasons, in its language, without its codes
    assert await say(hass, "was stimmt mit nextcloud nicht", "de") == f"nextcloud hat ein Problem: {NEXTCLOUD_REASON}"


async def test_when_was_it_backed_up(hass: HomeAssistant, lab: MockConfigEntry) -> None:
    assert await say(hass, "when was immich backed up") == (
        f"immich was last backed up 10 days ago. Status: {sw('stale')}. {r(STALE_101)}"
    )
    assert await say(hass, "wann wurde der vaultwarden zuletzt gesichert", "de") == (
        f"vaultwarden wurde zuletzt vor 5 Stunden gesichert. Status: {sw('ok', 'de')}."
    )
    assert await say(hass, "wann wurde homeassistant gesichert", "de") == (
        f"homeassistant wurde zuletzt vor 1 Tag gesichert. Status: {sw('stale', 'de')}. {r(STALE_100, 'de')}"
    )
    lab.runtime_data.guests["home_105"].update(last_backup=None, status="missing", problem=True)
    assert await say(hass, "when was pihole home last backed up") == (
        f"pihole-home has never been backed up. Status: {sw('missing')}. example."
    )


async def test_off_site_next_backup_and_running(hass: HomeAssistant, lab: MockConfigEntry) -> None:
    assert await say(hass, "when was the last off-site copy of pihole home") == (
        "The last off-site copy of pihole-home was made 2 hours ago."
    )
    assert await say(hass, "wann war die letzte externe Kopie von vaultwarden", "de") == (
        f"Von vaultwarden gibt es keine externe Kopie. {r(OFFSITE, 'de')}"
    )
    assert (
        await say(hass, "when is vaultwarden backed up next")
        == "The next backup of vaultwarden is scheduled in 3 hours."
    )
    assert await say(hass, "wann wird pihole home als nächstes gesichert", "de") == (
        "Die nächste Sicherung von pihole-home ist in 2 Tagen geplant."
    )
    assert await say(hass, "when is the next backup of nextcloud") == (
        f"No backup of nextcloud is scheduled. {NEXTCLOUD_REASON}"
    )
    assert await say(hass, "is a backup running") == "No, no backup is running right now."
    lab.runtime_data.guests["home_102"].update(running=True, status="running")
    assert await say(hass, "is a backup running") == "Yes, a backup of vaultwarden is running."
    lab.runtime_data.guests["home_104"].update(running=True)
    assert await say(hass, "läuft gerade eine Sicherung", "de") == (
        "Ja, gerade laufen Sicherungen von nextcloud und vaultwarden."
    )


async def test_status_report_and_problem_list(hass: HomeAssistant, lab: MockConfigEntry) -> None:
    names = "homeassistant, immich, nextcloud and vaultwarden"
    assert await say(hass, "backup status") == (
        f"Backup status of 5 guests: 3 {sw('ok')} and 2 {sw('stale')}. 4 have problems: {names}."
    )
    assert await say(hass, "Sicherungsstatus", "de") == (
        f"Sicherungsstatus von 5 Gästen – {sw('ok', 'de')}: 3, {sw('stale', 'de')}: 2. "
        f"Probleme haben {names.replace(' and ', ' und ')}."
    )
    # the first reason of each
    assert await say(hass, "which guests have problems") == (
        f"4 guests have problems. homeassistant: {r(STALE_100)} immich: {r(STALE_101)} "
        f"nextcloud: {NEXTCLOUD_REASON} vaultwarden: {r(COPIES)}"
    )
    # every reason of each
    assert await say(hass, "backup report") == (
        f"Backup report for 5 guests: 3 {sw('ok')} and 2 {sw('stale')}. homeassistant: {r(STALE_100)} "
        f"immich: {r(STALE_101)} {r(DISABLED)} nextcloud: {NEXTCLOUD_REASON} vaultwarden: {r(COPIES)} {r(OFFSITE)}"
    )
    assert await say(hass, "gib mir einen Sicherungsbericht", "de") == (
        f"Sicherungsbericht für 5 Gäste – {sw('ok', 'de')}: 3, {sw('stale', 'de')}: 2. "
        f"homeassistant: {r(STALE_100, 'de')} immich: {r(STALE_101, 'de')} {r(DISABLED, 'de')} "
        f"nextcloud: {NEXTCLOUD_REASON} vaultwarden: {r(COPIES, 'de')} {r(OFFSITE, 'de')}"
    )


async def test_guest_names(hass: HomeAssistant, lab: MockConfigEntry) -> None:
    hub = lab.runtime_data
    for text, want in [
        ("pihole home", ["home_105"]),
        ("Pi-Hole Home", ["home_105"]),
        ("the vaultwarden vm", ["home_102"]),
        ("den Container vaultwarden", ["home_102"]),
        ("die VM 100", ["home_100"]),
        ("guest 100", ["home_100"]),
        ("100", ["home_100"]),
        ("home_104", ["home_104"]),
        ("vaultwarden's", ["home_102"]),
        ("pihole", ["home_105"]),
        ("immitch", ["home_101"]),
        ("next cloud", ["home_104"]),
        ("10", []),
        ("toaster", []),
    ]:
        assert hub.find_guests(text) == want, text
    assert await say(hass, "back up home") == "Which one do you mean: homeassistant or pihole-home?"
    assert await say(hass, "sichere home", "de") == "Welchen meinst du: homeassistant oder pihole-home?"
    assert await say(hass, "back up the toaster") == (
        "I don't know a guest called toaster. I know homeassistant, immich, nextcloud, pihole-home and vaultwarden."
    )
    for vmid in range(110, 120):
        publish_guest(hass, guest(vmid, f"guest-{vmid}", "P2", "ok"))
    await hass.async_block_till_done()
    assert await say(hass, "sichere den Toaster", "de") == (
        "Einen Gast namens Toaster kenne ich nicht. Ich kenne guest-110, guest-111, guest-112, guest-113, "
        "guest-114, guest-115, guest-116, guest-117 und 7 weitere."
    )


# ---------------------------------------------------------------------------------------------- commands


async def _answer(hass: HomeAssistant, mqtt_mock: Any, gid: str, event: dict[str, Any]) -> dict[str, Any]:
    """Waits for the guest's command, answers it with `event` (+ the command's request_id if asked)."""
    topic = f"{BASE}/guest/{gid}/command"
    for _ in range(300):
        if any(c.args[0] == topic for c in mqtt_mock.async_publish.call_args_list):
            break
        await asyncio.sleep(0.01)
    command = json.loads(next(c.args[1] for c in mqtt_mock.async_publish.call_args_list if c.args[0] == topic))
    if event.pop("request_id", None):
        event["request_id"] = command["request_id"]
    async_fire_mqtt_message(hass, f"{BASE}/guest/{gid}/event", json.dumps(event))
    return command


async def test_back_up_sentence_sends_the_command(hass: HomeAssistant, lab: MockConfigEntry, mqtt_mock: Any) -> None:
    task = hass.async_create_task(say(hass, "back up vaultwarden"))
    event = {"event_type": "backup_started", "time": "2026-11-26T05:00:00Z", "guest": "home_102", "upid": "U"}
    command = await _answer(hass, mqtt_mock, "home_102", event)
    assert command["action"] == "backup" and command["origin"] == "home_assistant"
    assert await task == "Started a backup of vaultwarden."

    mqtt_mock.async_publish.reset_mock()
    task = hass.async_create_task(say(hass, "sichere pihole home", "de"))
    refused = {"event_type": "command_rejected", "time": "2026-11-26T05:00:00Z", "reason": "a backup is running"}
    await _answer(hass, mqtt_mock, "home_105", {**refused, "request_id": True})
    assert await task == "Die Bridge hat die Sicherung von pihole-home abgelehnt: a backup is running."


async def test_verify_sentence_sends_the_command(hass: HomeAssistant, lab: MockConfigEntry, mqtt_mock: Any) -> None:
    task = hass.async_create_task(say(hass, "verify the vaultwarden vm"))
    started = {"event_type": "verify_started", "time": "2026-11-26T05:00:00Z", "guest": "home_102", "volid": "v"}
    command = await _answer(hass, mqtt_mock, "home_102", started)
    assert command["action"] == "verify" and command["origin"] == "home_assistant"
    assert await task == "Started verifying the newest backup of vaultwarden."

    mqtt_mock.async_publish.reset_mock()
    task = hass.async_create_task(say(hass, "prüfe immich", "de"))
    reason = "verification needs SSH to the nodes: add an ssh section to proxmox 'pve'"
    refused = {"event_type": "command_rejected", "time": "2026-11-26T05:00:00Z", "reason": reason}
    await _answer(hass, mqtt_mock, "home_101", {**refused, "request_id": True})
    assert await task == f"Die Bridge hat die Prüfung von immich abgelehnt: {reason}."


async def test_intents_exist_without_any_bridge(hass: HomeAssistant, mqtt_mock: Any) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    response = await intent.async_handle(hass, "test", "Backup2mqttStatus", {})
    assert response.speech["plain"]["speech"] == "I have not heard from the backup bridge yet."
    response = await intent.async_handle(hass, "test", "Backup2mqttBackUp", {"guest": {"value": "x"}}, language="de")
    assert response.speech["plain"]["speech"] == "Von der Sicherungs-Bridge habe ich noch nichts gehört."
