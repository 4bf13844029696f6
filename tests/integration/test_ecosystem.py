"""The output as the ecosystem's clients read it: librdkafka (confluent-kafka, and
Debian's kcat) reading ``articles.enriched`` and ``articles.dlq`` on Apache Kafka,
read_committed, find the same keys and records as the project's own reader.

The embedded broker refuses librdkafka clients, so these run on Apache Kafka only.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from typing import Any

import orjson
import pytest

from tests.conftest import unavailable
from tests.integration.conftest import Stack
from tests.integration.helpers import Collector, articles, scrape
from workers.stream.embedded.broker import free_port
from workers.stream.kafka import clients

pytestmark = [
    pytest.mark.integration,
    pytest.mark.model,
    pytest.mark.parametrize("broker", ["kafka"], indirect=True),
]

BAD = [(b"bad-1", b"{not json"), (b"bad-2", b'{"id": "bad-2"}')]


async def wait_until_no_lag(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    lags: list[float] = []
    while time.monotonic() < deadline:
        answer = await scrape(port)
        if answer is not None:
            lags = [
                float(v) for v in re.findall(r"^enrich_consumer_lag\{.*\} (\S+)$", answer[1], re.M)
            ]
            if lags and not any(lags):
                return
        await asyncio.sleep(0.5)
    raise AssertionError(f"lag still {lags} after {timeout}s")


def read_with_librdkafka(bootstrap: str, topic: str) -> dict[bytes, list[dict[str, Any]]]:
    """Every record of ``topic``, read_committed, by confluent-kafka."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{topic}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        meta = consumer.list_topics(topic, timeout=10)
        parts = [TopicPartition(topic, p) for p in meta.topics[topic].partitions]
        ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in parts}
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        out: dict[bytes, list[dict[str, Any]]] = {}
        positions = dict.fromkeys(ends, 0)
        for _ in range(600):  # bounded: at most 600 polls of up to a second
            if all(positions[p] >= ends[p] for p in ends):
                break
            msg = consumer.poll(1.0)
            if msg is None:
                for tp in consumer.position([TopicPartition(topic, p) for p in ends]):
                    positions[tp.partition] = max(positions[tp.partition], tp.offset)
                continue
            if msg.error():
                raise AssertionError(f"librdkafka: {msg.error()}")
            partition, offset = msg.partition(), msg.offset()
            assert partition is not None and offset is not None
            positions[partition] = offset + 1
            out.setdefault(msg.key() or b"", []).append(orjson.loads(msg.value() or b"null"))
        return out
    finally:
        consumer.close()


def read_with_kcat(bootstrap: str, topic: str) -> dict[bytes, int]:
    """How many records of ``topic`` kcat reads under each key, read_committed."""
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        unavailable("no kcat on the PATH (Debian's kcat package)", required_by="KAFKA_TESTS")
    proc = subprocess.run(
        [
            kcat,
            "-C",
            "-b",
            bootstrap,
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
            "-X",
            "isolation.level=read_committed",
            "-f",
            "%k\\n",
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    counts: dict[bytes, int] = {}
    for line in proc.stdout.splitlines():
        counts[line] = counts.get(line, 0) + 1
    return counts


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
async def test_librdkafka_clients_read_the_same_records(stack: Stack, guarantee: str) -> None:
    stack.settings = stack.settings.model_copy(update={"processing_guarantee": guarantee})
    good = articles(30, f"eco-{guarantee}")
    port = free_port()
    stack.start_worker(ENRICH_PROCESSING_GUARANTEE=guarantee, ENRICH_HTTP_PORT=str(port))
    async with Collector(stack.settings) as seen:
        await clients.produce(stack.settings, [*good, *BAD])
        await seen.wait_for(len(good) + len(BAD), timeout=240)
    # all done, the worker shows no lag: a transaction's commit marker takes an offset
    # of its own, which must not count as a record waiting
    await wait_until_no_lag(port, timeout=60)
    bootstrap = stack.settings.broker
    enriched = read_with_librdkafka(bootstrap, stack.settings.topic_enriched)
    dead = read_with_librdkafka(bootstrap, stack.settings.topic_dlq)
    assert set(enriched) == {key for key, _ in good}
    assert set(dead) == {key for key, _ in BAD}
    for key, copies in seen.enriched.items():
        assert enriched[key] == copies
    assert {k: [d["code"] for d in v] for k, v in dead.items()} == {
        k: [d["code"] for d in v] for k, v in seen.dead.items()
    }
    assert read_with_kcat(bootstrap, stack.settings.topic_enriched) == {
        k: len(v) for k, v in enriched.items()
    }
    assert read_with_kcat(bootstrap, stack.settings.topic_dlq) == {
        k: len(v) for k, v in dead.items()
    }
