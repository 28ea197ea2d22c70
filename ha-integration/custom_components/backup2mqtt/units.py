"""Sizes in GiB on installs whose size sensors were registered in bytes.

The bridge's size sensors (a guest's "Backup size", a PBS datastore's "Used" and "Available") were
published in B before and are published in GiB now (data_size, state_class measurement, the same
bytes divided by 1073741824). Home Assistant's sensor entity keeps showing the unit an entity was
registered with when its native unit changes to one it can convert: when the entity is added again
(after a restart) with a native unit other than the registered one, it stores the registered unit as
options["sensor.private"]["suggested_unit_of_measurement"] and displays that from then on; only a
unit the user picks (options["sensor"]["unit_of_measurement"]) comes before it. See
SensorEntity.async_prepare_to_add_to_hass and _get_initial_suggested_unit in Home Assistant core,
https://github.com/home-assistant/core/tree/dev/homeassistant/components/sensor (entity.py in
2026.11, __init__.py before). So an install that ran a bridge publishing B shows "1717986918 B"
again after the restart that follows the bridge's upgrade, until the user picks GiB in the entity's
settings.

This module makes that choice for the user, once per entity: an MQTT sensor whose unique_id is one
of the bridge's size sensors, whose user has set no unit, and whose registered unit is B gets the
display unit GiB, as the entity settings dialog would set it. Statistics recorded in B stay valid:
the recorder converts within the unit class (test/ha/size-units.e2e.test.ts checks it with no
validate_statistics issue and no repair). A unit the user chose is never touched, and an entity done
once is marked (options[DOMAIN]) so that it is never done again, whatever its options become.

It runs at setup over the whole entity registry and then on every registry entry created or whose
options change: the sensor.private unit is written when the MQTT entity is added, which may come
before or after this integration is set up. The listener is a callback, so it runs inside the
registry update that wrote sensor.private, before the sensor reads its options to be added: the
sensor then starts in GiB.
"""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.components import mqtt
from homeassistant.components.sensor import DOMAIN as SENSOR_DOMAIN
from homeassistant.const import CONF_UNIT_OF_MEASUREMENT, UnitOfInformation
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from .const import DEVICE_ID_PREFIX, DOMAIN

_LOGGER = logging.getLogger(__name__)

# The size sensors' unique_ids: DEVICE_ID_PREFIX + object id + "_" + key
# (bridge/src/extensions/mqtt/discovery.ts and offsite-discovery.ts).
# A guest (object id "<site>_<vmid>" or "<site>_<source>_<vmid>"): key "backup_size".
GUEST_SIZE_SUFFIX = "_backup_size"
# A PBS datastore (object id "<site>_pbs_<key>"): keys "used" and "available".
PBS_OBJECT_PART = "_pbs_"
PBS_SIZE_SUFFIXES = ("_used", "_available")

SENSOR_PRIVATE = f"{SENSOR_DOMAIN}.private"
SUGGESTED_UNIT = "suggested_unit_of_measurement"
OLD_UNIT = UnitOfInformation.BYTES
NEW_UNIT = UnitOfInformation.GIBIBYTES
# options[DOMAIN][DONE_KEY] = the unit this integration set: it is set once per entity.
DONE_KEY = "size_unit_set"


def is_size_sensor(unique_id: str) -> bool:
    """Is this unique_id one of the bridge's size sensors (guest backup size, PBS used/available)?"""
    if not unique_id.startswith(DEVICE_ID_PREFIX):
        return False
    rest = unique_id[len(DEVICE_ID_PREFIX) :]
    if rest.endswith(GUEST_SIZE_SUFFIX):
        return True
    return PBS_OBJECT_PART in rest and rest.endswith(PBS_SIZE_SUFFIXES)


def _options(entry: er.RegistryEntry, domain: str) -> dict[str, Any]:
    return dict(entry.options.get(domain) or {})


def needs_gib(entry: er.RegistryEntry) -> bool:
    """A size sensor of the bridge, registered in B, with no unit of the user's, not done before."""
    return (
        entry.domain == SENSOR_DOMAIN
        and entry.platform == mqtt.DOMAIN
        and is_size_sensor(entry.unique_id)
        and DONE_KEY not in _options(entry, DOMAIN)
        and CONF_UNIT_OF_MEASUREMENT not in _options(entry, SENSOR_DOMAIN)
        and _options(entry, SENSOR_PRIVATE).get(SUGGESTED_UNIT) == OLD_UNIT
    )


@callback
def _show_in_gib(registry: er.EntityRegistry, entry: er.RegistryEntry) -> None:
    # The mark first: the update events these two writes fire come back to the listener below,
    # which then finds the entry done.
    registry.async_update_entity_options(entry.entity_id, DOMAIN, {**_options(entry, DOMAIN), DONE_KEY: NEW_UNIT})
    registry.async_update_entity_options(
        entry.entity_id, SENSOR_DOMAIN, {**_options(entry, SENSOR_DOMAIN), CONF_UNIT_OF_MEASUREMENT: NEW_UNIT}
    )
    _LOGGER.info(
        "%s was registered in %s; showing it in %s, the unit the backup2mqtt bridge publishes now"
        " (another unit can be chosen in the entity's settings)",
        entry.entity_id,
        OLD_UNIT,
        NEW_UNIT,
    )


@callback
def async_setup_size_units(hass: HomeAssistant) -> CALLBACK_TYPE:
    """Show the bridge's size sensors registered in B in GiB, now and for entries created or
    updated later; returns the function that stops listening."""
    registry = er.async_get(hass)

    @callback
    def _filter(data: er.EventEntityRegistryUpdatedData) -> bool:
        return data["action"] == "create" or (data["action"] == "update" and "options" in data["changes"])

    @callback
    def _updated(event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        entry = registry.async_get(event.data["entity_id"])
        if entry is not None and needs_gib(entry):
            _show_in_gib(registry, entry)

    unsub = hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, _updated, event_filter=_filter)
    for entry in [e for e in registry.entities.values() if needs_gib(e)]:
        _show_in_gib(registry, entry)
    return unsub
