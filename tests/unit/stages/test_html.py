from __future__ import annotations

import pytest

from workers.stages.clean.html import extract, pick_text

SENTENCES = [
    (
        "The regional council voted on Tuesday to extend the coastal tram line by four stations, "
        "the first extension in twenty years."
    ),
    (
        "Construction is expected to start next spring and to last about two years, according to "
        "the council's transport office."
    ),
    (
        "Opponents said the money would be better spent on buses serving the northern villages, "
        "where no tram will ever run."
    ),
    (
        "The council's leader said the vote showed that the region was serious about cutting "
        "traffic on the coast road."
    ),
]
TEASERS = [
    "Council approves new budget for road repairs across the region after long debate",
    "Bus drivers announce strike over pay and conditions in the northern depots",
]
PAGE = f"""<html><head><title>Tram line extended</title></head><body><article>
<h1>Tram line extended</h1>{"".join(f"<p>{s}</p>" for s in SENTENCES)}
<h3>More on this story</h3>
{"".join(f'<p><a href="/{i}">{t}</a></p>' for i, t in enumerate(TEASERS))}
</article></body></html>"""


def test_linked_headlines_inside_the_article_element_are_dropped() -> None:
    text = extract(PAGE).text
    for sentence in SENTENCES:
        assert sentence in text
    for teaser in TEASERS:
        assert teaser not in text


def test_precision_text_wins_unless_it_cut_the_article_short() -> None:
    full = "\n".join(SENTENCES + TEASERS)
    precise = "\n".join(SENTENCES)
    assert pick_text(precise, full) == precise
    assert pick_text(SENTENCES[0][:40], full) == full  # under a quarter: cut short
    assert pick_text(None, full) == full
    assert pick_text(precise, None) == precise
    assert pick_text(None, None) == ""


def test_the_default_pass_runs_only_when_the_precision_text_looks_cut_short() -> None:
    from lxml.html import HtmlElement, fromstring

    from workers.stages.clean.html import needs_default_pass

    def page(paragraphs: list[str]) -> HtmlElement:
        return fromstring(f"<html><body>{''.join(f'<p>{s}</p>' for s in paragraphs)}</body></html>")

    article = "\n".join(SENTENCES * 2)
    assert not needs_default_pass(article, page(SENTENCES * 7))  # over a quarter of it
    assert needs_default_pass(SENTENCES[0], page(SENTENCES))  # short
    assert needs_default_pass(article, page(SENTENCES * 9))  # under a quarter of them


def test_metadata_from_the_parsed_page_without_a_date_search_when_the_date_is_known() -> None:
    from lxml.html import fromstring

    from workers.stages.clean.html import metadata

    page = fromstring(
        "<html><head><title>Tram line extended | The Coastal Ledger</title>"
        '<meta name="author" content="Jane Roe">'
        '<meta property="og:site_name" content="The Coastal Ledger">'
        '<link rel="canonical" href="https://ledger.example/tram"></head>'
        "<body><h1>Tram line extended</h1><p>Published 3 March 2026</p>"
        f"{''.join(f'<p>{s}</p>' for s in SENTENCES)}</body></html>"
    )
    doc = metadata(page, None)
    assert (doc.title, doc.author, doc.sitename, doc.url) == (
        "Tram line extended",
        "Jane Roe",
        "The Coastal Ledger",
        "https://ledger.example/tram",
    )
    assert doc.date == "2026-03-03"
    assert metadata(page, None, page_date="2026-03-03T09:00:00Z").date is None  # not searched


def test_a_page_is_parsed_once() -> None:
    """Every pass and the metadata work on the one parsed tree: the page's markup
    is parsed from text once, whatever trafilatura's internals load."""
    import trafilatura.core
    import trafilatura.utils

    import workers.stages.clean.html as html_module

    parsed: list[int] = []
    original = trafilatura.utils.load_html

    def counting(page: object, *args: object) -> object:
        if isinstance(page, str | bytes):
            parsed.append(1)
        return original(page, *args)  # type: ignore[arg-type]  # counted, then passed on

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(html_module, "load_html", counting)
        mp.setattr(trafilatura.core, "load_html", counting)
        short = extract(PAGE)  # short text: both passes run
    assert SENTENCES[0] in short.text
    assert len(parsed) == 1
