from __future__ import annotations

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
