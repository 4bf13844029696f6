"""Pure helpers of the story steps."""

from __future__ import annotations

import asyncio
import base64
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner
from faust.stores.memory import Store as Memory
from faust.types import TP

from workers.codec import Message
from workers.settings import Settings
from workers.stories import minhash
from workers.stories.messages import bands_of, parked, parked_versions, signature_key, summed
from workers.stream.seam.transactions import Write
from workers.stream.stories.index import partition_of
from workers.stream.stories.steps import StoryAgents
from workers.stream.stories.tables import Held, held_writes, record_partition

TOPICS = ("enriched", "story_bands", "story_matches", "story_entities", "dlq")


def test_bands_are_grouped_by_the_partition_the_producer_would_choose() -> None:
    choose = DefaultPartitioner()
    for n in (1, 3, 6, 12):
        for i in range(200):
            key = f"{i % 21:02d}-{i * 7919:016x}".encode()
            assert partition_of(key, n) == choose(key, list(range(n)), list(range(n)))


def test_a_band_message_may_carry_several_bands_or_one_by_its_key() -> None:
    grouped = Message("b", 0, 0, b"00-a", b'{"id": "x", "bands": ["00-a", "07-b"]}')
    single = Message("b", 0, 1, b"03-c", b'{"id": "y"}')
    broken = Message("b", 0, 2, b"04-d", b"not json")
    got = [(m.offset, band, body) for m, band, body in bands_of([grouped, single, broken])]
    assert got == [
        (0, "00-a", {"id": "x"}),
        (0, "07-b", {"id": "x"}),
        (1, "03-c", {"id": "y"}),
        (2, "04-d", None),
    ]


def test_entity_counts_aresummed_per_batch() -> None:
    sends = [
        ("story_entities", b"PERSON\tA", b"1"),
        ("enriched", b"x", b"{}"),
        ("story_entities", b"PERSON\tA", b"1"),
        ("story_entities", b"GPE\tB", b"2"),
    ]
    assert summed(sends) == [
        ("enriched", b"x", b"{}"),
        ("story_entities", b"PERSON\tA", b"2"),
        ("story_entities", b"GPE\tB", b"2"),
    ]


async def test_a_signature_kept_for_two_partitions_survives_losing_one() -> None:
    """Faust's in-memory store drops, after a rebalance, each key whose last changelog
    record came from a partition the worker no longer owns: a representative's
    signature, written once per partition it represents a band in, lost all its
    copies with one partition, and a later copy was told it was first."""
    table: Any = SimpleNamespace(name="story-signatures")
    store: Memory[bytes, bytes] = Memory(url="memory://", app=cast(Any, None), table=table)
    sig = b"\x01" * 8
    events = [
        changelog_event(partition, key, sig)
        for partition in (4, 1)
        for key in (signature_key(partition, "a"), b"a")  # b"a": one key for both
    ]
    store.apply_changelog_batch(events, to_key=lambda k: k, to_value=lambda v: v)
    await store.on_recovery_completed({TP("story-signatures-changelog", 4)}, set())
    assert store.data.get(signature_key(4, "a")) == sig
    assert signature_key(1, "a") not in store.data
    assert b"a" not in store.data  # what a single key came to


def changelog_event(partition: int, key: bytes, value: bytes) -> Any:
    message = SimpleNamespace(partition=partition, value=value)
    return SimpleNamespace(key=key, value=value, message=message)


async def test_local_trends_rank_in_a_thread_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    from types import SimpleNamespace

    from workers.stories import trends as trends_module
    from workers.stream.stories.steps import StoryAgents

    ranked_in: list[str] = []

    def trending(counts: Any, **kwargs: Any) -> list[Any]:
        ranked_in.append(threading.current_thread().name)
        assert counts == {("Oslo", 300.0): 3}
        return []

    monkeypatch.setattr(trends_module, "trending", trending)
    fake: Any = SimpleNamespace(counts=SimpleNamespace(data={("Oslo", (300.0, 600.0)): 3}))
    assert await StoryAgents.local_trends(fake, 3600.0, 5) == []
    assert ranked_in and ranked_in[0] != threading.current_thread().name


def test_each_version_of_an_article_in_flight_is_parked_once() -> None:
    """A correction sent before the first version had its story replaced it in the
    pending table: one of the two never came out."""
    v1, v2 = b'{"id": "a", "title": "first"}', b'{"id": "a", "title": "corrected"}'
    assert parked(None, v1) == v1  # one version: kept as it is (as before)
    both = parked(v1, v2)
    assert [orjson.loads(v) for v in parked_versions(both)] == [
        {"id": "a", "title": "first"},
        {"id": "a", "title": "corrected"},
    ]
    assert parked(both, b'{"title": "corrected", "id": "a"}') == both  # read again
    assert parked_versions(v1) == [v1]


def test_a_step_s_held_table_writes_are_taken_back_per_partition() -> None:
    """exactly_once: where a step's transaction does not commit, its writes to the
    in-memory tables are undone, newest first, in that partition only; a key
    another step changed since is left alone."""
    table = cast(Any, SimpleNamespace(data={b"a": b"1", b"c": b"old"}))
    held = Held()

    def put(partition: int, key: bytes, value: bytes | None) -> None:
        held.hold(table, partition, key, value, Write("changelog", key, value, partition))
        if value is None:
            table.data.pop(key, None)
        else:
            table.data[key] = value

    put(0, b"a", b"2")
    put(0, b"a", b"3")
    put(0, b"b", b"new")
    put(1, b"c", None)
    put(0, b"d", b"mine")
    table.data[b"d"] = b"another step's"
    assert [w.key for w in held.writes[0]] == [b"a", b"a", b"b", b"d"]
    held.rollback(0)
    assert table.data == {b"a": b"1", b"d": b"another step's"}  # c stays deleted: partition 1
    assert 0 not in held.writes and [w.value for w in held.writes[1]] == [None]
    held.rollback(1)
    assert table.data == {b"a": b"1", b"c": b"old", b"d": b"another step's"}


async def test_answers_repeated_in_the_batch_that_completes_an_article_send_it_once() -> None:
    """An article read twice (a producer that sent it again) has its bands answered
    twice; where the answers that complete it and the repeated ones came in one
    batch, its versions went out once per answer message: three times each in a run
    with a lost quorum, while its parked record is forgotten only after the batch."""
    steps: Any = object.__new__(StoryAgents)
    record = {"id": "a", "pipeline": {"clean": {"finished_at": "2026-12-07T10:00:00Z"}}}
    steps.pending = {b"a": orjson.dumps(record)}
    steps.answers, steps.decisions = {}, {}
    steps.banding = SimpleNamespace(bands=2)
    steps.settings = Settings()
    steps._by_partition = lambda bands, body: []

    def answer(offset: int, *bands: str) -> Message:
        body = {"id": "a", "answers": [{"band": band} for band in bands]}
        return Message("story_matches", 0, offset, b"a", orjson.dumps(body))

    batch = [answer(0, "00-x"), answer(1, "01-y"), answer(2, "00-x"), answer(3, "01-y")]
    out = await steps._decide(batch)
    enriched = [value for topic, _, value in out.of(0) if topic == "enriched"]
    assert [orjson.loads(v)["story_id"] for v in enriched] == ["a"]
    assert out.forget == [("a", 0)]


async def test_a_representative_read_again_restores_its_lost_signature() -> None:
    """Under at_least_once a worker that crashed had its band's bucket written and the
    representative's signature not (two changelogs); read again, the representative
    heard nothing and stored nothing, and every later article of the band was
    compared with no signature ("no signature for ..."), so none could join it."""
    steps: Any = object.__new__(StoryAgents)
    steps.banding = minhash.banding(0.5, minhash.NUM_PERM)
    steps.buckets = {b"00-x": orjson.dumps({"id": "a", "order": "1", "story": None})}
    steps.signatures = {}
    sig = minhash.signature("the representative of band zero, read again after a crash")
    body = {
        "id": "a",
        "order": "1",
        "sig": base64.b64encode(minhash.to_bytes(sig)).decode(),
        "bands": ["00-x"],
    }
    out = await steps._buckets([Message("story_bands", 2, 7, b"00-x", orjson.dumps(body))])
    assert [topic for topic, _, _ in out.of(2)] == ["story_matches"]
    assert steps.signatures == {signature_key(2, "a"): minhash.to_bytes(sig)}


class HeldTable:
    """A story table as the steps use it: its writes held for the step's transaction."""

    def __init__(self, data: dict[bytes, bytes]) -> None:
        self.data = data

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:
        return self.data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._hold(key, value)
        self.data[key] = value

    def pop(self, key: bytes, default: bytes | None = None) -> bytes | None:
        self._hold(key, None)
        return self.data.pop(key, default)

    def _hold(self, key: bytes, value: bytes | None) -> None:
        held, partition = held_writes.get(), record_partition.get()
        assert held is not None and partition is not None
        held.hold(cast(Any, self), partition, key, value, Write("changelog", key, value, partition))


async def test_steps_sharing_the_article_tables_wait_for_each_other_s_transaction() -> None:
    """exactly_once: the decide step decides an article, and its transaction fails
    (its writes are taken back, its input read again). The bands step, reading that
    article's record again meanwhile, must not find it decided and send it: the
    decide step, reading its answers again, would send it a second time. It waits
    for the decide step's transaction to end, and parks the record again."""
    banding = minhash.banding(0.8, minhash.NUM_PERM)
    record = {
        "id": "a",
        "text": "The council met in Oslo on Monday to agree the budget for schools.",
        "pipeline": {"clean": {"finished_at": "2026-12-07T10:00:00Z"}},
        "entity_list": [{"label": "GPE", "name": "Oslo"}],
    }
    value = orjson.dumps(record)
    answers = {f"{i:02d}": {"band": f"{i:02d}-x"} for i in range(banding.bands - 1)}
    steps: Any = object.__new__(StoryAgents)
    steps.banding, steps.settings = banding, Settings()
    steps.executor = ThreadPoolExecutor(max_workers=1)
    steps.pending = HeldTable({b"a": value})
    steps.answers = HeldTable({b"a": orjson.dumps(answers)})
    steps.decisions = HeldTable({})
    steps._by_partition = lambda bands, body: []
    steps.topics = {k: SimpleNamespace(get_topic_name=lambda k=k: k) for k in TOPICS}
    steps.refuse, steps.mark_published = None, lambda messages: None
    steps._articles = asyncio.Lock()
    decide_commits = asyncio.Event()
    committed: list[Write] = []

    class Transactions:
        async def fence(self, keys: object) -> None:
            return None

        def fresh(self, messages: list[Message]) -> list[int]:
            return list(range(len(messages)))

        async def commit(
            self, fresh: list[Message], writes: list[list[Write]], *_: Any, **__: Any
        ) -> Any:
            if fresh[0].topic == "story_matches":
                await decide_commits.wait()
                return [], writes  # not committed: the step takes its writes back
            committed.extend(w for ws in writes for w in ws)
            return list(range(len(fresh))), writes

    steps.transactions = Transactions()
    last = {"id": "a", "answers": [{"band": f"{banding.bands - 1:02d}-x"}]}
    decide = asyncio.ensure_future(
        steps._batch(
            [Message("story_matches", 0, 5, b"a", orjson.dumps(last))], steps._decide, shared=True
        )
    )
    await asyncio.sleep(0)  # the decide step has decided the article, not committed yet
    assert b"a" in steps.decisions.data
    bands = asyncio.ensure_future(
        steps._batch([Message("summarized", 0, 9, b"a", value)], steps._bands, shared=True)
    )
    await asyncio.sleep(0.05)  # the bands step's turn, were it not waiting
    decide_commits.set()
    await asyncio.gather(decide, bands)
    assert not steps.decisions.data  # taken back with the failed transaction
    assert b"a" in steps.pending.data  # parked: it goes out once its answers are read again
    assert not [w for w in committed if w.topic in ("enriched", "story_entities")]
