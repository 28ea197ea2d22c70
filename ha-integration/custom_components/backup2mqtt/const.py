"""Constants of the backup2mqtt integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "backup2mqtt"

# ---- Names the bridge gives out. The bridge builds the same ids and topics in one TypeScript module
# (bridge/src/core/identity.ts); test/integration/python-identity.test.ts reads this file and fails
# when a value here differs from the bridge's. Use these constants, never the literal text.

# Every MQTT device id of the bridge is this prefix + an object id: "backup2mqtt_<guest id>" for a
# guest (guest id = "<site>_<vmid>"), "backup2mqtt_<site>_bridge" for the bridge itself.
DEVICE_ID_PREFIX: Final = "backup2mqtt_"
DEFAULT_BASE_TOPIC: Final = "backup2mqtt"

# Topic shapes under a bridge's base topic, as MQTT subscription filters ("+" = one guest id).
TOPIC_BRIDGE_INFO: Final = "bridge/info"
TOPIC_BRIDGE_STATE: Final = "bridge/state"
TOPIC_GUEST_STATE: Final = "guest/+/state"
TOPIC_GUEST_EVENT: Final = "guest/+/event"
TOPIC_GUEST_COMMAND: Final = "guest/+/command"

# The topic the integration is discovered on (manifest.json "mqtt" lists the same one).
DISCOVERY_TOPIC: Final = f"{DEFAULT_BASE_TOPIC}/{TOPIC_BRIDGE_INFO}"

CONF_BASE_TOPIC: Final = "base_topic"
CONF_SITE: Final = "site"
CONF_OFFLINE_MINUTES: Final = "offline_minutes"
DEFAULT_OFFLINE_MINUTES: Final = 15

# Tiers whose guests must be covered by an enabled scheduled job (repairs issue when not).
REPAIR_TIERS: Final = ("P0", "P1")

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
