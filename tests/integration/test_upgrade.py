"""A rolling upgrade from schema versions 2 and 3, on the broker: a version-4 worker
reads the earlier records still on its topics (cleaned, tagged, and dead letters) and
writes version 4, dead-lettering none of them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.integration.conftest import Stack
from tests.integration.helpers import Collector
from workers.stream.kafka import admin, clients

pytestmark = [pytest.mark.integration, pytest.mark.model]

#: records as versions 2 and 3 wrote them (tests/unit/schemas/v2, v3)
SCHEMAS = Path(__file__).parents[1] / "unit" / "schemas"


@pytest.mark.parametrize("version", [2, 3])
async def test_a_version_4_worker_reads_what_earlier_versions_left_on_its_topics(
    stack: Stack, version: int
) -> None:
    def v2(name: str, **change: Any) -> dict[str, Any]:
        """A record as ``version`` wrote it."""
        path = SCHEMAS / f"v{version}" / f"{name}.json"
        record: dict[str, Any] = orjson.loads(path.read_bytes())
        return record | change

    settings = stack.settings
    await admin.create_topics(settings)
    cleaned = [(f"c{n}".encode(), orjson.dumps(v2("cleaned_article", id=f"c{n}"))) for n in (1, 2)]
    tagged = [(f"t{n}".encode(), orjson.dumps(v2("tagged_article", id=f"t{n}"))) for n in (1, 2)]
    await clients.produce(settings, cleaned, topic=settings.topic_cleaned)
    await clients.produce(settings, tagged, topic=settings.topic_tagged)
    # a version-2 dead letter whose cause is gone: its original is a good raw article
    original = orjson.dumps({"id": "r1", "text": v2("cleaned_article")["text"]})
    letter = v2("dead_letter", id="r1", code="too_large", message="over the old limit")
    letter["source"] = letter["source"] | {"topic": settings.topic_raw, "key": "r1"}
    letter["original"] = letter["original"] | {
        "value": original.decode(),
        "size": len(original),
        "sha256": hashlib.sha256(original).hexdigest(),
    }
    await clients.produce(settings, [(b"r1", orjson.dumps(letter))], topic=settings.topic_dlq)

    listed = stack.cli("dlq", "list", "--json")
    assert listed.returncode == 0, listed.stderr.decode()
    [shown] = [orjson.loads(line) for line in listed.stdout.splitlines()]
    assert shown["schema_version"] == 4 and shown["id"] == "r1"  # read, and shown as version 4

    stack.start_worker()
    async with Collector(settings) as seen:
        replayed = stack.cli("dlq", "replay")
        assert replayed.returncode == 0, replayed.stderr.decode()
        expected = {b"c1", b"c2", b"t1", b"t2", b"r1"}
        await seen.wait_until(
            lambda: expected <= set(seen.enriched), 240, lambda: f"{seen.enriched.keys()}"
        )
    assert set(seen.enriched) == expected, stack.logs()
    # the version-2 letter itself and the replay's marker of it, nothing new
    markers = {k for k in seen.dead if k.startswith(b"replayed:")}
    assert set(seen.dead) - markers == {b"r1"} and len(markers) == 1
    chain = v2("tagged_article")["pipeline"]
    model = chain["model"] if version == 2 else chain["tag"]["model"]
    for key, (record, *_) in seen.enriched.items():
        assert record["schema_version"] == 4, key
        assert list(record["pipeline"]) == ["clean", "tag", "summarize"], key
        assert "model" not in record["pipeline"] and record["pipeline"]["tag"]["model"] == model
    # what the earlier version tagged keeps its tag stage's time; what it cleaned is
    # tagged anew; every record gets its places and tone (version 4)
    old_tag = v2("tagged_article")["pipeline"]["tag"]
    assert seen.enriched[b"t1"][0]["pipeline"]["tag"] == old_tag | {"model": model}
    assert all(record["tone"] is not None for record, *_ in seen.enriched.values())
    assert seen.enriched[b"c1"][0]["pipeline"]["tag"]["finished_at"] != old_tag["finished_at"]
