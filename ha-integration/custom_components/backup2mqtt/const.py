"""Constants of the backup2mqtt integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "backup2mqtt"

DEFAULT_BASE_TOPIC: Final = "backup2mqtt"
DISCOVERY_TOPIC: Final = f"{DEFAULT_BASE_TOPIC}/bridge/info"

CONF_BASE_TOPIC: Final = "base_topic"
CONF_SITE: Final = "site"
CONF_OFFLINE_MINUTES: Final = "offline_minutes"
DEFAULT_OFFLINE_MINUTES: Final = 15

# Tiers whose guests must be covered by an enabled scheduled job (repairs issue when not).
REPAIR_TIERS: Final = ("P0", "P1")

# The bridge's MQTT device ids are "backup2mqtt_<guest id>" (guest id = "<site>_<vmid>").
DEVICE_ID_PREFIX: Final = "backup2mqtt_"

STATUSES: Final = ("ok", "stale", "failed", "missing", "running", "unknown")
PROBLEM_STATUSES: Final = ("stale", "failed", "missing")

SERVICE_BACK_UP: Final = "back_up"
SERVICE_GET_STATUS: Final = "get_status"

STATIC_URL: Final = "/backup2mqtt_static"
CARD_FILENAME: Final = "backup2mqtt-card.js"

# Keys never shown in diagnostics.
TO_REDACT: Final = {
    "password",
    "token",
    "token_secret",
    "secret",
    "username",
    "api_key",
    "fingerprint",
    "url",
    "configuration_url",
}
