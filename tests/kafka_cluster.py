"""A replicated Apache Kafka for the tests: three KRaft brokers and a quorum of three
controllers apart from them (or, with ``controllers=0``, three nodes each broker and
controller), on free loopback ports, from the same release jars as ``KafkaBroker``.

The internal topics (the consumer offsets, the transaction state) have 3 replicas and
a min ISR of 2, as a production cluster's; the pipeline's topics are created with
``ENRICH_REPLICATION_FACTOR=3`` (and so ``min.insync.replicas=2``). A node can be
killed (``kill``: SIGKILL), frozen and thawed (``freeze``, ``thaw``: SIGSTOP and
SIGCONT, a long GC pause or a stuck disk as the others see it), and started again with
its log kept (``restart``). The nodes (``nodes``, ``up``) are the brokers: the faults
are theirs, the controllers stay up.

Who leads a partition, and which node coordinates a group or a transactional id, is
asked of the nodes that are up (``leader_of``, ``group_coordinator``,
``transaction_coordinator``), never of a cached view: right after a SIGCONT a node
that was frozen answers with stale metadata that still names itself leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tests.kafka_broker import KafkaBroker, _free_port, cluster_id

NODES = 3
#: The controller quorum's nodes, apart from the brokers (Apache Kafka's advice for
#: production: with combined roles, two nodes down lose the controllers' quorum too,
#: and docs/delivery.md shows a transaction Kafka split then); 0 for combined roles.
CONTROLLERS = 3
CONTROLLER_ID = 101  # the first controller's node id
CONTROLLER_HEAP = "256m"
#: The cluster is ready once every node is registered and every replica in sync.
READY_TIMEOUT_S = 120.0


class KafkaCluster:
    """Three Apache Kafka brokers (and their controllers); ``bootstrap`` lists the
    brokers."""

    def __init__(
        self,
        data_dir: Path,
        *,
        nodes: int = NODES,
        controllers: int = CONTROLLERS,
        heap: str = "512m",
    ) -> None:
        """``nodes`` brokers; ``controllers`` nodes of their own for the controller
        quorum, or none: each broker a controller too (combined roles)."""
        self.host = "127.0.0.1"
        voting = controllers or nodes
        ports = [_free_port() for _ in range(voting)]
        ids = [CONTROLLER_ID + i if controllers else i + 1 for i in range(voting)]
        voters = ",".join(f"{i}@{self.host}:{port}" for i, port in zip(ids, ports, strict=True))
        shared = cluster_id()

        def node(i: int, roles: str, port: int | None) -> KafkaBroker:
            return KafkaBroker(
                data_dir / f"node{i}",
                heap=heap if "broker" in roles else CONTROLLER_HEAP,
                node_id=i,
                voters=voters,
                cluster=shared,
                replicas=nodes,
                controller_port=port,
                roles=roles,
            )

        roles = "broker" if controllers else "broker,controller"
        self.nodes = {
            i + 1: node(i + 1, roles, None if controllers else ports[i]) for i in range(nodes)
        }
        self.controllers = {
            i: node(i, "controller", port)
            for i, port in zip(ids, ports, strict=True)
            if controllers
        }
        self.frozen: set[int] = set()
        self.down: set[int] = set()

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes.values())

    def up(self) -> list[int]:
        """The nodes neither killed nor frozen."""
        return [i for i in self.nodes if i not in self.frozen and i not in self.down]

    def start(self) -> Self:
        every = [*self.controllers.values(), *self.nodes.values()]
        for node in every:
            node.launch()  # all at once: a node answers once a quorum of voters runs
        try:
            for node in every:
                node.wait_ready()
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for i in self.frozen:
            self._signal(i, signal.SIGCONT)  # a frozen JVM cannot stop
        self.frozen.clear()
        for node in [*self.nodes.values(), *self.controllers.values()]:
            node.stop()

    def kill(self, i: int) -> None:
        self.thaw(i)
        self.nodes[i].kill()
        self.down.add(i)

    def freeze(self, i: int) -> None:
        self._signal(i, signal.SIGSTOP)
        self.frozen.add(i)

    def thaw(self, i: int) -> None:
        if i in self.frozen:
            self._signal(i, signal.SIGCONT)
            self.frozen.discard(i)

    def restart(self, i: int) -> None:
        """Start a killed node again, with its log; it answers once it has caught up."""
        self.nodes[i].launch()
        self.nodes[i].wait_ready()
        self.down.discard(i)

    def _signal(self, i: int, sig: signal.Signals) -> None:
        pid = self.nodes[i].pid
        if pid is not None:
            import os

            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    # -- who does what, asked of the nodes that are up --------------------------

    def _admin_of_up(self) -> Any:
        from aiokafka.admin import AIOKafkaAdminClient

        servers = ",".join(self.nodes[i].bootstrap for i in self.up())
        return AIOKafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=5000)

    async def leader_of(self, topic: str, partition: int) -> int:
        """The node leading ``topic``'s ``partition`` now, as a node that is up says."""
        async with self._admin() as admin:
            [found] = await admin.describe_topics([topic])
        [part] = [p for p in found["partitions"] if p["partition"] == partition]
        return int(part["leader"])

    async def in_sync(self, topic: str) -> dict[int, list[int]]:
        """Each partition's in-sync replicas, as a node that is up says."""
        async with self._admin() as admin:
            [found] = await admin.describe_topics([topic])
        return {int(p["partition"]): sorted(p["isr"]) for p in found["partitions"]}

    async def group_coordinator(self, group: str) -> int:
        return await self._coordinator(group, 0)

    async def transaction_coordinator(self, transactional_id: str) -> int:
        return await self._coordinator(transactional_id, 1)

    async def _coordinator(self, key: str, kind: int, timeout: float = 60.0) -> int:
        """The coordinator's node; while there is none (its internal topic being made,
        or its leader just lost), asked again, for up to ``timeout`` seconds."""
        from aiokafka.protocol.coordination import FindCoordinatorRequest

        deadline = time.monotonic() + timeout
        while True:
            async with self._admin() as admin:
                node = admin._client.get_random_node()
                response = await admin._client.send(node, FindCoordinatorRequest(key, kind))
            if response.error_code == 0:
                return int(response.coordinator_id)
            if time.monotonic() > deadline:
                raise RuntimeError(f"no coordinator for {key!r} (error {response.error_code})")
            await asyncio.sleep(0.5)

    @contextlib.asynccontextmanager
    async def _admin(self) -> Any:
        admin = self._admin_of_up()
        await admin.start()
        try:
            yield admin
        finally:
            await admin.close()

    def wait_healthy(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Until every node is registered and every replica of every topic is in sync
        (from a thread: callers may be inside an event loop)."""

        async def healthy() -> bool:
            from aiokafka.admin import AIOKafkaAdminClient

            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
            try:
                await admin.start()
                brokers = (await admin.describe_cluster())["brokers"]
                if len(brokers) < len(self.nodes):
                    return False
                # every topic there is (the internal ones once made), every replica in
                # sync and the preferred one leading: a leader moved back later (the
                # controller's balancing) would move a coordinator mid-test
                names = list(await admin.list_topics())
                found = await admin.describe_topics(names) if names else []
                return all(
                    len(p["isr"]) == len(p["replicas"]) and p["leader"] == p["replicas"][0]
                    for topic in found
                    for p in topic.get("partitions") or []
                )
            except Exception:  # noqa: BLE001 - not healthy yet, whatever the reason
                return False
            finally:
                await admin.close()

        deadline = time.monotonic() + timeout
        while not _in_thread(healthy()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster was not healthy in {timeout:.0f}s")
            time.sleep(0.5)

    def heal(self) -> None:
        """Every node up and thawed, every replica in sync again: the state a test
        leaves the cluster in for the next."""
        for i in list(self.frozen):
            self.thaw(i)
        for i in sorted(self.down):
            self.restart(i)
        self.wait_healthy()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def logs(self) -> Iterator[tuple[int, str]]:
        for i, node in [*self.nodes.items(), *self.controllers.items()]:
            yield i, node.log_tail(2000)


def _in_thread(coro: Any) -> bool:
    import threading

    result: list[bool] = []

    def run() -> None:
        result.append(bool(asyncio.run(coro)))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=30)
    return bool(result and result[0])
