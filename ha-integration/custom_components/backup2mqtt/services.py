"""Services: `backup2mqtt.back_up` and `backup2mqtt.get_status` (both with response data)."""

from __future__ import annotations

from typing import TYPE_CHECKING

try:
    import probatio as vol
except ImportError:  # pragma: no cover - older Home Assistant
    import voluptuous as vol  # type: ignore[no-redef]

from homeassistant.const import ATTR_AREA_ID, ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr, entity_registry as er

from .const import DOMAIN, PROBLEM_STATUSES, SERVICE_BACK_UP, SERVICE_GET_STATUS, STATUSES

if TYPE_CHECKING:
    from .hub import BridgeHub

ATTR_GUEST = "guest"
ATTR_WAIT = "wait"
ATTR_STATUS = "status"
ATTR_PROBLEMS_ONLY = "problems_only"

_TARGET = {
    vol.Optional(ATTR_ENTITY_ID): cv.entity_ids,
    vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_AREA_ID): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_GUEST): vol.All(cv.ensure_list, [cv.string]),
}

BACK_UP_SCHEMA = vol.Schema(
    {**_TARGET, vol.Optional(ATTR_WAIT, default=5): vol.All(vol.Coerce(float), vol.Range(min=0, max=60))}
)
GET_STATUS_SCHEMA = vol.Schema(
    {
        **_TARGET,
        vol.Optional(ATTR_STATUS): vol.All(cv.ensure_list, [vol.In(STATUSES)]),
        vol.Optional(ATTR_PROBLEMS_ONLY, default=False): cv.boolean,
    }
)


def hubs(hass: HomeAssistant) -> list[BridgeHub]:
    """The hubs of all loaded bridge entries."""
    return [
        entry.runtime_data
        for entry in hass.config_entries.async_loaded_entries(DOMAIN)
        if getattr(entry, "runtime_data", None) is not None
    ]


def _resolve(hass: HomeAssistant, call: ServiceCall) -> list[tuple[BridgeHub, str]] | None:
    """(hub, guest id) pairs the call targets; None when the call names no target at all."""
    all_hubs = hubs(hass)
    data = call.data
    if not any(data.get(k) for k in (ATTR_ENTITY_ID, ATTR_DEVICE_ID, ATTR_AREA_ID, ATTR_GUEST)):
        return None
    dev_reg = dr.async_get(hass)
    ent_reg = er.async_get(hass)
    device_ids: set[str] = set(data.get(ATTR_DEVICE_ID) or [])
    unknown: list[str] = []
    for entity_id in data.get(ATTR_ENTITY_ID) or []:
        entry = ent_reg.async_get(entity_id)
        if entry is None or entry.device_id is None:
            unknown.append(entity_id)
        else:
            device_ids.add(entry.device_id)
    for area_id in data.get(ATTR_AREA_ID) or []:
        device_ids.update(d.id for d in dr.async_entries_for_area(dev_reg, area_id))
    found: list[tuple[BridgeHub, str]] = []
    for device_id in device_ids:
        device = dev_reg.async_get(device_id)
        match = None
        if device is not None:
            for hub in all_hubs:
                if (gid := hub.device_guest_id(device)) is not None:
                    match = (hub, gid)
                    break
        if match:
            found.append(match)
        elif ATTR_AREA_ID not in data or device_id in (data.get(ATTR_DEVICE_ID) or []):
            unknown.append(device.name if device else device_id)
    for text in data.get(ATTR_GUEST) or []:
        matches = [(hub, gid) for hub in all_hubs for gid in hub.find_guests(text)]
        if len(matches) == 1:
            found.append(matches[0])
        elif not matches:
            unknown.append(text)
        else:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="ambiguous_guest",
                translation_placeholders={
                    "guest": text,
                    "matches": ", ".join(str(h.guests[g].get("name")) for h, g in matches),
                },
            )
    if unknown:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_guest",
            translation_placeholders={"targets": ", ".join(unknown)},
        )
    # keep order, drop duplicates
    seen: set[tuple[str, str]] = set()
    out = []
    for hub, gid in found:
        if (hub.base_topic, gid) not in seen:
            seen.add((hub.base_topic, gid))
            out.append((hub, gid))
    return out


async def _back_up(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    targets = _resolve(hass, call)
    if not targets:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_target")
    results = []
    for hub, gid in targets:
        result = await hub.async_back_up(gid, wait=call.data[ATTR_WAIT])
        results.append(result.as_dict())
    return {"results": results} if call.return_response else None


async def _get_status(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    targets = _resolve(hass, call)
    statuses = set(call.data.get(ATTR_STATUS) or [])
    problems_only = call.data[ATTR_PROBLEMS_ONLY]
    bridges = []
    guests = []
    for hub in hubs(hass):
        bridges.append(hub.bridge_summary())
        ids = [g for h, g in targets if h is hub] if targets is not None else sorted(hub.guests)
        for gid in ids:
            summary = hub.guest_summary(gid)
            if statuses and summary["status"] not in statuses:
                continue
            if problems_only and not summary["problem"]:
                continue
            guests.append(summary)
    # problems first, then by name
    guests.sort(key=lambda g: (not g["problem"], g["status"] not in PROBLEM_STATUSES, str(g["name"])))
    problem_count = sum(1 for g in guests if g["problem"])
    return {
        "bridges": bridges,
        "guests": guests,
        "summary": {
            "guests": len(guests),
            "problems": problem_count,
            "all_ok": problem_count == 0 and all(g["status"] == "ok" for g in guests),
        },
    }


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the services once (they serve every bridge entry)."""
    if hass.services.has_service(DOMAIN, SERVICE_BACK_UP):
        return
    hass.services.async_register(
        DOMAIN, SERVICE_BACK_UP, _back_up, schema=BACK_UP_SCHEMA, supports_response=SupportsResponse.OPTIONAL
    )
    hass.services.async_register(
        DOMAIN, SERVICE_GET_STATUS, _get_status, schema=GET_STATUS_SCHEMA, supports_response=SupportsResponse.ONLY
    )
