from __future__ import annotations

import pytest

from schemas import RawArticle
from workers.errors import StageFailed
from workers.inputs import sample_path
from workers.stages.clean import clean
from workers.stages.clean.html import split_authors

NOW = "2026-01-01T00:00:00.000Z"

HTML = """<html><head><title>Tram line extended | Example Times</title>
<meta property="og:site_name" content="Example Times">
<meta name="author" content="Jane Roe and John Doe">
<meta property="article:published_time" content="2026-03-14T09:30:00Z">
<link rel="canonical" href="https://example.test/news/tram"></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<article><h1>Tram line extended</h1>
<p>The regional council voted on Tuesday to extend the coastal tram line by four stations.</p>
<p>Construction is expected to start next spring and to last about two years in total.</p>
<p>Opponents said the money would be better spent on buses serving the northern villages.</p>
</article><footer>© 2026 Example Times. All rights reserved.</footer></body></html>"""


def test_html_to_text_and_metadata() -> None:
    out = clean(RawArticle(id="a", html=HTML), now=NOW)
    assert out.text.startswith("The regional council voted on Tuesday")
    assert "northern villages." in out.text
    assert "Home" not in out.text and "rights reserved" not in out.text
    assert out.title == "Tram line extended"
    assert out.source == "Example Times"
    assert out.authors == ["Jane Roe", "John Doe"]
    assert out.published_at == "2026-03-14T09:30:00Z"  # the time of day is kept
    assert out.url == "https://example.test/news/tram"
    assert out.language == "en" and out.language_confidence > 0.9
    assert out.pipeline.clean.finished_at == NOW


def test_given_metadata_wins() -> None:
    out = clean(
        RawArticle(id="a", html=HTML, title="Given", language="EN", authors=["A. Writer"]), now=NOW
    )
    assert out.title == "Given"
    assert out.authors == ["A. Writer"]
    assert (out.language, out.language_confidence) == ("en", 1.0)


def test_non_english_language_is_detected() -> None:
    text = (
        "Der Stadtrat hat am Dienstag beschlossen, die Straßenbahnlinie an der Küste um vier "
        "Haltestellen zu verlängern. Die Bauarbeiten sollen im nächsten Frühjahr beginnen."
    )
    assert clean(RawArticle(id="a", text=text), now=NOW).language == "de"


@pytest.mark.parametrize(
    "raw",
    [
        RawArticle(id="a", text="   \n  "),
        RawArticle(id="a", html="<html><body><script>var x = 1;</script></body></html>"),
        RawArticle(id="a", text="Share:\nFollow us on Twitter"),
    ],
)
def test_empty_after_cleaning(raw: RawArticle) -> None:
    with pytest.raises(StageFailed) as info:
        clean(raw, now=NOW)
    assert info.value.code == "empty_text"


def test_shipped_html_sample_loses_its_page_furniture() -> None:
    import orjson

    rows = [orjson.loads(line) for line in sample_path().read_bytes().splitlines()]
    page = next(r for r in rows if "html" in r)
    out = clean(RawArticle.model_validate(page), now=NOW)
    for noise in (
        "Sign in",
        "Related stories",
        "Fishing quotas",
        "All rights reserved",
        "uses cookies",
        "Share:",
    ):
        assert noise not in out.text
    assert "Lindqvist said the port expects the last diesel vessel" in out.text


@pytest.mark.parametrize(
    ("byline", "authors"),
    [
        ("By Jane Roe", ["Jane Roe"]),
        ("Jane Roe; John Doe", ["Jane Roe", "John Doe"]),
        ("Jane Roe & John Doe | Jane Roe", ["Jane Roe", "John Doe"]),
        (None, []),
    ],
)
def test_bylines_split_into_authors(byline: str | None, authors: list[str]) -> None:
    assert split_authors(byline) == authors
