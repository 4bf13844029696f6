"""aiokafka's client under a frozen broker (patches 15 to 17, 20) and an idempotent
producer out of step (patch 19), without a broker: each test fails without its patch."""

from __future__ import annotations

import asyncio
import time
import types
import weakref
from typing import Any

import pytest
from aiokafka import conn as aiokafka_conn
from aiokafka.client import AIOKafkaClient, ConnectionGroup
from aiokafka.conn import AIOKafkaConnection
from aiokafka.errors import (
    KafkaConnectionError,
    OutOfOrderSequenceNumber,
    RequestTimedOutError,
    UnknownProducerId,
)
from aiokafka.producer.sender import SendProduceReqHandler
from aiokafka.producer.transaction_manager import TransactionManager
from aiokafka.protocol.group import HeartbeatRequest, JoinGroupRequest
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.structs import BrokerMetadata, TopicPartition

from workers.stream.seam import aiokafka_compat

aiokafka_compat.apply()


class Frozen:
    """A connection to a node that accepts requests and answers none."""

    def __init__(self) -> None:
        self.closed = False

    def send(self, request: Any, expect_response: bool = True) -> Any:
        return asyncio.wait_for(asyncio.get_running_loop().create_future(), 0.05)

    def close(self, reason: Any = None, exc: Any = None) -> None:
        self.closed = True


async def test_a_request_that_times_out_asks_for_fresh_metadata(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without it a consumer fetched from a frozen leader until the metadata's maximum
    age (five minutes), long after the cluster had moved the partition."""
    client = AIOKafkaClient(bootstrap_servers="127.0.0.1:9")
    updates: list[bool] = []

    async def ready(node_id: int, *, group: Any = ConnectionGroup.DEFAULT) -> bool:
        return True

    monkeypatch.setattr(client, "ready", ready)
    monkeypatch.setattr(client, "force_metadata_update", lambda: updates.append(True))
    client._conns[(1, ConnectionGroup.DEFAULT)] = Frozen()
    with pytest.raises(RequestTimedOutError):
        await client.send(1, MetadataRequest([]))
    assert updates == [True]
    assert client._conns[(1, ConnectionGroup.DEFAULT)].closed  # aiokafka's own, kept


class Writer:
    def write(self, data: bytes) -> None:
        pass


@pytest.mark.parametrize(
    ("request_timeout_ms", "sent", "waited_s"),
    [
        # the broker holds a JoinGroup up to the rebalance timeout (here 10 s)
        (6000, JoinGroupRequest("g", 6000, 10000, "", "", "consumer", []), 15.0),
        (30000, JoinGroupRequest("g", 6000, 10000, "", "", "consumer", []), 30.0),
        (6000, HeartbeatRequest("g", 1, "m"), 6.0),  # every other request: as set
    ],
)
async def test_a_join_is_waited_for_as_long_as_the_broker_may_hold_it(
    monkeypatch: pytest.MonkeyPatch, request_timeout_ms: int, sent: Any, waited_s: float
) -> None:
    waits: list[float] = []

    def wait_for(fut: Any, timeout: float) -> Any:
        waits.append(timeout)
        return _answer()

    monkeypatch.setattr(aiokafka_conn, "wait_for", wait_for)
    conn = AIOKafkaConnection("127.0.0.1", 9, request_timeout_ms=request_timeout_ms)
    conn._writer = Writer()
    conn._versions = {JoinGroupRequest.API_KEY: (0, 5), HeartbeatRequest.API_KEY: (0, 1)}
    await conn.send(sent)
    await conn.send(HeartbeatRequest("g", 1, "m"))  # the next request: the usual timeout
    assert waits == [waited_s, request_timeout_ms / 1000]


async def test_an_address_that_left_a_request_unanswered_is_asked_last_at_bootstrap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A frozen first address cost every new client the request timeout."""
    monkeypatch.setattr(aiokafka_compat, "_unanswered", {})
    servers = "127.0.0.1:9001,127.0.0.1:9002,127.0.0.1:9003"
    conn = AIOKafkaConnection("127.0.0.1", 9002, request_timeout_ms=50)
    conn._writer = Writer()
    conn._versions = {HeartbeatRequest.API_KEY: (0, 1)}
    with pytest.raises(TimeoutError):
        await conn.send(HeartbeatRequest("g", 1, "m"))  # never answered
    for _ in range(20):  # whatever aiokafka's shuffle gives
        hosts = AIOKafkaClient(bootstrap_servers=servers).hosts
        assert [port for _, port, _ in hosts][-1] == 9002
    answered = AIOKafkaConnection("127.0.0.1", 9002, request_timeout_ms=50)
    monkeypatch.setattr(aiokafka_conn, "wait_for", lambda fut, timeout: _answer())
    answered._writer = Writer()
    answered._versions = {HeartbeatRequest.API_KEY: (0, 1)}
    await answered.send(HeartbeatRequest("g", 1, "m"))  # it answers again
    orders = {
        tuple(port for _, port, _ in AIOKafkaClient(bootstrap_servers=servers).hosts)
        for _ in range(50)
    }
    assert any(order[-1] != 9002 for order in orders)


async def _answer() -> str:
    return "answer"


class Sender:
    """What a produce response's handler reads of aiokafka's sender."""

    _retry_backoff = 0.1
    client = None

    def __init__(self, manager: TransactionManager) -> None:
        self._txn_manager = manager


class Batch:
    def __init__(self) -> None:
        self.failed: BaseException | None = None

    def failure(self, exception: BaseException) -> None:
        self.failed = exception

    def done(self, offset: int, timestamp: int, log_start_offset: int) -> None:
        pass


class ProduceResponse:
    API_VERSION = 7

    def __init__(self, tp: TopicPartition, error_code: int) -> None:
        self.topics = [(tp.topic, [(tp.partition, error_code, -1, -1, -1)])]


@pytest.mark.parametrize("error", [OutOfOrderSequenceNumber, UnknownProducerId])
async def test_an_idempotent_producer_out_of_step_asks_for_a_new_producer_id(
    error: type[Exception],
) -> None:
    """A batch expired without a leader took a sequence number and was never sent:
    without a new id every later batch to its partition was refused, for good."""
    tp = TopicPartition("articles.tagged", 1)
    manager = TransactionManager(None, 60000)  # idempotent, no transactions
    manager.set_pid_and_epoch(7, 0)
    manager.increment_sequence_number(tp, 24)  # the expired batch's, never sent
    batch = Batch()
    SendProduceReqHandler(Sender(manager), {tp: batch}).handle_response(
        ProduceResponse(tp, error.errno)  # type: ignore[attr-defined]
    )
    assert isinstance(batch.failed, error)  # refused: the caller sends it again
    assert not manager.has_pid()  # the sender asks for a new id first
    assert manager.sequence_number(tp) == 0
    manager.set_pid_and_epoch(8, 0)  # the broker's answer
    assert (manager.producer_id, manager.sequence_number(tp)) == (8, 0)


@pytest.mark.parametrize(("transactional_id", "error_code"), [("t-1", 45), (None, 0)])
async def test_a_transactional_producer_or_a_batch_taken_keeps_its_producer_id(
    transactional_id: str | None, error_code: int
) -> None:
    tp = TopicPartition("articles.tagged", 1)
    manager = TransactionManager(transactional_id, 60000)
    manager.set_pid_and_epoch(7, 0)
    SendProduceReqHandler(Sender(manager), {tp: Batch()}).handle_response(
        ProduceResponse(tp, error_code)
    )
    assert manager.producer_id == 7


def _three_nodes(monkeypatch: pytest.MonkeyPatch, frozen: set[int]) -> AIOKafkaClient:
    """A client that knows three nodes, ``frozen`` among them having left a request
    unanswered."""
    monkeypatch.setattr(aiokafka_compat, "_unanswered", {})
    client = AIOKafkaClient(bootstrap_servers="127.0.0.1:9001")
    client.cluster._brokers = {n: BrokerMetadata(n, "127.0.0.1", 9000 + n, None) for n in (1, 2, 3)}
    for n in frozen:
        aiokafka_compat._unanswered[("127.0.0.1", 9000 + n)] = time.monotonic()
    return client


async def test_a_request_for_any_node_goes_to_one_that_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A coordinator's lookup or an admin request went to a frozen node a third of the
    time, each waiting the request timeout."""
    client = _three_nodes(monkeypatch, frozen={2})
    assert {client.get_random_node() for _ in range(60)} == {1, 3}
    everyone_frozen = _three_nodes(monkeypatch, frozen={1, 2, 3})
    assert everyone_frozen.get_random_node() in {1, 2, 3}  # still one to ask


async def test_a_metadata_refresh_asks_a_node_that_did_not_answer_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = _three_nodes(monkeypatch, frozen={2})
    asked: list[int] = []

    class Refusing:
        def __init__(self, node_id: int) -> None:
            self.node_id = node_id

        async def send(self, request: Any) -> Any:
            asked.append(self.node_id)
            raise KafkaConnectionError("refused")

    async def get_conn(node_id: int, **_: Any) -> Refusing:
        return Refusing(node_id)

    monkeypatch.setattr(client, "_get_conn", get_conn)
    for _ in range(30):
        asked.clear()
        assert not await client._metadata_update(client.cluster, [])
        assert sorted(asked[:2]) == [1, 3] and asked[2] == 2


class Conn:
    """A connection with a request waiting on its answer."""

    def __init__(self, port: int) -> None:
        self.host, self.port = "127.0.0.1", port
        self.waiting: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def connected(self) -> bool:
        return not self.waiting.done()

    def close(self, reason: Any = None, exc: Any = None) -> None:
        if not self.waiting.done():
            self.waiting.set_exception(KafkaConnectionError("closed"))


def _open(client: AIOKafkaClient, refreshes: list[int], fenced: set[int]) -> None:
    """The client open on this loop: a node it asks lists the brokers but those of
    ``fenced``, and its metadata refreshed (counted) drops them."""

    async def send(node_id: int, request: Any, **_: Any) -> Any:
        assert node_id not in fenced and node_id != 2  # asked of a node that answers
        brokers = [(n, "127.0.0.1", 9000 + n, None) for n in (1, 2, 3) if n not in fenced]
        return types.SimpleNamespace(brokers=brokers)

    def force_metadata_update() -> None:
        refreshes.append(1)
        for n in fenced:
            client.cluster._brokers.pop(n, None)

    client.send = send
    client.force_metadata_update = force_metadata_update
    client._sync_task = asyncio.create_task(asyncio.sleep(3600))
    aiokafka_compat._clients.add(client)


async def test_a_node_the_cluster_fenced_is_left_by_every_client_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without it each client waited on the frozen node until its own request timed
    out, one after another, long after the cluster had moved its partitions."""
    monkeypatch.setattr(aiokafka_compat, "_clients", weakref.WeakSet())
    fenced: set[int] = set()
    first = _three_nodes(monkeypatch, frozen={2})
    second = AIOKafkaClient(bootstrap_servers="127.0.0.1:9001")
    second.cluster._brokers = dict(first.cluster._brokers)
    refreshes: list[int] = []
    _open(first, refreshes, fenced)
    _open(second, refreshes, fenced)
    waits = {name: Conn(9002) for name in ("first", "second")}
    first._conns[(2, ConnectionGroup.DEFAULT)] = waits["first"]
    second._conns[(2, ConnectionGroup.DEFAULT)] = waits["second"]
    second._conns[(1, ConnectionGroup.DEFAULT)] = answering = Conn(9001)
    address = ("127.0.0.1", 9002)
    try:
        # frozen, not yet fenced: watched on, nothing left
        assert await aiokafka_compat.check(address)
        assert not any(w.waiting.done() for w in waits.values())
        assert refreshes == []
        fenced.add(2)  # the controller fences it and moves its partitions
        assert not await aiokafka_compat.check(address)
        for conn in waits.values():
            with pytest.raises(KafkaConnectionError):
                conn.waiting.result()  # failed at once: retried on fresh metadata
        assert not answering.waiting.done()
        assert refreshes == [1, 1]  # each client listed it: each refreshes
        assert not await aiokafka_compat.check(address)  # no client lists it: done
    finally:
        for client in (first, second):
            client._sync_task.cancel()
