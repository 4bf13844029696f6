"""A replicated Apache Kafka (three KRaft brokers and three controllers of their own,
replication factor 3, min ISR 2): the faults of a real cluster, each under both
guarantees, with the story steps on, two workers and paced input. Nothing is lost
(nor, under exactly_once, delivered twice), and output does not wait for a broker
that is unwell:

- a node frozen for 60 s (SIGSTOP, as a long GC pause or a stuck disk): committed
  output resumes within ``RESUME_S`` of the pause, while it is still frozen;
- the node that coordinates the workers' group and transactions killed (-9);
- the quorum lost: two of three brokers down for 60 s, then back (every partition
  below its min ISR). The workers wait, their ``/ready`` and ``/health`` say so, none
  exits, and progress resumes.

A network partition of one node is not among them: on loopback, cutting one node's
client and broker traffic through proxies leaves its own connections to the quorum
up, so it stays leader of what it leads and no client can make progress there, which
is Kafka's own behaviour rather than the worker's (a partition needs network
namespaces, which these tests do not assume).

The controllers run apart from the brokers, as Apache Kafka advises for production:
with combined roles two nodes down lose the controllers' quorum too, and Kafka once
split a transaction there (``docs/delivery.md``). ``KAFKA_CLUSTER_CONTROLLERS=0``
runs the faults on three combined nodes (``bench/faults.py --combined``).

These tests run where ``KAFKA_CLUSTER_TESTS=1`` (CI's own step after the README's
test command, and ``bench/faults.py``), one at a time; the suite's parallel run leaves
them out (``tests/conftest.py``): their bound on a stall holds only where no other
test shares the cores. Where the articles do not all come out, each worker logs where
its tasks wait before the test fails.

What each fault costs is printed (``resumed_s``: the end of the longest gap in
committed output after the fault, from the fault; ``reprocessed``: outputs beyond
one per input record), for ``bench/faults.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.integration.conftest import Stack, require_kafka
from tests.integration.helpers import Collector, articles, scrape
from tests.kafka_cluster import CONTROLLERS, KafkaCluster
from workers.settings import Settings
from workers.stream.embedded.broker import free_port
from workers.stream.kafka import admin, clients
from workers.stream.seam import aiokafka_compat

pytestmark = [
    pytest.mark.integration,
    pytest.mark.model,
    pytest.mark.xdist_group("cluster"),  # one cluster, one fault at a time
    pytest.mark.timeout(900),
]

# the test's own reader and producer as the workers' clients: leaving a frozen leader
# for fresh metadata (a plain aiokafka reader stays on it up to metadata_max_age_ms)
aiokafka_compat.apply()

GUARANTEES = ["at_least_once", "exactly_once"]
#: The goal: committed output within this long of a node's freeze.
RESUME_S = 20.0
FAULT_S = 60.0  # how long a node stays frozen, or the quorum lost
#: A pause in committed output longer than this is a stall (at 3 articles a second
#: output comes every second or so while it flows).
STALL_GAP_S = 5.0
RATE = 3.0  # articles a second, produced while the fault lasts
COUNT = 330  # about 110 s of input


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    require_kafka()
    # KAFKA_CLUSTER_CONTROLLERS=0: each broker a controller too (bench/faults.py --combined)
    controllers = int(os.environ.get("KAFKA_CLUSTER_CONTROLLERS", CONTROLLERS))
    with KafkaCluster(tmp_path_factory.mktemp("cluster"), controllers=controllers) as running:
        yield running


def _env(cluster: KafkaCluster, guarantee: str, group: str) -> dict[str, str]:
    prefix = group.removesuffix("-group")
    return {
        "ENRICH_BROKER": cluster.bootstrap,
        "ENRICH_GROUP_ID": group,
        "ENRICH_PARTITIONS": "3",
        "ENRICH_REPLICATION_FACTOR": "3",
        "ENRICH_PROCESSING_GUARANTEE": guarantee,
        "ENRICH_STORIES": "true",
        "ENRICH_LOG_LEVEL": "INFO",
        "ENRICH_BATCH_WAIT_S": "0.1",
        "ENRICH_PROGRESS_INTERVAL_S": "5",
    } | {f"ENRICH_TOPIC_{kind.upper()}": f"{prefix}.articles.{kind}" for kind in Settings().topics}


@contextlib.asynccontextmanager
async def on_cluster(
    cluster: KafkaCluster, tmp_path: Path, guarantee: str, group: str | None = None
) -> AsyncIterator[Stack]:
    """Topics and a group of their own on the cluster; the workers stopped (each must
    exit 0), and the cluster healed, after."""
    env = _env(cluster, guarantee, group or f"c{uuid.uuid4().hex[:10]}-group")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ENRICH_")} | env
    settings = Settings.model_validate(
        {k.removeprefix("ENRICH_").lower(): v for k, v in env.items()}
    )
    await admin.create_topics(settings)
    stack = Stack(settings=settings, env=full_env, broker_kind="kafka", logdir=tmp_path)
    try:
        yield stack
        codes = [await asyncio.to_thread(stack.stop_worker, p) for p in stack.workers]
        assert codes == [0] * len(codes), f"workers exited {codes}\n{stack.digest()}"
    finally:
        for proc in stack.workers:
            if proc.poll() is None:
                proc.kill()
        await asyncio.to_thread(cluster.heal)


class Paced:
    """Raw articles handed to the producer at ``RATE`` a second, as many upstream
    producers would: each sent on its own and retried until the cluster has it, so a
    record for a frozen node's partition holds back no other."""

    def __init__(self, settings: Settings, records: list[tuple[bytes, bytes]]) -> None:
        self.settings = settings
        self.records = records

    async def run(self) -> None:
        producer = clients.producer(self.settings)
        await producer.start()

        async def one(key: bytes, value: bytes) -> None:
            while True:
                try:
                    await asyncio.wait_for(
                        producer.send_and_wait(self.settings.topic_raw, value, key=key),
                        self.settings.request_timeout_s * 2,
                    )
                    return
                except Exception:  # noqa: BLE001 - a fault in progress: try again
                    await asyncio.sleep(0.5)

        try:
            sending = []
            for key, value in self.records:
                sending.append(asyncio.create_task(one(key, value)))
                await asyncio.sleep(1 / RATE)
            await asyncio.gather(*sending)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 30)


def stall(seen: Collector, fault_at: float, until: float, expected: int) -> float:
    """How long after ``fault_at`` committed output stopped, in seconds from the
    fault: the end of the last gap of more than ``STALL_GAP_S`` between consecutive
    outputs (the fault opens the first), so that a trickle of a few records does not
    count as output resumed; the end of the longest gap where none is that long;
    ``until - fault_at`` when output had not resumed by ``until`` while some of the
    ``expected`` records were still to come."""
    times = sorted(t for t in seen.arrived.values() if fault_at <= t <= until)
    ends = [fault_at, *times]
    gaps = [(b - a, b) for a, b in itertools.pairwise(ends)]
    pending = len([t for t in seen.arrived.values() if t <= until]) < expected
    if pending and until - ends[-1] > STALL_GAP_S:
        return until - fault_at
    long = [end for gap, end in gaps if gap > STALL_GAP_S]
    if long:
        return long[-1] - fault_at
    return max(gaps, key=lambda gap: gap[0], default=(0.0, fault_at))[1] - fault_at


def timeline(seen: Collector, fault_at: float, until: float, step: float = 2.0) -> str:
    """Outputs per ``step`` seconds from the fault, for a failure's message."""
    counts = [0] * int((until - fault_at) / step + 1)
    for t in seen.arrived.values():
        if fault_at <= t <= until:
            counts[int((t - fault_at) / step)] += 1
    return f"outputs per {step:g}s from the fault: {counts}"


async def resumed_after(seen: Collector, fault_at: float, window: float, expected: int) -> float:
    """Seconds from ``fault_at`` to the end of the longest stall of committed output
    in the ``window`` seconds after it (waited out: output flows through the fault)."""
    await asyncio.sleep(max(0.0, fault_at + window - time.monotonic()))
    return stall(seen, fault_at, fault_at + window, expected)


async def check_delivery(
    seen: Collector, records: list[tuple[bytes, bytes]], guarantee: str
) -> int:
    """Every article out (identical copies, at least once), and under exactly_once
    once per input record; the records processed more than once. The input itself
    may hold an article twice: a send that timed out in a fault is sent again, as any
    upstream producer would, and its first copy may have landed. Exactly once means
    one output per input record, so each article comes out as many times as the raw
    topic holds it."""
    expected = {key for key, _ in records}
    assert seen.done == expected, f"missing: {sorted(expected - seen.done)[:10]}"
    assert not seen.dead, f"dead letters: {list(seen.dead)[:5]}"
    seen.duplicates()  # every copy identical
    sent: dict[bytes, int] = {}
    async for rec in clients.read_to_end(seen.settings, seen.settings.topic_raw):
        sent[rec.key or b""] = sent.get(rec.key or b"", 0) + 1
    again = {k: len(v) - sent.get(k, 0) for k, v in seen.enriched.items() if len(v) != sent.get(k)}
    if guarantee == "exactly_once":
        assert not again, f"outputs per input differ from one: {dict(list(again.items())[:10])}"
    return sum(max(n, 0) for n in again.values())


def report(name: str, guarantee: str, resumed_s: float, extra: int, detail: str = "") -> None:
    print(f"\nFAULT {name} {guarantee}: resumed_s={resumed_s:.1f} reprocessed={extra} {detail}")


def start_workers(stack: Stack) -> list[int]:
    ports = [free_port(), free_port()]
    for port in ports:
        stack.start_worker(ENRICH_HTTP_PORT=str(port))
    return ports


async def all_out(stack: Stack, seen: Collector, count: int) -> None:
    """Until ``count`` articles are out. Where they do not come, each worker first logs
    where its tasks wait (SIGUSR1), for the failure's report and the logs kept."""
    try:
        await seen.wait_for(count, timeout=300)
    except AssertionError:
        running = [p for p in stack.workers if p.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGUSR1)
        logs = sorted(stack.logdir.glob("worker-*.log"))
        for _ in range(50):  # up to 10 s, until each running worker has written it
            if sum("SIGUSR1" in p.read_text(errors="replace") for p in logs) >= len(running):
                break
            await asyncio.sleep(0.2)
        raise


async def flowing(seen: Collector, count: int = 20) -> None:
    """Until output flows: ``count`` articles through, the workers joined."""
    await seen.wait_for(count, timeout=240)


@pytest.mark.parametrize("guarantee", GUARANTEES)
async def test_a_frozen_node_stalls_committed_output_less_than_20_seconds(
    cluster: KafkaCluster, tmp_path: Path, guarantee: str
) -> None:
    async with on_cluster(cluster, tmp_path, guarantee) as stack:
        records = articles(COUNT, "frozen")
        start_workers(stack)
        async with Collector(stack.settings) as seen:
            paced = Paced(stack.settings, records)
            sending = asyncio.create_task(paced.run())
            await flowing(seen)
            victim = await cluster.leader_of(stack.settings.topic_tagged, 0)
            roles = (
                "group coordinator"
                if await cluster.group_coordinator(stack.settings.app_id) == victim
                else "not the group coordinator"
            )
            fault_at = time.monotonic()
            frozen_at = time.strftime("%H:%M:%S")
            cluster.freeze(victim)
            try:
                # the fault's length, not a wait for an event: the node stays frozen
                resumed = await resumed_after(seen, fault_at, FAULT_S, len(records))
            finally:
                cluster.thaw(victim)
            flow = timeline(seen, fault_at, fault_at + FAULT_S)
            assert resumed <= RESUME_S, f"output stalled {resumed:.1f}s after the freeze; {flow}"
            await sending
            await all_out(stack, seen, len(records))
            await seen.settle(stack)
        extra = await check_delivery(seen, records, guarantee)
        report(
            "freeze", guarantee, resumed, extra, f"(node {victim} at {frozen_at}, {roles}; {flow})"
        )


async def _coordinating_group(cluster: KafkaCluster, guarantee: str) -> tuple[str, int]:
    """A group whose coordinator also coordinates one of its transactional ids (a
    source partition's), and that node."""
    for _ in range(20):
        group = f"c{uuid.uuid4().hex[:10]}-group"
        node = await cluster.group_coordinator(group)
        if guarantee != "exactly_once":
            return group, node
        topic = f"{group.removesuffix('-group')}.articles.raw"
        txns = {await cluster.transaction_coordinator(f"{group}.{topic}.{p}") for p in range(3)}
        if node in txns:
            return group, node
    raise AssertionError("no group found whose coordinator also coordinates its transactions")


@pytest.mark.parametrize("guarantee", GUARANTEES)
async def test_killing_the_coordinating_node_loses_nothing(
    cluster: KafkaCluster, tmp_path: Path, guarantee: str
) -> None:
    group, victim = await _coordinating_group(cluster, guarantee)
    async with on_cluster(cluster, tmp_path, guarantee, group) as stack:
        records = articles(COUNT // 2, "coord")
        start_workers(stack)
        async with Collector(stack.settings) as seen:
            paced = Paced(stack.settings, records)
            sending = asyncio.create_task(paced.run())
            await flowing(seen)
            assert await cluster.group_coordinator(stack.settings.app_id) == victim
            fault_at = time.monotonic()
            await asyncio.to_thread(cluster.kill, victim)
            resumed = await resumed_after(seen, fault_at, FAULT_S, len(records))
            await asyncio.to_thread(cluster.restart, victim)
            await sending
            await all_out(stack, seen, len(records))
            await seen.settle(stack)
        extra = await check_delivery(seen, records, guarantee)
        report("coordinator-kill", guarantee, resumed, extra)


@pytest.mark.parametrize("guarantee", GUARANTEES)
async def test_the_quorum_lost_for_a_minute_is_waited_out_and_said(
    cluster: KafkaCluster, tmp_path: Path, guarantee: str
) -> None:
    async with on_cluster(cluster, tmp_path, guarantee) as stack:
        records = articles(COUNT // 2, "quorum")
        ports = start_workers(stack)
        async with Collector(stack.settings) as seen:
            paced = Paced(stack.settings, records)
            sending = asyncio.create_task(paced.run())
            await flowing(seen)
            lost = cluster.up()[:2]
            fault_at = time.monotonic()
            for node in lost:
                await asyncio.to_thread(cluster.kill, node)
            said: dict[str, Any] = {}

            async def waiting_said() -> bool:
                for port in ports:
                    ready = await scrape(port, "/ready")
                    health = await scrape(port, "/health")
                    if ready is None or health is None or ready[0] != 503 or health[0] != 200:
                        return False
                    said[f"{port}"] = (orjson.loads(ready[1]), orjson.loads(health[1]))
                return True

            deadline = fault_at + FAULT_S
            while not await waiting_said():
                assert time.monotonic() < deadline, f"the workers did not say they wait: {said}"
                await asyncio.sleep(1)
            for ready, health in said.values():
                assert ready["status"] != "ok"
                assert health["brokers"].startswith("1 of 3"), health
            # the quorum stays lost for the fault's length: no worker exits meanwhile
            while time.monotonic() < deadline:
                assert all(p.poll() is None for p in stack.workers), stack.digest()
                await asyncio.sleep(1)
            back_at = time.monotonic()  # the nodes started again (a JVM's start, then
            for node in lost:  # catching up: the cluster answers before both are ready)
                await asyncio.to_thread(cluster.restart, node)
            await seen.wait_until(
                lambda: any(t > back_at for t in seen.arrived.values()),
                120,
                lambda: "no output since the quorum came back",
            )
            resumed = min(t for t in seen.arrived.values() if t > back_at) - back_at
            await sending
            await all_out(stack, seen, len(records))
            await seen.settle(stack)
        assert all(p.returncode is None or p.returncode == 0 for p in stack.workers)
        extra = await check_delivery(seen, records, guarantee)
        report("quorum-loss", guarantee, resumed, extra)
