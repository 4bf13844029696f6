"""Reading results back from the broker, bounded in time."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from workers import kafka
from workers.settings import Settings


async def collect(settings: Settings, count: int, timeout: float = 90.0
                  ) -> tuple[list[tuple[bytes | None, dict[str, Any]]],
                             list[tuple[bytes | None, dict[str, Any]]]]:
    """(enriched, dead) records as (key, record), once ``count`` arrived in all.

    Fails the test when they do not arrive within ``timeout`` seconds.
    """
    enriched: list[tuple[bytes | None, dict[str, Any]]] = []
    dead: list[tuple[bytes | None, dict[str, Any]]] = []

    async def read() -> None:
        async for rec in kafka.consume(settings, [settings.topic_enriched, settings.topic_dlq]):
            target = dead if rec.topic == settings.topic_dlq else enriched
            target.append((rec.key, orjson.loads(rec.value or b"null")))
            if len(enriched) + len(dead) >= count:
                return

    try:
        await asyncio.wait_for(read(), timeout=timeout)
    except TimeoutError:
        raise AssertionError(
            f"only {len(enriched)} enriched + {len(dead)} dead of {count} "
            f"after {timeout}s") from None
    return enriched, dead


def without_timestamps(record: dict[str, Any]) -> dict[str, Any]:
    """The record with the per-stage timestamps blanked (they differ run to run)."""
    out = dict(record)
    out["pipeline"] = {
        name: ({k: v for k, v in stage.items() if k != "finished_at"}
               if isinstance(stage, dict) else stage)
        for name, stage in record["pipeline"].items()
    }
    return out
