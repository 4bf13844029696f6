"""The story index: the tables the story steps keep, made in the store the settings
name (memory or disk), and the retention sweep that drops what is older than the
retention from them. The Kafka side."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import faust
import orjson
from aiokafka.partitioner import murmur2

from workers.settings import Settings
from workers.stories.state import Bucket, expired
from workers.stream.stories.tables import PartitionTable, record_partition


@dataclass(frozen=True)
class Index:
    """The story index's tables (docs/stories.md says what each holds)."""

    pending: PartitionTable
    buckets: PartitionTable
    signatures: PartitionTable
    answers: PartitionTable
    decisions: PartitionTable

    @classmethod
    def open(cls, app: faust.App, settings: Settings) -> Index:
        tables = {name: story_table(app, settings, name) for name in INDEX_TABLES}
        tables["decisions"].track = True
        return cls(**tables)


INDEX_TABLES = ("pending", "buckets", "signatures", "answers", "decisions")


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a key (murmur2, as every client)."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def story_table(app: faust.App, settings: Settings, name: str) -> PartitionTable:
    """The story table ``name``, in the store the settings name, changelog-backed."""
    kind = PartitionTable
    if settings.story_store == "rocksdb":
        from workers.stream.stories.store import DiskTable

        kind = DiskTable
    table = kind(
        app,
        name=f"story-{name}",
        partitions=settings.partitions,
        changelog_topic=app.topic(
            settings.story_changelog(name),
            partitions=settings.partitions,
            compacting=True,
            key_serializer="raw",
            value_serializer="raw",
        ),
        schema=faust.Schema(
            key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
        ),
        help=f"stories: {name}",
    )
    app.tables.add(table)
    return table


def trend_counts(app: faust.App, settings: Settings) -> PartitionTable:
    """The trend counts: entity to count, windowed by the caller, changelog-backed
    with the trends' retention."""
    counts = PartitionTable(
        app,
        name="story-trends",
        default=int,
        partitions=settings.partitions,
        changelog_topic=app.topic(
            settings.story_changelog("trends"),
            partitions=settings.partitions,
            compacting=True,
            deleting=True,
            key_serializer="json",
            value_serializer="json",
            retention=timedelta(seconds=settings.trend_retention_s),
        ),
        schema=faust.Schema(
            key_type=str,
            value_type=int,  # type: ignore[arg-type]
            key_serializer="json",
            value_serializer="json",
        ),
    )
    app.tables.add(counts)
    return counts


async def sweep(
    index: Index,
    owned: dict[str, tuple[set[int], int]],
    waiting: str,
    cutoff: datetime,
    chunk: int = 5000,
) -> dict[str, int]:
    """Drop the bands, signatures and decisions of articles cleaned before
    ``cutoff``, in the partitions this worker owns (``owned``: per source topic kind,
    those partitions and how many it has; ``waiting``: the kind records wait in for
    their story); how many of each."""
    dropped = {"bands": 0, "signatures": 0, "decisions": 0}
    signatures = index.signatures.frozen_items()  # those written later stay
    mine, count = owned["story_bands"]
    live: dict[int, set[str]] = {}
    for i, (key, raw) in enumerate(index.buckets.frozen_items()):
        if i % chunk == chunk - 1:
            await asyncio.sleep(0)  # let the steps run: each drop checks again
        partition = partition_of(key, count)
        if partition not in mine:
            continue
        bucket = Bucket(**orjson.loads(raw))
        if not expired(bucket.order, cutoff):
            live.setdefault(partition, set()).add(bucket.id)
        elif drop(index.buckets, key, partition, raw):
            dropped["bands"] += 1
    for i, (key, raw) in enumerate(signatures):
        if i % chunk == chunk - 1:
            await asyncio.sleep(0)
        where, _, article = key.decode().partition("\t")
        partition = int(where)
        if partition in mine and article not in live.get(partition, ()):
            dropped["signatures"] += drop(index.signatures, key, partition, raw)
    mine, count = owned[waiting]
    for i, (key, raw) in enumerate(index.decisions.frozen_items()):
        if i % chunk == chunk - 1:
            await asyncio.sleep(0)
        partition = partition_of(key, count)
        if partition not in mine or key in index.pending:
            continue  # not ours, or in flight
        if expired(str(orjson.loads(raw).get("order", "")), cutoff):
            dropped["decisions"] += drop(index.decisions, key, partition, raw)
    return dropped


def drop(table: PartitionTable, key: bytes, partition: int, was: bytes | None = None) -> bool:
    """Delete ``key`` unless it changed since it was read as ``was``."""
    if was is not None and table.data.get(key) != was:
        return False
    token = record_partition.set(partition)
    try:
        table.pop(key, None)
    finally:
        record_partition.reset(token)
    return True


async def ranked(counts: PartitionTable, window_s: float, top: int) -> list[dict[str, object]]:
    """The trending entities of the partitions this worker owns (all of them, with one
    worker), from its table of counts. The table is read on the event loop, which
    writes it; the ranking, which takes seconds over tens of thousands of entities,
    runs in a thread, so that probes and agents are not held."""
    from workers.stories.trends import trending

    snapshot = list(counts.data.items())

    def rank() -> list[dict[str, object]]:
        found = {(str(entity), float(window[0])): int(n) for (entity, window), n in snapshot}
        trends = trending(found, now=time.time(), window_s=window_s, top=top)
        return [t.as_json() for t in trends]

    return await asyncio.get_running_loop().run_in_executor(None, rank)
