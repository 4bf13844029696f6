"""The pipeline's topics on the broker: created as the settings say (partitions,
replicas, min.insync.replicas), checked, and what the broker refuses of them named."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from workers.errors import ConfigError, TransientError
from workers.settings import Settings
from workers.stream.kafka.connection import client_options


async def supports_idempotence(settings: Settings) -> bool:
    """Whether the broker gives an idempotent producer its id (Apache Kafka does; the
    embedded broker answers with an error)."""
    made = AIOKafkaProducer(**client_options(settings), enable_idempotence=True)
    try:
        await asyncio.wait_for(made.start(), settings.request_timeout_s)
        return True
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        with contextlib.suppress(KafkaError, OSError, TimeoutError):
            await asyncio.wait_for(made.stop(), settings.request_timeout_s)


async def replication_shortfall(settings: Settings) -> dict[str, int]:
    """The pipeline's topics the broker keeps with fewer replicas than
    ``ENRICH_REPLICATION_FACTOR``, and the replicas each has."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await admin.start()
        found = await admin.describe_topics([t for t in settings.topics.values()])
    finally:
        await admin.close()
    short: dict[str, int] = {}
    for topic in found:
        replicas = min((len(p["replicas"]) for p in topic.get("partitions") or []), default=0)
        if topic.get("error_code") == 0 and 0 < replicas < settings.replication_factor:
            short[topic["topic"]] = replicas
    return short


async def missing_topics(settings: Settings) -> list[str]:
    """The pipeline topics the broker does not have."""
    admin = AIOKafkaAdminClient(**client_options(settings, request_timeout_ms=5000))
    try:
        await admin.start()
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    return [t for t in settings.topics.values() if t not in existing]


async def create_topics(settings: Settings, *, partitions: int | None = None) -> list[str]:
    """Create the pipeline's topics where missing; returns the names created."""
    count = partitions or settings.partitions
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        wanted = [t for t in settings.topics.values() if t not in existing]
        if not wanted:
            return []
        with contextlib.suppress(TopicAlreadyExistsError):  # another process was quicker
            # a write must reach min.insync.replicas with acks=all: 2 of 3 by default, so
            # that a write survives one broker lost (1, Kafka's default, is left unset)
            configs = (
                {"min.insync.replicas": str(settings.insync_replicas)}
                if settings.insync_replicas > 1
                else {}
            )
            response = await admin.create_topics(
                [
                    NewTopic(
                        name=t,
                        num_partitions=count,
                        replication_factor=settings.replication_factor,
                        topic_configs=configs,
                    )
                    for t in wanted
                ]
            )
            _refused_topics(response, settings, count)
        await _wait_for_metadata(admin, wanted)
        return wanted
    finally:
        await admin.close()


#: CreateTopics errors that a setting causes, with the setting: no retry cures them.
_TOPIC_SETTINGS = {
    37: "ENRICH_PARTITIONS",  # INVALID_PARTITIONS
    38: "ENRICH_REPLICATION_FACTOR",  # INVALID_REPLICATION_FACTOR
    44: "ENRICH_PARTITIONS",  # POLICY_VIOLATION: KRaft's most partitions per request
}


def _refused_topics(response: Any, settings: Settings, partitions: int) -> None:
    """ConfigError for a topic the broker refused because of a setting (naming it),
    TransientError for another refusal; nothing for created or already there (36)."""
    for name, code, message, *_ in getattr(response, "topic_errors", None) or []:
        if code in (0, 36):
            continue
        variable = _TOPIC_SETTINGS.get(code)
        if variable is not None:
            value = partitions if variable == "ENRICH_PARTITIONS" else settings.replication_factor
            raise ConfigError(f"{variable}={value}: the broker refused topic {name}: {message}")
        raise TransientError(f"the broker refused topic {name} (error {code}): {message}")


async def _wait_for_metadata(
    admin: AIOKafkaAdminClient, topics: list[str], timeout: float = 10.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if set(topics) <= set(await admin.list_topics()):
            return
        await asyncio.sleep(0.1)
    raise TransientError(f"topics {topics} not visible after {timeout}s")
