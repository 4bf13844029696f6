"""Record fields printed for a person cannot drive their terminal."""

from __future__ import annotations

import orjson

from workers.demo import render, render_trends
from workers.dlq import dead_letter, one_line
from workers.stories.trends import Trend
from workers.terminal import safe

CLEAR = "\x1b[2J\x1b[H"
TITLE = "\x1b]0;owned\x07"
CLIPBOARD = "\x1b]52;c;ZWNobyBvd25lZA==\x07"
C1_CSI = "\x9b2J"
BIDI = "\u202eevil"
ATTACKS = CLEAR + TITLE + CLIPBOARD + C1_CSI + BIDI


def no_controls(text: str) -> bool:
    return not any(
        (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F or c in "\u202e\u2028" for c in text
    )


def test_safe_escapes_every_control_and_keeps_the_rest() -> None:
    assert safe("Zoë — 東京 🎉") == "Zoë — 東京 🎉"
    assert safe("a\x1b[2Jb\tc\n") == "a\\x1b[2Jb\\x09c\\x0a"
    assert safe("\x9b") == "\\x9b" and safe("\u202e") == "\\u202e"
    assert no_controls(safe(ATTACKS))


def test_tail_pretty_and_demo_views_escape_record_fields() -> None:
    enriched = {
        "id": "id" + ATTACKS,
        "title": "Title" + ATTACKS,
        "source": "Src" + ATTACKS,
        "language": "en",
        "word_count": 3,
        "summary": "First paragraph.\n\nSecond" + ATTACKS,
        "duplicate_of": "x" + ATTACKS,
        "similarity": 0.9,
        "entity_list": [{"name": "Ada" + ATTACKS, "label": "PERSON", "salience": 0.5}],
        "keywords": ["k" + ATTACKS],
    }
    shown = render(orjson.dumps(enriched), dead=False)
    assert no_controls(shown) and "\\x1b]52;c;" in shown
    assert "First paragraph. Second" in shown  # paragraphs on one line
    letter = {
        "stage": "clean",
        "code": "invalid_json",
        "message": "bad" + ATTACKS,
        "source": {"topic": "t" + ATTACKS, "partition": 0, "offset": 1},
    }
    assert no_controls(render(orjson.dumps(letter), dead=True))
    trend = Trend("Ada" + ATTACKS, "PERSON", 3, 1.0, 2)
    assert no_controls(render_trends([trend]))


def test_dlq_list_lines_escape_ids_and_messages() -> None:
    record = dead_letter(
        topic="articles.raw",
        partition=0,
        offset=3,
        key=b"k",
        value=b"{}",
        stage="clean",
        code="invalid_field",
        message="bad id" + ATTACKS,
        article_id="a" + ATTACKS,
        max_original_bytes=100,
        now="t",
    )
    line = one_line(record)
    assert no_controls(line) and "\n" not in line and "\\x1b]0;owned\\x07" in line
