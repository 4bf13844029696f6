"""The story steps' tables: written to the partition of the record being handled,
and, under exactly_once, holding their changelog writes for the step's transaction
(``Held``) with what takes them back in memory where it does not commit."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import faust

from workers.stream.seam.transactions import Write


def compact(value: Any) -> Any:
    """Bytes as a copy of exactly their size; anything else as it is. orjson's output
    keeps the buffer it was written in (2-4 KiB, however short the JSON), and an
    in-memory table holds a value as long as its key lives: the buckets of 10,000
    articles took 1 GB of memory instead of 30 MB."""
    return bytes(memoryview(value)) if type(value) is bytes else value


#: The partition of the record being handled: where its tables' writes go.
record_partition: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "partition", default=None
)
#: The time of the trend count being added (its record's timestamp), for its window.
record_stamp: contextvars.ContextVar[float | None] = contextvars.ContextVar("stamp", default=None)
_MISSING = object()


@dataclass
class Held:
    """exactly_once: a story step's table writes, held for the transactions of the
    batch instead of sent through Faust. Per partition: the changelog writes, and
    how to take them back in memory if the transaction does not commit (the
    in-memory store would otherwise keep state its changelog never received)."""

    writes: dict[int, list[Write]] = field(default_factory=dict)
    undo: dict[int, list[tuple[Any, Any, Any, Any]]] = field(default_factory=dict)

    def hold(self, table: PartitionTable, partition: int, key: Any, value: Any, raw: Write) -> None:
        self.writes.setdefault(partition, []).append(raw)
        prior = table.data.get(key, _MISSING)
        self.undo.setdefault(partition, []).append((table, key, prior, value))

    def rollback(self, partition: int) -> None:
        """Put the partition's keys back as they were before the step, newest write
        first; a key changed since by another step is left as it is."""
        token = record_partition.set(partition)  # where a store on disk puts it back
        try:
            for table, key, prior, value in reversed(self.undo.pop(partition, [])):
                now = table.data.get(key, _MISSING)
                changed = now is not _MISSING if value is None else now != value
                if changed:
                    continue
                if prior is _MISSING:
                    table.data.pop(key, None)
                else:
                    table.data[key] = prior
        finally:
            record_partition.reset(token)
        self.writes.pop(partition, None)


held_writes: contextvars.ContextVar[Held | None] = contextvars.ContextVar("held", default=None)


@dataclass(frozen=True, slots=True)
class _Where:
    partition: int


@dataclass(frozen=True, slots=True)
class _HeldSend:
    """What Faust's table reads of a changelog write held for a transaction: where it goes."""

    message: _Where


class PartitionTable(faust.Table):  # type: ignore[type-arg]
    """A table whose changelog partition is that of the record being handled,
    set per record with ``record_partition``: Faust would take it from the current
    event, which a batch taken with ``take_events`` does not set. It keeps its
    changelog writes' futures, so a step can wait for them (``stored``)."""

    # under "faust", so that its start-up lines follow Faust's log level
    logger = logging.getLogger(f"{faust.Table.__module__}.partitioned")
    unsent: list[Any]
    track = False  # keep the futures (only where a step waits for them)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.unsent = []

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, compact(value))

    def partition_for_key(self, key: Any) -> int | None:
        partition = record_partition.get()
        if partition is None:
            raise RuntimeError(f"table {self.name} written outside a record")
        return partition

    def send_changelog(
        self,
        partition: int | None,
        key: Any,
        value: Any,
        key_serializer: Any = None,
        value_serializer: Any = None,
    ) -> Any:
        held = held_writes.get()
        if held is not None and partition is not None:  # exactly_once: in the step's transaction
            topic = self.changelog_topic
            raw_key, _ = topic.prepare_key(key, key_serializer or self.key_serializer)
            raw_value = (
                None
                if value is None
                else topic.prepare_value(value, value_serializer or self.value_serializer)[0]
            )
            write = Write(topic.get_topic_name(), raw_key, raw_value, partition)
            held.hold(self, partition, key, value, write)
            return _HeldSend(_Where(partition))
        fut = super().send_changelog(partition, key, value, key_serializer, value_serializer)
        if self.track:
            self.unsent.append(fut)
        return fut

    def frozen_items(self) -> Iterator[tuple[Any, Any]]:
        """The items as they are now, to read while the table changes (a sweep that
        lets the steps run between chunks): a copy, in memory."""
        return iter(list(self.data.items()))

    async def stored(self) -> None:
        """Until every write so far is on the broker. The futures stay listed until
        then, so that each step sharing the table waits for its own writes; a
        failed write stays listed and fails every later wait."""
        futures = list(self.unsent)
        results = await asyncio.gather(*futures, return_exceptions=True)
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            raise RuntimeError(f"a write to the changelog of {self.name} failed: {failed!r}")
        sent = {id(f) for f in futures}
        self.unsent = [f for f in self.unsent if id(f) not in sent]


def stamp_of(_event: Any) -> float:
    """The time of the count being added (``record_stamp``), for its window."""
    stamp = record_stamp.get()
    if stamp is None:
        raise RuntimeError("a trend counted outside a record")
    return stamp
