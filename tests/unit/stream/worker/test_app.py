"""The Kafka plumbing's commit rule, on Faust's own consumer (no broker needed)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from workers.pipeline import Message, Pipeline
from workers.settings import Settings
from workers.stream.worker.app import StageAgents
from workers.stream.worker.process import create_app


def message(topic: str, partition: int, offset: int) -> ConsumerMessage:
    return ConsumerMessage(topic, partition, offset, 0.0, 0, None, b"k", b"v", None)


async def test_a_record_counts_as_done_only_once_its_outputs_are_published() -> None:
    settings = Settings(broker="127.0.0.1:9", stages="clean")
    app = create_app(settings)
    agents = StageAgents(app, settings, Pipeline(settings))
    consumer: Any = app.consumer  # Faust's private offsets are what is under test
    raw = settings.topic_raw
    app.topics.acking_topics.add(raw)  # as subscribing the agent does

    # Faust acks records no agent finished (a stream draining at a stop, records
    # skipped in a rebalance); those acks must not make the offsets committable.
    for offset in (0, 1, 2):
        assert not consumer.ack(message(raw, 0, offset))
    assert consumer._new_offset(TP(raw, 0)) is None

    agents.mark_published([Message(raw, 0, 0, b"k", b"v"), Message(raw, 0, 1, b"k", b"v")])
    assert consumer.ack(message(raw, 0, 0))
    assert consumer.ack(message(raw, 0, 1))
    assert not consumer.ack(message(raw, 0, 2))
    assert consumer._new_offset(TP(raw, 0)) == 2  # the next to read: offset 2 is not done

    # another partition's mark is its own
    assert not consumer.ack(message(raw, 1, 0))
    # topics the stages do not read are Faust's business
    app.topics.acking_topics.add("elsewhere")
    assert consumer.ack(message("elsewhere", 0, 5))


async def test_marks_and_lag_follow_the_current_assignment() -> None:
    """A partition that comes back after another worker read it must not keep this
    worker's old mark: that showed as phantom lag and failed /health when idle."""
    settings = Settings(broker="127.0.0.1:9", stages="clean")
    app = create_app(settings)
    agents = StageAgents(app, settings, Pipeline(settings))
    raw = settings.topic_raw
    agents.mark_published([Message(raw, 0, 40, b"k", b"v"), Message(raw, 1, 7, b"k", b"v")])
    agents.observer.partition_lag(raw, 1, 87)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(type(app.consumer), "assignment", lambda self: {TP(raw, 0)})
        await agents._on_assigned(app.consumer)
    assert agents.next_offset == {(raw, 0): 41}
    assert agents.observer.lag == {}
    assert agents.observer.partitions == {(raw, 0)}


async def test_a_record_refused_for_good_is_dead_lettered_not_retried() -> None:
    from aiokafka.errors import MessageSizeTooLargeError, RequestTimedOutError

    from workers.pipeline import Dead, Forward

    settings = Settings(broker="127.0.0.1:9", stages="clean", produce_deadline_s=30)
    app = create_app(settings)
    agents = StageAgents(app, settings, Pipeline(settings))
    sent: list[tuple[str, bytes]] = []
    flaky = {"left": 1}

    async def send(topic: object, key: bytes, value: bytes) -> None:
        name = topic.get_topic_name()  # type: ignore[attr-defined]
        if len(value) > 1000:
            raise MessageSizeTooLargeError("too big")
        if key == b"flaky" and flaky["left"]:
            flaky["left"] -= 1
            raise RequestTimedOutError()
        sent.append((name, key))

    agents._send = send  # type: ignore[method-assign]
    msgs = [
        Message(settings.topic_raw, 0, i, k, b"{}")
        for i, k in enumerate([b"small", b"huge", b"flaky"])
    ]
    outcomes = [
        Forward(key="small", record=None, value=b"x"),  # type: ignore[arg-type]
        Forward(key="huge", record=None, value=b"x" * 5000),  # type: ignore[arg-type]
        Forward(key="flaky", record=None, value=b"y"),  # type: ignore[arg-type]
    ]
    final = await agents.publish("clean", msgs, outcomes)
    assert isinstance(final[1], Dead)
    assert final[1].record.code == "too_large" and "refused" in final[1].record.message
    assert final[1].record.source.offset == 1
    assert sorted(sent) == sorted(
        [
            (settings.topic_cleaned, b"small"),
            (settings.topic_dlq, b"huge"),
            (settings.topic_cleaned, b"flaky"),
        ]
    )


async def test_a_story_write_refused_for_good_is_a_dead_letter_not_a_crash() -> None:
    """Once a band answer carrying a 1 MiB id made a 22 MB write: the worker retried
    it until its deadline and exited, then again after every restart."""
    from aiokafka.errors import MessageSizeTooLargeError

    settings = Settings(
        broker="127.0.0.1:9", stages="summarize", stories=True, produce_deadline_s=30
    )
    app = create_app(settings)
    agents = StageAgents(app, settings, Pipeline(settings))
    sent: list[tuple[str, bytes, bytes]] = []

    async def send(topic: object, key: bytes, value: bytes) -> None:
        if len(value) > 100_000:
            raise MessageSizeTooLargeError("too big")
        sent.append((topic.get_topic_name(), key, value))  # type: ignore[attr-defined]

    agents._send = send  # type: ignore[method-assign]
    huge = b'{"id": "a", "answers": [' + b"1," * 200_000 + b"1]}"
    await asyncio.wait_for(
        agents.send_all([("story_matches", b"a", huge), ("enriched", b"b", b"{}")]), 10
    )
    assert [(t, k) for t, k, _ in sent] == [
        (settings.topic_enriched, b"b"),
        (settings.topic_dlq, b"a"),
    ]
    letter = orjson.loads(sent[1][2])
    assert letter["code"] == "too_large" and settings.topic_story_matches in letter["message"]
    assert letter["source"]["topic"] == settings.topic_story_matches
    assert len(sent[1][2]) < 64 * 1024  # the original cut short


async def test_a_worker_joins_while_its_pipeline_loads_and_is_ready_once_both_are_done() -> None:
    import asyncio
    from concurrent.futures import Future

    settings = Settings(broker="127.0.0.1:9", stages="clean")
    app = create_app(settings)
    loading: Future[Pipeline] = Future()
    agents = StageAgents(app, settings, loading, launched=0.0)
    raw = settings.topic_raw
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(type(app.consumer), "assignment", lambda self: {TP(raw, 0)})
        await agents._on_assigned(app.consumer)
    assert agents.observer.ready()[1]["status"] == "loading the model"
    assert "ready" not in agents.times and "joined" in agents.times

    waiting = asyncio.ensure_future(agents._await_pipeline())
    await asyncio.sleep(0)
    assert not waiting.done()  # it waits for the pipeline, not a fixed time
    loading.set_result(Pipeline(settings))
    await asyncio.wait_for(waiting, timeout=10)
    assert agents.observer.ready()[0]
    assert agents.pipeline is loading.result()
    assert agents.times["ready"] >= agents.times["joined"]
    assert agents.times["ready"] >= agents.times["loaded"]


async def test_the_story_steps_follow_the_last_stage_of_the_table() -> None:
    """Stories hang on the table, not on a stage's name: with a stage added after
    summarize, that stage's records wait for their story in its own topic."""
    from schemas.models import EnrichedArticle, TaggedArticle
    from workers import stage_table
    from workers.errors import ConfigError

    settings = Settings(broker="127.0.0.1:9", stages="summarize", stories=True)
    agents = StageAgents(create_app(settings), settings, Pipeline(settings))
    assert agents.dest("summarize") == "summarized"
    assert settings.topic_summarized in agents.sources
    plain = Settings(broker="127.0.0.1:9", stages="summarize")
    assert StageAgents(create_app(plain), plain, Pipeline(plain)).dest("summarize") == "enriched"

    def run(pipeline: Any, messages: Any) -> list[Any]:
        return list(pipeline.each("tidy", messages, lambda record, now: record))

    for writes in (EnrichedArticle, TaggedArticle):
        tidy = stage_table.StageRow(
            "tidy", EnrichedArticle, writes, "tidied", (), "", run=run, version="1"
        )
        stage_table.register(tidy, after="summarize")
        try:
            settings = Settings(broker="127.0.0.1:9", stages="summarize,tidy", stories=True)
            if writes is TaggedArticle:  # the steps read enriched records
                with pytest.raises(ConfigError, match="'tidy' writes TaggedArticle"):
                    StageAgents(create_app(settings), settings, Pipeline(settings))
                continue
            agents = StageAgents(create_app(settings), settings, Pipeline(settings))
            assert agents.dest("summarize") == "summarized"  # to tidy, as without stories
            assert agents.dest("tidy") == "tidied"  # to the story steps
            tidied = settings.plugin_topic("tidied")
            assert tidied in agents.sources and settings.topic_summarized in agents.sources
            assert agents.observer.sources[tidied] == "tidy"
        finally:
            stage_table.unregister("tidy")


async def test_a_send_that_hangs_counts_as_failed_and_the_produce_deadline_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A send to a frozen leader never fails: it was awaited without a bound, and the
    produce deadline (checked only after a failure) never came."""
    import os

    settings = Settings(
        broker="127.0.0.1:9",
        stages="clean",
        session_timeout_s=0.1,
        heartbeat_interval_s=0.05,
        request_timeout_s=0.2,
        produce_deadline_s=1.0,
    )
    agents = StageAgents(create_app(settings), settings, Pipeline(settings))
    exits: list[int] = []

    def exit_now(code: int) -> None:
        exits.append(code)
        raise asyncio.CancelledError  # ends _deliver where the process would end

    monkeypatch.setattr(os, "_exit", exit_now)

    async def hangs(item: int) -> None:
        await asyncio.Event().wait()

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(agents._deliver([1, 2], hangs, lambda *_: None, "clean"), 30)
    assert exits == [75]  # PRODUCE_FAILED, past the deadline
    assert 1.0 <= loop.time() - started < 10


async def test_while_the_quorum_is_lost_the_produce_deadline_waits_and_counts_anew(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two of three brokers away: output cannot be published, yet the worker waits
    (the broker-lost exit bounds that wait), and publishes once the cluster is back."""
    import os

    settings = Settings(
        broker="a:9092,b:9092,c:9092",
        stages="clean",
        session_timeout_s=0.1,
        heartbeat_interval_s=0.05,
        request_timeout_s=0.2,
        produce_deadline_s=0.5,
    )
    agents = StageAgents(create_app(settings), settings, Pipeline(settings))
    exits: list[int] = []
    monkeypatch.setattr(os, "_exit", exits.append)
    agents.observer.broker_check(True, answered=1, asked=3)
    loop = asyncio.get_running_loop()
    back_at = loop.time() + 2.0  # four times the produce deadline
    sent: list[int] = []

    async def send(item: int) -> None:
        if loop.time() < back_at:
            raise ConnectionError("not enough replicas")
        if agents.observer.brokers_answering != (3, 3):
            agents.observer.broker_check(True, answered=3, asked=3)
        sent.append(item)

    assert await asyncio.wait_for(agents._deliver([1, 2], send, lambda *_: None, "clean"), 30)
    assert exits == []
    assert sorted(sent) == [1, 2]
    assert agents.observer.publish_failing is None
    # with the quorum there, the same failure exits past the deadline
    agents.observer.broker_check(True, answered=3, asked=3)

    async def fails(item: int) -> None:
        raise ConnectionError("not enough replicas")

    def exit_(code: int) -> None:
        exits.append(code)
        raise asyncio.CancelledError

    monkeypatch.setattr(os, "_exit", exit_)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(agents._deliver([1], fails, lambda *_: None, "clean"), 30)
    assert exits == [75]


async def test_a_send_given_up_by_the_bounded_wait_is_left_to_end_on_its_own() -> None:
    """The bounded wait of ``_deliver`` cancelled the client's own future of a send it
    gave up; the record was sent anyway, and Faust's callback on that future logged a
    CancelledError at ERROR, once per record (over a hundred per frozen node). The
    send is left to end: its result, or its error, reaches Faust as usual."""
    loop = asyncio.get_running_loop()
    client_future: asyncio.Future[str] = loop.create_future()
    ended: list[asyncio.Future[str]] = []
    client_future.add_done_callback(ended.append)

    class Topic:
        async def send(self, key: bytes, value: bytes) -> asyncio.Future[str]:
            return client_future

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(StageAgents._send(Topic(), b"k", b"v"), 0.05)  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert not client_future.cancelled()
    client_future.set_result("sent later")
    await asyncio.sleep(0)
    assert [f.result() for f in ended] == ["sent later"]
