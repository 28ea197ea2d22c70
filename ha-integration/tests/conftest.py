"""Fixtures: a bridge's retained MQTT messages, and the integration set up against MQTT (mocked client)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
import json
from typing import Any

import pytest

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message

from custom_components.backup2mqtt.const import CONF_BASE_TOPIC, CONF_SITE, DOMAIN

pytest_plugins = "pytest_homeassistant_custom_component"

BASE = "backup2mqtt"

INFO: dict[str, Any] = {
    "version": "0.1.0",
    "site": "home",
    "base_topic": BASE,
    "sources": {"pve": {"kind": "pve", "up": True, "degraded": False, "last_success": "2026-11-26T05:00:00Z"}},
    "counts": {
        "guests": 3,
        "ok": 1,
        "stale": 1,
        "failed": 0,
        "missing": 0,
        "running": 0,
        "unknown": 0,
        "problem": 2,
        "untiered": 0,
        "orphaned": 0,
    },
    "last_refresh": "2026-11-26T05:00:00Z",
}


def guest(
    vmid: int, name: str, tier: str | None, status: str, *, findings: list[dict[str, str]] | None = None, **extra: Any
) -> dict[str, Any]:
    """A guest state as the bridge publishes it (bridge/schemas/guest-state.schema.json)."""
    findings = findings or []
    problem = status in ("stale", "failed", "missing") or any(
        f["code"] not in ("untiered", "excluded", "orphaned") for f in findings
    )
    reasons = ([f"{status}: example"] if status in ("stale", "failed", "missing") else []) + [
        f"{f['code']}: {f['reason']}" for f in findings
    ]
    return {
        "id": f"home_{vmid}",
        "source": "pve",
        "vmid": vmid,
        "name": name,
        "type": "qemu",
        "node": "proxmox-home",
        "tier": tier,
        "tier_source": "tag",
        "status": status,
        "status_reason": "example",
        "problem": problem,
        "reasons": reasons,
        "findings": findings,
        "last_backup": extra.pop("last_backup", "2026-11-26T00:00:00Z"),
        "last_backup_size": 123,
        "archive_count": 2,
        "next_backup": None,
        "last_verified": None,
        "last_offsite": None,
        "running": status == "running",
        **extra,
    }


UNPROTECTED = {"code": "unprotected", "reason": "no enabled backup job selects this guest"}

GUESTS = [
    guest(100, "homeassistant", "P0", "ok"),
    guest(101, "immich", "P2", "stale", findings=[UNPROTECTED]),
    guest(102, "vaultwarden", "P1", "ok"),
    guest(104, "nextcloud", "P0", "ok", findings=[UNPROTECTED]),
]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/ in every test."""


# Messages are fired as a broker delivers live updates (retain flag off): Home Assistant's MQTT
# client hands a *retained* message for a topic to a subscription only once.
def publish_guest(hass: HomeAssistant, state: dict[str, Any]) -> None:
    async_fire_mqtt_message(hass, f"{BASE}/guest/{state['id']}/state", json.dumps(state))


@pytest.fixture(autouse=True)
async def core_integration(hass: HomeAssistant) -> AsyncGenerator[None]:
    """The `homeassistant` integration (exposed entities), which conversation needs; at the end,
    every loaded config entry (ours and MQTT's) is unloaded so no timer outlives the test."""
    assert await async_setup_component(hass, "homeassistant", {})
    yield
    for entry in hass.config_entries.async_entries():
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
async def setup_entry(hass: HomeAssistant, mqtt_mock: Any) -> MockConfigEntry:
    """The integration set up for site 'home', with the bridge's retained messages delivered."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=BASE, title="backup2mqtt home", data={CONF_BASE_TOPIC: BASE, CONF_SITE: "home"}
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    for topic, payload in [
        (f"{BASE}/bridge/info", json.dumps(INFO)),
        (f"{BASE}/bridge/state", "online"),
        *((f"{BASE}/guest/{g['id']}/state", json.dumps(g)) for g in GUESTS),
    ]:
        async_fire_mqtt_message(hass, topic, payload)
        await hass.async_block_till_done()
    # With the mocked MQTT client, the first message on `backup2mqtt/bridge/info` (also the
    # integration's MQTT discovery topic) reaches only the discovery handler; a real broker gives
    # it to every subscriber (the real-HA suite checks the hub has the info). Send it again.
    async_fire_mqtt_message(hass, f"{BASE}/bridge/info", json.dumps(INFO))
    await hass.async_block_till_done()
    assert entry.runtime_data.info == INFO
    return entry


@pytest.fixture
def expected_lingering_timers() -> bool:
    """MQTT's own housekeeping timers (subscription cooldown, misc periodic) outlive a test.

    Home Assistant core's plugin sets this to True for every integration test under
    tests/components/ for the same reason; here it is explicit. This integration's own timer (the
    bridge-offline delay) is checked to be cancelled on unload in test_init.py.
    """
    return True
