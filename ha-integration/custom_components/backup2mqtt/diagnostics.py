"""Diagnostics of a bridge entry: what the integration knows, secrets redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from . import Backup2MqttConfigEntry
from .const import TO_REDACT


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: Backup2MqttConfigEntry) -> dict[str, Any]:
    """Entry, options, bridge info, guest states and open issues — redacted."""
    return async_redact_data(
        {
            "entry": {"title": entry.title, "data": dict(entry.data), "options": dict(entry.options)},
            "hub": entry.runtime_data.diagnostics(),
        },
        TO_REDACT,
    )
