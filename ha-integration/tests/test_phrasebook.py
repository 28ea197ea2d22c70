"""phrasebook.py renders every phrase exactly as the bridge's render.ts does.

phrasebook_cases.json is generated from the TypeScript renderer (bridge/src/words/generated.ts:
every filter, optional part and plural form, in both languages and four time zones); this is the
agreement test between the two renderers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.backup2mqtt import phrasebook
from custom_components.backup2mqtt.phrasebook import (
    LANGUAGES,
    format_duration,
    format_time,
    join_list,
    pick_language,
    render,
    render_template,
    status_word,
)

CASES: list[dict[str, Any]] = json.loads((Path(__file__).parent / "phrasebook_cases.json").read_text(encoding="utf-8"))


def test_there_are_cases_for_every_language() -> None:
    assert set(LANGUAGES) == {"en", "de"}
    assert {c["language"] for c in CASES} == set(LANGUAGES)
    assert len(CASES) >= 100


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['language']}-{c['timeZone']}-{c['phrase']['key']}-{i}" for i, c in enumerate(CASES)]
)
def test_renders_as_the_typescript_renderer(case: dict[str, Any]) -> None:
    assert render(case["phrase"], case["language"], case["timeZone"]) == case["text"]


def test_status_words() -> None:
    for language in LANGUAGES:
        for status in ("ok", "stale", "failed", "missing", "running", "unknown"):
            assert status_word(status, language) == phrasebook.BOOKS[language]["statuses"][status]
    assert status_word("stale", "en") == "Stale"
    assert status_word("something-new", "de") == "something-new"
    assert status_word("stale", "fr") == "Stale"  # a language the phrasebook has not: English


def test_languages_from_home_assistant_tags() -> None:
    assert pick_language("de") == "de"
    assert pick_language("de-CH") == "de"
    assert pick_language("en-GB") == "en"
    assert pick_language("fr") == "en"
    assert pick_language(None) == "en"


def test_helpers_and_templates_of_our_own() -> None:
    assert join_list(["a", "b", "c"], "de") == "a, b und c"
    assert join_list(["a", "b"], "en", "or") == "a or b"
    t = "2026-11-30T15:19:40Z"
    for language in LANGUAGES:
        assert format_time(t, language, "Asia/Kolkata") == render_template(
            "{t|time}", {"t": t}, language, "Asia/Kolkata"
        )
        assert format_duration(90_061_000, language) == render_template(
            "{d|duration}", {"d": 90_061_000}, language, "UTC"
        )
    assert render_template("{n|plural:# Tag:# Tagen}[ ({x})]", {"n": 3}, "de", "UTC") == "3 Tagen"
    assert render_template("{size|size}", {"size": 1_700_000_000}, "en", "UTC") == "1.6 GiB"
    # an unknown key renders as the key itself
    assert render({"key": "no.such.key"}, "de", "UTC") == "no.such.key"


def test_phrasebook_is_read_at_import() -> None:
    """Read when Home Assistant imports the integration (in its import executor), never lazily in the loop."""
    assert phrasebook.BOOKS["de"]["statuses"]["ok"] == "OK"
