"""Trending entities: what the windowed counts table holds, and how it is ranked. Pure
(``workers.stream.kafka.clients.read_trend_counts`` reads the table's changelog).

The stream counts each canonical entity (``LABEL\\tname``) per tumbling window
of ``trend_bucket_s`` seconds in the Faust table ``story-trends``. A question
about any window length (the last hour, say) sums the buckets it covers, so
one small table answers hopping windows of every length: a table per window
length, hopping every five minutes, would hold twelve copies of each count
for an hour.

An entity trends when its count in the latest window most exceeds its
average count over the earlier windows of the same length that the table
still holds (an entity never seen before has an average of 0).

The countries each article is about are counted beside its entities, under the
label ``COUNTRY`` (``COUNTRY\tUkraine``): ``countries=True`` ranks them, and only
them; by default they are left out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import orjson

from workers.settings.checks import parse_duration

__all__ = ["COUNTRY", "Counts", "Trend", "fold", "parse_duration", "trending"]

#: The label the countries an article is about are counted under.
COUNTRY = "COUNTRY"

Counts = dict[tuple[str, float], int]  # (entity key, window start) -> count


@dataclass(frozen=True)
class Trend:
    name: str
    label: str
    count: int  # in the latest window
    baseline: float  # average count over the earlier windows
    windows: int  # earlier windows averaged

    @property
    def score(self) -> float:
        return self.count - self.baseline

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "label": self.label,
            "count": self.count,
            "baseline": round(self.baseline, 3),
            "score": round(self.score, 3),
        }


def decode(key: bytes | None, value: bytes | None) -> tuple[tuple[str, float], int | None] | None:
    """One changelog record of the windowed table: ((entity, window start), count),
    count None for a deletion; None for a record that is not one."""
    try:
        entity, window = orjson.loads(key or b"null")
        start = float(window[0])
        count = None if value is None else int(orjson.loads(value))
    except (orjson.JSONDecodeError, TypeError, ValueError, IndexError):
        return None
    return (str(entity), start), count


def fold(records: Iterable[tuple[bytes | None, bytes | None]]) -> Counts:
    """The table's current counts from its changelog records, latest value last."""
    counts: Counts = {}
    for key, value in records:
        item = decode(key, value)
        if item is None:
            continue
        where, count = item
        if count is None:
            counts.pop(where, None)
        else:
            counts[where] = count
    return counts


def trending(
    counts: Mapping[tuple[str, float], int],
    *,
    now: float,
    window_s: float,
    top: int = 20,
    countries: bool = False,
) -> list[Trend]:
    """The ``top`` entities (``countries``: the countries) whose count in the window
    ending ``now`` most exceeds their average over the earlier windows of that length
    the counts cover."""
    if not counts:
        return []
    oldest = min(start for _, start in counts)
    earlier = max(0, math.floor((now - window_s - oldest) / window_s))
    latest: dict[str, int] = defaultdict(int)
    before: dict[str, int] = defaultdict(int)
    for (entity, start), count in counts.items():
        if entity.startswith(COUNTRY + "\t") != countries:
            continue
        if now - window_s <= start < now:
            latest[entity] += count
        elif now - window_s * (earlier + 1) <= start < now - window_s:
            before[entity] += count
    trends = []
    for entity, count in latest.items():
        label, _, name = entity.partition("\t")
        baseline = before.get(entity, 0) / earlier if earlier else 0.0
        trends.append(Trend(name, label, count, baseline, earlier))
    trends.sort(key=lambda t: (-t.score, -t.count, t.name))
    return trends[:top]
