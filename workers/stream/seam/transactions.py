"""Exactly-once delivery: a batch's outputs and its input offsets in one Kafka transaction.

With ``ENRICH_PROCESSING_GUARANTEE=exactly_once`` a stage hands each batch here instead
of publishing it and leaving the commit to Faust. For every source partition in the
batch, one transaction holds everything the batch writes (the next stage's records, the
dead letters) and the group's new offset for that partition: a read_committed consumer
sees all of a batch's records, and its offset moves, or neither.

Fencing. Each source partition has its own transactional id,
``<group>.<topic>.<partition>``. A worker that takes a partition over starts its
producer for that id, which fences every earlier producer of it: a worker killed
mid-batch, or one that lost the partition and has not noticed yet, can never commit
again, and its open transaction is ended before the new producer gets its id. Only then
does the new owner read the group's committed offset, and it skips the records below it:
a batch a fenced owner committed at the last moment is not done twice.

Contiguity. Offsets are committed only by these transactions (Faust's own commit leaves
the source topics alone, ``faust_compat.commit_by_transactions``), and a partition's
batches are committed in order, each offset once (Faust may hand a record over twice
around a rebalance). A transaction that cannot commit is retried whole, with its
producer made anew, until ``produce_deadline_s`` (anew while the cluster has lost its
quorum); then the process exits, and the records are read again after a restart. An
attempt not ended after ``attempt_s`` counts as failed (one whose coordinator froze
moves on), unless the producer made anew reads the offset it would have committed.

Holes. A batch this worker cannot commit because its producer was fenced, or because the
partition is no longer assigned to it, leaves a hole: records its consumer has read
past. No later record of that partition is committed here until the hole is filled:
until the consumer hands over a record at or below its start again, or the committed
offset shows that another worker has done those records. Where the partition is still
assigned here, the consumer is sought back to the hole at once (the fenced batch may
have held its last records).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    IllegalOperation,
    InvalidTransactionTimeout,
    KafkaError,
    UnknownError,
    UnsupportedVersionError,
)

from workers.codec import Message
from workers.errors import ExitCode
from workers.settings import Settings
from workers.stream.kafka import clients, connection, offsets
from workers.stream.seam.writes import FENCED_ERRORS, Fenced, NoTransactions, send_writes, why_ended
from workers.stream.seam.writes import Refused as Refused
from workers.stream.seam.writes import Replace as Replace
from workers.stream.seam.writes import Write as Write

log = logging.getLogger(__name__)


class Transactions:
    """One transactional producer per source partition, and the commit of each batch."""

    def __init__(
        self,
        settings: Settings,
        *,
        owns: Callable[[str, int], bool],
        rewind: Callable[[str, int, int], Awaitable[None]],
        producer_factory: Callable[[str], AIOKafkaProducer] | None = None,
        trouble: Callable[[BaseException | None], None] = lambda _: None,
        excused: Callable[[], bool] = lambda: False,
    ) -> None:
        """``owns(topic, partition)``: whether this worker's consumer is assigned the
        partition now (a producer is never made anew for one it lost).
        ``rewind(topic, partition, offset)``: seek the consumer back to ``offset``."""
        self.settings = settings
        self.group = settings.app_id
        self.owns = owns
        self.rewind = rewind
        self.trouble = trouble  # told each failed attempt, and None once one commits again
        # whether the cluster is away (a lost quorum): the produce deadline then waits,
        # and the broker-lost exit bounds the wait
        self.excused = excused
        self._factory = producer_factory or self._new_producer
        self._producers: dict[tuple[str, int], AIOKafkaProducer] = {}
        self._committed: dict[tuple[str, int], int] = {}  # the group's offset at fencing
        self._holes: dict[tuple[str, int], int] = {}  # first offset not committed
        self._rewound: set[tuple[str, int]] = set()
        self._admin: AIOKafkaAdminClient | None = None
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._open: set[tuple[str, int]] = set()  # producers in a transaction now
        #: what each partition's transaction does now, for the log of one that fails
        self._steps: dict[tuple[str, int], str] = {}
        # the next offset a commit given up before it answered would have committed
        self._unanswered: dict[tuple[str, int], int] = {}
        self._initialized = False  # a transactional producer got its id once
        self._closer = clients.Closer()  # producers given up, closed aside
        self._closing = False  # stopping: no transaction begins

    @property
    def attempt_s(self) -> float:
        """Longest one attempt (a transaction, a fencing) is waited for: a few requests
        that take milliseconds on a healthy cluster, one of which may wait
        ``request_timeout_s`` on a frozen node before aiokafka asks the next, so twice
        that; never past the produce deadline."""
        return min(self.settings.produce_deadline_s, 2 * self.settings.request_timeout_s)

    def _lock(self, key: tuple[str, int]) -> asyncio.Lock:
        """The partition's lock: one commit (or fencing, or closing) of it at a time."""
        return self._locks.setdefault(key, asyncio.Lock())

    def transactional_id(self, topic: str, partition: int) -> str:
        return f"{self.group}.{topic}.{partition}"

    def _new_producer(self, transactional_id: str) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            **connection.client_options(self.settings),
            transactional_id=transactional_id,
            transaction_timeout_ms=int(self.settings.transaction_timeout_s * 1000),
            max_request_size=self.settings.max_request_bytes,
            linger_ms=5,
        )

    async def _admin_client(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            admin = AIOKafkaAdminClient(**connection.client_options(self.settings))
            await admin.start()
            self._admin = admin
        return self._admin

    async def _committed_offset(self, topic: str, partition: int) -> int:
        """The group's committed offset for the partition (-1 for none), from the
        broker, with every transactional commit of it applied (``offsets``)."""
        admin = await self._admin_client()
        return await offsets.committed_offset(admin, self.group, topic, partition, self.attempt_s)

    async def fence(self, keys: set[tuple[str, int]]) -> None:
        """Make the producers of these source partitions (those assigned here) where
        there are none yet: every earlier owner is fenced, its open transactions
        ended, and the group's committed offsets read. A table's recovery does this
        first, so that it reads every write an earlier owner committed, and none it
        left open. A failure here is left to the next batch's commit to retry."""

        async def one(key: tuple[str, int]) -> None:
            async with self._lock(key):
                if key in self._producers or not self.owns(*key) or self._closing:
                    return
                try:
                    await asyncio.wait_for(self._producer(key), self.attempt_s)
                except NoTransactions as exc:
                    self._no_transactions(exc)
                except (KafkaError, OSError, TimeoutError, Fenced, *FENCED_ERRORS) as exc:
                    log.info("%s[%d]: not fenced before recovery (%r)", key[0], key[1], exc)
                    await self._drop(key)

        await asyncio.gather(*(one(key) for key in sorted(keys)))

    def fresh(self, messages: Sequence[Message]) -> list[int]:
        """The indexes of the messages not committed yet, each offset once: for a step
        whose state must see each record once (the story steps), before it runs.
        Partitions without a producer yet are left to the commit's own check."""
        return self._uncommitted(range(len(messages)), messages)

    def _uncommitted(self, indexes: Iterable[int], messages: Sequence[Message]) -> list[int]:
        """Of ``indexes``, the messages at or past their partition's committed offset,
        each (partition, offset) once."""
        seen: set[tuple[str, int, int]] = set()
        out = []
        for i in indexes:
            m = messages[i]
            where = (m.topic, m.partition, m.offset)
            if where not in seen and m.offset >= self._committed.get((m.topic, m.partition), -1):
                seen.add(where)
                out.append(i)
        return out

    async def refill(self, topic: str, partition: int) -> bool:
        """Where this worker holds a hole in a partition it is assigned and has read to
        its end with nothing left to hand over: seek back to the hole, so that its
        records are read again (a seek lost in a rebalance is made again). Whether
        there was one."""
        key = (topic, partition)
        hole = self._holes.get(key)
        if hole is None or not self.owns(*key):
            return False
        log.info("%s[%d]: records from offset %d were read but not committed", *key, hole)
        self._rewound.add(key)
        await self.rewind(topic, partition, hole)
        return True

    def _timeout_refused(self) -> None:
        """A setting, not an outage (exit 75 would have it restarted for ever)."""
        self._refused(
            f"refuses ENRICH_TRANSACTION_TIMEOUT_S={self.settings.transaction_timeout_s:g}: "
            "it is above the broker's transaction.max.timeout.ms (15 minutes by default)"
        )

    def _no_transactions(self, exc: BaseException) -> None:
        self._refused(
            f"refused a transactional producer ({exc}): ENRICH_PROCESSING_GUARANTEE="
            "exactly_once needs a broker with Kafka transactions (Apache Kafka; the "
            "embedded broker has none)"
        )

    def _refused(self, what: str) -> None:
        log.critical("the broker %s %s", self.settings.broker, what)
        os._exit(ExitCode.CONFIG)

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
                self._steps[key] = "making its producer"
                await producer.start()
                await producer.begin_transaction()
            except (UnknownError, UnsupportedVersionError) as exc:
                if not self._initialized:
                    raise NoTransactions(repr(exc)) from exc
                raise
            except InvalidTransactionTimeout:
                self._timeout_refused()
            self._initialized = True
            self._open.add(key)
            self._steps[key] = "reading the committed offset"
            self._committed[key] = await self._committed_offset(*key)
            return producer
        if key not in self._open:  # begun already where it was made by ``fence``
            self._steps[key] = "beginning"
            await producer.begin_transaction()
            self._open.add(key)
        return producer

    async def _drop(self, key: tuple[str, int]) -> None:
        producer = self._producers.pop(key, None)
        self._committed.pop(key, None)
        self._open.discard(key)
        if producer is not None:  # closed aside: it may wait on a frozen node, and the
            self._closer.close(producer)  # producer made anew has fenced it already

    def assigned(self, partitions: set[tuple[str, int]]) -> None:
        """After a rebalance: the producers of partitions no longer assigned are closed
        (one assigned again is made anew, fencing whoever had it meanwhile), each once
        its commit in progress has ended: aiokafka's ``stop`` leaves what waits on the
        producer waiting, and the stage waiting on that commit took no more records."""
        for key in list(self._producers):
            if key not in partitions:
                producer = self._producers.pop(key)
                self._committed.pop(key, None)
                self._unanswered.pop(key, None)
                self._open.discard(key)
                self._closer.close(producer, after=self._lock(key))
        self._rewound.clear()  # the consumer starts each partition from its committed offset

    async def commit(
        self,
        messages: Sequence[Message],
        writes: Sequence[Sequence[Write]],
        replace: Replace,
        *,
        whole: bool = False,
    ) -> tuple[list[int], list[list[Write]]]:
        """Commit a batch: per source partition, its writes and its next offset in one
        transaction. ``writes[i]`` is what ``messages[i]`` writes.

        ``whole``: a partition's writes come from all of its records together (a
        story step's table state), so they are committed only with all of them.
        Where some were committed meanwhile (the partition changed hands, or its
        producer was made anew and read a later offset), none of the partition's
        records is done: the consumer is sought back to the committed offset and
        the step, its state taken back by the caller, handles them again.

        Returns the indexes of the messages that are done (committed now, or found
        committed already by an earlier owner) and the writes as committed (with the
        replacements made for refused records). Messages of a partition this
        worker lost are not done: their new owner reads them.
        """
        final = [list(w) for w in writes]
        by_partition: dict[tuple[str, int], list[int]] = {}
        for i, m in enumerate(messages):
            by_partition.setdefault((m.topic, m.partition), []).append(i)
        results = await asyncio.gather(
            *[
                self._commit_partition(key, idx, messages, final, replace, whole)
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
        final: list[list[Write]],
        replace: Replace,
        whole: bool,
    ) -> list[int]:
        async with self._lock(key):
            if self._closing:  # stopping: the partition's next owner reads these again
                return []
            backoff = clients.Backoff(self.settings.produce_deadline_s, excused=self.excused)
            warned = False
            while True:
                try:
                    # bounded: a transaction that never ends (its coordinator frozen)
                    # must not stall the stage; the producer made anew finds the new one
                    done = await asyncio.wait_for(
                        self._attempt(key, indexes, messages, final, replace, whole),
                        self.attempt_s,
                    )
                except NoTransactions as exc:
                    self._no_transactions(exc)
                except Fenced as exc:
                    log.warning(
                        "%s[%d]: this worker's producer was fenced (%s); the partition's "
                        "records are left to its new owner",
                        key[0],
                        key[1],
                        exc,
                    )
                    first = min(messages[i].offset for i in indexes)
                    self._holes[key] = hole = min(self._holes.get(key, first), first)
                    await self._drop(key)
                    if self.owns(*key):
                        # still assigned here (the rebalance that fenced it may hand it
                        # back, or is not seen yet): read the hole again now, as no
                        # later batch may come to find it (the partition's last records)
                        await self._read_again(key, hole)
                    return []
                except (KafkaError, OSError, TimeoutError) as exc:
                    await self._drop(key)  # made anew: it fences, and the offset is read again
                    self.trouble(exc)
                    if backoff.spent():
                        log.critical(
                            "%s[%d]: cannot commit a transaction for %.0fs (%r); exiting "
                            "so that the batch is read again after a restart",
                            key[0],
                            key[1],
                            self.settings.produce_deadline_s,
                            exc,
                        )
                        os._exit(ExitCode.PRODUCE_FAILED)
                    step = self._steps.get(key, "beginning")
                    if not warned:
                        log.warning(
                            "%s[%d]: a transaction failed while %s (%r); retrying",
                            *key,
                            step,
                            exc,
                        )
                        warned = True
                    else:  # each failure said, for the time a fault costs
                        log.info("%s[%d]: failed again while %s (%r)", *key, step, exc)
                    await backoff.wait()
                    continue
                if warned:
                    log.warning("%s[%d]: transactions commit again", *key)
                    self.trouble(None)
                return done

    async def _attempt(
        self,
        key: tuple[str, int],
        indexes: list[int],
        messages: Sequence[Message],
        final: list[list[Write]],
        replace: Replace,
        whole: bool,
    ) -> list[int]:
        """One transaction for the partition's part of the batch; the indexes done."""
        while True:
            try:
                producer = await self._producer(key)
            except FENCED_ERRORS as exc:
                raise Fenced(repr(exc)) from exc
            todo = self._todo(key, indexes, messages)
            unanswered = self._unanswered.pop(key, None)
            if not todo and unanswered is not None and unanswered == self._committed.get(key):
                # its own commit, given up unanswered, went through: done, state kept
                await self._end(key, producer, commit=False)
                return indexes
            if todo is None:  # a hole before this batch: read again from the committed offset
                await self._end(key, producer, commit=False)
                await self._read_again(key, self._committed.get(key, 0))
                return []
            if whole and len(todo) < len({messages[i].offset for i in indexes}):
                # the writes were made from records some of which are committed now:
                # committing the rest would commit writes that are not theirs, or
                # (where the writes ride on a record left out) none at all
                await self._end(key, producer, commit=False)
                if todo:  # those not committed yet are read again, from the first on
                    first = min(messages[i].offset for i in todo)
                    log.info(
                        "%s[%d]: records of a batch were committed meanwhile; reading "
                        "again from offset %d",
                        *key,
                        first,
                    )
                    self._holes[key] = min(self._holes.get(key, first), first)
                    await self._read_again(key, first)
                return []
            if not todo:  # an earlier owner committed all of it just before it was fenced
                await self._end(key, producer, commit=False)
                return indexes
            try:
                self._steps[key] = "sending"
                refusals = await send_writes(producer, todo, final)
                if refusals:
                    await self._end(key, producer, commit=False)
                    replaced = await replace(refusals)
                    for i in {i for i, _ in replaced}:
                        swapped = (replaced.get((i, j), w) for j, w in enumerate(final[i]))
                        final[i] = [w for w in swapped if w is not None]
                    continue
                last = max(messages[i].offset for i in todo)
                self._steps[key] = "adding the offsets"
                await producer.send_offsets_to_transaction(
                    {TopicPartition(*key): last + 1}, self.group
                )
                self._unanswered[key] = last + 1  # until the commit answers
                await self._end(key, producer, commit=True)
            except FENCED_ERRORS as exc:
                self._unanswered.pop(key, None)
                raise Fenced(repr(exc)) from exc
            except IllegalOperation as exc:  # "not in transaction": a write ended it
                raise why_ended(producer, exc) from exc
            self._unanswered.pop(key, None)
            self._committed[key] = last + 1
            return indexes

    async def _read_again(self, key: tuple[str, int], offset: int) -> None:
        """Seek the partition back to ``offset``, once until the next rebalance or
        until its hole is done (a batch read before the seek must not seek again)."""
        if key not in self._rewound:
            self._rewound.add(key)
            await self.rewind(key[0], key[1], offset)

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
        return self._uncommitted(indexes, messages)

    async def _end(self, key: tuple[str, int], producer: AIOKafkaProducer, *, commit: bool) -> None:
        self._open.discard(key)
        self._steps[key] = "committing" if commit else "aborting"
        if commit:
            await producer.commit_transaction()
        else:
            await producer.abort_transaction()

    async def close(self, within: float = 10.0) -> None:
        """At a stop: no transaction begins any more; each commit in progress may end
        (for up to ``within`` in all), then every transaction still open is aborted.
        One left open held each read_committed reader of its partitions back until
        the broker timed it out (``transaction_timeout_s``); its records are read
        again by the partition's next owner."""
        self._closing = True
        deadline = asyncio.get_running_loop().time() + within

        async def end(key: tuple[str, int]) -> None:
            lock, held = self._lock(key), False
            with contextlib.suppress(TimeoutError):  # past it: aborted under the commit
                async with asyncio.timeout_at(deadline):
                    held = await lock.acquire()
            try:
                producer = self._producers.get(key)
                if producer is not None and key in self._open:
                    try:
                        async with asyncio.timeout_at(deadline + 2.0):
                            await self._end(key, producer, commit=False)
                        log.debug("%s[%d]: a transaction aborted at the stop", *key)
                    except Exception as exc:  # noqa: BLE001 - the broker times it out instead
                        log.info("%s[%d]: not aborted at the stop (%r)", *key, exc)
                await self._drop(key)
            finally:
                if held:
                    lock.release()

        await asyncio.gather(*(end(key) for key in list(self._producers)))
        await self._closer.wait()
        if self._admin is not None:
            await self._admin.close()
            self._admin = None
