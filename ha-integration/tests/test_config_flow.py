"""Config flow: started by the bridge's MQTT announcement, or by hand."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from unittest.mock import patch

from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message

from custom_components.backup2mqtt.const import CONF_BASE_TOPIC, CONF_OFFLINE_MINUTES, CONF_SITE, DOMAIN

from .conftest import BASE, INFO


def discovery(payload: str | bytes, topic: str = f"{BASE}/bridge/info") -> MqttServiceInfo:
    return MqttServiceInfo(
        topic=topic, payload=payload, qos=1, retain=True, subscribed_topic=f"{BASE}/bridge/info", timestamp=0
    )


async def test_discovery_confirm_creates_entry(hass: HomeAssistant, mqtt_mock: Any) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_MQTT}, data=discovery(json.dumps(INFO))
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"] == {"site": "home", "version": "0.1.0", "base_topic": BASE, "guests": "3"}
    flows = hass.config_entries.flow.async_progress()
    assert flows[0]["context"]["title_placeholders"] == {"site": "home"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "backup2mqtt home"
    assert result["data"] == {CONF_BASE_TOPIC: BASE, CONF_SITE: "home"}
    assert result["result"].unique_id == BASE


async def test_discovery_base_topic_from_topic_when_info_has_none(hass: HomeAssistant, mqtt_mock: Any) -> None:
    info = {k: v for k, v in INFO.items() if k != "base_topic"}
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_MQTT},
        data=discovery(json.dumps(info), topic="lab2/bridge/info"),
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["data"][CONF_BASE_TOPIC] == "lab2"


async def test_discovery_rejects_what_is_not_bridge_info(hass: HomeAssistant, mqtt_mock: Any) -> None:
    for payload in ("", "not json", json.dumps({"site": "home"}), json.dumps([1, 2])):
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": config_entries.SOURCE_MQTT}, data=discovery(payload)
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "invalid_discovery_info"


async def test_discovery_of_a_configured_bridge_aborts(hass: HomeAssistant, mqtt_mock: Any) -> None:
    MockConfigEntry(domain=DOMAIN, unique_id=BASE, data={CONF_BASE_TOPIC: BASE, CONF_SITE: "old"}).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_MQTT}, data=discovery(json.dumps(INFO))
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    # the site is updated from the announcement
    assert hass.config_entries.async_entries(DOMAIN)[0].data[CONF_SITE] == "home"


async def test_user_step_waits_for_the_bridge(hass: HomeAssistant, mqtt_mock: Any) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    task = hass.async_create_task(
        hass.config_entries.flow.async_configure(result["flow_id"], {CONF_BASE_TOPIC: "site2/"})
    )
    for _ in range(50):
        await asyncio.sleep(0.01)
        if any(c.args[0] == "site2/bridge/info" for c in mqtt_mock.async_subscribe.call_args_list):
            break
    async_fire_mqtt_message(hass, "site2/bridge/info", json.dumps({**INFO, "site": "cabin"}))
    result = await task
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_BASE_TOPIC: "site2", CONF_SITE: "cabin"}


async def test_user_step_reports_a_missing_bridge(hass: HomeAssistant, mqtt_mock: Any) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    with patch("custom_components.backup2mqtt.config_flow.INFO_WAIT_SECONDS", 0.05):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_BASE_TOPIC: "nobody"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "no_bridge"}


async def test_options_offline_threshold(hass: HomeAssistant, setup_entry: MockConfigEntry) -> None:
    result = await hass.config_entries.options.async_init(setup_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_OFFLINE_MINUTES: 30})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert setup_entry.options == {CONF_OFFLINE_MINUTES: 30}
    assert setup_entry.runtime_data.offline_minutes == 30
