"""What a batch writes, as the commit protocol takes it: the records, and the refusals
with what stands in for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


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
