"""Each change to Faust's behaviour, tested on Faust's own objects (no broker).

Every test here fails when its patch in workers.stream.seam.faust_compat is removed.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiokafka import TopicPartition
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from workers.codec import Message
from workers.pipeline import Pipeline
from workers.settings import Settings
from workers.stream.seam import faust_compat
from workers.stream.worker.app import StageAgents
from workers.stream.worker.process import create_app


def message(topic: str, partition: int, offset: int) -> ConsumerMessage:
    return ConsumerMessage(topic, partition, offset, 0.0, 0, None, b"k", b"v", None)


def test_version_guard() -> None:
    faust_compat.check_version("0.15.3")
    faust_compat.check_version("0.11.0")
    for unsupported in ("0.16.0", "0.10.9", "1.0.0"):
        with pytest.raises(faust_compat.UnsupportedFaust, match="written for"):
            faust_compat.check_version(unsupported)


def test_ack_guard_refuses_acks_for_unpublished_records() -> None:
    app = create_app(Settings(broker="127.0.0.1:9", stages="clean"))
    app.topics.acking_topics.add("t")
    done = {("t", 0, 0)}
    faust_compat.guard_acks(app, lambda topic, part, off: (topic, part, off) in done)
    consumer: Any = app.consumer  # Faust's private offsets are what is under test
    assert not consumer.ack(message("t", 0, 1))
    assert consumer.ack(message("t", 0, 0))
    assert consumer._new_offset(TP("t", 0)) == 1


def test_an_app_without_a_guard_acks_as_faust_does() -> None:
    app = create_app(Settings(broker="127.0.0.1:9", stages="tag"))
    app.topics.acking_topics.add("t")
    assert app.consumer.ack(message("t", 0, 3))


async def test_fetch_wait_reaches_the_stream_consumer() -> None:
    app = create_app(Settings(broker="127.0.0.1:9", stages="clean", fetch_max_wait_ms=123))
    thread = cast(Any, app.consumer)._thread
    consumer = thread._create_worker_consumer(app.transport)
    assert consumer._fetch_max_wait_ms == 123  # Faust alone: 1500


def test_worker_stop_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(Settings(broker="127.0.0.1:9", stages="clean"))
    worker = faust_compat.Worker(
        app, stop_timeout=0.05, exit_code=lambda: 70, loop=None, quiet=True, redirect_stdouts=False
    )
    exited = threading.Event()
    codes: list[int] = []

    def fake_exit(code: int) -> None:
        codes.append(code)
        exited.set()

    monkeypatch.setattr("workers.stream.seam.faust_compat.os._exit", fake_exit)
    monkeypatch.setattr(
        type(worker).__mro__[1], "_schedule_shutdown", lambda self, sig: None
    )  # Faust's own stop, not under test here
    worker._schedule_shutdown(signal.SIGTERM)
    assert exited.wait(5), "the stop was not bounded"
    assert codes == [70]


def test_worker_keeps_our_log_format(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(Settings(broker="127.0.0.1:9", stages="clean"))
    worker = faust_compat.Worker(
        app,
        stop_timeout=1,
        exit_code=lambda: 0,
        log_format="json",
        quiet=True,
        redirect_stdouts=False,
    )
    applied: list[Any] = []
    monkeypatch.setattr(type(worker).__mro__[1], "_setup_logging", lambda self: None)
    monkeypatch.setattr("workers.stream.ops.logs.apply", applied.append)
    worker._setup_logging()
    assert applied == ["json"]


async def test_table_manager_starts_without_faust_s_one_second_sleep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = create_app(Settings(broker="127.0.0.1:9", stages="clean"))
    tables: Any = app.tables
    assert isinstance(tables, faust_compat.TableManager)
    slept: list[float] = []
    started: list[str] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def step(name: str) -> None:
        started.append(name)

    monkeypatch.setattr(tables, "sleep", sleep)
    monkeypatch.setattr(tables, "_update_channels", lambda: step("channels"))
    monkeypatch.setattr(tables.recovery, "start", lambda: step("recovery"))
    await tables.on_start()
    assert slept == []
    assert started == ["channels", "recovery"]


async def test_recovery_reads_each_changelog_to_its_real_end() -> None:
    """A broker that reports the base offset of the last batch (plus one) as the end
    would have recovery stop short of that batch (patch 5)."""
    app = create_app(Settings(broker="127.0.0.1:9", stages="clean"))
    tables: Any = app.tables
    recovery: Any = tables.recovery
    assert isinstance(recovery, faust_compat.Recovery)
    short, exact = TP("t-changelog", 0), TP("t-changelog", 1)

    class Consumer:
        async def highwaters(self, *tps: TP) -> dict[TP, int]:
            return {short: 7, exact: 3}  # as reported: end offsets

    asked: list[dict[TP, int]] = []

    async def true_ends(reported: Any) -> dict[TP, int]:
        asked.append(dict(reported))
        return {short: 9, exact: 3}

    faust_compat.correct_end_offsets(app, true_ends)
    destination: Counter[TP] = Counter()
    await recovery._build_highwaters(Consumer(), {short, exact}, destination, "active")
    assert asked == [{short: 7, exact: 3}]
    assert dict(destination) == {short: 8, exact: 2}  # Faust keeps the last offset


@pytest.mark.parametrize("step", ["on_recovery_completed", "_resume_streams"])
async def test_streams_are_seeked_before_anything_is_fetched_from_them(step: str) -> None:
    """After recovery Faust resumed the stream partitions, then seeked them, with the
    fetcher running: a batch from the old position arrived after the seek and the
    records between were counted as a gap, committed unread (patch 7)."""
    app = create_app(Settings(broker="127.0.0.1:9", stages="clean"))
    tables: Any = app.tables
    recovery: Any = tables.recovery
    consumer: Any = app.consumer
    stream = TP("articles.raw", 0)
    consumer.resume_flow()  # as recovery leaves it after reading the changelogs
    seen: list[tuple[str, bool]] = []

    def resume_partitions(tps: Any) -> None:
        seen.append(("resume", consumer.flow_active))

    async def perform_seek() -> None:
        seen.append(("seek", consumer.flow_active))

    async def no_fetcher() -> bool:
        return False

    consumer.assignment = lambda: {stream}
    consumer.resume_partitions = resume_partitions
    consumer.perform_seek = perform_seek
    fetcher: Any = app._fetcher
    fetcher.maybe_start = no_fetcher
    await getattr(recovery, step)(generation_id=app.consumer_generation_id)
    assert seen == [("resume", False), ("seek", False)]  # nothing fetched in between
    assert consumer.flow_active  # and the flow is back once seeked


@pytest.mark.parametrize("client", ["producer", "consumer"])
async def test_faust_s_clients_retry_their_bootstrap_for_the_broker_wait(client: str) -> None:
    from aiokafka.errors import KafkaConnectionError

    app = create_app(Settings(broker="127.0.0.1:9", stages="clean", broker_wait_s=1.0))
    if client == "producer":
        made = cast(Any, app.producer)._new_producer()
        bootstrap = made.client.bootstrap
    else:
        made = cast(Any, app.consumer)._thread._create_consumer(asyncio.get_running_loop())
        bootstrap = made._client.bootstrap
    started = asyncio.get_running_loop().time()
    try:
        with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
            await bootstrap()
    finally:
        await made.stop()
    took = asyncio.get_running_loop().time() - started
    # backoff 0.1 + 0.2 + 0.4 s before the next wait would pass the second (Faust
    # alone: at once, after one refused connection); bounded, too
    assert 0.7 <= took < 30


async def test_offsets_committed_by_transactions_are_left_alone_by_faust(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = create_app(Settings(broker="127.0.0.1:9", stages="clean"))
    faust_compat.commit_by_transactions(app, {"src"})
    consumer: Any = app.consumer
    committed: list[dict[Any, int]] = []

    async def thread_commit(offsets: dict[Any, int]) -> bool:
        committed.append(dict(offsets))
        return True

    monkeypatch.setattr(consumer._thread, "commit", thread_commit)
    assert await consumer._commit({TP("src", 0): 5, TP("other", 1): 7})
    assert await consumer._commit({TP("src", 2): 9})  # nothing left: nothing sent
    assert committed == [{TP("other", 1): 7}]


async def test_consumer_of_transactional_input_reads_committed_records_only() -> None:
    plain = create_app(Settings(broker="127.0.0.1:9", stages="clean"))
    consumer = cast(Any, plain.consumer)._thread._create_worker_consumer(plain.transport)
    assert consumer._isolation_level == "read_uncommitted"
    app = create_app(Settings(broker="127.0.0.1:9", stages="tag"))
    faust_compat.commit_by_transactions(app, {"src"})
    consumer = cast(Any, app.consumer)._thread._create_worker_consumer(app.transport)
    assert consumer._isolation_level == "read_committed"


def test_drained_sees_records_handed_over_and_not_yet_acked() -> None:
    app = create_app(Settings(broker="127.0.0.1:9", stages="clean"))
    consumer: Any = app.consumer
    assert faust_compat.drained(app, TP("t", 0))
    held = message("t", 0, 4)
    consumer._unacked_messages.add(held)
    assert not faust_compat.drained(app, TP("t", 0))
    assert faust_compat.drained(app, TP("t", 1))


def test_the_livelock_check_leaves_table_changelogs_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(broker="127.0.0.1:9", stages="summarize", stories=True)
    app = create_app(settings)
    StageAgents(app, settings, Pipeline(settings))
    consumer: Any = app.consumer
    checked: list[TP] = []
    monkeypatch.setattr(consumer._thread, "verify_event_path", lambda now, tp: checked.append(tp))
    changelogs = sorted(app.tables.changelog_topics)
    assert changelogs  # the story tables' changelogs
    for topic in changelogs:
        consumer.verify_event_path(0.0, TP(topic, 0))
    consumer.verify_event_path(0.0, TP("articles.summarized", 0))
    assert checked == [TP("articles.summarized", 0)]  # Faust alone: every changelog too


async def test_batches_hand_over_each_take_as_the_stages_read_it() -> None:

    def event(offset: int) -> Any:
        message = SimpleNamespace(
            topic="t", partition=1, offset=offset, key=b"k", value=b"v", timestamp=12.5
        )
        return SimpleNamespace(message=message)

    class Stream:
        asked: tuple[int, float] | None = None

        async def take_events(self, size: int, within: float) -> Any:
            self.asked = (size, within)
            yield [event(0), event(1)]
            yield [event(2)]

    stream = Stream()
    got = [batch async for batch in faust_compat.batches(stream, 64, 0.5)]
    assert stream.asked == (64, 0.5)
    assert [[m.offset for m in batch] for batch in got] == [[0, 1], [2]]
    assert got[0][0] == Message("t", 1, 0, b"k", b"v", timestamp=12.5)


async def test_partitions_without_a_committed_offset_are_read_again_from_their_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a rebalance Faust drops the records it fetched and did not hand over, and
    seeks each partition to its committed offset; aiokafka leaves a partition with
    none (or 0) where its fetcher was, so its first records were never read."""
    settings = Settings(broker="127.0.0.1:9", stages="summarize", stories=True)
    app = create_app(settings)
    StageAgents(app, settings, Pipeline(settings))
    thread: Any = cast(Any, app.consumer)._thread
    changelog = sorted(app.tables.changelog_topics)[0]
    sought: list[tuple[Any, ...]] = []

    class FakeConsumer:
        async def seek_to_committed(self) -> dict[Any, int | None]:
            return {
                TopicPartition("src", 0): None,  # never committed
                TopicPartition("src", 1): 0,
                TopicPartition("src", 2): 17,  # aiokafka seeks this one itself
                TopicPartition(changelog, 0): None,  # recovery places the tables' own
            }

        async def seek_to_beginning(self, *partitions: Any) -> bool:
            sought.append(partitions)
            return True

    async def call_thread(fn: Callable[..., Any], *args: Any) -> Any:
        return await fn(*args)

    monkeypatch.setattr(thread, "_ensure_consumer", FakeConsumer)
    monkeypatch.setattr(thread, "call_thread", call_thread)
    committed = await thread.seek_to_committed()
    assert committed[TopicPartition("src", 2)] == 17  # handed back as Faust expects
    assert sought == [(TopicPartition("src", 0), TopicPartition("src", 1))]


@pytest.mark.parametrize("idempotent", [True, False])
async def test_the_producer_is_idempotent_where_the_broker_gives_producer_ids(
    idempotent: bool,
) -> None:
    """Faust makes its producer idempotent only for its own exactly-once processing:
    a send retried after a timeout could write its records twice (patch 14)."""
    app = create_app(Settings(broker="127.0.0.1:9", stages="clean"), idempotent=idempotent)
    made = cast(Any, app.producer)._new_producer()
    try:
        assert (made._txn_manager is not None) is idempotent  # aiokafka: idempotence on
        assert made.client._request_timeout_ms == 6_000  # ENRICH_REQUEST_TIMEOUT_S, not 20 min
    finally:
        await made.stop()


async def test_faust_s_consumer_waits_no_longer_than_the_request_timeout() -> None:
    app = create_app(Settings(broker="127.0.0.1:9", stages="clean", request_timeout_s=12))
    made = cast(Any, app.consumer)._thread._create_consumer(asyncio.get_running_loop())
    try:
        assert made._client._request_timeout_ms == 12_000  # Faust's own: 90 s
    finally:
        await made.stop()


async def test_a_session_timeout_longer_than_the_request_timeout_is_allowed() -> None:
    """Faust refuses session > request timeout (a rule for joins that wait a session;
    ours wait the rebalance timeout): docker-compose sets a 10 s session, the request
    timeout is 6 s, and the consumer keeps both."""
    settings = Settings(broker="127.0.0.1:9", stages="clean", session_timeout_s=10)
    app = create_app(settings)
    made = cast(Any, app.consumer)._thread._create_consumer(asyncio.get_running_loop())
    try:
        assert made._client._request_timeout_ms == 6_000
        assert made._request_timeout_ms == 6_000
        assert made._session_timeout_ms == 10_000
        assert app.conf.broker_request_timeout == 6.0
    finally:
        await made.stop()
