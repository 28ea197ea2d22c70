"""Phrases for people: the Python twin of the bridge's renderer (bridge/src/words/render.ts).

The bridge publishes what it says as data — a phrasebook key and its parameters (`status_phrase`,
`reason_phrases`, each finding's `key`/`params`) — next to its own rendering in the bridge's
language. This module renders the same phrases again in Home Assistant's language, with the same
phrasebook (phrasebook.json, generated from the TypeScript phrasebooks) and the same rules;
tests/test_phrasebook.py holds it to cases rendered by render.ts.

Template syntax: {name} inserts a parameter; {name|filter:arg:…} formats it:
  time            ISO 8601 or epoch ms → "Mon 30 Nov, 16:19" in the time zone given
  duration        ms → "8 days", "1 day and 2 hours"
  size            bytes → "1.6 GiB"
  plural:one:other[:zero]   picks a form by the number; # in it is the number
  list            array of strings → "a, b and c"
  phrases[:semicolon]       a phrase or an array of them, rendered (joined as a list, or by "; ")
  retention       { "keep-daily": 7, … } → "7 daily and 4 weekly backups"
[text] is left out when any parameter in it is missing (absent, None, "" or an empty list).

phrasebook.json is read once, when this module is imported. Home Assistant imports a custom
integration's package in its import executor (manifest `import_executor` defaults to true), so the
read never runs in the event loop; reading it lazily on the first render would.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
import json
import math
from pathlib import Path
import re
from typing import Any
from zoneinfo import ZoneInfo

PHRASEBOOK_FILE = Path(__file__).parent / "phrasebook.json"


def _load() -> dict[str, dict[str, Any]]:
    with PHRASEBOOK_FILE.open(encoding="utf-8") as f:
        return json.load(f)


BOOKS: dict[str, dict[str, Any]] = _load()
LANGUAGES: tuple[str, ...] = tuple(BOOKS)
DEFAULT_LANGUAGE = "en"

PLACEHOLDER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?:\|([^{}]*))?\}")
OPTIONAL = re.compile(r"\[([^[\]]*)\]")
DOUBLE_STOP = re.compile(r"(?<!\.)([.!?])\.(?=\s|$)")
TIME_FIELD = re.compile(r"\{(\w+)\}")
SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
KEEP_ORDER = ("keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly")

type TimeZone = tzinfo | str


def pick_language(tag: str | None) -> str:
    """The phrasebook language for a Home Assistant language tag ("de-CH" → "de"); English when unknown."""
    base = re.split(r"[-_]", (tag or "").lower())[0]
    return base if base in BOOKS else DEFAULT_LANGUAGE


def book(language: str) -> dict[str, Any]:
    """One language's phrasebook (English for a language it does not have)."""
    return BOOKS.get(language) or BOOKS[DEFAULT_LANGUAGE]


def render(phrase: dict[str, Any], language: str, time_zone: TimeZone) -> str:
    """One phrase ({key, params}) as text; an unknown key renders its English text, or the key itself."""
    key = phrase.get("key")
    b = book(language)
    template = b["phrases"].get(key)
    if template is None:
        template = BOOKS[DEFAULT_LANGUAGE]["phrases"].get(key)
    if template is None:
        template = _js_string(key)
    return render_template(template, phrase.get("params") or {}, language, time_zone)


def render_template(template: str, params: dict[str, Any], language: str, time_zone: TimeZone) -> str:
    """A template in the phrasebook's syntax, with this language's words (for texts of our own)."""
    b = book(language)

    def optional(m: re.Match[str]) -> str:
        inner = m.group(1)
        if any(_is_missing(params.get(p.group(1))) for p in PLACEHOLDER.finditer(inner)):
            return ""
        return inner

    with_optional = OPTIONAL.sub(optional, template)
    text = PLACEHOLDER.sub(lambda m: _format(params.get(m.group(1)), m.group(2), b, language, time_zone), with_optional)
    # An upstream error's own full stop followed by the template's: keep one (as the bridge does).
    return DOUBLE_STOP.sub(r"\1", text)


def status_word(status: str, language: str) -> str:
    """A guest status as a word in this language ("Failed", "Veraltet")."""
    return book(language)["statuses"].get(status, status)


def join_list(items: list[str], language: str, conjunction: str | None = None) -> str:
    """ "a, b and c" (or with another last joiner, e.g. "or")."""
    if len(items) <= 1:
        return "".join(items)
    last = book(language)["and"] if conjunction is None else conjunction
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def format_time(value: Any, language: str, time_zone: TimeZone) -> str:
    """An instant (ISO 8601 text or epoch ms) as the phrasebook writes times, in `time_zone`."""
    return _format_time(_to_ms(value), book(language), time_zone)


def format_duration(ms: float, language: str) -> str:
    """ "8 days", "1 day and 2 hours", "45 minutes"."""
    return _format_duration(ms, book(language))


# ---------------------------------------------------------------------------------------------- internals


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v == "") or (isinstance(v, list) and len(v) == 0)


def _format(v: Any, filt: str | None, b: dict[str, Any], language: str, time_zone: TimeZone) -> str:
    if v is None:
        return ""
    name, *args = (filt or "").split(":")
    match name:
        case "":
            return _js_json(v) if isinstance(v, dict | list) else _js_string(v)
        case "time":
            return _format_time(_to_ms(v), b, time_zone)
        case "duration":
            return _format_duration(_js_number(v), b)
        case "size":
            return _format_size(_js_number(v), b)
        case "plural":
            n = _js_number(v)
            if n == 0 and len(args) > 2:
                form = args[2]
            elif n == 1:
                form = args[0] if args else ""
            else:
                form = args[1] if len(args) > 1 else ""
            return form.replace("#", _js_string(n))
        case "list":
            return _join(b, [_js_string(x) for x in (v if isinstance(v, list) else [v])])
        case "phrases":
            items = [
                render(x, language, time_zone) if isinstance(x, dict) else _js_string(x)
                for x in (v if isinstance(v, list) else [v])
            ]
            return "; ".join(items) if args and args[0] == "semicolon" else _join(b, items)
        case "retention":
            return _format_retention(v if isinstance(v, dict) else {}, b)
        case _:
            return _js_string(v)


def _join(b: dict[str, Any], items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {b['and']} {items[-1]}"


def _zone(time_zone: TimeZone) -> tzinfo:
    return ZoneInfo(time_zone) if isinstance(time_zone, str) else time_zone


def _to_ms(v: Any) -> float:
    """Date.parse / a number, as epoch milliseconds (NaN when unreadable)."""
    if isinstance(v, bool):
        return math.nan
    if isinstance(v, int | float):
        return float(v)
    try:
        when = datetime.fromisoformat(str(v))
    except ValueError:
        return math.nan
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp() * 1000


def _format_time(ms: float, b: dict[str, Any], time_zone: TimeZone) -> str:
    if not math.isfinite(ms):
        return ""
    t = datetime.fromtimestamp(math.floor(ms / 1000), _zone(time_zone))
    fields = {
        "weekday": b["weekdays"][(t.weekday() + 1) % 7],
        "day": str(t.day),
        "month": b["months"][t.month - 1],
        "hour": f"{t.hour:02d}",
        "minute": f"{t.minute:02d}",
    }
    return TIME_FIELD.sub(lambda m: fields.get(m.group(1), ""), b["time"])


def _unit(n: int, forms: list[str]) -> str:
    return f"{n} {forms[0] if n == 1 else forms[1]}"


def _format_duration(ms: float, b: dict[str, Any]) -> str:
    u = b["units"]
    if not math.isfinite(ms):
        return f"NaN {u['second'][1]}"
    s = _js_round(abs(ms) / 1000)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d > 0:
        parts = [_unit(d, u["day"]), *([_unit(h, u["hour"])] if h else [])]
    elif h > 0:
        parts = [_unit(h, u["hour"]), *([_unit(m, u["minute"])] if m else [])]
    elif m > 0:
        parts = [_unit(m, u["minute"])]
    else:
        parts = [_unit(s, u["second"])]
    return f" {b['and']} ".join(parts)


def _format_size(size: float, b: dict[str, Any]) -> str:
    if math.isnan(size):
        return f"NaN {SIZE_UNITS[0]}"
    v = max(0.0, size)
    i = 0
    while v >= 1024 and i < len(SIZE_UNITS) - 1:
        v /= 1024
        i += 1
    # one decimal below 10 as Number#toFixed(1) rounds it (halves up, from the exact binary value)
    text = str(Decimal(v).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)) if i > 0 and v < 10 else str(_js_round(v))
    return f"{text.replace('.', b['decimalSeparator'], 1)} {SIZE_UNITS[i]}"


def _format_retention(r: dict[str, Any], b: dict[str, Any]) -> str:
    words = b["retention"]
    if r.get("keep-all"):
        return words["all"]
    present = [k for k in KEEP_ORDER if _js_number(r.get(k) or 0) > 0]
    if not present:
        return words["none"]
    parts = [words[k].replace("#", _js_string(r[k])) for k in present]
    total = sum(_js_number(r[k]) for k in present)
    return f"{_join(b, parts)} {words['backups'][0] if total == 1 else words['backups'][1]}"


def _js_round(x: float) -> int:
    """Math.round: halves go up."""
    return math.floor(x + 0.5)


def _js_number(v: Any) -> float:
    """Number(v) for the values a phrase's parameters hold."""
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        return float(v)
    if v is None:
        return 0.0
    if isinstance(v, str):
        text = v.strip()
        if not text:
            return 0.0
        try:
            return float(text)
        except ValueError:
            return math.nan
    if isinstance(v, list):
        return _js_number(v[0]) if len(v) == 1 else (0.0 if not v else math.nan)
    return math.nan


def _js_string(v: Any) -> str:
    """String(v) as JavaScript writes it (numbers without a trailing .0, true/false, null)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        if v.is_integer() and abs(v) < 1e21:
            return str(int(v))
        return repr(v)
    if isinstance(v, list):
        return ",".join("" if x is None else _js_string(x) for x in v)
    if isinstance(v, dict):
        return "[object Object]"
    return str(v)


def _js_json(v: Any) -> str:
    """JSON.stringify(v) (compact, numbers as JavaScript writes them)."""
    if isinstance(v, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{_js_json(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(_js_json(x) for x in v) + "]"
    if isinstance(v, float | int) and not isinstance(v, bool):
        return _js_string(float(v)) if math.isfinite(v) else "null"
    return json.dumps(v, ensure_ascii=False)
