"""Commands to the bridge: the wait for its answer, and the answer in the form the services return."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class CommandResult:
    """What the bridge answered to one command."""

    guest: str
    name: str
    request_id: str
    outcome: str  # started | rejected | sent
    reason: str | None = None
    upid: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Response data form."""
        out: dict[str, Any] = {
            "guest": self.guest,
            "name": self.name,
            "request_id": self.request_id,
            "outcome": self.outcome,
        }
        if self.reason:
            out["reason"] = self.reason
        if self.upid:
            out["upid"] = self.upid
        return out


# The event that tells a guest command was taken up, per action (bridge/schemas/event.schema.json).
STARTED_EVENT = {
    "backup": "backup_started",
    "verify": "verify_started",
    "restore_test": "restore_test_started",
    # An approved fallback inside its window starts at once; otherwise the guest's state says approved (hub.py).
    "approve_fallback": "fallback_started",
}


@dataclass
class CommandWaiter:
    """One command sent to the bridge, waiting for the bridge's first answer on the guest's event topic."""

    guest: str
    request_id: str
    sent_at: datetime
    future: asyncio.Future[dict[str, Any]] = field(repr=False)
    action: str = "backup"

    def answered_by(self, guest: str, event: dict[str, Any]) -> bool:
        """Is this event of `guest` the answer? A refusal carries our request_id; a start may carry none."""
        if guest != self.guest or self.future.done():
            return False
        etype = event.get("event_type")
        request_id = event.get("request_id")
        rejected = etype == "command_rejected" and request_id == self.request_id
        started_types = ("command_accepted", STARTED_EVENT.get(self.action, f"{self.action}_started"))
        started = etype in started_types and request_id in (None, self.request_id)
        return rejected or started
