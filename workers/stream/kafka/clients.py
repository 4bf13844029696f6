"""Plain aiokafka clients for the command line: topics, produce, tail.

The workers use Faust (see ``workers.stream.worker.app``); these helpers talk to the broker
directly for everything that is not a stream processor. Each client is started inside
the ``try`` whose ``finally`` stops it: one whose start fails or is cancelled (a
bootstrap address that accepts connections and answers nothing) is closed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition, errors
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError

from workers.codec import Message
from workers.errors import EnrichError, NotFound, TransientError
from workers.settings import Settings
from workers.stories.trends import Counts, fold
from workers.stream.kafka.connection import client_options, probe, probe_any

log = logging.getLogger(__name__)
T = TypeVar("T")


class Backoff:
    """The one retry policy: waits from ``first`` seconds, doubling up to ``most``,
    for up to ``within`` seconds from when it was made. With ``excused``, a deadline
    reached while ``excused()`` holds (the cluster has lost its quorum) is counted
    anew instead: some other bound (the broker-lost exit) governs that wait."""

    def __init__(
        self,
        within: float,
        *,
        first: float = 0.2,
        most: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        excused: Callable[[], bool] | None = None,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.within = within
        self.first = first
        self.deadline = clock() + within
        self.delay = first
        self.most = most
        self.excused = excused

    def spent(self) -> bool:
        """Whether the next wait would end past the deadline."""
        if self.clock() + self.delay <= self.deadline:
            return False
        if self.excused is not None and self.excused():
            self.deadline, self.delay = self.clock() + self.within, self.first
            return False
        return True

    async def wait(self) -> None:
        await self.sleep(self.delay)
        self.delay = min(self.delay * 2, self.most)


class Closer:
    """Producers given up, each closed aside and bounded: a producer's ``stop`` waits
    for what it has in flight, for as long as a frozen node leaves it unanswered, and
    whoever gave it up (a transaction made anew, which fences it) need not wait."""

    def __init__(self, within: float = 10.0) -> None:
        self.within = within
        self._closing: set[asyncio.Future[None]] = set()

    def close(self, producer: AIOKafkaProducer, *, after: asyncio.Lock | None = None) -> None:
        """Close ``producer`` aside, once ``after`` (a lock its last use holds) is free."""
        task = asyncio.ensure_future(self._close(producer, after))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close(self, producer: AIOKafkaProducer, after: asyncio.Lock | None) -> None:
        async with after or contextlib.nullcontext():
            try:
                await asyncio.wait_for(producer.stop(), self.within)
            except Exception:
                log.debug("closing a producer failed", exc_info=True)

    async def wait(self) -> None:
        """Until those closing now are closed, for up to ``within``."""
        if self._closing:
            await asyncio.wait(set(self._closing), timeout=self.within)


async def retrying(
    attempt: Callable[[], Awaitable[T]],
    *,
    timeout: float,
    errors: tuple[type[BaseException], ...],
    waiting: Callable[[BaseException], None],
    excused: Callable[[], bool] | None = None,
) -> T:
    """``attempt()``'s result, trying again on ``errors`` with backoff (0.1 s, doubling
    up to 2 s) for up to ``timeout`` seconds (``excused``: as ``Backoff``); past that
    the last error is raised. ``waiting(error)`` is called once, at the first failure."""
    backoff = Backoff(timeout, first=0.1, most=2.0, excused=excused)
    failed = False
    while True:
        try:
            return await attempt()
        except errors as exc:
            if backoff.spent():
                raise
            if not failed:
                waiting(exc)
                failed = True
            await backoff.wait()


_UNREACHABLE = (KafkaConnectionError, KafkaError, OSError)


async def wait_for_broker(settings: Settings, timeout: float = 30.0) -> None:
    """Retry connecting with bounded backoff until the broker answers metadata.

    Says at once, on the first failure, that it waits and for how long at most. A
    broker that refuses the credentials, or whose certificate cannot be verified, is
    a ConfigError at once (``connection.probe``): no wait cures it."""
    said = False

    async def answers() -> None:
        # the broker's own word first: refused credentials or an unverifiable
        # certificate are a setting to fix (ConfigError, at once), not an outage
        await probe_any(settings)
        admin = AIOKafkaAdminClient(**client_options(settings, request_timeout_ms=5000))
        try:
            await admin.start()
            await admin.list_topics()
        finally:
            await admin.close()

    def waiting(_: BaseException) -> None:
        nonlocal said
        log.warning("waiting for broker %s, up to %.0f s", settings.broker, timeout)
        said = True

    with _quiet("aiokafka"):  # its connection errors repeat what our one line says
        try:
            await retrying(answers, timeout=timeout, errors=_UNREACHABLE, waiting=waiting)
        except _UNREACHABLE as exc:
            raise TransientError(
                f"broker {settings.broker} unreachable after {timeout:.0f}s: {exc}"
            ) from None
    if said:
        log.warning("broker %s answers", settings.broker)


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """The logger's warnings and errors held back for the block (DEBUG shows them)."""
    target = logging.getLogger(logger)
    before = target.level
    if logging.getLogger().level > logging.DEBUG:
        target.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        target.setLevel(before)


async def ping(settings: Settings, timeout: float = 5.0) -> bool:
    """True when a broker answers a metadata request within ``timeout`` seconds: every
    bootstrap address asked at once, so that one frozen node (it accepts connections,
    and answers nothing) does not make a healthy cluster look lost."""
    return (await answering(settings, timeout, first=True))[0] > 0


async def answering(
    settings: Settings, timeout: float = 5.0, *, first: bool = False
) -> tuple[int, int]:
    """(how many of the bootstrap addresses answer a metadata request within
    ``timeout`` seconds, how many there are), all asked at once; with ``first``, the
    count stops at the first answer."""

    async def one(host: str, port: int) -> bool:
        try:
            await asyncio.wait_for(
                probe(settings, host, port, timeout=timeout, again=False), timeout
            )
            return True
        except (KafkaError, OSError, TimeoutError, EnrichError):
            return False

    addresses = [a.strip().rpartition(":") for a in settings.broker.split(",")]
    asked = [asyncio.ensure_future(one(host.strip("[]"), int(port))) for host, _, port in addresses]
    answered = 0
    try:
        for answer in asyncio.as_completed(asked):
            if await answer:
                answered += 1
                if first:
                    break
        return answered, len(asked)
    finally:
        for task in asked:
            task.cancel()


def producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **client_options(settings),
        acks="all",
        max_request_size=settings.max_request_bytes,
        linger_ms=5,
    )


# Publish errors that no retry can cure: the record itself is refused.
SIZE_ERRORS = (
    errors.MessageSizeTooLargeError,
    errors.RecordTooLargeError,
    errors.RecordListTooLargeError,
)
REFUSED_FOR_GOOD = (
    *SIZE_ERRORS,
    errors.CorruptRecordException,
    errors.UnsupportedForMessageFormatError,
)

#: Records ``produce`` has sent and not yet had acknowledged, at most: its memory
#: stays bounded however long the input.
MAX_IN_FLIGHT = 10_000


async def produce(
    settings: Settings,
    records: Iterable[tuple[bytes | None, bytes | None]],
    topic: str | None = None,
    headers: Sequence[tuple[str, bytes]] | None = None,
    *,
    refused: Callable[[int, BaseException], None] | None = None,
    max_in_flight: int = MAX_IN_FLIGHT,
) -> int:
    """Publish (key, value) records and wait until the broker has them all; how many
    it has.

    A None value is published as a tombstone; ``headers`` go on every record. At
    most ``max_in_flight`` records wait for their acknowledgement at a time.
    With ``refused``, a record the broker or client refuses for good (too large,
    corrupt) is reported as ``refused(index, error)`` and the rest go on; without
    it, the error is raised. Any other failure is raised."""
    prod = producer(settings)
    await prod.start()
    name = topic or settings.topic_raw
    try:
        await prod.client._wait_on_metadata(name)
    except errors.UnknownTopicOrPartitionError:
        await prod.stop()
        raise NotFound(f"topic {name} does not exist (enrich topics create makes them)") from None
    sent = 0
    in_flight: deque[tuple[int, asyncio.Future[Any]]] = deque()

    async def settle(index: int, fut: asyncio.Future[Any]) -> None:
        nonlocal sent
        try:
            await fut
            sent += 1
        except REFUSED_FOR_GOOD as exc:
            if refused is None:
                raise
            refused(index, exc)

    try:
        for index, (key, value) in enumerate(records):
            try:
                fut = await prod.send(
                    name,
                    key=key,
                    value=value,
                    headers=list(headers) if headers else None,
                )
            except REFUSED_FOR_GOOD as exc:  # refused by the client before it is sent
                if refused is None:
                    raise
                refused(index, exc)
                continue
            in_flight.append((index, fut))
            while len(in_flight) > max_in_flight or (in_flight and in_flight[0][1].done()):
                await settle(*in_flight.popleft())
        while in_flight:
            await settle(*in_flight.popleft())
    finally:
        for _, fut in in_flight:
            fut.cancel()
        await prod.stop()
    return sent


def _reader(settings: Settings) -> AIOKafkaConsumer:
    """A consumer outside any group: it reads, and never commits. Under exactly_once
    it reads only committed records, as every consumer of the output should."""
    exactly_once = settings.processing_guarantee == "exactly_once"
    return AIOKafkaConsumer(
        **client_options(settings),
        group_id=None,
        isolation_level="read_committed" if exactly_once else "read_uncommitted",
        enable_auto_commit=False,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        fetch_max_bytes=max(settings.max_request_bytes, 52428800),
        max_partition_fetch_bytes=settings.max_request_bytes,
    )


MISSING_CONFIRM_S = 2.0  # a topic not found is asked about again this long


async def topic_partitions(
    consumer: AIOKafkaConsumer, topic: str, timeout: float = 10.0
) -> list[TopicPartition]:
    """The partitions of ``topic``; NotFound, naming the topics there are, when it does
    not exist (after ``MISSING_CONFIRM_S``: a node just restarted may answer from
    metadata older than the topic). A topic just created may need a moment."""
    parts = consumer.partitions_for_topic(topic)
    started = time.monotonic()
    deadline = started + timeout
    while not parts:
        # Metadata of every topic: a client that subscribes to nothing asks the broker
        # for no topic at all, which Apache Kafka answers with none (some brokers with all).
        cluster = await consumer._client.fetch_all_metadata()
        existing = cluster.topics()
        parts = cluster.partitions_for_topic(topic)
        if parts:
            break
        now = time.monotonic()
        if topic not in existing and (now - started >= MISSING_CONFIRM_S or now > deadline):
            names = ", ".join(sorted(t for t in existing if not t.startswith("__"))) or "none"
            raise NotFound(
                f"topic {topic!r} does not exist; existing topics: {names} "
                "(create the pipeline's with `enrich topics create`)"
            )
        if time.monotonic() > deadline:
            raise TransientError(f"topic {topic!r} has no partitions after {timeout:.0f}s")
        await asyncio.sleep(0.2)
    return [TopicPartition(topic, p) for p in sorted(parts)]


async def consume(
    settings: Settings,
    topics: list[str],
    *,
    from_beginning: bool = True,
    timeout: float | None = None,
    last: int | None = None,
) -> AsyncIterator[Message]:
    """Read topics without a consumer group (every partition, no commits).

    ``last``: start at about the last ``last`` records of each partition instead.
    Stops after ``timeout`` seconds with no new record when given.
    """
    consumer = _reader(settings)
    try:
        await consumer.start()
        partitions: list[TopicPartition] = []
        for topic in topics:
            partitions.extend(await topic_partitions(consumer, topic))
        consumer.assign(partitions)
        if last is not None:
            starts = await consumer.beginning_offsets(partitions)
            ends = await consumer.end_offsets(partitions)
            for tp in partitions:
                consumer.seek(tp, max(starts[tp], ends[tp] - last))
        elif from_beginning:
            await consumer.seek_to_beginning(*partitions)
        else:
            await consumer.seek_to_end(*partitions)
        idle_since = time.monotonic()
        while True:
            batch = await consumer.getmany(timeout_ms=int(min(timeout or 1.0, 1.0) * 1000))
            if not batch:
                if timeout is not None and time.monotonic() - idle_since >= timeout:
                    return
                continue
            idle_since = time.monotonic()
            for tp, msgs in sorted(batch.items(), key=lambda kv: (kv[0].topic, kv[0].partition)):
                for m in msgs:
                    yield Message(
                        tp.topic, tp.partition, m.offset, m.key, m.value, tuple(m.headers or ())
                    )
    finally:
        await consumer.stop()


async def true_end_offsets(
    settings: Settings, reported: Mapping[Any, int], wait_ms: int = 300
) -> dict[Any, int]:
    """The end offsets of partitions ((topic, partition) tuples) given the ones a
    broker reported: Tansu reports the base offset of the last record batch plus
    one, so the records past it are read to find the real end."""
    if not reported:
        return {}
    consumer = _reader(settings)
    try:
        await consumer.start()
        parts = {TopicPartition(tp[0], tp[1]): tp for tp in reported}
        consumer.assign(list(parts))
        for part, tp in parts.items():
            consumer.seek(part, max(reported[tp], 0))
        ends = {tp: reported[tp] for tp in reported}
        deadline = time.monotonic() + 10.0  # a partition still written to has no end
        while (batch := await consumer.getmany(timeout_ms=wait_ms)) and time.monotonic() < deadline:
            for part, msgs in batch.items():
                tp = parts[part]
                ends[tp] = max(ends[tp], msgs[-1].offset + 1)
        return ends
    finally:
        await consumer.stop()


async def last_committed_ends(
    settings: Settings, stable: Mapping[Any, int], timeout: float = 30.0
) -> dict[Any, int]:
    """Where the committed records of partitions ((topic, partition) tuples) end: one
    past the last committed record below each partition's last stable offset.

    A read_committed reader never gets the offsets a transaction's commit or
    abort marker takes, nor an aborted write, so the stable offset the broker
    reports is not the offset after a record it can read. The records before it
    are read back in widening windows until one is found or the start is
    reached; a partition with none ends where it starts."""
    if not stable:
        return {}
    consumer = AIOKafkaConsumer(
        **client_options(settings),
        group_id=None,
        isolation_level="read_committed",
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=settings.max_request_bytes,
    )
    try:
        await consumer.start()
        parts = {TopicPartition(tp[0], tp[1]): tp for tp in stable}
        consumer.assign(list(parts))
        starts = await consumer.beginning_offsets(list(parts))
        ends = {tp: starts[part] for part, tp in parts.items()}
        todo = {part for part, tp in parts.items() if stable[tp] > starts[part]}
        window = 64
        deadline = time.monotonic() + timeout
        while todo:
            for part in todo:
                consumer.seek(part, max(starts[part], stable[parts[part]] - window))
            reading = set(todo)
            while reading:
                if time.monotonic() > deadline:
                    log.warning("committed ends not found in %.0fs; taking stable offsets", timeout)
                    return {tp: stable[tp] for tp in stable}
                batch = await consumer.getmany(*reading, timeout_ms=200)
                for part, msgs in batch.items():
                    tp = parts[part]
                    below = [m.offset for m in msgs if m.offset < stable[tp]]
                    if below:
                        ends[tp] = max(ends[tp], below[-1] + 1)
                reading = {p for p in reading if await consumer.position(p) < stable[parts[p]]}
            todo = {
                p
                for p in todo
                if ends[parts[p]] == starts[p] and stable[parts[p]] - window > starts[p]
            }
            window *= 16
        return ends
    finally:
        await consumer.stop()


async def read_to_end(settings: Settings, topic: str) -> AsyncIterator[Message]:
    """Every record of ``topic`` present when called, partition by partition, then stop.

    Reads until every partition is past the end offset the broker reported at
    the start and a fetch comes back empty (some Kafka-compatible brokers
    report too low an end offset for batched records, so it is only a floor).
    """
    consumer = _reader(settings)
    try:
        await consumer.start()
        parts = await topic_partitions(consumer, topic)
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        while True:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, msgs in sorted(batch.items(), key=lambda kv: kv[0].partition):
                for m in msgs:
                    yield Message(
                        tp.topic, tp.partition, m.offset, m.key, m.value, tuple(m.headers or ())
                    )
            if not batch and all([await consumer.position(tp) >= ends[tp] for tp in parts]):
                return
    finally:
        await consumer.stop()


async def read_trend_counts(settings: Settings) -> Counts:
    """The trend counts as the trends table's changelog holds them now, over every
    partition (``workers.stories.trends`` does the arithmetic)."""
    changelog = settings.story_changelog("trends")
    records = [(rec.key, rec.value) async for rec in read_to_end(settings, changelog)]
    return fold(records)
