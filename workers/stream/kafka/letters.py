"""The dead-letter topic read and replayed: the Kafka side of ``workers.dlq``.

Reading streams the topic (``read_letters``): only the replayed positions and the
letter in hand are held, however long it is. Replaying publishes each letter's
original to the topic it came from and marks it replayed in the DLQ, in chunks.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import orjson

from schemas.models import DeadLetter, upgrade
from workers.codec import Message, utc_now
from workers.dlq import (
    MARKER_HEADER,
    REPLAYED,
    Filters,
    Letter,
    matches,
    original_bytes,
    original_key,
    replay_marker,
    replayed_position,
)
from workers.settings import Settings
from workers.stream.kafka import clients


async def replayed_positions(settings: Settings) -> set[tuple[int, int]]:
    """The (partition, offset) of every dead letter a replay has marked: a first pass
    over the DLQ that keeps only these, never the letters."""
    marked: set[tuple[int, int]] = set()
    async for rec in clients.read_to_end(settings, settings.topic_dlq):
        position = replayed_position(rec.headers, rec.value)
        if position is not None:
            marked.add(position)
    return marked


async def read_letters(
    settings: Settings, filters: Filters, skipped: Callable[[Message], None] | None = None
) -> AsyncIterator[Letter]:
    """The DLQ's dead letters that pass ``filters``, streamed in the order read (each
    partition oldest first), each marked when a replay already published it. Only
    the replayed positions and the letter in hand are held, however long the topic.
    A value that is neither a dead letter nor a replay marker (someone else wrote to
    the topic) goes to ``skipped``."""
    from pydantic import ValidationError

    replayed = await replayed_positions(settings)
    async for rec in clients.read_to_end(settings, settings.topic_dlq):
        if replayed_position(rec.headers, rec.value) is not None:
            continue
        try:
            record = DeadLetter.model_validate(upgrade(orjson.loads(rec.value or b"")))
        except (ValidationError, orjson.JSONDecodeError):
            if skipped is not None:
                skipped(rec)
            continue
        if matches(record, code=filters.code, stage=filters.stage, since=filters.since):
            yield Letter(rec.partition, rec.offset, record, (rec.partition, rec.offset) in replayed)


@dataclass
class Replay:
    """What a replay did (or, dry, would do); so far, while it runs."""

    sent: Counter[str] = field(default_factory=Counter)  # per source topic, originals sent
    marked: int = 0  # of those, marked replayed in the DLQ
    matching: int = 0  # letters that matched and were not replayed before
    before: int = 0  # letters that matched but were replayed before
    truncated: int = 0  # letters whose original was kept only in part


#: Originals sent before their markers are written: an interrupted replay sends at
#: most this many again on the next run.
REPLAY_CHUNK = 500


@dataclass
class Pace:
    """At most ``rate`` originals a second, on average since the first: how long to
    wait before sending more (a replay of a big DLQ at full speed floods the stage
    that reads them; ``None`` is no limit)."""

    rate: float | None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _start: float | None = None

    def due(self, sent: int) -> float:
        """Seconds to wait, ``sent`` originals having gone since the first."""
        if self.rate is None:
            return 0.0
        now = self.clock()
        if self._start is None:
            self._start = now
        return max(0.0, self._start + sent / self.rate - now)

    async def keep(self, sent: int) -> None:
        wait = self.due(sent)
        if wait > 0:
            await self.sleep(wait)


async def replay(
    settings: Settings,
    letters: AsyncIterator[Letter],
    *,
    dry_run: bool = False,
    report: Replay | None = None,
    chunk: int = REPLAY_CHUNK,
    rate: float | None = None,
) -> Replay:
    """Publish each not-yet-replayed letter's original, under its original key, to the
    topic it was read from, and mark it replayed in the DLQ (a tombstone stays one).

    Letters go in chunks: a chunk's markers are written once the broker has all of
    its originals, so a replay stopped at any point has marked everything it sent
    but the last chunk, and the next run goes on from there. ``report`` (given, or
    made) counts as it goes: what was done so far, when it is stopped. With ``rate``,
    at most that many originals a second (chunks shrink to a second's worth)."""
    report = report if report is not None else Replay()
    pace = Pace(rate)
    if rate is not None:
        chunk = max(1, min(chunk, int(rate)))
    prod = None if dry_run else clients.producer(settings)
    if prod is not None:
        await prod.start()
    pending: list[Letter] = []

    async def flush() -> None:
        if prod is None or not pending:
            return
        sends = [
            await prod.send(
                x.record.source.topic, key=original_key(x.record), value=original_bytes(x.record)
            )
            for x in pending
        ]
        await asyncio.gather(*sends)
        for x in pending:
            report.sent[x.record.source.topic] += 1
        now = utc_now()
        markers = []
        for x in pending:
            key, value = replay_marker(x.partition, x.offset, to=x.record.source.topic, now=now)
            markers.append(
                await prod.send(
                    settings.topic_dlq, key=key, value=value, headers=[(MARKER_HEADER, REPLAYED)]
                )
            )
        await asyncio.gather(*markers)
        report.marked += len(pending)
        pending.clear()

    try:
        async for letter in letters:
            if letter.replayed:
                report.before += 1
                continue
            report.matching += 1
            if letter.record.original.truncated:
                report.truncated += 1
                continue
            if dry_run:
                report.sent[letter.record.source.topic] += 1
                continue
            if not pending:
                await pace.keep(report.marked)
            pending.append(letter)
            if len(pending) >= chunk:
                await flush()
        await flush()
    finally:
        if prod is not None:
            await prod.stop()
    return report
