"""backup2mqtt: what MQTT discovery cannot give Home Assistant.

The bridge publishes every Proxmox guest as an MQTT device; the MQTT integration makes the
entities. This integration is found through the bridge's retained `backup2mqtt/bridge/info` and
adds: services with response data (`back_up`, `get_status`), repairs issues (unprotected P0/P1
guest, bridge offline too long), Assist intents and sentences, diagnostics, and it serves and
registers the Lovelace card. It creates no entities of its own; it only sets the display unit of the
bridge's size sensors registered in bytes to GiB, once (units.py).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from homeassistant.components import mqtt
from homeassistant.components.frontend import add_extra_js_url
from homeassistant.components.http import StaticPathConfig
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .assist import async_register_intents, async_register_sentences
from .const import CARD_FILENAME, DOMAIN, STATIC_URL
from .hub import BridgeHub
from .services import async_setup_services
from .units import async_setup_size_units

_LOGGER = logging.getLogger(__name__)

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

WWW_DIR = Path(__file__).parent / "www"

type Backup2MqttConfigEntry = ConfigEntry[BridgeHub]


def _card_version() -> str | None:
    card = WWW_DIR / CARD_FILENAME
    if not card.is_file():
        return None
    return hashlib.sha256(card.read_bytes()).hexdigest()[:12]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Once per Home Assistant start: services, intents, sentences, the card, sizes in GiB."""
    async_setup_services(hass)
    # Size sensors registered when the bridge published bytes keep showing B after a restart
    # (Home Assistant keeps an entity's first unit): show them in GiB, once per entity (units.py).
    async_setup_size_units(hass)
    async_register_intents(hass)
    await async_register_sentences(hass)

    card_version = await hass.async_add_executor_job(_card_version)
    if card_version is None:
        _LOGGER.warning("The card %s is missing from %s (build it with npm run build:card)", CARD_FILENAME, WWW_DIR)
    else:
        await hass.http.async_register_static_paths([StaticPathConfig(STATIC_URL, str(WWW_DIR), True)])
        add_extra_js_url(hass, f"{STATIC_URL}/{CARD_FILENAME}?v={card_version}")
    return True


async def async_setup_entry(hass: HomeAssistant, entry: Backup2MqttConfigEntry) -> bool:
    """Follow one bridge."""
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady("MQTT is not connected")
    hub = BridgeHub(hass, entry)
    await hub.async_start()
    entry.runtime_data = hub
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    return True


async def _async_options_updated(hass: HomeAssistant, entry: Backup2MqttConfigEntry) -> None:
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: Backup2MqttConfigEntry) -> bool:
    """Stop following the bridge; its repairs issues are removed."""
    await entry.runtime_data.async_stop()
    return True
