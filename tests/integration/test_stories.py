"""Story grouping through the real broker: copies meet across partitions and workers,
and a worker killed mid-run changes no story.

The articles are made-up prose, distinct from each other; each copy is its
original with page furniture around it and a sentence added, as a second site
or a pasted page would have it.
"""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess

import orjson
import pytest

from tests.generators import prose
from tests.integration.conftest import Stack
from tests.integration.helpers import Collector, scrape
from tests.integration.test_delivery import kill
from tests.integration.test_ecosystem import wait_until_no_lag
from workers.stories import minhash
from workers.stream.kafka import clients

pytestmark = [pytest.mark.integration, pytest.mark.model, pytest.mark.timeout(900)]

ORIGINALS = 240
COPIES = 80


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def story_articles() -> tuple[list[tuple[bytes, bytes]], dict[str, str]]:
    """Originals, then copies of the first COPIES of them; and each copy's original."""
    records, copy_of = [], {}
    texts = [prose(900, seed=1000 + i) for i in range(ORIGINALS)]
    for i, text in enumerate(texts):
        records.append((f"o{i:04d}", {"id": f"o{i:04d}", "title": f"Story {i}", "text": text}))
    for i in range(COPIES):
        copy = (
            f"Share: Facebook | X | Email\n\n{texts[i]}\n\n"
            "The agency added a statement later.\n\nRelated News"
        )
        records.append((f"c{i:04d}", {"id": f"c{i:04d}", "title": f"Story {i}", "text": copy}))
        copy_of[f"c{i:04d}"] = f"o{i:04d}"
    return [(k.encode(), orjson.dumps(v)) for k, v in records], copy_of


def check_stories(seen: Collector, copy_of: dict[str, str]) -> dict[str, str]:
    """Every delivery of an article carries the same story; copies share their original's."""
    story = {}
    for key, deliveries in seen.enriched.items():
        fields = {(d["story_id"], d["duplicate_of"], d["similarity"]) for d in deliveries}
        assert len(fields) == 1, f"{key!r} changed story on redelivery: {fields}"
        story[key.decode()] = deliveries[0]["story_id"]
    for copy, original in copy_of.items():
        assert story[copy] == story[original], (copy, original)
        assert story[copy] in (copy, original)
    originals = [k for k in story if k.startswith("o")]
    assert len({story[k] for k in originals}) == len(originals), "distinct articles merged"
    return story


@pytest.mark.parametrize("store", ["memory", "rocksdb"])
async def test_copies_meet_across_workers_and_a_kill_changes_no_story(
    stack: Stack, store: str
) -> None:
    """On disk, the worker started last reuses the data directory of the one killed:
    it must clear what that one left, and rebuild the index from the changelogs."""
    if store == "rocksdb":
        pytest.importorskip("rocksdict")
    records, copy_of = story_articles()

    def start(data_dir: str) -> subprocess.Popen[bytes]:
        return stack.start_worker(
            ENRICH_STORIES="true",
            ENRICH_STORY_STORE=store,
            ENRICH_DATA_DIR=str(stack.logdir / f"data-{data_dir}"),
        )

    first = start("a")
    start("b")
    async with Collector(stack.settings) as seen:
        await clients.produce(stack.settings, records)
        await seen.wait_for(len(records) // 4, timeout=180)
        kill(stack, first)  # the survivor takes its partitions, and their tables
        assert len(seen.done) < len(records), "the run finished before the kill"
        await seen.wait_for(len(records) // 2, timeout=180)
        start("a")
        await seen.wait_for(len(records), timeout=300)
        assert not seen.dead
        story = check_stories(seen, copy_of)
        print(f"{seen.duplicates()} records delivered twice")
    duplicates = [
        d for deliveries in seen.enriched.values() for d in deliveries[:1] if d["duplicate_of"]
    ]
    assert len(duplicates) == COPIES
    assert all(d["similarity"] >= stack.settings.story_threshold for d in duplicates)
    assert len(set(story.values())) == ORIGINALS
    on_disk = list((stack.logdir / "data-b").rglob("story-buckets-*.db"))
    assert bool(on_disk) == (store == "rocksdb"), on_disk


async def test_every_version_of_an_article_comes_out_with_one_story(stack: Stack) -> None:
    """A correction sent right behind its first version: both are delivered (it was
    one of the two with stories on), and both carry the story of the first."""
    records, _ = story_articles()
    records = records[:6]
    text = orjson.loads(records[0][1])["text"]
    first = {"id": "u1", "title": "First version", "text": text}
    corrected = first | {"title": "Corrected version", "text": text + " A correction."}
    stack.start_worker(ENRICH_STORIES="true")
    async with Collector(stack.settings) as seen:
        await clients.produce(
            stack.settings,
            [*records, (b"u1", orjson.dumps(first)), (b"u1", orjson.dumps(corrected))],
        )
        await seen.wait_until(
            lambda: len(seen.done) >= 7 and len(seen.enriched.get(b"u1", [])) >= 2,
            180,
            lambda: f"u1: {[d['title'] for d in seen.enriched.get(b'u1', [])]}",
        )
    versions = seen.enriched[b"u1"]
    assert {d["title"] for d in versions} == {"First version", "Corrected version"}
    assert len({d["story_id"] for d in versions}) == 1
    # u1 copies o0000's text: its story is the original's
    assert versions[0]["story_id"] == seen.enriched[b"o0000"][0]["story_id"]
    assert not seen.dead


async def test_true_end_offsets_count_every_record_of_the_last_batch(stack: Stack) -> None:
    """Table recovery reads changelogs to these ends; the broker's own report may
    stop at the last batch's first record."""
    topic = stack.settings.topic_story_entities
    await clients.produce(stack.settings, [(f"k{i}".encode(), b"1") for i in range(40)], topic)
    parts = {(topic, p): 0 for p in range(stack.settings.partitions)}
    ends = await clients.true_end_offsets(stack.settings, parts)
    assert sum(ends.values()) == 40


async def test_trends_count_every_article_and_are_served_and_printed(stack: Stack) -> None:
    records, _ = story_articles()
    records = records[:12]
    port = free_port()
    stack.start_worker(
        ENRICH_HTTP_PORT=str(port), ENRICH_STORIES="true", ENRICH_STALL_TIMEOUT_S="5"
    )
    async with Collector(stack.settings) as seen:
        await clients.produce(stack.settings, records)
        await seen.wait_for(len(records), timeout=180)
        mentions: dict[str, int] = {}
        in_countries: dict[str, int] = {}
        for deliveries in seen.enriched.values():
            for e in deliveries[0]["entity_list"]:
                mentions[e["name"]] = mentions.get(e["name"], 0) + 1
            for c in deliveries[0]["countries"]:  # counted too, under COUNTRY
                in_countries[c["name"]] = in_countries.get(c["name"], 0) + 1
    assert mentions, "the articles have entities to count"
    entities_only = dict(mentions)
    for name, count in in_countries.items():
        mentions[name] = mentions.get(name, 0) + count

    # the table's changelog: every article's entities, counted once
    async def counted() -> bool:
        counted = await clients.read_trend_counts(stack.settings)
        return sum(counted.values()) >= sum(mentions.values())

    deadline = asyncio.get_running_loop().time() + 60
    while not await counted():
        assert asyncio.get_running_loop().time() < deadline, "the trends table lags"
        await asyncio.sleep(0.5)
    counts = await clients.read_trend_counts(stack.settings)
    by_name: dict[str, int] = {}
    for (entity, _), count in counts.items():
        name = entity.split("\t", 1)[1]
        by_name[name] = by_name.get(name, 0) + count
    assert by_name == mentions

    # the worker's own table, on its HTTP port (loopback)
    answer = await scrape(port, "/trends?window=1h&top=5")
    assert answer is not None and answer[0] == 200
    served = orjson.loads(answer[1])["trends"]
    assert 0 < len(served) <= 5
    top = max(entities_only.values())
    assert served[0]["count"] == top and entities_only[served[0]["name"]] == top

    # and the command line, from the changelog
    printed = stack.cli("trends", "--window", "1h", "--top", "5", "--json")
    assert printed.returncode == 0, printed.stderr.decode()
    assert orjson.loads(printed.stdout)["trends"] == served
    # the countries the articles are about, ranked apart from the entities
    countries = stack.cli("trends", "--window", "1h", "--countries", "--json")
    assert countries.returncode == 0, countries.stderr.decode()
    ranked = orjson.loads(countries.stdout)["trends"]
    assert {t["label"] for t in ranked} <= {"COUNTRY"}
    assert {t["name"]: t["count"] for t in ranked} == dict(
        sorted(in_countries.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    )
    assert "COUNTRY" not in {t["label"] for t in orjson.loads(printed.stdout)["trends"]}
    bad = stack.cli("trends", "--window", "soon")
    assert bad.returncode == 78 and b"--window" in bad.stderr

    # idle and done, the worker is healthy: the story tables' changelog partitions,
    # which it writes and does not read, are no lag (they were: 503 "stalled" once
    # the stall timeout passed)
    await wait_until_no_lag(port, timeout=60)
    metrics = await scrape(port, "/metrics")
    assert metrics is not None and "changelog" not in "".join(
        re.findall(r"^enrich_consumer_lag\{.*$", metrics[1], re.M)
    )
    await asyncio.sleep(6)  # past the stall timeout, idle
    health = await scrape(port, "/health")
    assert health is not None and health[0] == 200, health


async def test_unreadable_records_on_the_story_topics_are_dead_lettered(stack: Stack) -> None:
    stack.start_worker(ENRICH_STORIES="true")
    s = stack.settings
    await clients.produce(s, [(b"x1", b"not json")], s.topic_summarized)
    await clients.produce(s, [(b"x2", b'{"id": "x2"}')], s.topic_summarized)  # no text
    await clients.produce(
        s, [(b"00-ab", b'{"id": "x3", "bands": ["00-ab", "07-cd"]}')], s.topic_story_bands
    )
    await clients.produce(s, [(b"x4", b"[1, 2]")], s.topic_story_matches)
    async with Collector(s) as seen:
        await seen.wait_until(lambda: len(seen.dead) >= 4, 120, lambda: f"dead: {list(seen.dead)}")
        await seen.settle(stack)  # a second dead letter for the two-band message is read now
    letters = [d for copies in seen.dead.values() for d in copies]
    assert len(letters) == 4  # one per record, not one per band
    assert {(d["stage"], d["code"]) for d in letters} == {("summarize", "invalid_record")}
    assert {d["source"]["topic"] for d in letters} == {
        s.topic_summarized,
        s.topic_story_bands,
        s.topic_story_matches,
    }


async def test_the_index_forgets_articles_past_its_retention(stack: Stack) -> None:
    """With a retention of seconds, the worker's sweep deletes the original's bands,
    signature and decision (tombstones on their changelogs), and a copy that comes
    after that starts a story of its own."""
    records, _ = story_articles()
    original = next(r for r in records if r[0] == b"o0000")
    copy = next(r for r in records if r[0] == b"c0000")
    stack.start_worker(ENRICH_STORIES="true", ENRICH_STORY_RETENTION_S="3")
    s = stack.settings
    bands = minhash.banding(s.story_threshold).bands

    async def tombstones() -> dict[str, int]:
        found = {}
        for table in ("buckets", "signatures", "decisions"):
            topic = s.story_changelog(table)
            found[table] = len(
                [m async for m in clients.consume(s, [topic], timeout=1) if m.value is None]
            )
        return found

    async with Collector(s) as seen:
        await clients.produce(s, [original])
        await seen.wait_for(1, timeout=180)
        assert seen.enriched[b"o0000"][0]["story_id"] == "o0000"
        deadline = asyncio.get_running_loop().time() + 60
        # one tombstone per band, per partition holding its signature (one or more), and
        # for its decision
        while not (
            (found := await tombstones())["buckets"] == bands
            and found["signatures"] >= 1
            and found["decisions"] == 1
        ):
            assert asyncio.get_running_loop().time() < deadline, f"not swept: {found}"
            await asyncio.sleep(0.5)
        await clients.produce(s, [copy])
        await seen.wait_for(2, timeout=120)
    story = seen.enriched[b"c0000"][0]
    assert (story["story_id"], story["duplicate_of"], story["similarity"]) == ("c0000", None, None)
