"""The bridge as seen from Home Assistant: the retained MQTT state of one backup2mqtt bridge.

The MQTT integration already turns the bridge's device discovery into entities. This hub only
listens to the same topics to add what MQTT cannot: services with response data, repairs issues,
Assist intents and diagnostics. It creates no entities.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, tzinfo
import difflib
import json
import logging
import re
from typing import Any
import unicodedata
import uuid

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_CORE_CONFIG_UPDATE
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
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
from .phrasebook import format_time, pick_language, render
from .topics import GUEST_EVENT_RE, GUEST_STATE_RE, topic

_LOGGER = logging.getLogger(__name__)

# Words around a spoken guest name that are not part of it ("the vaultwarden vm", "den Container
# pihole", "guest 100", "vaultwarden's"): dropped when the whole text names no guest.
FILLER_WORDS = frozenset(
    {
        *("the", "a", "an", "my", "our", "this", "that", "please", "now", "s", "of", "for"),
        *("guest", "vm", "vms", "container", "ct", "lxc", "qemu", "virtual", "machine", "backup", "backups"),
        *("der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "mein", "meine", "meinen", "meinem"),
        *("bitte", "jetzt", "von", "fur", "gast", "gastes", "virtuelle", "maschine", "sicherung", "sicherungen"),
    }
)
# How alike (difflib ratio of the names without spaces) a misheard name must be to count.
FUZZY_CUTOFF = 0.8


def normalize_name(text: str) -> str:
    """Lower-case, accents and punctuation removed, for matching spoken guest names."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def strip_fillers(text: str) -> str:
    """A normalized name without the filler words around it ("the vaultwarden vm" → "vaultwarden")."""
    return " ".join(w for w in normalize_name(text).split() if w not in FILLER_WORDS)


def guest_reasons(state: dict[str, Any], language: str, time_zone: tzinfo | str) -> list[str]:
    """A guest's reasons (status reason when a problem, then its findings) in `language`.

    Rendered from `reason_phrases` when the bridge sends them, else the bridge's own `reasons`
    (in the bridge's language).
    """
    phrases = state.get("reason_phrases")
    if isinstance(phrases, list) and phrases and all(isinstance(p, dict) and p.get("key") for p in phrases):
        return [render(p, language, time_zone) for p in phrases]
    return [_plain_reason(r) for r in state.get("reasons") or [] if isinstance(r, str) and r]


# Bridges before reason phrases wrote each reason as "<code>: <text>" ("unprotected: backup job …").
_CODE_PREFIX = re.compile(
    r"^(?:ok|running|failed|missing|stale|unknown|unprotected|no_offsite|too_few_copies|verify_overdue"
    r"|verify_failed|retention_drift|untiered|excluded|orphaned): "
)


def _plain_reason(reason: str) -> str:
    """A bridge reason for people: without an older bridge's "<code>: " in front, starting with a capital."""
    text = _CODE_PREFIX.sub("", reason.strip(), count=1)
    return text[:1].upper() + text[1:]


def guest_status_reason(state: dict[str, Any], language: str, time_zone: tzinfo | str) -> str | None:
    """Why a guest's status is what it is, in `language` (`status_phrase`, else `status_reason`)."""
    phrase = state.get("status_phrase")
    if isinstance(phrase, dict) and phrase.get("key"):
        return render(phrase, language, time_zone)
    reason = state.get("status_reason")
    return str(reason) if reason else None


def finding_reason(finding: dict[str, Any], language: str, time_zone: tzinfo | str) -> str | None:
    """One finding in words in `language` (its `key`/`params`, else the bridge's `reason`)."""
    if finding.get("key"):
        return render({"key": finding["key"], "params": finding.get("params") or {}}, language, time_zone)
    reason = finding.get("reason")
    return str(reason) if reason else None


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

    @property
    def language(self) -> str:
        """Home Assistant's language, as the phrasebook has it."""
        return pick_language(self.hass.config.language)

    @property
    def time_zone(self) -> tzinfo:
        """Home Assistant's time zone."""
        return dt_util.get_default_time_zone()

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
        # Issue texts are rendered in Home Assistant's language and zone: again when either changes.
        self._unsubs.append(self.hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, self._on_core_config))

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
    def _offline_too_long(self, _now: datetime | None = None) -> None:
        self._offline_timer = None
        if self.bridge_state != "offline" or self.offline_since is None:
            return
        self._create_issue(
            self.offline_issue_id,
            severity=ir.IssueSeverity.ERROR,
            translation_key="bridge_offline",
            placeholders={
                "site": self.site or self.base_topic,
                "since": format_time(self.offline_since.isoformat(), self.language, self.time_zone),
                "minutes": str(self.offline_minutes),
            },
        )

    @callback
    def _on_core_config(self, _event: Event) -> None:
        """Language or time zone may have changed: render the open issues' texts again."""
        for gid, state in self.guests.items():
            self._update_guest_issue(gid, state)
        if self.offline_issue_id in self._issue_ids:
            self._offline_too_long()

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
        # An approved fallback that waits for its window has no start event: its state is the answer.
        fallback = state.get("fallback")
        if isinstance(fallback, dict) and fallback.get("approved"):
            for waiter in list(self._waiters):
                if waiter.guest == gid and waiter.action == "approve_fallback" and not waiter.future.done():
                    waiter.future.set_result({"event_type": "command_accepted", "guest": gid})

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
                "reason": finding_reason(finding, self.language, self.time_zone)
                or render({"key": "unprotected"}, self.language, self.time_zone),
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
        """Guest ids whose name, id or VMID matches spoken/typed text.

        In order, the first step that finds any: the whole text equals a name, id or VMID (case,
        accents, punctuation and spaces do not matter: "pihole home" is pihole-home); the same
        without filler words ("the vaultwarden vm", "guest 100", "den Container nextcloud"); a
        name that contains the text ("pihole"); a name that sounds alike (difflib, for a misheard
        "immitch").
        """
        whole = normalize_name(text)
        if not whole:
            return []
        names = {
            gid: {n for n in (normalize_name(str(g.get("name", ""))), normalize_name(gid), str(g.get("vmid", ""))) if n}
            for gid, g in self.guests.items()
        }

        def exact(wanted: str) -> list[str]:
            compact = wanted.replace(" ", "")
            return [gid for gid, ns in names.items() if wanted in ns or compact in {n.replace(" ", "") for n in ns}]

        if found := exact(whole):
            return found
        core = strip_fillers(text)
        if not core:
            return []
        if found := exact(core):
            return found
        compact = core.replace(" ", "")
        if compact.isdigit():
            return []
        # Partly or alike: the guests' names only (every id starts with the site's name).
        spoken = {gid: normalize_name(str(g.get("name", ""))).replace(" ", "") for gid, g in self.guests.items()}
        if found := [gid for gid, n in spoken.items() if n and compact in n]:
            return found
        if len(compact) < 3:
            return []
        scores = {gid: difflib.SequenceMatcher(None, compact, n).ratio() for gid, n in spoken.items() if n}
        best = max(scores.values(), default=0.0)
        return [gid for gid, score in scores.items() if score >= FUZZY_CUTOFF and score == best]

    def guest_names(self) -> list[str]:
        """The names of this bridge's guests."""
        return [str(g.get("name") or gid) for gid, g in self.guests.items()]

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
            "status_reason": guest_status_reason(g, self.language, self.time_zone),
            "problem": bool(g.get("problem")),
            "reasons": guest_reasons(g, self.language, self.time_zone),
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
        return await self.async_command(gid, "backup", wait)

    async def async_verify(self, gid: str, wait: float = 5.0) -> CommandResult:
        """Ask the bridge to verify the newest archive of one guest (`verify_started` when it begins)."""
        return await self.async_command(gid, "verify", wait)

    async def async_approve_fallback(self, gid: str, wait: float = 5.0) -> CommandResult:
        """Approve the fallback backup the bridge planned for one guest (its tier has `fallback: ask`).

        Answered by `command_rejected` (nothing pending …), `fallback_started` when its window is
        open, or the guest's state turning `fallback.approved` when the backup waits for the window.
        """
        return await self.async_command(gid, "approve_fallback", wait)

    async def async_command(self, gid: str, action: str, wait: float = 5.0) -> CommandResult:
        """Send one guest command (`{"action": …}` on the guest's command topic) and wait for the answer."""
        request_id = uuid.uuid4().hex[:16]
        name = str(self.guests.get(gid, {}).get("name") or gid)
        loop = self.hass.loop
        waiter = CommandWaiter(gid, request_id, dt_util.utcnow(), loop.create_future(), action)
        self._waiters.append(waiter)
        try:
            await mqtt.async_publish(
                self.hass,
                topic(self.base_topic, TOPIC_GUEST_COMMAND, gid),
                json.dumps({"action": action, "origin": "home_assistant", "request_id": request_id}),
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
