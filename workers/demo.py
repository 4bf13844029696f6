"""The demo: the whole pipeline on an embedded broker with sample articles.

``run_demo`` starts the broker, creates the topics, runs all stages in this
process, publishes the articles and hands each enriched or dead-lettered record
to ``show`` as it arrives; ``render`` is the readable view a person watches.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from workers.codec import Message
from workers.loading import build_pipeline
from workers.settings import Settings
from workers.stories import trends
from workers.stories.trends import Trend
from workers.stream.embedded.broker import LIMITS, EmbeddedBroker
from workers.stream.kafka import admin, clients
from workers.stream.worker import process
from workers.terminal import safe

__all__ = ["LIMITS", "DemoResult", "render", "render_trends", "run_demo"]


@dataclass
class DemoResult:
    enriched: int = 0
    dead: int = 0
    finished: bool = False  # every article came back before the timeout
    exit_code: int = 0
    trends: list[Trend] = field(default_factory=list)  # the trending entities at the end


def run_demo(
    settings: Settings,
    records: list[tuple[bytes | None, bytes]],
    *,
    timeout: float,
    show: Callable[[Message, bool], None],
) -> DemoResult:
    """Run the pipeline over ``records`` on a fresh embedded broker until each has an
    outcome (or ``timeout`` seconds passed); ``show(record, dead)`` sees each outcome."""
    result = DemoResult()
    with EmbeddedBroker() as broker:
        settings = settings.model_copy(
            update={
                "broker": broker.bootstrap,
                "stages": "",  # every stage of the table
                "group_id": "enrich-demo",
                "stories": True,  # the demo shows story grouping and trends
            }
        )

        async def prepare() -> None:
            await clients.wait_for_broker(settings, timeout=30)
            await admin.create_topics(settings)

        asyncio.run(prepare())

        async def drive() -> None:
            try:
                await asyncio.wait_for(_drive(settings, records, result, show), timeout=timeout)
                result.finished = True
            finally:
                os.kill(os.getpid(), signal.SIGTERM)  # stop the way an operator would

        result.exit_code = process.run(
            settings, lambda: build_pipeline(settings), task=drive, loglevel="ERROR"
        )
    return result


async def _drive(
    settings: Settings,
    records: list[tuple[bytes | None, bytes]],
    result: DemoResult,
    show: Callable[[Message, bool], None],
) -> None:
    await clients.produce(settings, records)
    mentions = 0  # entity counts the trends table will hold
    async for rec in clients.consume(settings, [settings.topic_enriched, settings.topic_dlq]):
        dead = rec.topic == settings.topic_dlq
        if dead:
            result.dead += 1
        else:
            result.enriched += 1
            mentions += len(orjson.loads(rec.value or b"{}").get("entity_list") or [])
        show(rec, dead)
        if result.enriched + result.dead >= len(records):
            break
    if settings.stories:
        result.trends = await _trends(settings, mentions)


async def _trends(settings: Settings, mentions: int) -> list[Trend]:
    """The trending entities once the table has counted every article's entities."""
    while True:
        counts = await clients.read_trend_counts(settings)
        if sum(counts.values()) >= mentions:
            return trends.trending(counts, now=time.time(), window_s=3600, top=10)
        await asyncio.sleep(0.2)


def render(value: bytes | None, *, dead: bool) -> str:
    """A readable view of an enriched or dead-lettered record."""
    rec = orjson.loads(value or b"{}")
    if dead:
        return "\n" + safe(
            f"✗ dead-lettered at {rec['stage']}: [{rec['code']}] {rec['message']} "
            f"(from {rec['source']['topic']}:{rec['source']['partition']}"
            f":{rec['source']['offset']})"
        )
    story = ""
    if rec.get("duplicate_of"):
        story = f"  story: near-copy of {rec['duplicate_of']} (similarity {rec['similarity']:.2f})"
    lines = [
        "",
        f"■ {rec.get('title') or '(untitled)'}",
        (
            f"  id {rec['id']} · {rec.get('source') or 'unknown source'} · "
            f"language {rec.get('language')} · {rec['word_count']} words"
        ),
        f"  summary: {' '.join(str(rec['summary']).split())}",  # its paragraphs on one line
    ]
    if story:
        lines.insert(3, story)
    if rec["entity_list"]:
        shown = ", ".join(
            f"{e['name']} ({e['label']}, {e['salience']:.2f})" for e in rec["entity_list"][:10]
        )
        lines.append(f"  entities: {shown}")
    if rec["keywords"]:
        lines.append(f"  keywords: {', '.join(map(str, rec['keywords']))}")
    return "\n".join(safe(line) for line in lines)  # one line per field, escapes shown


def render_trends(found: list[Trend], window: str = "1h") -> str:
    """The trending entities as a person reads them."""
    if not found:
        return f"trending entities ({window}): none yet"
    width = max(len(t.name) for t in found)
    rows = [f"trending entities ({window}, count against the earlier average):"]
    rows += [
        f"  {i:>2}. {t.name:<{width}}  {t.label:<8} {t.count:>4}  (avg {t.baseline:.1f})"
        for i, t in enumerate(found, 1)
    ]
    return "\n".join(safe(row) for row in rows)
