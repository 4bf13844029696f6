"""What the live page is sent of each enriched record."""

from __future__ import annotations

import orjson

from workers.stories import watch


def test_view_keeps_what_the_page_shows_and_only_entities_inside_the_shown_text() -> None:
    text = "Maria Lindqvist opened it. " + "x" * watch.TEXT_CHARS + " Halden"
    record = {
        "id": "b",
        "title": "T",
        "text": text,
        "entities": [
            {
                "text": "Maria Lindqvist",
                "label": "PERSON",
                "start": 0,
                "end": 15,
                "canonical": "Maria Lindqvist",
            },
            {
                "text": "Halden",
                "label": "GPE",
                "start": len(text) - 6,
                "end": len(text),
                "canonical": "Halden",
            },
        ],
        "summary": "S.",
        "keywords": ["k"],
        "story_id": "a",
        "duplicate_of": "a",
        "similarity": 0.9,
    }
    shown = watch.view(orjson.dumps(record))
    assert shown is not None
    assert shown["cut"] and len(shown["text"]) == watch.TEXT_CHARS
    assert [e["name"] for e in shown["entities"]] == ["Maria Lindqvist"]
    assert (shown["story_id"], shown["duplicate_of"], shown["similarity"]) == ("a", "a", 0.9)
    # grouping off: each article is its own story
    alone = watch.view(orjson.dumps(record | {"story_id": None, "duplicate_of": None}))
    assert alone is not None and alone["story_id"] == "b"
    assert watch.view(b"not json") is None and watch.view(b'{"id": "x"}') is None


def test_the_feed_keeps_the_latest_and_tells_every_open_page() -> None:
    import asyncio

    feed = watch.Feed(recent=2)
    page: asyncio.Queue[bytes] = asyncio.Queue()
    feed.listeners.add(page)
    for i in range(3):
        feed.publish({"id": str(i)})
    assert [orjson.loads(d)["id"] for d in feed.recent] == ["1", "2"]
    assert page.qsize() == 3
