"""Config flow: found through the bridge's retained `<base>/bridge/info`, or set up by hand."""

from __future__ import annotations

import asyncio
import json
from typing import Any

try:  # Home Assistant 2026.x validates with probatio (the voluptuous successor)
    import probatio as vol
except ImportError:  # pragma: no cover - older Home Assistant
    import voluptuous as vol  # type: ignore[no-redef]

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.core import callback
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo

from .const import (
    CONF_BASE_TOPIC,
    CONF_OFFLINE_MINUTES,
    CONF_SITE,
    DEFAULT_BASE_TOPIC,
    DEFAULT_OFFLINE_MINUTES,
    DOMAIN,
    TOPIC_BRIDGE_INFO,
)
from .topics import topic

INFO_WAIT_SECONDS = 5.0


def parse_info(payload: str | bytes) -> dict[str, Any] | None:
    """The bridge info JSON if the payload is one (version and site present), else None."""
    try:
        info = json.loads(payload)
    except (ValueError, TypeError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("site"), str) or not isinstance(info.get("version"), str):
        return None
    return info


class Backup2MqttConfigFlow(ConfigFlow, domain=DOMAIN):
    """One config entry per bridge (per MQTT base topic)."""

    VERSION = 1

    def __init__(self) -> None:
        """Initialize."""
        self._base_topic = DEFAULT_BASE_TOPIC
        self._info: dict[str, Any] = {}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Options: how long the bridge may be offline before a repairs issue."""
        return Backup2MqttOptionsFlow()

    async def async_step_mqtt(self, discovery_info: MqttServiceInfo) -> ConfigFlowResult:
        """A bridge announced itself on `backup2mqtt/bridge/info`."""
        info = parse_info(discovery_info.payload)
        if info is None:
            return self.async_abort(reason="invalid_discovery_info")
        base = info.get("base_topic")
        if not isinstance(base, str) or not base:
            base = discovery_info.topic.removesuffix(f"/{TOPIC_BRIDGE_INFO}")
        self._base_topic = base
        self._info = info
        await self.async_set_unique_id(base)
        self._abort_if_unique_id_configured(updates={CONF_SITE: info["site"]})
        self.context["title_placeholders"] = {"site": info["site"]}
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirm a discovered bridge."""
        if user_input is not None:
            return self._create()
        self._set_confirm_only()
        return self.async_show_form(
            step_id="confirm",
            description_placeholders={
                "site": str(self._info.get("site")),
                "version": str(self._info.get("version")),
                "base_topic": self._base_topic,
                "guests": str((self._info.get("counts") or {}).get("guests", "?")),
            },
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Set up by hand: the bridge must answer on `<base_topic>/bridge/info`."""
        errors: dict[str, str] = {}
        if user_input is not None:
            base = user_input[CONF_BASE_TOPIC].strip().strip("/")
            await self.async_set_unique_id(base)
            self._abort_if_unique_id_configured()
            if not await mqtt.async_wait_for_mqtt_client(self.hass):
                return self.async_abort(reason="mqtt_not_connected")
            info = await self._read_info(base)
            if info is None:
                errors["base"] = "no_bridge"
            else:
                self._base_topic = base
                self._info = info
                return self._create()
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema({vol.Required(CONF_BASE_TOPIC, default=DEFAULT_BASE_TOPIC): str}),
            errors=errors,
        )

    async def _read_info(self, base: str) -> dict[str, Any] | None:
        """Wait briefly for the retained bridge info."""
        got: asyncio.Future[dict[str, Any]] = self.hass.loop.create_future()

        @callback
        def on_message(msg: mqtt.ReceiveMessage) -> None:
            info = parse_info(msg.payload)
            if info is not None and not got.done():
                got.set_result(info)

        unsub = await mqtt.async_subscribe(self.hass, topic(base, TOPIC_BRIDGE_INFO), on_message, qos=1)
        try:
            async with asyncio.timeout(INFO_WAIT_SECONDS):
                return await got
        except TimeoutError:
            return None
        finally:
            unsub()

    def _create(self) -> ConfigFlowResult:
        site = str(self._info.get("site"))
        return self.async_create_entry(
            title=f"backup2mqtt {site}",
            data={CONF_BASE_TOPIC: self._base_topic, CONF_SITE: site},
        )


class Backup2MqttOptionsFlow(OptionsFlow):
    """Options of a bridge entry."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The only option: offline threshold."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        current = self.config_entry.options.get(CONF_OFFLINE_MINUTES, DEFAULT_OFFLINE_MINUTES)
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_OFFLINE_MINUTES, default=current): vol.All(
                        vol.Coerce(int), vol.Range(min=1, max=1440)
                    )
                }
            ),
        )
