from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from schemas.models import DeadLetter
from workers.dlq import (
    DeadLetterLimit,
    dead_letter,
    matches,
    one_line,
    original_bytes,
    original_key,
    parse_since,
)


def _dl(value: bytes | None, key: bytes | None = None, max_bytes: int = 1024) -> DeadLetter:
    return dead_letter(
        topic="articles.raw",
        partition=2,
        offset=17,
        key=key,
        value=value,
        stage="clean",
        code="invalid_json",
        message="bad",
        article_id=None,
        max_original_bytes=max_bytes,
        now="t",
    )


def test_text_value_kept_as_text() -> None:
    rec = _dl(b'{"broken', key=b"k1")
    assert rec.original.encoding == "utf-8"
    assert original_bytes(rec) == b'{"broken'
    assert (rec.source.topic, rec.source.partition, rec.source.offset) == ("articles.raw", 2, 17)
    assert rec.source.key == "k1"


def test_binary_value_kept_as_base64() -> None:
    data = bytes(range(256))
    rec = _dl(data, key=b"\xff")
    assert rec.original.encoding == "base64"
    assert original_bytes(rec) == data
    assert rec.source.key_encoding == "base64"
    assert rec.original.sha256 == hashlib.sha256(data).hexdigest()


def test_oversized_value_keeps_a_prefix_and_its_identity() -> None:
    data = "é".encode() * 1000
    rec = _dl(data, max_bytes=101)
    assert rec.original.truncated
    assert rec.original.size == len(data)
    assert rec.original.sha256 == hashlib.sha256(data).hexdigest()
    kept = original_bytes(rec)
    assert kept is not None
    assert data.startswith(kept) and len(kept) == 100  # not cut inside a character


def test_tombstone_stays_a_tombstone() -> None:
    rec = _dl(None)
    assert rec.original.size == 0 and rec.original.tombstone
    assert original_bytes(rec) is None  # replayed as null, not as an empty value
    empty = _dl(b"")
    assert not empty.original.tombstone and original_bytes(empty) == b""


def test_replay_markers_name_the_dead_letter_they_replayed() -> None:
    from workers.dlq import MARKER_HEADER, REPLAYED, replay_marker, replayed_position

    key, value = replay_marker(2, 41, to="articles.raw", now="2026-01-01T00:00:00Z")
    assert key == b"replayed:2:41"
    assert replayed_position([(MARKER_HEADER, REPLAYED)], value) == (2, 41)
    assert replayed_position([], value) is None  # only with the marker header
    assert replayed_position([(MARKER_HEADER, REPLAYED)], b"{junk") is None


def test_original_key_round_trips() -> None:
    assert original_key(_dl(b"x", key=b"\xff\x00")) == b"\xff\x00"
    assert original_key(_dl(b"x", key=b"id-1")) == b"id-1"
    assert original_key(_dl(b"x")) is None


def _limit(window: int = 10, ratio: float = 0.9, consecutive: int = 0) -> DeadLetterLimit:
    return DeadLetterLimit(window=window, max_ratio=ratio, max_consecutive=consecutive)


def test_limit_trips_on_consecutive_failures_and_names_the_codes() -> None:
    limit = _limit(window=0, consecutive=5)
    assert limit.observe(["invalid_json"] * 4) is None
    assert limit.observe([None]) is None  # a success resets the run
    assert limit.observe(["invalid_json"] * 4) is None
    reason = limit.observe(["stage_failed"])
    assert reason is not None and "5 records in a row" in reason
    assert "invalid_json x4" in reason


def test_limit_trips_on_failure_ratio_only_once_the_window_is_full() -> None:
    limit = _limit(window=10, ratio=0.9)
    assert limit.observe(["empty_text"] * 9) is None  # window not yet full
    reason = limit.observe([None])
    assert reason is not None and "9 of the last 10" in reason


def test_limit_tolerates_a_mostly_good_stream() -> None:
    limit = _limit(window=10, ratio=0.9, consecutive=5)
    for _ in range(50):
        assert limit.observe(["invalid_json", "invalid_json", None, "too_large", None]) is None


def test_limit_off() -> None:
    limit = _limit(window=0, consecutive=0)
    assert limit.observe(["invalid_json"] * 10_000) is None


NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", NOW - timedelta(minutes=30)),
        ("2h", NOW - timedelta(hours=2)),
        ("1.5d", NOW - timedelta(hours=36)),
        ("2026-04-30T08:00:00Z", datetime(2026, 4, 30, 8, tzinfo=UTC)),
        ("2026-04-30T08:00:00", datetime(2026, 4, 30, 8, tzinfo=UTC)),  # naive: UTC
        ("2026-04-30T10:00:00+02:00", datetime(2026, 4, 30, 8, tzinfo=UTC)),
    ],
)
def test_parse_since(text: str, expected: datetime) -> None:
    assert parse_since(text, now=NOW) == expected


def test_parse_since_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_since("yesterday", now=NOW)


def test_filters() -> None:
    rec = _dl(b"x").model_copy(update={"failed_at": "2026-05-01T11:00:00.000Z"})
    assert matches(rec)
    assert matches(rec, code="invalid_json", stage="clean", since=NOW - timedelta(hours=2))
    assert not matches(rec, code="too_large")
    assert not matches(rec, stage="tag")
    assert not matches(rec, since=NOW - timedelta(minutes=30))


def test_one_line_is_readable() -> None:
    line = one_line(_dl(b'{"broken'))
    assert "\n" not in line
    for part in ("clean", "invalid_json", "articles.raw:2:17", "bad", "8 bytes"):
        assert part in line


def test_control_character_text_is_kept_as_compact_base64() -> None:
    data = b"\x01" * 3000  # valid UTF-8, but six times longer as JSON text
    rec = _dl(data, max_bytes=10_000)
    assert rec.original.encoding == "base64"
    assert original_bytes(rec) == data
    assert len(rec.model_dump_json()) < len(data) * 4 // 3 + 1000


async def test_letters_are_streamed_and_marked_when_replayed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from collections.abc import AsyncIterator

    from workers import dlq
    from workers.codec import Message
    from workers.settings import Settings

    def letter(failed_at: str) -> bytes:
        rec = _dl(b"x").model_copy(update={"failed_at": failed_at})
        return rec.model_dump_json().encode()

    marker_key, marker = dlq.replay_marker(1, 0, to="articles.raw", now="2026-01-03T00:00:00Z")
    stored = [
        Message("dlq", 0, 0, None, letter("2026-01-02T00:00:00Z")),
        Message("dlq", 1, 0, None, letter("2026-01-01T00:00:00Z")),
        Message("dlq", 1, 1, marker_key, marker, ((dlq.MARKER_HEADER, dlq.REPLAYED),)),
        Message("dlq", 2, 0, None, b"not a dead letter"),
    ]

    async def read_to_end(settings: Settings, topic: str) -> AsyncIterator[Message]:
        for m in stored:
            yield m

    monkeypatch.setattr("workers.stream.kafka.clients.read_to_end", read_to_end)
    skipped: list[Message] = []
    from workers.stream.kafka.letters import read_letters

    letters = [x async for x in read_letters(Settings(), dlq.Filters(), skipped.append)]
    assert [(x.partition, x.record.failed_at, x.replayed) for x in letters] == [
        (0, "2026-01-02T00:00:00Z", False),
        (1, "2026-01-01T00:00:00Z", True),  # its marker comes after it: a first pass finds it
    ]
    assert [m.partition for m in skipped] == [2]


async def test_reading_the_dlq_holds_one_letter_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """``dlq list`` held every matching letter: 250,000 took 790 MB, and
    ``--limit 1`` over 44 letters of 12 MB took 710 MB."""
    import tracemalloc
    from collections.abc import AsyncIterator

    from workers import dlq
    from workers.codec import Message
    from workers.settings import Settings

    async def read_to_end(settings: Settings, topic: str) -> AsyncIterator[Message]:
        for i in range(100):  # made as read: the topic itself holds nothing in memory here
            rec = _dl(b"x" * 1_000_000, max_bytes=2_000_000)
            yield Message("dlq", 0, i, None, rec.model_dump_json().encode())

    monkeypatch.setattr("workers.stream.kafka.clients.read_to_end", read_to_end)
    from workers.stream.kafka.letters import read_letters

    tracemalloc.start()
    try:
        seen = 0
        async for _ in read_letters(Settings(), dlq.Filters()):
            seen += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == 100
    assert peak < 30_000_000, f"peak {peak / 1e6:.0f} MB for 100 letters of 1 MB"


async def test_a_paced_replay_waits_so_the_average_stays_under_the_rate() -> None:
    from workers.stream.kafka.letters import Pace

    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pace = Pace(200.0, clock=lambda: now[0], sleep=sleep)
    await pace.keep(0)  # the first chunk goes at once
    now[0] += 0.1  # sending 200 took a tenth of a second
    await pace.keep(200)
    now[0] += 2.0  # a slow broker: already behind the rate, no wait
    await pace.keep(400)
    assert slept == [pytest.approx(0.9)]
    assert Pace(None, clock=lambda: now[0]).due(10**9) == 0.0
