"""Sizes in GiB: size sensors registered in B get the display unit GiB from the integration, once.

Registry entries as an install that ran a bridge publishing bytes has them (the sensor.private unit
B that Home Assistant writes when such a sensor is added with GiB), the integration set up over
them, and entries created or updated while it runs; then the whole path with an MQTT sensor.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message

from custom_components.backup2mqtt.const import CONF_BASE_TOPIC, CONF_SITE, DOMAIN
from custom_components.backup2mqtt.units import is_size_sensor

from .conftest import BASE

PRIVATE_B = {"suggested_unit_of_measurement": "B"}
LOGGER = "custom_components.backup2mqtt.units"


async def _set_up(hass: HomeAssistant) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=BASE, title="backup2mqtt home", data={CONF_BASE_TOPIC: BASE, CONF_SITE: "home"}
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def _register(
    hass: HomeAssistant,
    unique_id: str,
    *,
    platform: str = "mqtt",
    domain: str = "sensor",
    options: dict[str, dict[str, Any]] | None = None,
) -> str:
    """A registry entry as MQTT discovery leaves it (the MQTT config entry, registered in B), with `options`."""
    registry = er.async_get(hass)
    mqtt_entries = hass.config_entries.async_entries("mqtt")
    entity = registry.async_get_or_create(
        domain,
        platform,
        unique_id,
        config_entry=mqtt_entries[0] if platform == "mqtt" and mqtt_entries else None,
        original_device_class="data_size",
        unit_of_measurement="B",
    )
    for options_domain, values in (options or {}).items():
        registry.async_update_entity_options(entity.entity_id, options_domain, values)
    return entity.entity_id


def _options(hass: HomeAssistant, entity_id: str) -> dict[str, Any]:
    entry = er.async_get(hass).async_get(entity_id)
    assert entry is not None
    return {domain: dict(values) for domain, values in entry.options.items()}


def _gib_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.INFO]


def test_the_bridge_size_sensors_unique_ids() -> None:
    # Guest (one source, several sources), PBS datastore (one PBS, several): the bridge's ids.
    for uid in (
        "backup2mqtt_home_102_backup_size",
        "backup2mqtt_home_pve_2_102_backup_size",
        "backup2mqtt_home_pbs_store1_used",
        "backup2mqtt_home_pbs_pbs1_store1_available",
    ):
        assert is_size_sensor(uid), uid
    for uid in (
        "backup2mqtt_home_102_archive_count",
        "backup2mqtt_home_pbs_store1_usage",
        "backup2mqtt_home_hyperbackup_3_progress",
        "backup2mqtt_home_102_used",  # not a PBS datastore
        "nas_volume_1_used",
        "zigbee_backup_size",
        "backup_size",
    ):
        assert not is_size_sensor(uid), uid


async def test_setup_shows_sizes_registered_in_b_in_gib_and_keeps_the_users_unit(
    hass: HomeAssistant, mqtt_mock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    precision = {"suggested_display_precision": 0}
    guest = _register(
        hass, "backup2mqtt_home_102_backup_size", options={"sensor": precision, "sensor.private": PRIVATE_B}
    )
    used = _register(hass, "backup2mqtt_home_pbs_store1_used", options={"sensor.private": PRIVATE_B})
    avail = _register(hass, "backup2mqtt_home_pbs_pbs1_store1_available", options={"sensor.private": PRIVATE_B})
    untouched = {
        # the user's unit
        "user": _register(
            hass,
            "backup2mqtt_home_100_backup_size",
            options={"sensor": {**precision, "unit_of_measurement": "MB"}, "sensor.private": PRIVATE_B},
        ),
        # registered in GiB (a new install) or never re-added with GiB: no sensor.private
        "new": _register(hass, "backup2mqtt_home_104_backup_size"),
        "other_suggested": _register(
            hass,
            "backup2mqtt_home_105_backup_size",
            options={"sensor.private": {"suggested_unit_of_measurement": "kB"}},
        ),
        # not ours: another MQTT device, another platform, another domain, another sensor of ours
        "other_device": _register(hass, "nas_volume_1_used", options={"sensor.private": PRIVATE_B}),
        "other_platform": _register(
            hass, "backup2mqtt_home_101_backup_size", platform="template", options={"sensor.private": PRIVATE_B}
        ),
        "other_domain": _register(
            hass, "backup2mqtt_home_101_backup_size", domain="number", options={"sensor.private": PRIVATE_B}
        ),
        "other_sensor": _register(hass, "backup2mqtt_home_102_archive_count", options={"sensor.private": PRIVATE_B}),
    }
    before = {name: _options(hass, entity_id) for name, entity_id in untouched.items()}

    await _set_up(hass)

    assert _options(hass, guest) == {
        "sensor": {"suggested_display_precision": 0, "unit_of_measurement": "GiB"},
        "sensor.private": PRIVATE_B,
        DOMAIN: {"size_unit_set": "GiB"},
    }
    for entity_id in (used, avail):
        assert _options(hass, entity_id) == {
            "sensor": {"unit_of_measurement": "GiB"},
            "sensor.private": PRIVATE_B,
            DOMAIN: {"size_unit_set": "GiB"},
        }
    assert {name: _options(hass, entity_id) for name, entity_id in untouched.items()} == before
    logs = _gib_logs(caplog)
    assert sorted(m.split(" ")[0] for m in logs) == sorted([guest, used, avail])
    assert all("registered in B; showing it in GiB" in m for m in logs)


async def test_entries_registered_later_once_each(
    hass: HomeAssistant, mqtt_mock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    await _set_up(hass)
    registry = er.async_get(hass)

    # Registered while the integration runs with the sensor.private unit B at once ...
    created = registry.async_get_or_create(
        "sensor",
        "mqtt",
        "backup2mqtt_home_106_backup_size",
        config_entry=hass.config_entries.async_entries("mqtt")[0],
        get_initial_options=lambda: {"sensor.private": PRIVATE_B},
    ).entity_id
    await hass.async_block_till_done()
    assert _options(hass, created)["sensor"] == {"unit_of_measurement": "GiB"}

    # ... or given it later, as Home Assistant does when the sensor is added again with GiB.
    later = _register(hass, "backup2mqtt_home_107_backup_size")
    assert "sensor" not in _options(hass, later)
    registry.async_update_entity_options(later, "sensor.private", PRIVATE_B)
    await hass.async_block_till_done()
    assert _options(hass, later)["sensor"] == {"unit_of_measurement": "GiB"}

    # Once: the user's later choices stand, even taking the unit out again.
    registry.async_update_entity_options(later, "sensor", {"unit_of_measurement": "MB"})
    await hass.async_block_till_done()
    assert _options(hass, later)["sensor"] == {"unit_of_measurement": "MB"}
    registry.async_update_entity_options(later, "sensor", {})
    registry.async_update_entity_options(later, "sensor.private", {"suggested_unit_of_measurement": "kB"})
    registry.async_update_entity_options(later, "sensor.private", PRIVATE_B)
    await hass.async_block_till_done()
    assert _options(hass, later)["sensor"] == {}

    # A user's unit set before the sensor.private unit B is kept.
    chosen = _register(hass, "backup2mqtt_home_108_backup_size", options={"sensor": {"unit_of_measurement": "MiB"}})
    registry.async_update_entity_options(chosen, "sensor.private", PRIVATE_B)
    await hass.async_block_till_done()
    assert _options(hass, chosen)["sensor"] == {"unit_of_measurement": "MiB"}
    assert DOMAIN not in _options(hass, chosen)

    assert sorted(m.split(" ")[0] for m in _gib_logs(caplog)) == sorted([created, later])


def _size_config(unique_id: str, object_id: str) -> str:
    return json.dumps(
        {
            "name": "Backup size",
            "unique_id": unique_id,
            "default_entity_id": f"sensor.{object_id}",
            "state_topic": f"test/{object_id}",
            "device_class": "data_size",
            "unit_of_measurement": "GiB",
            "state_class": "measurement",
        }
    )


async def test_an_mqtt_sensor_registered_in_b_starts_in_gib(hass: HomeAssistant, mqtt_mock: Any) -> None:
    """The path of a restart after the bridge's upgrade: the sensor, registered in B, is added with
    GiB; Home Assistant writes sensor.private B, the integration GiB before the sensor's first state."""
    await _set_up(hass)
    ours = _register(hass, "backup2mqtt_home_102_backup_size")
    theirs = _register(hass, "nas_volume_1_backup_size")  # the same situation, not the bridge's: HA's rule
    units: list[str | None] = []

    @callback
    def _changed(event: Event[EventStateChangedData]) -> None:
        if event.data["entity_id"] == ours and (new := event.data["new_state"]) is not None:
            units.append(new.attributes.get("unit_of_measurement"))

    hass.bus.async_listen(EVENT_STATE_CHANGED, _changed)
    for entity_id, unique_id in ((ours, "backup2mqtt_home_102_backup_size"), (theirs, "nas_volume_1_backup_size")):
        object_id = entity_id.split(".")[1]
        async_fire_mqtt_message(hass, f"homeassistant/sensor/{object_id}/config", _size_config(unique_id, object_id))
        await hass.async_block_till_done()
        async_fire_mqtt_message(hass, f"test/{object_id}", "1.6")
        await hass.async_block_till_done()

    assert _options(hass, ours)["sensor.private"] == PRIVATE_B
    assert _options(hass, ours)["sensor"]["unit_of_measurement"] == "GiB"
    state = hass.states.get(ours)
    assert state is not None
    assert (state.state, state.attributes["unit_of_measurement"]) == ("1.6", "GiB")
    assert units and set(units) == {"GiB"}  # never shown in B, not even before its first state

    assert _options(hass, theirs)["sensor.private"] == PRIVATE_B
    assert "unit_of_measurement" not in _options(hass, theirs).get("sensor", {})
    state = hass.states.get(theirs)
    assert state is not None
    assert state.attributes["unit_of_measurement"] == "B"
    assert float(state.state) == pytest.approx(1.6 * 1024**3, abs=1)
