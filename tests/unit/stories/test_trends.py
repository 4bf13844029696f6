"""Trending entities from the windowed counts: decoding the changelog and ranking."""

from __future__ import annotations

import orjson
import pytest

from workers.stories.trends import fold, parse_duration, trending

H = 3600.0


def record(entity: str, start: float, count: int | None) -> tuple[bytes, bytes | None]:
    key = orjson.dumps([entity, [start, start + 299.9]])
    return key, None if count is None else orjson.dumps(count)


def test_fold_keeps_the_latest_count_and_drops_deleted_windows() -> None:
    counts = fold(
        [
            record("PERSON\tXi Jinping", 0, 1),
            record("PERSON\tXi Jinping", 0, 2),
            record("GPE\tKyiv", 300, 5),
            record("GPE\tKyiv", 300, None),  # expired
            (b"not json", b"1"),
        ]
    )
    assert counts == {("PERSON\tXi Jinping", 0.0): 2}


def test_the_entity_most_above_its_earlier_average_trends_first() -> None:
    now = 10 * H
    counts = {
        # steady: 10 an hour for the last four hours
        **{("ORG\tEIB", now - (k + 1) * H): 10 for k in range(4)},
        # new: 6 in the last hour only
        ("GPE\tHalden", now - H + 600): 6,
        # rising: 2 an hour, then 9
        **{("PERSON\tMaria Lindqvist", now - (k + 2) * H): 2 for k in range(3)},
        ("PERSON\tMaria Lindqvist", now - 300): 9,
    }
    found = trending(counts, now=now, window_s=H, top=3)
    assert [(t.name, t.count) for t in found] == [
        ("Maria Lindqvist", 9),
        ("Halden", 6),
        ("EIB", 10),
    ]
    assert found[0].label == "PERSON" and found[0].baseline == pytest.approx(2.0)
    assert found[2].score == pytest.approx(0.0)
    assert trending({}, now=now, window_s=H) == []
    assert len(trending(counts, now=now, window_s=H, top=1)) == 1


def test_durations() -> None:
    assert parse_duration("90") == 90
    assert parse_duration("15m") == 900
    assert parse_duration("1h") == 3600
    assert parse_duration("2d") == 172800
    for bad in ("", "0h", "1w", "-1h"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)


def test_countries_are_ranked_apart_from_the_entities() -> None:
    from workers.stories.trends import COUNTRY

    now = 10 * H
    counts = {
        ("PERSON\tAda", now - 60): 3,
        (f"{COUNTRY}\tNorway", now - 60): 2,
        (f"{COUNTRY}\tSweden", now - 60): 5,
    }
    assert [t.name for t in trending(counts, now=now, window_s=H)] == ["Ada"]
    ranked = trending(counts, now=now, window_s=H, countries=True)
    assert [(t.label, t.name) for t in ranked] == [(COUNTRY, "Sweden"), (COUNTRY, "Norway")]
