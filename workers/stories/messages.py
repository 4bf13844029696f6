"""The story steps' messages, as bytes: what a step parks, sends and reads, and the
shape of a batch's outputs. Pure: the steps themselves (``workers.stream.stories.steps``)
hold the tables and talk to the broker."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from workers.codec import Message
from workers.errors import InvalidRecord
from workers.stories import minhash
from workers.stories.state import Decision

Send = tuple[str, bytes, bytes]  # topic kind, key, value


@dataclass
class Outputs:
    """What a story step's batch sends, per source partition (each partition's go in
    its own transaction under exactly_once), and the parked records it is done with."""

    sends: dict[int, list[Send]] = field(default_factory=dict)
    forget: list[tuple[str, int]] = field(default_factory=list)  # (article, partition)

    def of(self, partition: int) -> list[Send]:
        return self.sends.setdefault(partition, [])


def order_of(record: dict[str, Any]) -> str:
    """The article's place in "first seen": when it was cleaned."""
    return str(record["pipeline"]["clean"]["finished_at"])


def entity_keys(record: dict[str, Any]) -> list[str]:
    """``LABEL\\tname`` of each canonical entity of an enriched record, and
    ``COUNTRY\\tname`` of each country it is about (schema version 4)."""
    entities = [f"{e['label']}\t{e['name']}" for e in record.get("entity_list") or []]
    return entities + [f"COUNTRY\t{c['name']}" for c in record.get("countries") or []]


def parked(held: bytes | None, value: bytes) -> bytes:
    """The ``story-pending`` value once ``value`` is parked beside what ``held``: each
    version of an article in flight (a correction sent before the first version
    had its story) is kept and goes out, once each, with the article's story. A
    single version is kept as it is; several as a JSON array of them."""
    if held is None:
        return value
    versions = parked_versions(held)
    if any(orjson.loads(v) == orjson.loads(value) for v in versions):
        return held  # the same version read again
    return b"[" + b",".join([*versions, value]) + b"]"


def parked_versions(held: bytes) -> list[bytes]:
    """The versions a ``story-pending`` value holds, oldest first."""
    if not held.lstrip().startswith(b"["):
        return [held]
    return [orjson.dumps(v) for v in orjson.loads(held)]


def signature_key(partition: int, article: str) -> bytes:
    """The key of a representative's signature in ``story-signatures``: one per
    partition of the bands topic it represents a band in. Faust's in-memory
    store keeps, per key, the changelog partition it last read the key from,
    and after a rebalance drops the keys of partitions the worker no longer
    owns; one key written to several partitions was dropped for all of them."""
    return f"{partition}\t{article}".encode()


def decision_of(raw: bytes) -> Decision:
    """A stored decision (stored with the article's order, for retention)."""
    fields = orjson.loads(raw)
    return Decision(fields["story_id"], fields.get("duplicate_of"), fields.get("similarity"))


def bands_of(
    messages: Sequence[Message],
) -> Iterator[tuple[Message, str, dict[str, Any] | None]]:
    """(message, band, body) for each band a message of the bands topic carries."""
    for message in messages:
        try:
            body = orjson.loads(message.value or b"")
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            yield message, (message.key or b"").decode("utf-8", "replace"), None
            continue
        for band in body.pop("bands", None) or [(message.key or b"").decode("utf-8", "replace")]:
            yield message, str(band), body


def summed(sends: Sequence[Send]) -> list[Send]:
    """The sends with one entity count per entity: a batch's mentions summed."""
    counts: dict[bytes, int] = {}
    out: list[Send] = []
    for kind, key, value in sends:
        if kind == "story_entities":
            counts[key] = counts.get(key, 0) + int(value)
        else:
            out.append((kind, key, value))
    out.extend(("story_entities", key, str(n).encode()) for key, n in counts.items())
    return out


def read_batch(
    messages: Sequence[Message], banding: minhash.Banding
) -> list[tuple[str, str, str, list[str]] | InvalidRecord]:
    """Per message: (id, order, signature as base64, band keys), or why it cannot be read."""
    out: list[tuple[str, str, str, list[str]] | InvalidRecord] = []
    for m in messages:
        try:
            record = orjson.loads(m.value or b"")
            sig = minhash.signature(record["text"])
            article = str(record["id"])
            out.append(
                (
                    article,
                    order_of(record),
                    base64.b64encode(minhash.to_bytes(sig)).decode(),
                    banding.keys(sig, article),
                )
            )
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            out.append(
                InvalidRecord(f"summarized record unreadable: {exc!r}", code="invalid_record")
            )
    return out
