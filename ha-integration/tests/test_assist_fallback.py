"""Assist: "approve the backup of vaultwarden" approves the fallback backup the bridge planned (tier
`fallback: ask`) and says when it starts; with nothing pending it says so and sends nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message

from custom_components.backup2mqtt.assist import Recognizer, fallback_pending, load_all_sentences

from .conftest import BASE, guest, publish_guest
from .test_assist import lab, say  # noqa: F401 (the fixture)

GID = "home_102"


def _fallback(**over: Any) -> dict[str, Any]:
    at = (dt_util.utcnow() + timedelta(hours=3, minutes=5)).isoformat()
    return {
        "state": "planned",
        "at": at,
        "reason": "The last backup failed; a fallback backup is planned.",
        "action": "ask",
        "approved": False,
        **over,
    }


def _vaultwarden(fallback: dict[str, Any] | None) -> dict[str, Any]:
    return guest(102, "vaultwarden", "P1", "failed", fallback=fallback)


async def _set(hass: HomeAssistant, fallback: dict[str, Any] | None) -> dict[str, Any]:
    state = _vaultwarden(fallback)
    publish_guest(hass, state)
    await hass.async_block_till_done()
    return state


async def _command(hass: HomeAssistant, mqtt_mock: Any) -> dict[str, Any]:
    """The guest command the intent sent (waits for it)."""
    topic = f"{BASE}/guest/{GID}/command"
    for _ in range(300):
        sent = [c.args for c in mqtt_mock.async_publish.call_args_list if c.args[0] == topic]
        if sent:
            return json.loads(sent[0][1])
        await asyncio.sleep(0.01)
    raise AssertionError("no command sent")


def _commands(mqtt_mock: Any) -> list[Any]:
    return [c.args for c in mqtt_mock.async_publish.call_args_list if c.args[0].endswith("/command")]


def test_sentences_reach_the_intent() -> None:
    r = Recognizer(load_all_sentences())
    for text, language in [
        ("approve the backup of vaultwarden", "en"),
        ("approve the fallback backup for vaultwarden", "en"),
        ("approve vaultwarden's pending backup", "en"),
        ("gib die Sicherung von vaultwarden frei", "de"),
        ("bitte die Ersatzsicherung von vaultwarden freigeben", "de"),
        ("genehmige die Sicherung von vaultwarden", "de"),
    ]:
        assert r.recognize(text, language) == ("Backup2mqttApproveFallback", {"guest": "vaultwarden"}), text
    # "back up" still starts a backup, not an approval
    assert r.recognize("back up vaultwarden", "en") == ("Backup2mqttBackUp", {"guest": "vaultwarden"})


def test_pending_is_the_sensor_rule() -> None:
    assert fallback_pending(_vaultwarden(_fallback()))
    assert not fallback_pending(_vaultwarden(_fallback(approved=True)))
    assert not fallback_pending(_vaultwarden(_fallback(action="auto")))
    assert not fallback_pending(_vaultwarden(_fallback(state="running")))
    assert not fallback_pending(_vaultwarden(None))
    assert not fallback_pending({"id": GID})


async def test_approves_a_pending_fallback_that_waits_for_its_window(
    hass: HomeAssistant,
    lab: MockConfigEntry,  # noqa: F811
    mqtt_mock: Any,
) -> None:
    state = await _set(hass, _fallback())
    mqtt_mock.async_publish.reset_mock()
    task = hass.async_create_task(say(hass, "approve the backup of vaultwarden"))
    command = await _command(hass, mqtt_mock)
    assert command["action"] == "approve_fallback" and command["origin"] == "home_assistant"
    # the bridge answers with the guest's state: approved, still planned for its window
    publish_guest(hass, {**state, "fallback": {**state["fallback"], "approved": True}})
    assert await task == "Approved. The backup of vaultwarden starts in 3 hours."


async def test_approved_inside_the_window_starts_now_in_german(
    hass: HomeAssistant,
    lab: MockConfigEntry,  # noqa: F811
    mqtt_mock: Any,
) -> None:
    await _set(hass, _fallback(at=dt_util.utcnow().isoformat()))
    mqtt_mock.async_publish.reset_mock()
    task = hass.async_create_task(say(hass, "gib die Sicherung von vaultwarden frei", "de"))
    command = await _command(hass, mqtt_mock)
    assert command["action"] == "approve_fallback"
    started = {"event_type": "fallback_started", "time": "2026-11-26T05:00:00Z", "guest": GID}
    async_fire_mqtt_message(hass, f"{BASE}/guest/{GID}/event", json.dumps(started))
    assert await task == "Freigegeben. Die Sicherung von vaultwarden startet jetzt."


async def test_refused_says_why(
    hass: HomeAssistant,
    lab: MockConfigEntry,  # noqa: F811
    mqtt_mock: Any,
) -> None:
    await _set(hass, _fallback())
    mqtt_mock.async_publish.reset_mock()
    task = hass.async_create_task(say(hass, "approve the backup of vaultwarden"))
    command = await _command(hass, mqtt_mock)
    refused = {
        "event_type": "command_rejected",
        "time": "2026-11-26T05:00:00Z",
        "reason": "a backup of vaultwarden is running",
        "request_id": command["request_id"],
    }
    async_fire_mqtt_message(hass, f"{BASE}/guest/{GID}/event", json.dumps(refused))
    assert await task == (
        "The bridge refused to approve the backup of vaultwarden: a backup of vaultwarden is running."
    )


async def test_nothing_pending_says_so_and_sends_nothing(
    hass: HomeAssistant,
    lab: MockConfigEntry,  # noqa: F811
    mqtt_mock: Any,
) -> None:
    await _set(hass, None)
    mqtt_mock.async_publish.reset_mock()
    assert await say(hass, "approve the backup of vaultwarden") == (
        "Nothing to approve: no backup of vaultwarden is waiting for approval."
    )
    assert await say(hass, "gib die Sicherung von vaultwarden frei", "de") == (
        "Nichts freizugeben: Für vaultwarden wartet keine Sicherung auf Freigabe."
    )
    await _set(hass, _fallback(approved=True))
    assert await say(hass, "approve the backup of vaultwarden") == (
        "The backup of vaultwarden is already approved and starts in 3 hours."
    )
    await _set(hass, _fallback(state="running", approved=True))
    assert await say(hass, "approve the backup of vaultwarden") == "The backup of vaultwarden is already running."
    await _set(hass, _fallback(action="auto"))
    assert await say(hass, "approve the backup of vaultwarden") == (
        "Nothing to approve: no backup of vaultwarden is waiting for approval."
    )
    assert _commands(mqtt_mock) == []
