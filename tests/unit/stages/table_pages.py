"""News pages laid out with nested <table>s, as many sites were around 2008: a menu
of small tables, a tools row, headline and byline rows, the article in one cell,
related-story rows with dates, a promo column, reader comments, a copyright
footer. The words are drawn at random (seeded); the article is known exactly."""

from __future__ import annotations

import random
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "table_layout"
WORDS = [
    "council",
    "harbour",
    "ferry",
    "terminal",
    "plan",
    "budget",
    "minister",
    "river",
    "bridge",
    "school",
    "hospital",
    "police",
    "station",
    "weather",
    "storm",
    "train",
    "market",
    "price",
    "union",
    "strike",
    "court",
    "judge",
    "vote",
    "mayor",
    "county",
    "city",
    "election",
    "workers",
    "contract",
    "funding",
    "residents",
    "route",
    "tunnel",
]


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(9, 18))]
    return " ".join(words).capitalize() + "."


def paragraphs(rng: random.Random, count: int) -> list[str]:
    return [" ".join(sentence(rng) for _ in range(rng.randint(2, 4))) for _ in range(count)]


def menu(rng: random.Random, items: int) -> str:
    rows = "".join(
        f'<tr><td class="nav"><table><tr><td><img src="dot.gif"></td>'
        f'<td><a href="/s{i}">{rng.choice(WORDS).title()} news</a></td></tr></table></td></tr>'
        for i in range(items)
    )
    return f'<td width="150" valign="top"><table>{rows}</table></td>'


def related(rng: random.Random, items: int) -> str:
    return "".join(
        f'<tr><td><table><tr><td>&bull; <a href="/story/{i}">{sentence(rng)[:-1]}</a> '
        f"| 01/{i + 1:02d}/2008</td></tr></table></td></tr>"
        for i in range(items)
    )


def page(seed: int, *, with_p: bool, comments: bool) -> tuple[str, str]:
    """(html, article text) of one table-layout page."""
    rng = random.Random(seed)
    body = paragraphs(rng, rng.randint(3, 4))
    # paragraphs in <p>, or as text between <br> pairs, as many templates wrote them
    cell = "".join(f"<p>{p}</p>" for p in body) if with_p else "<br><br>".join(body)
    headline = sentence(rng)[:-1]
    reader_comments = (
        "<tr><td><b>Reader comments</b></td></tr>"
        + "".join(
            f"<tr><td><i>posted by reader{i} at 10:{i:02d} AM</i><br>{sentence(rng)}</td></tr>"
            for i in range(6)
        )
        if comments
        else ""
    )
    promo = (
        "<tr><td>Get local news on your phone! Text NEWS to 55555 and receive breaking "
        "news alerts free of charge every day of the week.</td></tr>"
        "<tr><td>Weather: 38F Rain. Five day forecast and radar maps for the valley and "
        "the whole county.</td></tr>"
    )
    html = (
        f"<html><head><title>{headline} - Valley Courier</title></head><body>"
        '<table width="100%"><tr><td><img src="logo.gif"></td>'
        '<td>Tuesday, March 4, 2008 | <a href="/sub">Subscribe</a></td></tr></table>'
        f'<table width="100%"><tr>{menu(rng, 20)}<td valign="top"><table>'
        '<tr><td><a href="/">Home</a> &raquo; <a href="/news">News</a></td></tr>'
        f"<tr><td><font size=4><b>{headline}</b></font></td></tr>"
        "<tr><td>By Staff Reporter | March 4, 2008</td></tr>"
        '<tr><td><a href="#">Text Size</a> | <a href="#">E-mail</a> | '
        '<a href="#">Print</a></td></tr>'
        f'<tr><td><font size=2><div id="storyBody">{cell}</div></font></td></tr>'
        f"<tr><td><b>Related stories</b></td></tr>{related(rng, 12)}"
        f"{reader_comments}</table></td>"
        f'<td width="160" valign="top"><table>{promo}</table></td></tr></table>'
        '<table width="100%"><tr><td>Copyright &copy; 2008 Valley Courier. All rights '
        "reserved. This material may not be published, broadcast, rewritten or "
        "redistributed. Privacy Policy | Terms of Use | Contact Us</td></tr></table>"
        "</body></html>"
    )
    return html, "\n\n".join(body)


def pages() -> list[tuple[str, str, str]]:
    """(name, html, article) of the shared fixture and the pages written here."""
    found = [
        (
            "fixture",
            (FIXTURES / "table_layout.html").read_text(encoding="utf-8"),
            (FIXTURES / "body.txt").read_text(encoding="utf-8"),
        )
    ]
    for seed, with_p, comments in (
        (1, True, False),
        (2, False, False),
        (3, True, True),
        (4, False, True),
    ):
        html, text = page(seed, with_p=with_p, comments=comments)
        found.append((f"page-{seed}", html, text))
    return found
