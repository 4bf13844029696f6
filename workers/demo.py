"""The demo: the whole pipeline on an embedded broker with sample articles.

``run_demo`` starts the broker, creates the topics, runs all stages in this
process, publishes the articles and hands each enriched or dead-lettered record
to ``show`` as it arrives; ``render`` is the readable view a person watches.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from workers.codec import Message
from workers.pipeline import build_pipeline
from workers.settings import Settings
from workers.stream import app, clients
from workers.stream.embedded_broker import LIMITS, EmbeddedBroker

__all__ = ["LIMITS", "DemoResult", "render", "run_demo"]


@dataclass
class DemoResult:
    enriched: int = 0
    dead: int = 0
    finished: bool = False  # every article came back before the timeout
    exit_code: int = 0


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
                "stages": "clean,tag,summarize",
                "group_id": "enrich-demo",
            }
        )

        async def prepare() -> None:
            await clients.wait_for_broker(settings, timeout=30)
            await clients.create_topics(settings)

        asyncio.run(prepare())

        async def drive() -> None:
            try:
                await asyncio.wait_for(_drive(settings, records, result, show), timeout=timeout)
                result.finished = True
            finally:
                os.kill(os.getpid(), signal.SIGTERM)  # stop the way an operator would

        result.exit_code = app.run(
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
    async for rec in clients.consume(settings, [settings.topic_enriched, settings.topic_dlq]):
        dead = rec.topic == settings.topic_dlq
        if dead:
            result.dead += 1
        else:
            result.enriched += 1
        show(rec, dead)
        if result.enriched + result.dead >= len(records):
            return


def render(value: bytes | None, *, dead: bool) -> str:
    """A readable view of an enriched or dead-lettered record."""
    rec = orjson.loads(value or b"{}")
    if dead:
        return (
            f"\n✗ dead-lettered at {rec['stage']}: [{rec['code']}] {rec['message']} "
            f"(from {rec['source']['topic']}:{rec['source']['partition']}"
            f":{rec['source']['offset']})"
        )
    lines = [
        "",
        f"■ {rec.get('title') or '(untitled)'}",
        (
            f"  id {rec['id']} · {rec.get('source') or 'unknown source'} · "
            f"language {rec.get('language')} · {rec['word_count']} words"
        ),
        f"  summary: {rec['summary']}",
    ]
    if rec["entity_list"]:
        shown = ", ".join(
            f"{e['name']} ({e['label']}, {e['salience']:.2f})" for e in rec["entity_list"][:10]
        )
        lines.append(f"  entities: {shown}")
    if rec["keywords"]:
        lines.append(f"  keywords: {', '.join(rec['keywords'])}")
    return "\n".join(lines)
