"""Hostile pages: each gives clean text or a clear error, in bounded time and memory.

``pytest-timeout`` bounds each test; nothing here asserts a speed.
"""

from __future__ import annotations

import resource
from pathlib import Path

import orjson
import pytest

from schemas import RawArticle
from workers.errors import PermanentError, StageFailed
from workers.inputs import read_records
from workers.stages.clean import clean, html
from workers.stages.clean.html import plain_text

STORY = (
    "<p>The harbour authority approved the new ferry terminal on Monday after a "
    "year of consultation with residents and fishermen.</p>"
    "<p>Construction starts in spring and should take eighteen months, the "
    "authority said in a statement on its website.</p>"
)


def _clean(html: str) -> str:
    return clean(RawArticle(id="h", html=html), now="t").text


def _clean_or_error(html: str) -> str | PermanentError:
    try:
        return _clean(html)
    except PermanentError as exc:
        return exc


def test_malformed_html_still_gives_the_text() -> None:
    page = (
        "<html><body><div><p>The harbour authority approved the new ferry terminal "
        "on Monday after a year of consultation<b> with residents <i>and fishermen."
        "</div></p><p>Construction starts in spring and should take eighteen months, "
        "the authority said.<table><tr><td></body>"
    )
    text = _clean(page)
    assert "approved the new ferry terminal" in text
    assert "Construction starts in spring" in text


@pytest.mark.timeout(120)
def test_markup_nested_100_000_levels_deep() -> None:
    # deeper than libxml2 goes: the streaming fallback still finds the story
    page = "<div>" * 100_000 + STORY + "</div>" * 100_000
    text = _clean(page)
    assert text.startswith("The harbour authority approved the new ferry terminal")
    assert "eighteen months" in text


def test_a_page_that_is_all_script_is_empty_text() -> None:
    page = "<html><head><script>" + "var x = 'news';" * 50_000 + "</script></head></html>"
    with pytest.raises(StageFailed) as err:
        _clean(page)
    assert err.value.code == "empty_text"


@pytest.mark.timeout(60)
def test_entity_bomb_does_not_expand() -> None:
    levels = "".join(f'<!ENTITY e{i} "{("&e" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    page = (
        f'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY e0 "boom">{levels}]>'
        f"<html><body>{STORY}<p>&e9;&e9;&e9;</p>" + "&amp;&lt;&#x41;" * 100_000 + "</body></html>"
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = _clean_or_error(page)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 500, f"memory grew by {grown_mib:.0f} MiB"
    if isinstance(out, str):
        assert "boom" * 100 not in out


@pytest.mark.timeout(180)
def test_a_9_mib_page() -> None:
    paragraph = (
        "<p>Paragraph {i}: the council met again to discuss the harbour, the ferry "
        "terminal and the new bus routes that residents asked for last year.</p>"
    )
    body = "".join(paragraph.format(i=i) for i in range(70_000))
    page = f"<html><body><nav><a href='/'>Home</a></nav><article>{body}</article></body></html>"
    assert len(page.encode()) > 9 * 1024 * 1024
    text = _clean(page)  # past the extractor's size limit: the streaming pass
    assert text.startswith("Paragraph 0:") and "Paragraph 69999:" in text
    assert "Home" not in text


@pytest.mark.timeout(60)
def test_a_paragraph_of_100_000_spans_takes_the_streaming_pass() -> None:
    # under the extractor's size limit, but trafilatura reads each inline child of a
    # paragraph against the rest: 14,000 spans took 6 s, these would take minutes
    spans = "<span>word</span> " * 100_000
    page = f"<html><body><article>{STORY}<p>{spans}</p></article></body></html>"
    assert len(page) < html.MAX_EXTRACT_CHARS
    text = _clean(page)
    assert text.startswith("The harbour authority approved the new ferry terminal")
    assert "eighteen months" in text


@pytest.mark.timeout(60)
def test_a_tag_of_200_000_attributes_takes_the_streaming_pass() -> None:
    # lxml's parser and the metadata reader take time growing with the square of a
    # tag's attributes: 30,000 took 3 s, these would take minutes
    attributes = " ".join(f"a{i:x}=x" for i in range(200_000))
    page = f"<html><body><div {attributes}>{STORY}</div></body></html>"
    assert len(page) < html.MAX_EXTRACT_CHARS
    text = _clean(page)
    assert text.startswith("The harbour authority approved the new ferry terminal")
    assert "eighteen months" in text


@pytest.mark.parametrize(
    ("charset", "codec", "words"),
    [
        ("windows-1251", "cp1251", "Порт Халдена открыл новый паромный терминал"),
        ("GB2312", "gb2312", "哈尔登港开设了新的渡轮码头"),
        ("ISO-8859-1", "latin-1", "Le port de Halden a ouvert un terminal à ferries"),
    ],
)
def test_charset_declared_in_a_meta_tag(
    tmp_path: Path, charset: str, codec: str, words: str
) -> None:
    page = (
        f'<html><head><meta http-equiv="Content-Type" content="text/html; '
        f'charset={charset}"></head><body><article><p>{words}.</p><p>{words}, '
        f"2026.</p></article></body></html>"
    )
    path = tmp_path / "page.html"
    path.write_bytes(page.encode(codec))
    [(_, _, value)] = read_records(path)
    raw = RawArticle.model_validate(orjson.loads(value) | {"id": "c"})
    assert words in clean(raw, now="t").text


def test_plain_text_skips_scripts_and_breaks_lines_at_blocks() -> None:
    page = (
        "<html><head><title>T</title><style>p{}</style></head><body><p>One &amp; two"
        "</p><script>var a='<p>no</p>';</script><div>Three<br>Four</div></body></html>"
    )
    assert plain_text(page) == "One & two\nThree\nFour"
