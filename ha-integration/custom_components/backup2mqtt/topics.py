"""Full MQTT topics of a bridge, built from the topic shapes in const.py (never from literal text)."""

from __future__ import annotations

import re

from .const import TOPIC_GUEST_EVENT, TOPIC_GUEST_STATE


def topic(base: str, shape: str, object_id: str | None = None) -> str:
    """A full topic: base topic + a TOPIC_* shape, its "+" level replaced by object_id when given."""
    return f"{base}/{shape if object_id is None else shape.replace('+', object_id)}"


def topic_re(shape: str) -> re.Pattern[str]:
    """Matches the full topics of a TOPIC_* shape under any base topic; the "+" level is group `id`."""
    return re.compile("^(?P<base>.+)/" + re.escape(shape).replace(r"\+", "(?P<id>[a-z0-9_]+)") + "$")


GUEST_STATE_RE = topic_re(TOPIC_GUEST_STATE)
GUEST_EVENT_RE = topic_re(TOPIC_GUEST_EVENT)
