"""Changes to aiokafka's client, for a broker that freezes (a long GC pause, a stuck
disk): it accepts connections and answers nothing, while the other nodes of its
cluster move its partitions' leadership and its groups elsewhere; and for a
partition that had no leader for a while.

15. **Fresh metadata after a request fails at the transport level**
    (``AIOKafkaClient.send``). A fetch that timed out was retried against the same
    node, with the same metadata, until the metadata's maximum age (five minutes):
    a consumer (the workers' streams, and table recovery, which reads through the
    same consumer) stayed on the frozen leader long after the cluster had moved its
    partitions. A request that times out, or whose connection breaks or cannot be
    made, now asks for fresh metadata (at most once a second per client), as the
    Java client's network layer does on a disconnect. No upstream issue found;
    aio-libs/aiokafka#1155 is the neighbouring case (a fetch answered
    NotLeaderForPartition).
16. **A JoinGroup waited for as long as the broker may hold it**
    (``AIOKafkaConnection.send``). The group coordinator answers a JoinGroup once
    every member has joined, or after the rebalance timeout; aiokafka waits for it
    no longer than any other request. With a request timeout short enough to leave
    a frozen node quickly, a member would give up a join the broker was still
    holding, and join again, without end. It is now waited for up to the rebalance
    timeout plus 5 s, when that is longer, as the Java client does.
17. **A bootstrap address that did not answer goes last** (``AIOKafkaClient.hosts``).
    A new client asks the bootstrap addresses in turn (shuffled), each for up to the
    request timeout: a client made while a node is frozen (a transactional producer
    made anew, a reader of where the changelogs end, an admin client) paid that
    timeout whenever that address came first. An address that left a request
    unanswered within the last ``UNANSWERED_FOR_S`` is now asked last.
19. **An idempotent producer out of step takes a new producer id**
    (``SendProduceReqHandler.handle_response``). A batch of an idempotent producer
    (``at_least_once``) that finds no leader for its partition until it expires
    is failed with a sequence number taken and never sent; the broker then
    refuses every later batch to that partition as ``OutOfOrderSequenceNumber``,
    an error aiokafka never retries, so every later send failed until the worker
    gave up (exit 75), as after a broker restart. The Java client takes a new
    producer id in this case; now so does aiokafka: after an
    ``OutOfOrderSequenceNumber`` or ``UnknownProducerId`` the sender asks for a
    new id before it sends again, and the records refused are sent again by the
    caller (``WorkerApp._deliver``). Transactional producers are left alone: the
    transaction layer makes a new producer. No upstream issue found.
20. **Any node's request sent to one that answers** (``AIOKafkaClient.get_random_node``,
    ``AIOKafkaClient._metadata_update``). What any node can answer (a coordinator's
    lookup, a metadata refresh, an admin request) went to a node picked at random:
    with one of three frozen, a third of them waited the request timeout first, and
    a transaction's few such requests added those waits up, some beyond its
    attempt's bound, while the rest of the cluster answered. A node whose address
    left a request unanswered (as in 17) is now picked last, or not at all where
    another is known; the next request it answers makes it a node like the others.

21. **A node the cluster has fenced is left by every client at once**
    (``AIOKafkaClient.bootstrap``, ``_watched``). A worker has many clients (its
    consumer, a producer per source partition under exactly_once, admin clients),
    each with metadata of its own, and each learnt that the cluster had moved a
    frozen node's partitions only when one of its own requests to that node timed
    out: a producer whose last refresh predated the move sent its next batch to the
    frozen node and waited the request timeout, one client after another, one stage
    after another. A batch's transaction waited the request timeout more than once,
    and output after a freeze came in a trickle, up to 36 s after it. Now, while an
    address has left a request unanswered and the cluster still lists it, a node that
    answers is asked each ``REFRESH_EVERY_S`` which brokers the cluster lists; once it
    no longer lists it (the controller fenced the node, and moved its partitions),
    every client closes its connections to it, which fails the requests waiting on
    it at once (retried on fresh metadata), and refreshes its metadata. No upstream
    issue found.

``apply()`` installs them, once per process (``faust_compat.apply`` calls it). Each
has a unit test that fails without it (tests/unit/stream/seam/test_aiokafka_compat.py).
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
import weakref
from contextvars import ContextVar
from typing import Any

from aiokafka import client as aiokafka_client
from aiokafka.client import AIOKafkaClient, ConnectionGroup
from aiokafka.conn import AIOKafkaConnection, CloseReason, collect_hosts
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    NodeNotReadyError,
    OutOfOrderSequenceNumber,
    RequestTimedOutError,
    UnknownProducerId,
    for_code,
)
from aiokafka.producer.sender import SendProduceReqHandler
from aiokafka.producer.transaction_manager import TransactionManager
from aiokafka.protocol.group import JoinGroupRequest
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.util import create_future

#: What the broker's answer to a JoinGroup may take beyond the rebalance timeout.
JOIN_LAPSE_S = 5.0
#: The most often a client's failed requests ask for fresh metadata.
REFRESH_EVERY_S = 1.0
#: How long an address that left a request unanswered is asked last at a bootstrap.
UNANSWERED_FOR_S = 300.0
#: (host, port) of each address that left a request unanswered, and when (monotonic).
_unanswered: dict[tuple[str, int], float] = {}
_applied = False
#: Every client bootstrapped in this process: what one learns of a node, all act on.
_clients: weakref.WeakSet[AIOKafkaClient] = weakref.WeakSet()
#: The task watching the addresses that left a request unanswered (patch 21).
_watch: asyncio.Task[None] | None = None
#: The client whose metadata request picks its node, in ``_metadata_update``.
_picking: ContextVar[AIOKafkaClient | None] = ContextVar("picking", default=None)


def unanswered(host: str, port: int, now: float) -> bool:
    """Whether the address left a request unanswered within ``UNANSWERED_FOR_S``."""
    since = _unanswered.get((host, port))
    return since is not None and now - since < UNANSWERED_FOR_S


def bootstrap_order(hosts: list[Any], now: float) -> list[Any]:
    """``hosts`` (aiokafka's (host, port, family) tuples) with those that left a
    request unanswered last, each group in its order."""
    return sorted(hosts, key=lambda host: unanswered(host[0], host[1], now))


def unanswered_node(client: AIOKafkaClient, node_id: Any, now: float) -> bool:
    """Whether the client's node (its id, as in its metadata) left a request
    unanswered within ``UNANSWERED_FOR_S``; the bootstrap connection never."""
    broker = client.cluster.broker_metadata(node_id) if isinstance(node_id, int) else None
    return broker is not None and unanswered(broker.host, broker.port, now)


class _NodesLast:
    """``random`` as aiokafka's client module sees it: a shuffle of the nodes asked in
    turn for metadata puts those that did not answer last (patch 20)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(random, name)

    @staticmethod
    def shuffle(nodes: list[Any]) -> None:
        random.shuffle(nodes)
        client = _picking.get()
        if client is not None:
            now = time.monotonic()
            nodes.sort(key=lambda node: unanswered_node(client, node, now))


async def _watched(answer: Any, address: tuple[str, int]) -> Any:
    """``answer`` awaited, noting whether the address answered."""
    try:
        result = await answer
    except TimeoutError:
        _unanswered[address] = time.monotonic()
        watch()
        raise
    _unanswered.pop(address, None)
    return result


def listed(client: AIOKafkaClient, address: tuple[str, int]) -> bool:
    """Whether the client's metadata lists a node at ``address``."""
    return any((b.host, b.port) == address for b in client.cluster.brokers())


def _here(client: AIOKafkaClient) -> bool:
    """Whether the client is open, on the running event loop."""
    task = client._sync_task
    return task is not None and not task.done() and client._loop is asyncio.get_running_loop()


def leave(address: tuple[str, int]) -> None:
    """Every client of this event loop closes its connections to ``address``, which
    fails the requests waiting on it (each retried on fresh metadata), and refreshes
    its metadata where it still lists it."""
    for client in [c for c in _clients if _here(c)]:
        for conn in list(client._conns.values()):
            if (conn.host, conn.port) == address and conn.connected():
                conn.close(reason=CloseReason.CONNECTION_BROKEN)
        if listed(client, address):
            client.force_metadata_update()


async def check(address: tuple[str, int]) -> bool:
    """A node that answers is asked which brokers the cluster lists, through a client
    that lists ``address``; where the cluster no longer does, every client leaves
    it. Whether it is still to be watched."""
    probe = next((c for c in list(_clients) if _here(c) and listed(c, address)), None)
    if probe is None:
        return False  # no client lists it: left already, or never known here
    now = time.monotonic()
    answering = [
        b.nodeId
        for b in probe.cluster.brokers()
        if (b.host, b.port) != address and not unanswered(b.host, b.port, now)
    ]
    if not answering:
        return True
    try:
        answer = await asyncio.wait_for(
            probe.send(random.choice(answering), MetadataRequest([])),  # noqa: S311
            2 * REFRESH_EVERY_S,
        )
    except (KafkaError, OSError, TimeoutError):
        return True  # asked again at the next turn
    if any((broker[1], broker[2]) == address for broker in answer.brokers):
        return True
    leave(address)
    return False


async def _watching() -> None:
    """Each ``REFRESH_EVERY_S``, each address that left a request unanswered within
    ``UNANSWERED_FOR_S`` checked, until none is listed by a client any more."""
    global _watch  # noqa: PLW0603 - one task per process
    try:
        while True:
            await asyncio.sleep(REFRESH_EVERY_S)
            now = time.monotonic()
            watched = [a for a in list(_unanswered) if unanswered(a[0], a[1], now)]
            still = [a for a in watched if await check(a)]
            if not still:
                return
    finally:
        if _watch is asyncio.current_task():
            _watch = None


def watch() -> None:
    """Begin watching the addresses that left a request unanswered, where not begun."""
    global _watch  # noqa: PLW0603 - one task per process
    if _watch is None or _watch.done():
        _watch = asyncio.get_running_loop().create_task(_watching(), name="enrich-fenced-nodes")


def out_of_step(response: Any) -> bool:
    """Whether a produce response refuses a partition's batch for its producer id's
    sequence (``OutOfOrderSequenceNumber``, ``UnknownProducerId``)."""
    return any(
        for_code(partition[1]) in (OutOfOrderSequenceNumber, UnknownProducerId)
        for _topic, partitions in response.topics
        for partition in partitions
    )


def new_producer_id(manager: TransactionManager) -> None:
    """Forget an idempotent producer's id and sequence numbers: its sender asks the
    broker for a new id before it sends another batch (aiokafka's
    ``Sender._maybe_wait_for_pid``)."""
    if not manager.has_pid():
        return  # asked for already
    manager._pid_and_epoch = manager._pid_and_epoch._replace(pid=-1, epoch=-1)
    manager._pid_waiter = create_future()
    manager._sequence_numbers.clear()


def missing() -> str | None:
    """What these patches need and the installed aiokafka lacks; None when all is there."""
    for owner, name in (
        (AIOKafkaClient, "send"),
        (AIOKafkaClient, "force_metadata_update"),
        (AIOKafkaClient, "get_random_node"),
        (AIOKafkaClient, "_metadata_update"),
        (AIOKafkaClient, "bootstrap"),
    ):
        if not callable(getattr(owner, name, None)):
            return f"aiokafka has no {owner.__name__}.{name}"
    if not isinstance(getattr(AIOKafkaClient, "hosts", None), property):
        return "aiokafka's AIOKafkaClient.hosts is not a property"
    if "self._sync_task" not in inspect.getsource(AIOKafkaClient.close):
        return "aiokafka's client keeps its metadata task elsewhere"
    if not callable(getattr(AIOKafkaConnection, "send", None)):
        return "aiokafka has no AIOKafkaConnection.send"
    if not _applied and "random.shuffle(nodeids)" not in inspect.getsource(
        AIOKafkaClient._metadata_update
    ):
        return "aiokafka's metadata update no longer shuffles its nodes"
    if not callable(getattr(SendProduceReqHandler, "handle_response", None)):
        return "aiokafka has no SendProduceReqHandler.handle_response"
    made = inspect.getsource(TransactionManager.__init__)
    if not all(f"self.{name} =" in made for name in ("_pid_and_epoch", "_pid_waiter")):
        return "aiokafka's TransactionManager keeps its producer id elsewhere"
    if "rebalance_timeout" not in inspect.signature(JoinGroupRequest.__init__).parameters:
        return "aiokafka's JoinGroupRequest takes no rebalance timeout"
    return None


def join_wait_s(request: Any, request_timeout_s: float) -> float:
    """How long to wait for the answer to ``request``: the request timeout, or for a
    JoinGroup the rebalance timeout plus ``JOIN_LAPSE_S`` when that is longer."""
    if isinstance(request, JoinGroupRequest):
        rebalance_s = float(request._rebalance_timeout) / 1000
        return max(request_timeout_s, rebalance_s + JOIN_LAPSE_S)
    return request_timeout_s


def apply() -> None:
    """Install the patches (once per process)."""
    global _applied  # noqa: PLW0603 - the patches are process-wide by nature
    if _applied:
        return
    original_send = AIOKafkaClient.send
    original_conn_send = AIOKafkaConnection.send
    original_handle_response = SendProduceReqHandler.handle_response
    original_metadata_update = AIOKafkaClient._metadata_update
    original_bootstrap = AIOKafkaClient.bootstrap

    async def bootstrap(self: AIOKafkaClient) -> None:
        await original_bootstrap(self)
        _clients.add(self)

    async def send(
        self: AIOKafkaClient, node_id: Any, request: Any, *, group: Any = ConnectionGroup.DEFAULT
    ) -> Any:
        try:
            return await original_send(self, node_id, request, group=group)
        except (RequestTimedOutError, KafkaConnectionError, NodeNotReadyError):
            now = time.monotonic()
            # at most one a second: a node that refuses fails each retry at once
            if now - getattr(self, "_enrich_refreshed_at", 0.0) >= REFRESH_EVERY_S:
                self._enrich_refreshed_at = now
                self.force_metadata_update()  # a future; the client's own task updates
            raise

    def conn_send(self: AIOKafkaConnection, request: Any, expect_response: bool = True) -> Any:
        usual = self._request_timeout
        wait = join_wait_s(request, usual)
        # the timeout is read as the request is sent: set for this request alone
        self._request_timeout = wait
        try:
            answer = original_conn_send(self, request, expect_response)
        finally:
            self._request_timeout = usual
        if not expect_response:
            return answer
        return _watched(answer, (self.host, self.port))

    def hosts(self: AIOKafkaClient) -> list[Any]:
        # aiokafka's order (shuffled), those that did not answer last
        return bootstrap_order(collect_hosts(self._bootstrap_servers), time.monotonic())

    def handle_response(self: SendProduceReqHandler, response: Any) -> None:
        original_handle_response(self, response)
        manager = self._sender._txn_manager
        # idempotent without transactions: a transactional one is made anew instead
        if manager is not None and manager.transactional_id is None and out_of_step(response):
            new_producer_id(manager)

    def get_random_node(self: AIOKafkaClient) -> Any:
        nodes = [b.nodeId for b in self.cluster.brokers()]
        now = time.monotonic()
        answering = [n for n in nodes if not unanswered_node(self, n, now)]
        return random.choice(answering or nodes) if nodes else None  # noqa: S311 - not a secret

    async def metadata_update(self: AIOKafkaClient, cluster_metadata: Any, topics: Any) -> Any:
        picking = _picking.set(self)  # this task's, read by the shuffle before any await
        try:
            return await original_metadata_update(self, cluster_metadata, topics)
        finally:
            _picking.reset(picking)

    AIOKafkaClient.send = send
    AIOKafkaClient.bootstrap = bootstrap
    AIOKafkaClient.get_random_node = get_random_node
    AIOKafkaClient._metadata_update = metadata_update
    aiokafka_client.random = _NodesLast()
    SendProduceReqHandler.handle_response = handle_response
    AIOKafkaConnection.send = conn_send
    AIOKafkaClient.hosts = property(hosts)
    _applied = True
