"""Exactly-once delivery: a batch's outputs and its input offsets in one Kafka transaction.

With ``ENRICH_PROCESSING_GUARANTEE=exactly_once`` a stage hands each batch
here instead of publishing it and leaving the commit to Faust. For every
source partition in the batch, one transaction holds everything the batch
writes (the next stage's records and the dead letters) and the consumer
group's new offset for that partition (``send_offsets_to_transaction``). A
read_committed consumer sees all of a batch's records, and its offset
moves, or neither.

Fencing. Each source partition has its own transactional id,
``<group>.<topic>.<partition>``. A worker that takes a partition over starts
its producer for that id, which fences every earlier producer of it: a worker
killed mid-batch, or one that lost the partition in a rebalance and has not
noticed yet, can never commit again, and its open transaction is ended (rolled
back, or finished where it was already committing) before the new producer
gets its id. Only after that does the new owner read the group's committed
offset, and it skips the records below it: a batch a fenced owner committed
at the last moment is not done twice.

Contiguity. Offsets are committed only by these transactions (Faust's own
commit leaves the source topics alone, ``faust_compat.commit_by_transactions``),
and a partition's batches are committed in order, each offset once (Faust may
hand a record over twice around a rebalance). A transaction that cannot
commit is retried whole, with its producer made anew where its state is lost,
until ``produce_deadline_s``; past that the process exits at once and the
records are read again after a restart, as in at-least-once mode.

Holes. A batch this worker cannot commit because its producer was fenced, or
because the partition is no longer assigned to it, leaves a hole: records its
consumer has read past. No later record of that partition is committed here
until the hole is filled: until the consumer hands over a record at or below
its start again (it is sought back to the committed offset), or the committed
offset shows that another worker has done those records. Without this, a batch
read before a rebalance and handled after it would commit past records that
nobody did.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    KafkaError,
    ProducerFenced,
    TransactionalIdAuthorizationFailed,
    UnknownError,
    UnsupportedVersionError,
)

from workers.codec import Message
from workers.errors import ExitCode
from workers.settings import Settings
from workers.stream import clients
from workers.stream.clients import REFUSED_FOR_GOOD

log = logging.getLogger(__name__)

#: A producer that gets one of these has been replaced by a newer one for its id.
FENCED_ERRORS: tuple[type[BaseException], ...] = (
    ProducerFenced,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    TransactionalIdAuthorizationFailed,
)


@dataclass(frozen=True, slots=True)
class Write:
    """One record a batch writes: its topic, key and value."""

    topic: str
    key: bytes
    value: bytes


class NoTransactions(Exception):
    """The broker refused the first transactional producer: it has no transactions."""


class Fenced(Exception):
    """The partition's producer was replaced: another worker owns the partition."""


#: Given the refusals, the writes to try instead (None: give up the record).
Replace = Callable[[dict[int, BaseException]], Awaitable[dict[int, Write | None]]]


class Transactions:
    """One transactional producer per source partition, and the commit of each batch."""

    def __init__(
        self,
        settings: Settings,
        *,
        owns: Callable[[str, int], bool],
        rewind: Callable[[str, int, int], Awaitable[None]],
        producer_factory: Callable[[str], AIOKafkaProducer] | None = None,
    ) -> None:
        """``owns(topic, partition)``: whether this worker's consumer is assigned the
        partition now (a producer is never made anew for one it lost).
        ``rewind(topic, partition, offset)``: seek the consumer back to ``offset``."""
        self.settings = settings
        self.group = settings.app_id
        self.owns = owns
        self.rewind = rewind
        self._factory = producer_factory or self._new_producer
        self._producers: dict[tuple[str, int], AIOKafkaProducer] = {}
        self._committed: dict[tuple[str, int], int] = {}  # the group's offset at fencing
        self._holes: dict[tuple[str, int], int] = {}  # first offset not committed
        self._rewound: set[tuple[str, int]] = set()
        self._admin: AIOKafkaAdminClient | None = None
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._initialized = False  # a transactional producer got its id once

    def transactional_id(self, topic: str, partition: int) -> str:
        return f"{self.group}.{topic}.{partition}"

    def _new_producer(self, transactional_id: str) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            **clients.client_options(self.settings),
            transactional_id=transactional_id,
            transaction_timeout_ms=int(self.settings.transaction_timeout_s * 1000),
            max_request_size=self.settings.max_request_bytes,
            linger_ms=5,
        )

    async def _admin_client(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            admin = AIOKafkaAdminClient(
                **clients.client_options(self.settings), request_timeout_ms=10000
            )
            await admin.start()
            self._admin = admin
        return self._admin

    async def _committed_offset(self, topic: str, partition: int) -> int:
        """The group's committed offset for the partition (-1 for none), from the broker."""
        tp = TopicPartition(topic, partition)
        admin = await self._admin_client()
        found = await admin.list_consumer_group_offsets(self.group, partitions=[tp])
        meta = found.get(tp)
        return meta.offset if meta is not None else -1

    async def _producer(self, key: tuple[str, int]) -> AIOKafkaProducer:
        """The partition's producer, begun on a transaction; made (which fences every
        earlier one) and its committed offset read where there is none yet."""
        producer = self._producers.get(key)
        if producer is None:
            if not self.owns(*key):
                raise Fenced(f"{key[0]}[{key[1]}] is no longer assigned to this worker")
            producer = self._factory(self.transactional_id(*key))
            self._producers[key] = producer
            # begin waits for the producer id: earlier owners are fenced once it returns
            try:
                await producer.start()
                await producer.begin_transaction()
            except (UnknownError, UnsupportedVersionError) as exc:
                if not self._initialized:
                    raise NoTransactions(repr(exc)) from exc
                raise
            self._initialized = True
            self._committed[key] = await self._committed_offset(*key)
            return producer
        await producer.begin_transaction()
        return producer

    async def _drop(self, key: tuple[str, int]) -> None:
        producer = self._producers.pop(key, None)
        self._committed.pop(key, None)
        if producer is not None:
            await _stop(producer)

    def assigned(self, partitions: set[tuple[str, int]]) -> None:
        """After a rebalance: the producers of partitions no longer assigned are closed
        (one assigned again is made anew, fencing whoever had it meanwhile)."""
        for key in list(self._producers):
            if key not in partitions:
                producer = self._producers.pop(key)
                self._committed.pop(key, None)
                task = asyncio.ensure_future(_stop(producer))
                task.add_done_callback(lambda t: t.cancelled() or t.exception())
        self._rewound.clear()  # the consumer starts each partition from its committed offset

    async def commit(
        self,
        messages: Sequence[Message],
        writes: list[Write | None],
        replace: Replace,
    ) -> tuple[list[int], list[Write | None]]:
        """Commit a batch: per source partition, its writes and its next offset in one
        transaction. ``writes[i]`` is what ``messages[i]`` writes (None: nothing).

        Returns the indexes of the messages that are done (committed now, or found
        committed already by an earlier owner) and the writes as committed (with the
        replacements made for refused records). Messages of a partition this
        worker lost are not done: their new owner reads them.
        """
        final = list(writes)
        by_partition: dict[tuple[str, int], list[int]] = {}
        for i, m in enumerate(messages):
            by_partition.setdefault((m.topic, m.partition), []).append(i)
        results = await asyncio.gather(
            *[
                self._commit_partition(key, idx, messages, final, replace)
                for key, idx in by_partition.items()
            ]
        )
        done = [i for part in results for i in part]
        return sorted(done), final

    async def _commit_partition(
        self,
        key: tuple[str, int],
        indexes: list[int],
        messages: Sequence[Message],
        final: list[Write | None],
        replace: Replace,
    ) -> list[int]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            deadline = time.monotonic() + self.settings.produce_deadline_s
            delay = 0.2
            warned = False
            while True:
                try:
                    done = await self._attempt(key, indexes, messages, final, replace)
                except NoTransactions as exc:
                    log.critical(
                        "the broker %s refused a transactional producer (%s): "
                        "ENRICH_PROCESSING_GUARANTEE=exactly_once needs a broker with "
                        "Kafka transactions (Apache Kafka; the embedded broker has none)",
                        self.settings.broker,
                        exc,
                    )
                    os._exit(ExitCode.CONFIG)
                except Fenced as exc:
                    log.warning(
                        "%s[%d]: this worker's producer was fenced (%s); the partition's "
                        "records are left to its new owner",
                        key[0],
                        key[1],
                        exc,
                    )
                    first = min(messages[i].offset for i in indexes)
                    self._holes[key] = min(self._holes.get(key, first), first)
                    await self._drop(key)
                    return []
                except (KafkaError, OSError, TimeoutError) as exc:
                    await self._drop(key)  # made anew: it fences, and the offset is read again
                    if time.monotonic() + delay > deadline:
                        log.critical(
                            "%s[%d]: cannot commit a transaction for %.0fs (%r); exiting "
                            "so that the batch is read again after a restart",
                            key[0],
                            key[1],
                            self.settings.produce_deadline_s,
                            exc,
                        )
                        os._exit(ExitCode.PRODUCE_FAILED)
                    if not warned:
                        log.warning(
                            "%s[%d]: a transaction failed (%r); retrying", key[0], key[1], exc
                        )
                        warned = True
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                if warned:
                    log.warning("%s[%d]: transactions commit again", *key)
                return done

    async def _attempt(
        self,
        key: tuple[str, int],
        indexes: list[int],
        messages: Sequence[Message],
        final: list[Write | None],
        replace: Replace,
    ) -> list[int]:
        """One transaction for the partition's part of the batch; the indexes done."""
        while True:
            try:
                producer = await self._producer(key)
            except FENCED_ERRORS as exc:
                raise Fenced(repr(exc)) from exc
            todo = self._todo(key, indexes, messages)
            if todo is None:  # a hole before this batch: read again from the committed offset
                await self._end(producer, commit=False)
                if key not in self._rewound:
                    self._rewound.add(key)
                    await self.rewind(key[0], key[1], self._committed.get(key, 0))
                return []
            if not todo:  # an earlier owner committed all of it just before it was fenced
                await self._end(producer, commit=False)
                return indexes
            try:
                refusals = await self._send(producer, todo, final)
                if refusals:
                    await self._end(producer, commit=False)
                    for i, write in (await replace(refusals)).items():
                        final[i] = write
                    continue
                last = max(messages[i].offset for i in todo)
                await producer.send_offsets_to_transaction(
                    {TopicPartition(*key): last + 1}, self.group
                )
                await self._end(producer, commit=True)
            except FENCED_ERRORS as exc:
                raise Fenced(repr(exc)) from exc
            self._committed[key] = last + 1
            return indexes

    def _todo(
        self, key: tuple[str, int], indexes: list[int], messages: Sequence[Message]
    ) -> list[int] | None:
        """The messages still to commit: each offset once, none below the committed
        offset; None while a hole lies before them. Faust may hand a record over
        twice in one batch (it seeks back to the committed offset in a rebalance
        while records fetched before are still queued), and records an earlier
        owner committed are done."""
        committed = self._committed.get(key, -1)
        hole = self._holes.get(key)
        if hole is not None:
            if committed > hole or min(messages[i].offset for i in indexes) <= hole:
                del self._holes[key]  # done by another worker, or handed over again
                self._rewound.discard(key)
            else:
                return None
        seen: set[int] = set()
        todo = []
        for i in indexes:
            offset = messages[i].offset
            if offset >= committed and offset not in seen:
                seen.add(offset)
                todo.append(i)
        return todo

    async def _send(
        self, producer: AIOKafkaProducer, todo: list[int], final: list[Write | None]
    ) -> dict[int, BaseException]:
        """Send the writes of ``todo``; the ones refused for good, by index."""
        refusals: dict[int, BaseException] = {}
        futures: list[tuple[int, Any]] = []
        for i in todo:
            write = final[i]
            if write is None:
                continue
            try:
                futures.append(
                    (i, await producer.send(write.topic, key=write.key, value=write.value))
                )
            except REFUSED_FOR_GOOD as exc:  # refused by the client before it is sent
                refusals[i] = exc
        results = await asyncio.gather(*(f for _, f in futures), return_exceptions=True)
        for (i, _), result in zip(futures, results, strict=True):
            if isinstance(result, REFUSED_FOR_GOOD):
                refusals[i] = result
            elif isinstance(result, BaseException):
                raise result
        return refusals

    @staticmethod
    async def _end(producer: AIOKafkaProducer, *, commit: bool) -> None:
        if commit:
            await producer.commit_transaction()
        else:
            await producer.abort_transaction()

    async def close(self) -> None:
        for key in list(self._producers):
            await self._drop(key)
        if self._admin is not None:
            await self._admin.close()
            self._admin = None


async def _stop(producer: AIOKafkaProducer) -> None:
    try:
        await asyncio.wait_for(producer.stop(), 10)
    except Exception:
        log.debug("closing a transactional producer failed", exc_info=True)
