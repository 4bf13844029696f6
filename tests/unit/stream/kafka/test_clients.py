"""TLS and SASL settings reach every Kafka client, the workers' included; the one retry
policy."""

from __future__ import annotations

import asyncio
import ssl
import time
import types
from typing import Any, cast

import faust
import pytest
from aiokafka import TopicPartition

from workers.errors import NotFound
from workers.settings import Settings
from workers.stream.kafka import clients
from workers.stream.kafka.connection import client_options, faust_credentials


def test_plaintext_by_default() -> None:
    s = Settings(broker="k:9092")
    assert client_options(s) == {
        "bootstrap_servers": "k:9092",
        "security_protocol": "PLAINTEXT",
        "request_timeout_ms": 6000,  # ENRICH_REQUEST_TIMEOUT_S: every request bounded
    }
    assert faust_credentials(s) is None


def test_sasl_scram_over_tls() -> None:
    s = Settings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="svc",
        sasl_password="pw",  # type: ignore[arg-type]
        ssl_check_hostname=False,
    )
    opts = client_options(s)
    assert opts["security_protocol"] == "SASL_SSL"
    assert opts["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (opts["sasl_plain_username"], opts["sasl_plain_password"]) == ("svc", "pw")
    assert isinstance(opts["ssl_context"], ssl.SSLContext)
    assert opts["ssl_context"].check_hostname is False
    creds = faust_credentials(s)
    assert isinstance(creds, faust.SASLCredentials)
    assert creds.mechanism.value == "SCRAM-SHA-512"
    assert creds.protocol.value == "SASL_SSL"


def test_tls_only() -> None:
    s = Settings(security_protocol="SSL")
    assert client_options(s)["security_protocol"] == "SSL"
    assert isinstance(faust_credentials(s), faust.SSLCredentials)


async def test_the_one_backoff_doubles_up_to_its_most_and_ends_at_its_deadline() -> None:
    now = [100.0]
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        now[0] += seconds

    backoff = clients.Backoff(10.0, first=0.5, most=2.0, clock=lambda: now[0], sleep=sleep)
    while not backoff.spent():
        await backoff.wait()
    assert waited == [0.5, 1.0, 2.0, 2.0, 2.0, 2.0]  # 9.5 s; the next would end past 10
    assert now[0] - 100.0 <= 10.0


def test_not_enough_replicas_is_retried_never_dead_lettered() -> None:
    """A write that reaches fewer replicas than min.insync.replicas (a broker of
    three lost) is a wait, not a bad record."""
    from aiokafka import errors

    for error in (errors.NotEnoughReplicasError, errors.NotEnoughReplicasAfterAppendError):
        assert not issubclass(error, clients.REFUSED_FOR_GOOD)
        assert error.retriable


class Stopping:
    """A producer whose stop waits on a frozen node, ``hangs`` times, then returns."""

    def __init__(self, hangs: bool) -> None:
        self.hangs = hangs
        self.stopped = asyncio.Event()

    async def stop(self) -> None:
        if self.hangs:
            await asyncio.Event().wait()
        self.stopped.set()


async def test_a_producer_given_up_is_closed_aside_and_bounded() -> None:
    """A transaction's producer made anew waited up to 10 s for the old one's stop,
    which waits on a frozen node, before its retry could begin."""
    closer = clients.Closer(within=0.2)
    frozen, fine, held = Stopping(hangs=True), Stopping(hangs=False), Stopping(hangs=False)
    lock = asyncio.Lock()
    await lock.acquire()  # the commit in progress that last used ``held``
    for producer, after in ((frozen, None), (fine, None), (held, lock)):
        closer.close(cast(Any, producer), after=after)  # returns at once
    await asyncio.wait_for(fine.stopped.wait(), 1)
    assert not held.stopped.is_set()
    lock.release()
    await asyncio.wait_for(held.stopped.wait(), 1)
    await asyncio.wait_for(closer.wait(), 1)  # the frozen one: given up after ``within``
    assert not frozen.stopped.is_set()


class _Metadata:
    """What a node answers: the topics it knows, each with partitions 0 and 1."""

    def __init__(self, topics: set[str]) -> None:
        self._topics = topics

    def topics(self) -> set[str]:
        return self._topics

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return {0, 1} if topic in self._topics else None


def _consumer(answers: list[set[str]]) -> Any:
    """A consumer whose metadata requests are answered in turn by ``answers`` (the
    last one again once they run out)."""

    async def fetch_all_metadata() -> _Metadata:
        return _Metadata(answers.pop(0) if len(answers) > 1 else answers[0])

    client = types.SimpleNamespace(fetch_all_metadata=fetch_all_metadata)
    return types.SimpleNamespace(_client=client, partitions_for_topic=lambda _: None)


async def test_a_topic_one_node_does_not_know_yet_is_asked_about_again() -> None:
    # a node just restarted answered from metadata older than the topic: the cluster
    # tests' read of the dead letters failed as if it did not exist
    consumer = _consumer([{"other"}, {"other"}, {"other", "articles.dlq"}])
    parts = await clients.topic_partitions(consumer, "articles.dlq")
    assert parts == [TopicPartition("articles.dlq", 0), TopicPartition("articles.dlq", 1)]


async def test_a_topic_no_node_knows_is_said_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "MISSING_CONFIRM_S", 0.3)
    started = time.monotonic()
    with pytest.raises(NotFound, match=r"'articles\.nope' does not exist; existing topics: other"):
        await clients.topic_partitions(_consumer([{"other"}]), "articles.nope")
    assert time.monotonic() - started >= 0.3
