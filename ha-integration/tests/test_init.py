"""Hub, services with response data, repairs issues, diagnostics, card registration, unload."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import json
from typing import Any

import pytest

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry

from custom_components.backup2mqtt.const import DOMAIN
from custom_components.backup2mqtt.phrasebook import format_time, render

from .conftest import BASE, GUESTS, INFO, UNPROTECTED, guest, publish_guest


async def test_get_status_returns_every_guest_problems_first(hass: HomeAssistant, setup_entry: MockConfigEntry) -> None:
    res = await hass.services.async_call(DOMAIN, "get_status", {}, blocking=True, return_response=True)
    assert [g["name"] for g in res["guests"]] == ["immich", "nextcloud", "homeassistant", "vaultwarden"]
    assert res["summary"] == {"guests": 4, "problems": 2, "all_ok": False}
    assert res["bridges"] == [
        {
            "base_topic": BASE,
            "site": "home",
            "version": "0.1.0",
            "online": True,
            "offline_since": None,
            "last_refresh": INFO["last_refresh"],
            "counts": INFO["counts"],
        }
    ]
    immich = res["guests"][0]
    assert immich["status"] == "stale" and immich["findings"] == ["unprotected"] and immich["tier"] == "P2"


async def test_get_status_filters(hass: HomeAssistant, setup_entry: MockConfigEntry) -> None:
    res = await hass.services.async_call(DOMAIN, "get_status", {"status": ["ok"]}, blocking=True, return_response=True)
    assert sorted(g["name"] for g in res["guests"]) == ["homeassistant", "nextcloud", "vaultwarden"]
    res = await hass.services.async_call(
        DOMAIN, "get_status", {"problems_only": True}, blocking=True, return_response=True
    )
    assert [g["name"] for g in res["guests"]] == ["immich", "nextcloud"]
    res = await hass.services.async_call(
        DOMAIN, "get_status", {"guest": ["Vault Warden"]}, blocking=True, return_response=True
    )
    assert [g["name"] for g in res["guests"]] == ["vaultwarden"]
    res = await hass.services.async_call(DOMAIN, "get_status", {"guest": "104"}, blocking=True, return_response=True)
    assert [g["name"] for g in res["guests"]] == ["nextcloud"]
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "get_status", {"guest": ["toaster"]}, blocking=True, return_response=True
        )
    assert err.value.translation_key == "unknown_guest"


async def test_get_status_by_device(hass: HomeAssistant, setup_entry: MockConfigEntry) -> None:
    # The device MQTT discovery would create for home_102 (another config entry owns it).
    mqtt_entry = hass.config_entries.async_entries("mqtt")[0]
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=mqtt_entry.entry_id, identifiers={("mqtt", "backup2mqtt_home_102")}, name="vaultwarden"
    )
    res = await hass.services.async_call(
        DOMAIN, "get_status", {"device_id": device.id}, blocking=True, return_response=True
    )
    assert [(g["name"], g["device_id"]) for g in res["guests"]] == [("vaultwarden", device.id)]
    other = dr.async_get(hass).async_get_or_create(
        config_entry_id=mqtt_entry.entry_id, identifiers={("mqtt", "zigbee_lamp")}, name="lamp"
    )
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN, "get_status", {"device_id": other.id}, blocking=True, return_response=True
        )


async def _answer_command(hass: HomeAssistant, mqtt_mock: Any, gid: str, event: dict[str, Any]) -> dict[str, Any]:
    """Wait for the command the service publishes, answer it like the bridge, return the command."""
    topic = f"{BASE}/guest/{gid}/command"
    for _ in range(200):
        calls = [c for c in mqtt_mock.async_publish.call_args_list if c.args[0] == topic]
        if calls:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError(f"nothing published on {topic}")
    command = json.loads(calls[-1].args[1])
    payload = {**event, "guest": gid, "time": "2026-11-26T05:00:00Z"}
    if event["event_type"] == "command_rejected":
        payload["request_id"] = command["request_id"]
    async_fire_mqtt_message(hass, f"{BASE}/guest/{gid}/event", json.dumps(payload))
    return command


async def test_back_up_publishes_the_command_and_returns_the_bridge_answer(
    hass: HomeAssistant, setup_entry: MockConfigEntry, mqtt_mock: Any
) -> None:
    call = hass.async_create_task(
        hass.services.async_call(DOMAIN, "back_up", {"guest": ["vaultwarden"]}, blocking=True, return_response=True)
    )
    command = await _answer_command(hass, mqtt_mock, "home_102", {"event_type": "backup_started", "upid": "UPID:x"})
    res = await call
    assert command["action"] == "backup" and command["origin"] == "home_assistant" and len(command["request_id"]) == 16
    assert res == {
        "results": [
            {
                "guest": "home_102",
                "name": "vaultwarden",
                "request_id": command["request_id"],
                "outcome": "started",
                "upid": "UPID:x",
            }
        ]
    }

    mqtt_mock.async_publish.reset_mock()
    call = hass.async_create_task(
        hass.services.async_call(DOMAIN, "back_up", {"guest": ["vaultwarden"]}, blocking=True, return_response=True)
    )
    await _answer_command(
        hass, mqtt_mock, "home_102", {"event_type": "command_rejected", "reason": "a backup of 102 is already running"}
    )
    res = await call
    assert res["results"][0]["outcome"] == "rejected"
    assert res["results"][0]["reason"] == "a backup of 102 is already running"


async def test_back_up_without_answer_says_sent(
    hass: HomeAssistant, setup_entry: MockConfigEntry, mqtt_mock: Any
) -> None:
    res = await hass.services.async_call(
        DOMAIN, "back_up", {"guest": "homeassistant", "wait": 0.05}, blocking=True, return_response=True
    )
    assert res["results"][0]["outcome"] == "sent"
    # an unrelated guest's rejection is not taken as the answer
    assert mqtt_mock.async_publish.call_args.args[0] == f"{BASE}/guest/home_100/command"


async def test_back_up_needs_a_target(hass: HomeAssistant, setup_entry: MockConfigEntry) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "back_up", {}, blocking=True)
    assert err.value.translation_key == "no_target"


async def test_repairs_issue_for_unprotected_p0_and_p1_only(hass: HomeAssistant, setup_entry: MockConfigEntry) -> None:
    registry = ir.async_get(hass)
    ours = {i.issue_id: i for (d, _), i in registry.issues.items() if d == DOMAIN}
    assert set(ours) == {"unprotected_home_104"}  # immich is unprotected too, but P2
    issue = ours["unprotected_home_104"]
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == "unprotected_guest"
    assert issue.translation_placeholders == {
        "guest": "nextcloud",
        "vmid": "104",
        "tier": "P0",
        "reason": UNPROTECTED["reason"],
    }

    # vaultwarden (P1) loses its job: a warning
    publish_guest(hass, guest(102, "vaultwarden", "P1", "ok", findings=[UNPROTECTED]))
    await hass.async_block_till_done()
    assert registry.async_get_issue(DOMAIN, "unprotected_home_102").severity is ir.IssueSeverity.WARNING

    # nextcloud gets a job: the issue goes away
    publish_guest(hass, guest(104, "nextcloud", "P0", "ok"))
    await hass.async_block_till_done()
    assert registry.async_get_issue(DOMAIN, "unprotected_home_104") is None

    # a guest removed from the bridge takes its issue with it
    async_fire_mqtt_message(hass, f"{BASE}/guest/home_102/state", "")
    await hass.async_block_till_done()
    assert registry.async_get_issue(DOMAIN, "unprotected_home_102") is None


async def test_texts_built_here_are_in_home_assistant_language(
    hass: HomeAssistant, setup_entry: MockConfigEntry
) -> None:
    """Issue placeholders and get_status's reasons: the bridge's phrases rendered in HA's language."""
    disabled = {"key": "unprotected.disabled", "params": {"count": 2, "jobs": ["a", "b"]}}
    publish_guest(
        hass,
        guest(
            104,
            "nextcloud",
            "P0",
            "ok",
            findings=[{**UNPROTECTED, **disabled}],
            reasons=["Backup jobs a and b select this guest but are disabled."],
            reason_phrases=[disabled],
        ),
    )
    await hass.async_block_till_done()
    registry = ir.async_get(hass)
    tz = dt_util.get_default_time_zone()
    issue = registry.async_get_issue(DOMAIN, "unprotected_home_104")
    assert issue.translation_placeholders["reason"] == render(disabled, "en", tz)
    res = await hass.services.async_call(DOMAIN, "get_status", {"guest": "104"}, blocking=True, return_response=True)
    assert res["guests"][0]["reasons"] == [render(disabled, "en", tz)]

    await hass.config.async_update(language="de")
    await hass.async_block_till_done()
    german = render(disabled, "de", tz)
    assert german.startswith("Die Sicherungsaufträge a und b")
    assert registry.async_get_issue(DOMAIN, "unprotected_home_104").translation_placeholders["reason"] == german
    res = await hass.services.async_call(DOMAIN, "get_status", {"guest": "104"}, blocking=True, return_response=True)
    assert res["guests"][0]["reasons"] == [german]

    # the bridge-offline issue says since when in HA's language and time zone
    async_fire_mqtt_message(hass, f"{BASE}/bridge/state", "offline")
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=16))
    await hass.async_block_till_done()
    since = registry.async_get_issue(DOMAIN, f"bridge_offline_{BASE}").translation_placeholders["since"]
    assert since == format_time(setup_entry.runtime_data.offline_since.isoformat(), "de", tz)


async def test_repairs_issue_for_a_bridge_offline_too_long(hass: HomeAssistant, setup_entry: MockConfigEntry) -> None:
    registry = ir.async_get(hass)
    issue_id = f"bridge_offline_{BASE}"
    async_fire_mqtt_message(hass, f"{BASE}/bridge/state", "offline")
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=14))
    await hass.async_block_till_done()
    assert registry.async_get_issue(DOMAIN, issue_id) is None

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=16))
    await hass.async_block_till_done()
    issue = registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None and issue.translation_key == "bridge_offline"
    assert issue.translation_placeholders["site"] == "home" and issue.translation_placeholders["minutes"] == "15"
    res = await hass.services.async_call(DOMAIN, "get_status", {}, blocking=True, return_response=True)
    assert res["bridges"][0]["online"] is False and res["bridges"][0]["offline_since"]

    async_fire_mqtt_message(hass, f"{BASE}/bridge/state", "online")
    await hass.async_block_till_done()
    assert registry.async_get_issue(DOMAIN, issue_id) is None


async def test_bridge_back_before_the_threshold_raises_nothing(
    hass: HomeAssistant, setup_entry: MockConfigEntry
) -> None:
    async_fire_mqtt_message(hass, f"{BASE}/bridge/state", "offline")
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, f"{BASE}/bridge/state", "online")
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=30))
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"bridge_offline_{BASE}") is None


async def test_diagnostics_are_redacted(hass: HomeAssistant, hass_client: Any, setup_entry: MockConfigEntry) -> None:
    info = {
        **INFO,
        "sources": {"pve": {**INFO["sources"]["pve"], "url": "https://pve.lan:8006", "token_secret": "s3cr3t-value"}},
    }
    async_fire_mqtt_message(hass, f"{BASE}/bridge/info", json.dumps(info))
    await hass.async_block_till_done()
    diag = await get_diagnostics_for_config_entry(hass, hass_client, setup_entry)
    text = json.dumps(diag)
    assert "s3cr3t-value" not in text and "pve.lan" not in text
    assert diag["hub"]["info"]["sources"]["pve"]["token_secret"] == "**REDACTED**"
    assert sorted(diag["hub"]["guests"]) == sorted(g["id"] for g in GUESTS)
    assert diag["hub"]["issues"] == ["unprotected_home_104"]
    assert diag["entry"]["data"] == {"base_topic": BASE, "site": "home"}


async def test_card_is_served_and_registered(
    hass: HomeAssistant, hass_client: Any, setup_entry: MockConfigEntry
) -> None:
    from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL  # noqa: PLC0415

    urls = [u for u in hass.data[DATA_EXTRA_MODULE_URL].urls if "backup2mqtt" in u]
    assert len(urls) == 1 and urls[0].startswith("/backup2mqtt_static/backup2mqtt-card.js?v=")
    client = await hass_client()
    res = await client.get(urls[0])
    assert res.status == 200
    assert "backup2mqtt-card" in await res.text()


async def test_unload_removes_issues_and_keeps_services(hass: HomeAssistant, setup_entry: MockConfigEntry) -> None:
    assert setup_entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(setup_entry.entry_id)
    await hass.async_block_till_done()
    assert setup_entry.state is ConfigEntryState.NOT_LOADED
    assert [i for (d, _), i in ir.async_get(hass).issues.items() if d == DOMAIN] == []
    res = await hass.services.async_call(DOMAIN, "get_status", {}, blocking=True, return_response=True)
    assert res["guests"] == [] and res["bridges"] == []
