"""A consumer group's committed offset, read stable (KIP-447).

aiokafka asks OffsetFetch up to version 3, which answers the offset the group
coordinator has applied. An offset committed inside a transaction is applied only
once the coordinator has handled the transaction's commit marker, a moment after the
transaction is complete: right after a coordinator failover, a producer made anew
(which completes its predecessor's transaction) could read the offset from before
that transaction, and do its batch a second time. Version 7 asks with
``require_stable``: while a transactional commit is pending, the broker answers
UNSTABLE_OFFSET_COMMIT, and the read is asked again until it is applied.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    Boolean,
    CompactArray,
    CompactString,
    Int16,
    Int32,
    Int64,
    Schema,
    TaggedFields,
)

from workers.stream.kafka import clients

#: Answers that a read asked again (with the coordinator looked up anew) may cure.
UNSTABLE_OFFSET_COMMIT = 88
RETRIED = {
    UNSTABLE_OFFSET_COMMIT,
    14,  # COORDINATOR_LOAD_IN_PROGRESS
    15,  # COORDINATOR_NOT_AVAILABLE
    16,  # NOT_COORDINATOR
}


class OffsetFetchResponse_v7(Response):  # type: ignore[misc]
    API_KEY = 9
    API_VERSION = 7
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "topics",
            CompactArray(
                ("name", CompactString("utf-8")),
                (
                    "partitions",
                    CompactArray(
                        ("partition_index", Int32),
                        ("committed_offset", Int64),
                        ("committed_leader_epoch", Int32),
                        ("metadata", CompactString("utf-8")),
                        ("error_code", Int16),
                        ("tags", TaggedFields),
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("error_code", Int16),
        ("tags", TaggedFields),
    )


class OffsetFetchRequest_v7(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 9
    API_VERSION = 7
    RESPONSE_TYPE = OffsetFetchResponse_v7
    SCHEMA = Schema(
        ("group_id", CompactString("utf-8")),
        (
            "topics",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("partition_indexes", CompactArray(Int32)),
                ("tags", TaggedFields),
            ),
        ),
        ("require_stable", Boolean),
        ("tags", TaggedFields),
    )


StableStruct: TypeAlias = OffsetFetchRequest_v7


class StableOffsetFetch(Request[StableStruct]):  # type: ignore[misc]
    """OffsetFetch v7 of one partition, with ``require_stable``."""

    API_KEY = 9

    def __init__(self, group: str, topic: str, partition: int) -> None:
        self.group, self.topic, self.partition = group, topic, partition

    def build(self, request_struct_class: type[StableStruct]) -> StableStruct:
        return request_struct_class(self.group, [(self.topic, [self.partition], {})], True, {})


class Unstable(Exception):
    """The broker still answers that the offset is unstable, or has no coordinator."""


async def committed_offset(
    admin: AIOKafkaAdminClient, group: str, topic: str, partition: int, within: float
) -> int:
    """The group's committed offset for the partition (-1 for none), once every
    transactional commit of it is applied; asked again for up to ``within`` seconds
    while the broker answers that it is not. A broker without OffsetFetch v7 (older
    than Kafka 2.5) is asked as aiokafka asks."""

    async def ask() -> int:
        node = await admin.find_coordinator(group)
        try:
            response: Any = await admin._send_request(
                StableOffsetFetch(group, topic, partition), node
            )
        except NotImplementedError:
            return await _unstable(admin, group, topic, partition)
        code = response.error_code
        for topic_answer in response.topics:  # (name, partitions, tags)
            for _, offset, _, _, part_code, _ in topic_answer[1]:
                code = code or part_code
                if not code:
                    return int(offset)
        if code in RETRIED:
            raise Unstable(f"offset fetch answered {for_code(code).__name__}")
        if code:
            raise for_code(code)()
        return -1

    return await clients.retrying(ask, timeout=within, errors=(Unstable,), waiting=lambda _: None)


async def _unstable(admin: AIOKafkaAdminClient, group: str, topic: str, partition: int) -> int:
    """The offset as aiokafka reads it (OffsetFetch up to v3): applied commits only."""
    tp = TopicPartition(topic, partition)
    found = await admin.list_consumer_group_offsets(group, partitions=[tp])
    meta = found.get(tp)
    return meta.offset if meta is not None else -1
