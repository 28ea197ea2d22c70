"""Assist: the sentences reach the intents, and the intents answer from the bridge's state."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message

from custom_components.backup2mqtt.assist import load_sentences
from custom_components.backup2mqtt.const import DOMAIN

from .conftest import BASE


async def say(hass: HomeAssistant, text: str) -> str:
    result = await conversation.async_converse(hass, text, None, Context(), language="en")
    return result.response.speech["plain"]["speech"]


def test_sentence_file_covers_the_three_intents() -> None:
    sentences = load_sentences("en")
    assert set(sentences) == {"Backup2mqttBackUp", "Backup2mqttLastBackup", "Backup2mqttStatus"}
    assert all(sentences.values())


async def test_back_up_sentence_sends_the_command(
    hass: HomeAssistant, setup_entry: MockConfigEntry, mqtt_mock: Any
) -> None:
    assert await async_setup_component(hass, "conversation", {})
    task = hass.async_create_task(say(hass, "back up vaultwarden"))
    topic = f"{BASE}/guest/home_102/command"
    for _ in range(300):
        if any(c.args[0] == topic for c in mqtt_mock.async_publish.call_args_list):
            break
        await asyncio.sleep(0.01)
    command = json.loads(next(c.args[1] for c in mqtt_mock.async_publish.call_args_list if c.args[0] == topic))
    assert command["action"] == "backup"
    async_fire_mqtt_message(
        hass,
        f"{BASE}/guest/home_102/event",
        json.dumps({"event_type": "backup_started", "time": "2026-11-26T05:00:00Z", "guest": "home_102", "upid": "U"}),
    )
    assert await task == "Started a backup of vaultwarden."


async def test_questions(hass: HomeAssistant, setup_entry: MockConfigEntry) -> None:
    assert await async_setup_component(hass, "conversation", {})
    assert (await say(hass, "are my backups ok")).startswith("No, 2 of 4 need attention: immich is stale")
    assert "nextcloud is unprotected" in await say(hass, "are all my backups okay")
    answer = await say(hass, "when was immich last backed up")
    assert answer.startswith("immich was last backed up") and "It is stale: stale: example." in answer
    assert await say(hass, "back up the toaster") == "I don't know a guest called toaster."


async def test_status_intent_when_all_ok(hass: HomeAssistant, setup_entry: MockConfigEntry) -> None:
    hub = setup_entry.runtime_data
    for g in hub.guests.values():
        g.update(status="ok", problem=False, findings=[], reasons=[])
    response = await intent.async_handle(hass, "test", "Backup2mqttStatus", {})
    assert response.speech["plain"]["speech"] == "Yes, all 4 backups are ok."


async def test_intents_exist_without_any_bridge(hass: HomeAssistant, mqtt_mock: Any) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    response = await intent.async_handle(hass, "test", "Backup2mqttStatus", {})
    assert response.speech["plain"]["speech"] == "I have not heard from the backup bridge yet."
