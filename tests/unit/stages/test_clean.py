from __future__ import annotations

import pytest

from schemas import RawArticle
from workers.errors import StageFailed
from workers.inputs import sample_path
from workers.stages.clean import clean
from workers.stages.clean.html import split_authors
from workers.stages.tag import Tagger

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
    assert out.pipeline["clean"].finished_at == NOW


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


def _raw(**fields: object) -> RawArticle:
    return RawArticle.model_validate({"id": "x", **fields})


def test_a_pasted_page_gets_the_headline_at_its_top_as_title() -> None:
    text = (
        "Harbour plan approved after long talks\n"
        "Harbour plan approved after long talks\n"
        "Share:\n"
        "The council met on Monday and agreed a new plan for the harbour front after months "
        "of talks with residents.\nThe work will start in spring and last two years, the "
        "mayor said on Tuesday."
    )
    out = clean(_raw(text=text), now="now")
    assert out.title == "Harbour plan approved after long talks"
    assert "Harbour plan approved" not in out.text  # the title line is not the text's
    menu = "Home News Sport World\n" + text.split("\n", 2)[2]
    assert clean(_raw(text=menu), now="now").title is None  # a menu is not a title


def test_published_at_is_iso_utc_and_an_unreadable_one_is_kept_raw() -> None:
    text = "The council met on Monday and agreed a new plan for the harbour front today."
    out = clean(_raw(text=text, published_at="Sat, 14 Mar 2026 09:30:00 +0100"), now="now")
    assert (out.published_at, out.published_at_raw) == ("2026-03-14T08:30:00Z", None)
    odd = clean(_raw(text=text, published_at="last Tuesday"), now="now")
    assert (odd.published_at, odd.published_at_raw) == (None, "last Tuesday")


def test_short_text_falls_back_to_the_model_language() -> None:
    out = clean(
        _raw(text="Match tonight"), now="now", fallback_language="en", min_language_confidence=0.5
    )
    assert out.language == "en" and out.language_confidence < 0.5
    given = clean(
        _raw(text="Match tonight", language="de"),
        now="now",
        fallback_language="en",
        min_language_confidence=0.5,
    )
    assert given.language == "de"  # the producer's word wins
    sure = clean(
        _raw(
            text="Der Stadtrat hat am Montag einen neuen Plan für den Hafen "
            "beschlossen, nach monatelangen Gesprächen mit den Anwohnern."
        ),
        now="now",
        fallback_language="en",
        min_language_confidence=0.5,
    )
    assert sure.language == "de"


def test_metadata_is_bounded() -> None:
    """A producer's 5 MB title, source or url reached every reader of the enriched
    topic whole; the live page held one copy per slow reader."""
    from schemas.models import MAX_AUTHORS, MAX_SOURCE_CHARS, MAX_TITLE_CHARS

    raw = RawArticle(
        id="big",
        title="Headline words " * 100_000,
        source="S" * 1_000_000,
        url="https://example.test/" + "a" * 1_000_000,
        authors=[f"Author {i}" for i in range(1000)],
        text="The regional council voted on Tuesday to extend the coastal tram line.",
    )
    out = clean(raw, now=NOW)
    assert out.title is not None and len(out.title) <= MAX_TITLE_CHARS
    assert out.title.startswith("Headline words Headline") and out.title.endswith("e…")
    assert out.source is not None and len(out.source) == MAX_SOURCE_CHARS
    assert out.url is None  # a cut url points nowhere
    assert len(out.authors) == MAX_AUTHORS
    short = clean(RawArticle(id="s", title="Short", url="https://e.test/x", text=raw.text), now=NOW)
    assert (short.title, short.url) == ("Short", "https://e.test/x")


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_bidirectional_controls_are_removed_from_every_text_field() -> None:
    """An override reverses how a name displays, and an invisible character left in
    a name splits it from the same name without one (trend counts, stories)."""
    text = (
        "The harbour council met on Monday and agreed a plan for the ferry terminal.\n\n"
        "\u202eMaria Lindqvist\u202c said the work would start in the \u2067spring\u2069."
    )
    raw = RawArticle(
        id="bidi",
        text=text,
        title="\u202eFerry plan\u202c agreed",
        source="\u2066Harbour\u2069 News",
        authors=["\u202dJane Roe\u202c", "\u202e"],
    )
    out = clean(raw, now=NOW)
    for value in (out.text, out.title, out.source, *out.authors):
        assert value is not None
        assert not set(value) & set(BIDI), repr(value)
    assert "Maria Lindqvist said" in out.text
    assert out.title == "Ferry plan agreed"
    assert out.authors == ["Jane Roe"]


def test_a_name_behind_a_bidi_override_is_one_entity(tagger: Tagger) -> None:
    text = "\u202eXi Jinping\u202c met Vladimir Putin in Moscow on Tuesday to discuss trade."
    cleaned = clean(RawArticle(id="bidi-name", text=text, language="en"), now=NOW)
    tagged = tagger.tag_batch([cleaned], now=NOW)[0]
    names = {e.canonical for e in tagged.entities}
    assert "Xi Jinping" in names, names
