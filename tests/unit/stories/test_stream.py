"""Pure helpers of the story steps."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from workers.codec import Message
from workers.stories.stream import _bands_of, _partition_of, _summed


def test_bands_are_grouped_by_the_partition_the_producer_would_choose() -> None:
    choose = DefaultPartitioner()
    for n in (1, 3, 6, 12):
        for i in range(200):
            key = f"{i % 21:02d}-{i * 7919:016x}".encode()
            assert _partition_of(key, n) == choose(key, list(range(n)), list(range(n)))


def test_a_band_message_may_carry_several_bands_or_one_by_its_key() -> None:
    grouped = Message("b", 0, 0, b"00-a", b'{"id": "x", "bands": ["00-a", "07-b"]}')
    single = Message("b", 0, 1, b"03-c", b'{"id": "y"}')
    broken = Message("b", 0, 2, b"04-d", b"not json")
    got = [(m.offset, band, body) for m, band, body in _bands_of([grouped, single, broken])]
    assert got == [
        (0, "00-a", {"id": "x"}),
        (0, "07-b", {"id": "x"}),
        (1, "03-c", {"id": "y"}),
        (2, "04-d", None),
    ]


def test_entity_counts_are_summed_per_batch() -> None:
    sends = [
        ("story_entities", b"PERSON\tA", b"1"),
        ("enriched", b"x", b"{}"),
        ("story_entities", b"PERSON\tA", b"1"),
        ("story_entities", b"GPE\tB", b"2"),
    ]
    assert _summed(sends) == [
        ("enriched", b"x", b"{}"),
        ("story_entities", b"PERSON\tA", b"2"),
        ("story_entities", b"GPE\tB", b"2"),
    ]
