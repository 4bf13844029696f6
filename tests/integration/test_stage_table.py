"""A stage added with one package and one row (tests/toy_stage) runs through the
broker: a worker with the plugin runs it between tag and summarize, on its own
topic, and the enriched records show what it did."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import orjson
import pytest

from tests.integration.conftest import Stack
from tests.integration.helpers import Collector
from workers import stage_table
from workers.stream.kafka import admin, clients

pytestmark = [pytest.mark.integration, pytest.mark.model]

TEXT = (
    "Chinese President Xi Jinping met Vladimir Putin in Moscow on Monday. "
    "The Russian leader said the two countries would deepen trade ties this year. "
    "Article {n} of the run."
)


@pytest.fixture
def toy() -> Iterator[None]:
    stage_table.load_plugins("tests.toy_stage")  # this process's table: the topics to make
    yield
    stage_table.unregister("unlabel")
    sys.modules.pop("tests.toy_stage", None)


async def test_a_plugin_s_stage_runs_between_tag_and_summarize_on_its_own_topic(
    stack: Stack, toy: None
) -> None:
    settings = stack.settings
    await admin.create_topics(settings)  # with the plugin's topic, as `enrich topics create`
    unlabelled = settings.topics["unlabelled"]
    assert unlabelled.endswith(".articles.unlabelled")
    records = [
        (f"u{n}".encode(), orjson.dumps({"id": f"u{n}", "text": TEXT.format(n=n)}))
        for n in range(6)
    ]
    stack.start_worker("clean,tag,unlabel,summarize", ENRICH_PLUGINS="tests.toy_stage")
    async with Collector(settings) as seen:
        await clients.produce(settings, records)
        await seen.wait_for(len(records), timeout=240)
    assert not seen.dead
    for key, copies in seen.enriched.items():
        out = copies[0]
        labels = {m["label"] for m in out["entities"]}
        assert "NORP" not in labels and {"PERSON", "GPE"} <= labels, (key, labels)
        assert list(out["pipeline"]) == ["clean", "tag", "unlabel", "summarize"], key
    passed = [rec async for rec in clients.read_to_end(settings, unlabelled)]
    assert {rec.key for rec in passed} == {k for k, _ in records}  # through its own topic
