"""The bridge as seen from Home Assistant: the retained MQTT state of one backup2mqtt bridge.

The MQTT integration already turns the bridge's device discovery into entities. This hub only
listens to the same topics to add what MQTT cannot: services with response data, repairs issues,
Assist intents and diagnostics. It creates no entities.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
import json
import logging
import re
from typing import Any
import unicodedata
import uuid

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .command import CommandResult, CommandWaiter
from .const import (
    CONF_BASE_TOPIC,
    CONF_OFFLINE_MINUTES,
    CONF_SITE,
    DEFAULT_OFFLINE_MINUTES,
    DEVICE_ID_PREFIX,
    DOMAIN,
    REPAIR_TIERS,
    TOPIC_BRIDGE_INFO,
    TOPIC_BRIDGE_STATE,
    TOPIC_GUEST_COMMAND,
    TOPIC_GUEST_EVENT,
    TOPIC_GUEST_STATE,
)
from .topics import GUEST_EVENT_RE, GUEST_STATE_RE, topic

_LOGGER = logging.getLogger(__name__)


def normalize_name(text: str) -> str:
    """Lower-case, accents and punctuation removed, for matching spoken guest names."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


class BridgeHub:
    """Retained state of one bridge (one base topic), kept from its MQTT topics."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Initialize from the config entry."""
        self.hass = hass
        self.entry = entry
        self.base_topic: str = entry.data[CONF_BASE_TOPIC]
        self.site: str | None = entry.data.get(CONF_SITE)
        self.guests: dict[str, dict[str, Any]] = {}
        self.info: dict[str, Any] | None = None
        self.bridge_state: str | None = None
        self.offline_since: datetime | None = None
        self._offline_timer: CALLBACK_TYPE | None = None
        self._unsubs: list[Callable[[], None]] = []
        self._waiters: list[CommandWaiter] = []
        self._issue_ids: set[str] = set()

    # ------------------------------------------------------------------ lifecycle

    @property
    def offline_minutes(self) -> int:
        """Minutes the bridge may be offline before a repairs issue is raised."""
        return int(self.entry.options.get(CONF_OFFLINE_MINUTES, DEFAULT_OFFLINE_MINUTES))

    async def async_start(self) -> None:
        """Subscribe to the bridge's topics (retained messages arrive at once)."""
        for shape, on_message in (
            (TOPIC_BRIDGE_INFO, self._on_info),
            (TOPIC_BRIDGE_STATE, self._on_bridge_state),
            (TOPIC_GUEST_STATE, self._on_guest),
            (TOPIC_GUEST_EVENT, self._on_event),
        ):
            self._unsubs.append(await mqtt.async_subscribe(self.hass, topic(self.base_topic, shape), on_message, qos=1))

    async def async_stop(self) -> None:
        """Unsubscribe; issues of this bridge go with it."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        if self._offline_timer:
            self._offline_timer()
            self._offline_timer = None
        for waiter in self._waiters:
            if not waiter.future.done():
                waiter.future.cancel()
        self._waiters.clear()
        for issue_id in list(self._issue_ids):
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        self._issue_ids.clear()

    # ------------------------------------------------------------------ MQTT callbacks

    @callback
    def _on_info(self, msg: mqtt.ReceiveMessage) -> None:
        try:
            info = json.loads(msg.payload) if msg.payload else None
        except ValueError:
            _LOGGER.warning("Ignoring bridge info that is not JSON on %s", msg.topic)
            return
        if info is not None and not isinstance(info, dict):
            return
        self.info = info
        if info and isinstance(info.get("site"), str):
            self.site = info["site"]

    @callback
    def _on_bridge_state(self, msg: mqtt.ReceiveMessage) -> None:
        state = msg.payload.strip().lower() if isinstance(msg.payload, str) else None
        if state not in ("online", "offline"):
            return
        self.bridge_state = state
        if state == "online":
            self.offline_since = None
            if self._offline_timer:
                self._offline_timer()
                self._offline_timer = None
            self._delete_issue(self.offline_issue_id)
            return
        if self.offline_since is None:
            self.offline_since = dt_util.utcnow()
        if self._offline_timer is None:
            self._offline_timer = async_call_later(self.hass, self.offline_minutes * 60, self._offline_too_long)

    @callback
    def _offline_too_long(self, _now: datetime) -> None:
        self._offline_timer = None
        if self.bridge_state != "offline" or self.offline_since is None:
            return
        self._create_issue(
            self.offline_issue_id,
            severity=ir.IssueSeverity.ERROR,
            translation_key="bridge_offline",
            placeholders={
                "site": self.site or self.base_topic,
                "since": dt_util.as_local(self.offline_since).strftime("%Y-%m-%d %H:%M"),
                "minutes": str(self.offline_minutes),
            },
        )

    @callback
    def _on_guest(self, msg: mqtt.ReceiveMessage) -> None:
        m = GUEST_STATE_RE.match(msg.topic)
        if not m:
            return
        gid = m.group("id")
        if not msg.payload:
            self.guests.pop(gid, None)
            self._update_guest_issue(gid, None)
            return
        try:
            state = json.loads(msg.payload)
        except ValueError:
            _LOGGER.warning("Ignoring guest state that is not JSON on %s", msg.topic)
            return
        if not isinstance(state, dict):
            return
        state.setdefault("id", gid)
        self.guests[gid] = state
        self._update_guest_issue(gid, state)

    @callback
    def _on_event(self, msg: mqtt.ReceiveMessage) -> None:
        m = GUEST_EVENT_RE.match(msg.topic)
        if not m or not msg.payload:
            return
        try:
            event = json.loads(msg.payload)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        gid = m.group("id")
        for waiter in list(self._waiters):
            if waiter.answered_by(gid, event):
                waiter.future.set_result(event)

    # ------------------------------------------------------------------ repairs

    @property
    def offline_issue_id(self) -> str:
        """Issue id of 'bridge offline' for this bridge."""
        return f"bridge_offline_{self.base_topic.replace('/', '_')}"

    @callback
    def _create_issue(
        self, issue_id: str, *, severity: ir.IssueSeverity, translation_key: str, placeholders: dict[str, str]
    ) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            is_persistent=False,
            severity=severity,
            translation_key=translation_key,
            translation_placeholders=placeholders,
            learn_more_url="https://github.com/backup2mqtt/backup2mqtt#home-assistant-entities",
        )
        self._issue_ids.add(issue_id)

    @callback
    def _delete_issue(self, issue_id: str) -> None:
        ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        self._issue_ids.discard(issue_id)

    @callback
    def _update_guest_issue(self, gid: str, state: dict[str, Any] | None) -> None:
        issue_id = f"unprotected_{gid}"
        finding = None
        if state and state.get("tier") in REPAIR_TIERS:
            finding = next(
                (f for f in state.get("findings") or [] if isinstance(f, dict) and f.get("code") == "unprotected"),
                None,
            )
        if finding is None:
            self._delete_issue(issue_id)
            return
        assert state is not None
        self._create_issue(
            issue_id,
            severity=ir.IssueSeverity.ERROR if state.get("tier") == "P0" else ir.IssueSeverity.WARNING,
            translation_key="unprotected_guest",
            placeholders={
                "guest": str(state.get("name") or gid),
                "vmid": str(state.get("vmid", "")),
                "tier": str(state.get("tier")),
                "reason": str(finding.get("reason") or "no enabled backup job selects it"),
            },
        )

    # ------------------------------------------------------------------ lookups

    def device_guest_id(self, device: dr.DeviceEntry) -> str | None:
        """The guest id of one of this bridge's guest devices, else None."""
        for domain, ident in device.identifiers:
            if domain == "mqtt" and ident.startswith(DEVICE_ID_PREFIX):
                gid = ident[len(DEVICE_ID_PREFIX) :]
                if gid in self.guests:
                    return gid
        return None

    def device_id_for(self, gid: str) -> str | None:
        """The HA device id of a guest (None until MQTT discovery created it)."""
        registry = dr.async_get(self.hass)
        identifiers = {("mqtt", f"{DEVICE_ID_PREFIX}{gid}")}
        if hasattr(registry, "async_get_devices"):  # HA 2026.x: identifiers are unique per config entry only
            devices = registry.async_get_devices(identifiers=identifiers)
            return devices[0].id if devices else None
        device = registry.async_get_device(identifiers=identifiers)  # pragma: no cover - older Home Assistant
        return device.id if device else None

    def find_guests(self, text: str) -> list[str]:
        """Guest ids whose name, id or VMID matches spoken/typed text (exact first, then partial)."""
        wanted = normalize_name(text)
        if not wanted:
            return []
        exact, partial = [], []
        for gid, g in self.guests.items():
            names = {normalize_name(str(g.get("name", ""))), normalize_name(gid), str(g.get("vmid", ""))}
            if wanted in names or wanted.replace(" ", "") in {n.replace(" ", "") for n in names}:
                exact.append(gid)
            elif any(wanted in n for n in names if n):
                partial.append(gid)
        return exact or partial

    def guest_summary(self, gid: str) -> dict[str, Any]:
        """A guest's state in the form the services return."""
        g = self.guests[gid]
        return {
            "id": gid,
            "name": g.get("name"),
            "vmid": g.get("vmid"),
            "type": g.get("type"),
            "node": g.get("node"),
            "tier": g.get("tier"),
            "status": g.get("status"),
            "status_reason": g.get("status_reason"),
            "problem": bool(g.get("problem")),
            "reasons": list(g.get("reasons") or []),
            "findings": [f.get("code") for f in g.get("findings") or [] if isinstance(f, dict)],
            "last_backup": g.get("last_backup"),
            "last_backup_size": g.get("last_backup_size"),
            "archive_count": g.get("archive_count"),
            "next_backup": g.get("next_backup"),
            "last_verified": g.get("last_verified"),
            "last_offsite": g.get("last_offsite"),
            "running": bool(g.get("running")),
            "device_id": self.device_id_for(gid),
        }

    def bridge_summary(self) -> dict[str, Any]:
        """The bridge's state in the form the services return."""
        info = self.info or {}
        return {
            "base_topic": self.base_topic,
            "site": self.site,
            "version": info.get("version"),
            "online": self.bridge_state == "online" if self.bridge_state else None,
            "offline_since": self.offline_since.isoformat() if self.offline_since else None,
            "last_refresh": info.get("last_refresh"),
            "counts": info.get("counts"),
        }

    # ------------------------------------------------------------------ commands

    async def async_back_up(self, gid: str, wait: float = 5.0) -> CommandResult:
        """Ask the bridge to back up one guest and wait briefly for its answer.

        The bridge answers a refused command with a `command_rejected` event carrying our
        request_id, and an accepted one with `backup_started` once PVE started the task.
        """
        request_id = uuid.uuid4().hex[:16]
        name = str(self.guests.get(gid, {}).get("name") or gid)
        loop = self.hass.loop
        waiter = CommandWaiter(gid, request_id, dt_util.utcnow(), loop.create_future())
        self._waiters.append(waiter)
        try:
            await mqtt.async_publish(
                self.hass,
                topic(self.base_topic, TOPIC_GUEST_COMMAND, gid),
                json.dumps({"action": "backup", "origin": "home_assistant", "request_id": request_id}),
                qos=1,
                retain=False,
            )
            try:
                async with asyncio.timeout(wait):
                    event = await waiter.future
            except TimeoutError:
                return CommandResult(gid, name, request_id, "sent")
        finally:
            self._waiters.remove(waiter)
        if event.get("event_type") == "command_rejected":
            return CommandResult(gid, name, request_id, "rejected", reason=event.get("reason"))
        return CommandResult(gid, name, request_id, "started", upid=event.get("upid"))

    def diagnostics(self) -> dict[str, Any]:
        """Everything the hub knows (redacted by the caller)."""
        return {
            "base_topic": self.base_topic,
            "site": self.site,
            "bridge_state": self.bridge_state,
            "offline_since": self.offline_since.isoformat() if self.offline_since else None,
            "info": self.info,
            "guests": self.guests,
            "issues": sorted(self._issue_ids),
        }
