"""What the live page is sent of each enriched record."""

from __future__ import annotations

import orjson
import pytest

from workers.stream.live import watch


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
    feed = watch.Feed(recent=2)
    page = watch.Reader()
    feed.readers.add(page)
    for i in range(3):
        feed.publish({"id": str(i)})
    assert [orjson.loads(d)["id"] for d in feed.recent] == ["1", "2"]
    assert [orjson.loads(d)["id"] for d in page.take()] == ["0", "1", "2"]


def test_records_that_are_not_enriched_articles_are_skipped_not_fatal() -> None:
    """``entities: [1]`` once killed the page, and again on every restart (it reads
    the latest records again); a non-list ``keywords`` threw in the page."""
    good = {"id": "a", "text": "Oslo.", "entities": [], "keywords": ["k"]}
    assert watch.view(orjson.dumps(good)) is not None
    for bad in (
        good | {"entities": [1]},
        good | {"entities": [{"start": "0", "end": 2, "label": "X"}]},
        good | {"keywords": "oslo"},
        good | {"keywords": {"a": 1}},
        good | {"title": ["x"]},
        good | {"id": 5},
        good | {"similarity": "high"},
        [good],
    ):
        assert watch.view(orjson.dumps(bad)) is None, bad


def test_metadata_shown_is_bounded() -> None:
    big = {
        "id": "a",
        "text": "t",
        "title": "T" * 10**6,
        "source": "S" * 10**6,
        "url": "u" * 10**6,
        "summary": "s" * 10**6,
        "keywords": ["k" * 10**5] * 10**3,
    }
    shown = watch.view(orjson.dumps(big))
    assert shown is not None
    assert len(orjson.dumps(shown)) < 20_000


def test_entity_offsets_count_utf16_units_as_the_page_does() -> None:
    """ "Bara|ck Obama met|": Python counts code points, JavaScript UTF-16 units."""
    text = "🎉🎉 Barack Obama met Angela Merkel."
    start = text.index("Barack")
    record = {
        "id": "e",
        "text": text,
        "entities": [
            {"start": start, "end": start + 12, "label": "PERSON", "canonical": "Barack Obama"}
        ],
    }
    shown = watch.view(orjson.dumps(record))
    assert shown is not None
    (entity,) = shown["entities"]
    units = text.encode("utf-16-le")
    assert units[entity["start"] * 2 : entity["end"] * 2].decode("utf-16-le") == "Barack Obama"


def test_a_reader_that_falls_behind_is_dropped_and_its_bytes_freed() -> None:
    feed = watch.Feed(recent=10)
    slow = watch.Reader(limit_bytes=10_000)
    fast = watch.Reader(limit_bytes=10_000)
    feed.readers |= {slow, fast}
    for i in range(100):
        feed.publish({"id": str(i), "text": "x" * 500})
        fast.take()
    assert slow.dropped and slow.size == 0 and not slow.items
    assert feed.readers == {fast} and feed.dropped == 1


def test_the_page_s_policy_allows_its_own_script_and_style_only() -> None:
    from importlib import resources

    page = resources.files("workers.stream.live").joinpath("watch.html").read_bytes()
    csp = watch._csp(page)
    assert csp.count("'sha256-") == 2 and "unsafe-inline" not in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp


async def test_readers_that_leave_mid_stream_log_nothing_and_are_forgotten(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import asyncio
    import logging

    from workers import web
    from workers.settings import Settings
    from workers.stream.embedded.broker import free_port

    feed = watch.Feed(recent=5)
    port = free_port()
    runner = await web.start(watch.make_app(Settings(), feed), "127.0.0.1", port)
    try:
        with caplog.at_level(logging.DEBUG):
            for _ in range(10):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n")
                await reader.readuntil(b"\r\n\r\n")
                for i in range(20):
                    feed.publish({"id": str(i), "text": "x" * 20_000})
                    await asyncio.sleep(0)
                writer.transport.abort()  # gone, with the stream being written
                await asyncio.sleep(0.05)
            for _ in range(100):
                if not feed.readers:
                    break
                feed.publish({"id": "nudge", "text": "x"})
                await asyncio.sleep(0.05)
        assert not feed.readers
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        await runner.cleanup()


async def test_trends_read_the_changelog_once_per_interval_whatever_is_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Keyed by the raw query string, 10 new keys once took 25 s and 166 MiB."""
    import aiohttp

    from workers import web
    from workers.settings import Settings
    from workers.stream.embedded.broker import free_port
    from workers.stream.kafka import clients

    reads: list[int] = []

    async def read(_: Settings) -> dict[tuple[str, float], int]:
        reads.append(1)
        return {("PERSON\tAda", 0.0): 3}

    monkeypatch.setattr(clients, "read_trend_counts", read)
    port = free_port()
    runner = await web.start(watch.make_app(Settings(), watch.Feed(5)), "127.0.0.1", port)
    try:
        async with aiohttp.ClientSession() as session:
            for i in range(60):
                url = f"http://127.0.0.1:{port}/trends?window={i + 1}m&top=5&junk={i}"
                async with session.get(url) as r:
                    assert r.status == 200
            async with session.get(f"http://127.0.0.1:{port}/trends?top=-1") as r:
                assert r.status == 400
    finally:
        await runner.cleanup()
    assert len(reads) <= 2  # one per 2 s
