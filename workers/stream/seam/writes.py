"""What a batch writes, as the commit protocol takes it: the records, and the refusals
with what stands in for them; and the errors the commit protocol tells apart."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import (
    IllegalOperation,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    KafkaError,
    ProducerFenced,
    TransactionalIdAuthorizationFailed,
)

from workers.stream.kafka.clients import REFUSED_FOR_GOOD


@dataclass(frozen=True, slots=True)
class Write:
    """One record a batch writes: its topic, key and value, and its partition where
    it is not the partitioner's (a table's changelog write goes to the partition of
    the record being handled). A value of None deletes the key (a tombstone)."""

    topic: str
    key: bytes
    value: bytes | None
    partition: int | None = None


#: A refused write: (the message's index, the write's index among the message's writes).
Refused = tuple[int, int]

#: Given the refusals, the writes to try instead (None: give the write up).
Replace = Callable[[dict[Refused, BaseException]], Awaitable[dict[Refused, Write | None]]]


#: A producer that gets one of these has been replaced by a newer one for its id.
FENCED_ERRORS: tuple[type[BaseException], ...] = (
    ProducerFenced,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    TransactionalIdAuthorizationFailed,
)


class NoTransactions(Exception):
    """The broker refused the first transactional producer: it has no transactions."""


class Fenced(Exception):
    """The partition's producer was replaced: another worker owns the partition."""


class TransactionEnded(KafkaError):  # type: ignore[misc]
    """A send refused because the producer's transaction had ended under it, for a
    cause aiokafka did not keep: the attempt failed, and is made again."""


def why_ended(producer: Any, refusal: IllegalOperation) -> BaseException:
    """Why a transactional producer refused a send as "not in transaction": the
    error that ended its transaction where aiokafka kept it (``ProducerFenced`` where
    the coordinator fenced it, or the failed write), else ``TransactionEnded``. The
    refusal itself is no ``KafkaError``: it stopped the worker as a bug."""
    waiter = getattr(getattr(producer, "_txn_manager", None), "_transaction_waiter", None)
    if isinstance(waiter, asyncio.Future) and waiter.done() and not waiter.cancelled():
        cause = waiter.exception()
        if cause is not None:
            return cause
    return TransactionEnded(str(refusal))


async def send_writes(
    producer: Any, todo: list[int], final: list[list[Write]]
) -> dict[Refused, BaseException]:
    """Send the writes of the messages ``todo`` (``final[i]`` is message i's) with
    ``producer``, each acknowledged; the ones refused for good. Any other failure
    is raised (a send refused as "not in transaction" too: see ``why_ended``)."""
    refusals: dict[Refused, BaseException] = {}
    futures: list[tuple[Refused, Any]] = []
    for i in todo:
        for j, write in enumerate(final[i]):
            try:
                sent = await producer.send(
                    write.topic, key=write.key, value=write.value, partition=write.partition
                )
            except REFUSED_FOR_GOOD as exc:  # refused by the client before it is sent
                refusals[i, j] = exc
            else:
                futures.append(((i, j), sent))
    results = await asyncio.gather(*(f for _, f in futures), return_exceptions=True)
    for (where, _), result in zip(futures, results, strict=True):
        if isinstance(result, REFUSED_FOR_GOOD):
            refusals[where] = result
        elif isinstance(result, BaseException):
            raise result
    return refusals
