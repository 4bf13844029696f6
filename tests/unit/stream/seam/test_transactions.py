"""Exactly-once commits (workers.stream.seam.transactions) on fake producers: what each
transaction holds, and which records are done, skipped or left for later."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import IllegalOperation, MessageSizeTooLargeError, ProducerFenced

from workers.codec import Message
from workers.errors import ExitCode
from workers.settings import Settings
from workers.stream.seam.transactions import Refused, Transactions, Write
from workers.stream.seam.writes import TransactionEnded, why_ended


class FakeProducer:
    """Records each transaction: its writes and offsets, and how it ended."""

    def __init__(self, transactional_id: str, log: list[dict[str, Any]]) -> None:
        self.id = transactional_id
        self.log = log
        self.current: dict[str, Any] | None = None
        self.fail_commit: BaseException | None = None
        self.refuse: set[bytes] = set()
        self.hold: asyncio.Event | None = None  # a commit waits for it, where set
        self.committing = False
        self.waiting = asyncio.Event()  # set once a commit waits on ``hold``
        self.stopped_while_committing = False
        self.stopped = False
        self.stop_hangs = False  # its stop waits on a frozen node

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        # aiokafka's stop ends the sender: a commit waiting on it would never return
        self.stopped_while_committing |= self.committing
        if self.stop_hangs:
            await asyncio.Event().wait()
        self.stopped = True

    async def begin_transaction(self) -> None:
        assert self.current is None or self.current["end"] is not None, "begun twice"
        self.current = {"id": self.id, "writes": [], "offsets": None, "end": None}

    async def send(
        self, topic: str, key: bytes, value: bytes | None, partition: int | None = None
    ) -> asyncio.Future[None]:
        assert self.current is not None
        if key in self.refuse:
            raise MessageSizeTooLargeError("too large")
        self.current["writes"].append((topic, key))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def send_offsets_to_transaction(
        self, offsets: dict[TopicPartition, int], group: str
    ) -> None:
        assert self.current is not None
        self.current["offsets"] = {(tp.topic, tp.partition): o for tp, o in offsets.items()}

    async def commit_transaction(self) -> None:
        assert self.current is not None
        if self.fail_commit is not None:
            raise self.fail_commit
        if self.hold is not None:
            self.committing = True
            self.waiting.set()
            await self.hold.wait()
            self.committing = False
        self.current["end"] = "commit"
        self.log.append(self.current)

    async def abort_transaction(self) -> None:
        assert self.current is not None
        self.current["end"] = "abort"
        self.log.append(self.current)


class Exited(Exception):
    """Stands in for the end of the process."""


def msg(partition: int, offset: int) -> Message:
    return Message("src", partition, offset, b"k", b"v")


def writes(messages: list[Message]) -> list[list[Write]]:
    return [[Write("out", f"{m.partition}-{m.offset}".encode(), b"x")] for m in messages]


class Harness:
    def __init__(
        self,
        committed: dict[tuple[str, int], int] | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.log: list[dict[str, Any]] = []
        self.producers: list[FakeProducer] = []
        self.committed = committed or {}
        self.owned = {("src", 0), ("src", 1)}
        self.rewinds: list[tuple[str, int, int]] = []

        def factory(transactional_id: str) -> Any:
            producer = FakeProducer(transactional_id, self.log)
            self.producers.append(producer)
            return producer

        async def rewind(topic: str, partition: int, offset: int) -> None:
            self.rewinds.append((topic, partition, offset))

        self.tx = Transactions(
            Settings(broker="127.0.0.1:9", group_id="g", stages="clean", produce_deadline_s=1)
            if settings is None
            else settings,
            owns=lambda t, p: (t, p) in self.owned,
            rewind=rewind,
            producer_factory=factory,
        )

        async def committed_offset(topic: str, partition: int) -> int:
            return self.committed.get((topic, partition), -1)

        self.tx._committed_offset = committed_offset  # type: ignore[method-assign]

    async def commit(
        self,
        messages: list[Message],
        made: list[list[Write]] | None = None,
        *,
        whole: bool = False,
    ) -> list[int]:
        async def replace(refusals: dict[Refused, BaseException]) -> dict[Refused, Write | None]:
            return {where: Write("dlq", b"dead", b"d") for where in refusals}

        made = writes(messages) if made is None else made
        done, _ = await self.tx.commit(messages, made, replace, whole=whole)
        return done


async def test_each_partition_commits_its_writes_with_its_next_offset() -> None:
    h = Harness()
    batch = [msg(0, 0), msg(1, 10), msg(0, 1), msg(1, 11)]
    assert await h.commit(batch) == [0, 1, 2, 3]
    by_id = {t["id"]: t for t in h.log}
    assert set(by_id) == {"g-clean.src.0", "g-clean.src.1"}
    assert by_id["g-clean.src.0"]["writes"] == [("out", b"0-0"), ("out", b"0-1")]
    assert by_id["g-clean.src.0"]["offsets"] == {("src", 0): 2}
    assert by_id["g-clean.src.1"]["offsets"] == {("src", 1): 12}
    assert all(t["end"] == "commit" for t in h.log)


async def test_a_record_handed_over_twice_is_written_once() -> None:
    h = Harness()
    assert await h.commit([msg(0, 5), msg(0, 6), msg(0, 5), msg(0, 6)]) == [0, 1, 2, 3]
    assert h.log[0]["writes"] == [("out", b"0-5"), ("out", b"0-6")]


async def test_records_an_earlier_owner_committed_are_done_and_not_written_again() -> None:
    h = Harness(committed={("src", 0): 7})
    assert await h.commit([msg(0, 5), msg(0, 6), msg(0, 7)]) == [0, 1, 2]
    assert h.log[-1]["writes"] == [("out", b"0-7")]
    assert h.log[-1]["offsets"] == {("src", 0): 8}
    # and the next batch starts from what this worker committed
    assert await h.commit([msg(0, 7), msg(0, 8)]) == [0, 1]
    assert h.log[-1]["writes"] == [("out", b"0-8")]


async def test_a_fenced_batch_leaves_a_hole_that_no_later_batch_commits_past() -> None:
    h = Harness(committed={("src", 0): 3})
    assert await h.commit([msg(0, 3)]) == [0]
    h.producers[0].fail_commit = ProducerFenced()
    assert await h.commit([msg(0, 4), msg(0, 5)]) == []  # another worker has it now
    # still assigned here as far as this worker knows: the consumer is sought back to
    # the hole at once (these may have been the partition's last records)
    assert h.rewinds == [("src", 0, 4)]
    # a batch read before the rebalance, handled after it: not committed, and not
    # sought back twice
    h.committed[("src", 0)] = 4
    assert await h.commit([msg(0, 6), msg(0, 7)]) == []
    assert h.rewinds == [("src", 0, 4)]
    assert not [t for t in h.log if t["end"] == "commit" and t["offsets"] == {("src", 0): 8}]
    # the records handed over again, from the hole on, are committed
    assert await h.commit([msg(0, 4), msg(0, 5), msg(0, 6)]) == [0, 1, 2]
    assert h.log[-1]["writes"] == [("out", b"0-4"), ("out", b"0-5"), ("out", b"0-6")]
    assert h.log[-1]["offsets"] == {("src", 0): 7}


async def test_a_hole_another_worker_filled_is_forgotten() -> None:
    h = Harness(committed={("src", 1): 0})
    h.owned.discard(("src", 1))
    assert await h.commit([msg(1, 0)]) == []  # lost before its producer was made
    h.owned.add(("src", 1))
    h.committed[("src", 1)] = 20  # its owner meanwhile did up to 19
    assert await h.commit([msg(1, 20)]) == [0]
    assert h.log[-1]["offsets"] == {("src", 1): 21}
    assert h.rewinds == []


async def test_a_refused_record_is_replaced_in_the_same_transaction() -> None:
    h = Harness()
    first = await h.tx._producer(("src", 0))  # made before the batch, to refuse a key
    await h.tx._end(("src", 0), first, commit=False)
    h.producers[0].refuse = {b"0-1"}
    assert await h.commit([msg(0, 0), msg(0, 1)]) == [0, 1]
    committed = [t for t in h.log if t["end"] == "commit"]
    assert committed[-1]["writes"] == [("out", b"0-0"), ("dlq", b"dead")]


def fake_exit(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The codes the module would exit the process with; each raises Exited instead."""
    exits: list[int] = []

    def record(code: int) -> None:
        exits.append(code)
        raise Exited

    monkeypatch.setattr("workers.stream.seam.transactions.os._exit", record)
    return exits


async def test_commit_failures_past_the_deadline_exit_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = Harness()
    exits = fake_exit(monkeypatch)
    original = h.tx._factory

    def failing(transactional_id: str) -> Any:
        producer = original(transactional_id)
        producer.fail_commit = ConnectionError("broker gone")
        return producer

    h.tx._factory = failing
    with pytest.raises(Exited):
        await h.commit([msg(0, 0)])
    assert exits == [ExitCode.PRODUCE_FAILED]


async def test_a_retry_does_not_wait_for_the_producer_given_up_to_close() -> None:
    """The stop of a producer given up waits on the frozen node that failed it (it
    waited up to 10 s before the retry began); the producer made anew fences it."""
    h = Harness()
    original = h.tx._factory

    def first_fails(transactional_id: str) -> Any:
        producer = original(transactional_id)
        if len(h.producers) == 1:
            producer.fail_commit = ConnectionError("broker gone")
            producer.stop_hangs = True
        return producer

    h.tx._factory = first_fails
    assert await asyncio.wait_for(h.commit([msg(0, 0)]), 3) == [0]
    assert [p.stopped for p in h.producers] == [False, False]
    h.tx._closer.within = 0.1
    await asyncio.wait_for(h.tx.close(), 3)  # its close given up, bounded
    assert h.producers[1].stopped


async def test_a_stop_lets_the_commit_in_progress_end_and_leaves_no_transaction_open() -> None:
    """At a graceful stop: a batch committing ends its commit; a transaction begun and
    not committed is aborted (left open, it held every read_committed reader of its
    partitions back until the broker timed it out, 60 s); no batch begins one after."""
    h = Harness()
    await h.tx.fence({("src", 0), ("src", 1)})  # both producers begun on a transaction
    committing_one, idle_one = h.producers
    committing_one.hold = asyncio.Event()
    committing = asyncio.create_task(h.commit([msg(0, 0)]))
    await asyncio.wait_for(committing_one.waiting.wait(), 5)
    closing = asyncio.create_task(h.tx.close(within=5))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not closing.done() and not committing_one.stopped
    committing_one.hold.set()
    assert await asyncio.wait_for(committing, 5) == [0]
    await asyncio.wait_for(closing, 5)
    assert sorted((t["id"], t["end"]) for t in h.log) == [
        ("g-clean.src.0", "commit"),
        ("g-clean.src.1", "abort"),
    ]
    assert committing_one.stopped and idle_one.stopped
    assert await h.commit([msg(1, 0)]) == []  # read again by the partition's next owner
    assert len(h.producers) == 2 and len(h.log) == 2


async def test_a_stop_does_not_wait_past_its_bound_for_a_commit() -> None:
    """A commit stuck on a frozen node does not hold the stop past ``within``."""
    h = Harness()
    await h.tx.fence({("src", 0)})
    h.producers[0].hold = asyncio.Event()  # never set
    committing = asyncio.create_task(h.commit([msg(0, 0)]))
    await asyncio.wait_for(h.producers[0].waiting.wait(), 5)
    h.tx._closer.within = 0.1
    await asyncio.wait_for(h.tx.close(within=0.2), 5)
    assert h.producers[0].stopped and not h.log
    committing.cancel()


async def test_a_send_refused_as_not_in_transaction_is_a_failed_attempt() -> None:
    """aiokafka refuses a send with IllegalOperation once an earlier write ended the
    transaction (fenced mid-batch by the coordinator): the attempt fails with the
    error that ended it and is made again with a producer made anew. Raised as it
    was, it stopped the worker as a bug (seen with a frozen node, exactly_once)."""
    h = Harness()
    original = h.tx._factory

    def first_ends(transactional_id: str) -> Any:
        producer = original(transactional_id)
        if len(h.producers) == 1:

            async def refused(*_: Any, **__: Any) -> Any:
                raise IllegalOperation("Can't send messages while not in transaction")

            producer.send = refused
        return producer

    h.tx._factory = first_ends
    assert await asyncio.wait_for(h.commit([msg(0, 0)]), 5) == [0]
    assert len(h.producers) == 2 and h.log[-1]["end"] == "commit"


async def test_why_a_transaction_ended_is_the_error_aiokafka_kept() -> None:
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiter.set_exception(ProducerFenced())
    producer = SimpleNamespace(_txn_manager=SimpleNamespace(_transaction_waiter=waiter))
    refusal = IllegalOperation("Can't send messages while not in transaction")
    assert isinstance(why_ended(producer, refusal), ProducerFenced)
    assert isinstance(why_ended(SimpleNamespace(), refusal), TransactionEnded)


async def test_a_lost_partitions_producer_is_closed_after_its_commit_in_progress() -> None:
    """A rebalance that takes a partition away while its batch commits: the producer
    is closed only once that commit has ended, which then returns."""
    h = Harness()
    assert await h.commit([msg(0, 0)]) == [0]
    producer = h.producers[0]
    producer.hold = asyncio.Event()
    committing = asyncio.create_task(h.commit([msg(0, 1)]))
    await asyncio.wait_for(producer.waiting.wait(), 5)
    h.owned.clear()
    h.tx.assigned(set())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not producer.stopped, "closed while its commit was waiting on it"
    producer.hold.set()
    assert await asyncio.wait_for(committing, 5) == [0]
    for _ in range(5):
        await asyncio.sleep(0)
    assert producer.stopped and not producer.stopped_while_committing
    assert h.log[-1]["offsets"] == {("src", 0): 2}


async def test_a_transaction_that_never_ends_counts_as_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A commit that never returns is given up after the produce deadline, as one
    that keeps failing is: the worker exits, and its records are read again."""
    h = Harness()
    exits = fake_exit(monkeypatch)
    original = h.tx._factory

    def hanging(transactional_id: str) -> Any:
        producer = original(transactional_id)
        producer.hold = asyncio.Event()  # never set
        return producer

    h.tx._factory = hanging
    with pytest.raises(Exited):
        await asyncio.wait_for(h.commit([msg(0, 0)]), 10)
    assert exits == [ExitCode.PRODUCE_FAILED]
    assert all(p.stopped for p in h.producers)


def short_attempts() -> Settings:
    """An attempt given up after 0.4 s (twice the request timeout), the produce
    deadline a minute away."""
    return Settings(
        broker="127.0.0.1:9",
        group_id="g",
        stages="clean",
        session_timeout_s=0.2,
        heartbeat_interval_s=0.05,
        request_timeout_s=0.2,
        produce_deadline_s=60,
    )


async def test_a_transaction_whose_coordinator_froze_moves_on_well_before_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An EndTxn to a frozen coordinator hangs: the attempt is given up after the
    request timeout twice, not the produce deadline, and the producer made anew (which
    finds the new coordinator) commits the batch."""
    h = Harness(settings=short_attempts())
    exits = fake_exit(monkeypatch)
    original = h.tx._factory
    made = 0

    def first_hangs(transactional_id: str) -> Any:
        nonlocal made
        made += 1
        producer = original(transactional_id)
        if made == 1:
            producer.hold = asyncio.Event()  # never set: its coordinator is frozen
        return producer

    h.tx._factory = first_hangs
    loop = asyncio.get_running_loop()
    started = loop.time()
    done = await asyncio.wait_for(h.commit([msg(0, 0)]), 20)
    assert done == [0] and exits == []
    assert loop.time() - started < 5  # 0.4 s and a backoff, against a 60 s deadline
    assert made == 2 and h.producers[0].stopped


async def test_a_story_batch_whose_unanswered_commit_went_through_is_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A commit given up unanswered (a broker restarting, a frozen coordinator) may
    have gone through: the producer made anew reads its offset. The batch is done,
    and a story step keeps the state it committed; taken back, its table's next
    writes undercounted the trends by the batch's entities."""
    h = Harness(committed={("src", 0): 45}, settings=short_attempts())
    exits = fake_exit(monkeypatch)
    original = h.tx._factory
    made = 0
    landing: list[asyncio.Future[None]] = []

    def first_answers_late(transactional_id: str) -> Any:
        nonlocal made
        made += 1
        producer = original(transactional_id)
        if made == 1:
            producer.hold = asyncio.Event()  # the answer never comes back

            async def lands() -> None:  # but the broker commits it
                await producer.waiting.wait()
                h.committed[("src", 0)] = 47

            landing.append(asyncio.ensure_future(lands()))
        return producer

    h.tx._factory = first_answers_late
    await h.tx.fence({("src", 0)})
    batch = [msg(0, 45), msg(0, 46)]
    assert h.tx.fresh(batch) == [0, 1]
    state = [[], [Write("table", b"t", b"both")]]
    done = await asyncio.wait_for(h.commit(batch, state, whole=True), 20)
    assert done == [0, 1] and exits == []
    assert h.rewinds == []  # nothing of it is read again
    assert made == 2


async def test_a_broker_without_transactions_stops_the_worker_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aiokafka.errors import UnknownError

    h = Harness()
    exits = fake_exit(monkeypatch)
    original = h.tx._factory

    def refusing(transactional_id: str) -> Any:
        producer = original(transactional_id)

        async def begin() -> None:
            raise UnknownError()

        producer.begin_transaction = begin
        return producer

    h.tx._factory = refusing
    with pytest.raises(Exited):
        await h.commit([msg(0, 0)])
    assert exits == [ExitCode.CONFIG]  # at once, not after the produce deadline


async def test_fencing_makes_the_producers_of_owned_partitions_and_reads_their_offsets() -> None:
    h = Harness(committed={("src", 0): 5})
    await h.tx.fence({("src", 0), ("src", 2)})  # src[2] is not assigned here
    assert [p.id for p in h.producers] == ["g-clean.src.0"]
    batch = [msg(0, 4), msg(0, 5), msg(0, 5), msg(0, 6), msg(1, 0)]
    # below the committed offset, and a record handed over twice, are not handled
    assert h.tx.fresh(batch) == [1, 3, 4]
    await h.tx.fence({("src", 0)})  # already made: nothing new, and nothing begun twice
    assert len(h.producers) == 1
    assert await h.commit([batch[i] for i in (1, 3)]) == [0, 1]
    assert h.log[-1]["writes"] == [("out", b"0-5"), ("out", b"0-6")]
    assert h.log[-1]["offsets"] == {("src", 0): 7}


async def test_a_hole_left_at_the_end_of_a_partition_is_read_again() -> None:
    """A fenced batch that held a partition's last records: with nothing after it,
    no later batch finds the hole; the lag watch asks for it to be read again."""
    h = Harness(committed={("src", 0): 3})
    h.owned.discard(("src", 0))
    assert await h.commit([msg(0, 3), msg(0, 4)]) == []  # lost meanwhile: a hole at 3
    assert await h.tx.refill("src", 0) is False  # another worker's to do
    h.owned.add(("src", 0))  # and back here
    assert await h.tx.refill("src", 0) is True
    assert h.rewinds == [("src", 0, 3)]
    assert await h.commit([msg(0, 3), msg(0, 4)]) == [0, 1]  # read again: done
    assert await h.tx.refill("src", 0) is False


async def test_a_story_batch_is_committed_whole_or_read_again() -> None:
    """A story step's writes come from all of a partition's records together, and ride
    on its latest one. Where some of them were committed meanwhile (here: its producer
    made anew, reading a later offset), committing the others would commit the offset
    past writes that were never sent: nothing is committed, and the records not
    committed yet are read again."""
    h = Harness(committed={("src", 0): 45})
    await h.tx.fence({("src", 0)})
    batch = [msg(0, 50), msg(0, 51), msg(0, 45), msg(0, 46)]  # handed over out of order
    assert h.tx.fresh(batch) == [0, 1, 2, 3]
    state = [[], [Write("table", b"t", b"all four"), Write("out", b"o", b"x")], [], []]
    h.tx.assigned(set())  # a rebalance drops the producer; the partition comes back
    h.committed[("src", 0)] = 47  # after another worker committed 45 and 46
    assert await h.commit(batch, state, whole=True) == []
    assert h.log[-1]["end"] == "abort"
    assert not [t for t in h.log if t["end"] == "commit"]
    assert h.rewinds == [("src", 0, 50)]
    # read again, the step runs on the records not committed: all of them commit
    again = [msg(0, 50), msg(0, 51)]
    assert h.tx.fresh(again) == [0, 1]
    assert await h.commit(again, [[], [Write("table", b"t", b"two")]], whole=True) == [0, 1]
    assert h.log[-1]["writes"] == [("table", b"t")]
    assert h.log[-1]["offsets"] == {("src", 0): 52}


async def test_a_story_batch_all_committed_meanwhile_is_not_done_here() -> None:
    h = Harness(committed={("src", 0): 45})
    await h.tx.fence({("src", 0)})
    h.tx.assigned(set())
    h.committed[("src", 0)] = 60
    batch = [msg(0, 45), msg(0, 46)]
    assert await h.commit(batch, [[], [Write("table", b"t", b"x")]], whole=True) == []
    assert not [t for t in h.log if t["end"] == "commit"]
    assert h.rewinds == []  # nothing of it is left to read
    # records taken one by one are still committed in part (the stages' batches)
    assert await h.commit([msg(0, 59), msg(0, 60)]) == [0, 1]
    assert h.log[-1]["writes"] == [("out", b"0-60")]


async def test_while_the_cluster_is_away_failed_commits_wait_past_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A lost quorum (``excused``) lasts longer than the produce deadline: the worker
    waits instead of exiting, and the batch commits once the cluster is back."""
    h = Harness()
    exits = fake_exit(monkeypatch)
    troubles: list[BaseException | None] = []
    h.tx.trouble = troubles.append
    loop = asyncio.get_running_loop()
    back_at = loop.time() + 3.0  # three times the produce deadline
    h.tx.excused = lambda: loop.time() < back_at
    original = h.tx._factory

    def failing_until_back(transactional_id: str) -> Any:
        producer = original(transactional_id)
        if loop.time() < back_at:
            producer.fail_commit = ConnectionError("not enough replicas")
        return producer

    h.tx._factory = failing_until_back
    assert await asyncio.wait_for(h.commit([msg(0, 0)]), 30) == [0]
    assert exits == []
    assert troubles[-1] is None and isinstance(troubles[0], ConnectionError)
