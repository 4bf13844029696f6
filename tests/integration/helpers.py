"""Reading results back from the broker, bounded in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

import orjson

from workers.settings import Settings
from workers.stream.kafka import clients

if TYPE_CHECKING:
    from tests.integration.conftest import Stack


async def collect(
    settings: Settings, count: int, timeout: float = 90.0
) -> tuple[list[tuple[bytes | None, dict[str, Any]]], list[tuple[bytes | None, dict[str, Any]]]]:
    """(enriched, dead) records as (key, record), once ``count`` arrived in all.

    Fails the test when they do not arrive within ``timeout`` seconds.
    """
    enriched: list[tuple[bytes | None, dict[str, Any]]] = []
    dead: list[tuple[bytes | None, dict[str, Any]]] = []

    async def read() -> None:
        async for rec in clients.consume(settings, [settings.topic_enriched, settings.topic_dlq]):
            target = dead if rec.topic == settings.topic_dlq else enriched
            target.append((rec.key, orjson.loads(rec.value or b"null")))
            if len(enriched) + len(dead) >= count:
                return

    try:
        await asyncio.wait_for(read(), timeout=timeout)
    except TimeoutError:
        raise AssertionError(
            f"only {len(enriched)} enriched + {len(dead)} dead of {count} after {timeout}s"
        ) from None
    return enriched, dead


def without_timestamps(record: dict[str, Any]) -> dict[str, Any]:
    """The record with the per-stage timestamps blanked (they differ run to run)."""
    out = dict(record)
    out["pipeline"] = {
        name: (
            {k: v for k, v in stage.items() if k != "finished_at"}
            if isinstance(stage, dict)
            else stage
        )
        for name, stage in record["pipeline"].items()
    }
    return out


_PEOPLE = [
    "Maria Lindqvist",
    "Omar Haddad",
    "Chen Wei",
    "Grace Okafor",
    "Tomas Novak",
    "Aisha Rahman",
    "Lucas Moreau",
    "Yuki Tanaka",
]
_PLACES = ["Oslo", "Nairobi", "Lisbon", "Jakarta", "Toronto", "Warsaw", "Lima", "Seoul"]
_BODIES = [
    "Harbour Authority",
    "Ministry of Transport",
    "Nordic Rail Company",
    "City Council",
    "European Commission",
    "World Health Organization",
]


def articles(n: int, prefix: str = "a") -> list[tuple[bytes, bytes]]:
    """``n`` distinct short news articles as (key, raw record) pairs, keyed by id."""
    out = []
    for i in range(n):
        person, place = _PEOPLE[i % 8], _PLACES[(i // 8) % 8]
        body = _BODIES[i % 6]
        text = (
            f"{person} said on Tuesday that the {body} would open a new office in {place}.\n"
            f"Share:\n"
            f"The decision follows months of talks, {person.split()[-1]} told reporters, "
            f"and about {100 + i} people will work there from next year.\n"
            f"Officials in {place} welcomed the plan, which still needs approval "
            f"from the {body} board in a vote expected on {1 + i % 28} June."
        )
        article_id = f"{prefix}-{i:05d}"
        out.append(
            (
                article_id.encode(),
                orjson.dumps(
                    {"id": article_id, "title": f"{body} expands to {place}", "text": text}
                ),
            )
        )
    return out


class Collector:
    """Reads the enriched and dead-letter topics in the background, by key."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.enriched: dict[bytes, list[dict[str, Any]]] = {}
        self.dead: dict[bytes, list[dict[str, Any]]] = {}
        self.arrived: dict[bytes, float] = {}  # when each key was first read (monotonic)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is None:
            return
        self._task.cancel()
        await asyncio.wait({self._task}, timeout=10)  # bounded, even if the client hangs
        self._task = None

    async def _read(self) -> None:
        topics = [self.settings.topic_enriched, self.settings.topic_dlq]
        async for rec in clients.consume(self.settings, topics):
            target = self.dead if rec.topic == self.settings.topic_dlq else self.enriched
            target.setdefault(rec.key or b"", []).append(orjson.loads(rec.value or b"null"))
            self.arrived.setdefault(rec.key or b"", time.monotonic())

    @property
    def done(self) -> set[bytes]:
        return set(self.enriched) | set(self.dead)

    async def wait_for(self, count: int, timeout: float) -> None:
        """Until ``count`` distinct keys are enriched or dead-lettered; fails the test past
        ``timeout`` seconds."""
        await self.wait_until(
            lambda: len(self.done) >= count,
            timeout,
            lambda: f"only {len(self.done)} of {count} records arrived",
        )

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float,
        what: Callable[[], str] = lambda: "condition not met",
    ) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self._task is not None and self._task.done():
                self._task.result()
            if time.monotonic() > deadline:
                raise AssertionError(f"{what()} after {timeout}s")
            await asyncio.sleep(0.2)

    async def settle(self, stack: Stack | None = None) -> None:
        """What the topics hold for good: the ``stack``'s workers stopped (each must
        exit 0), then the enriched and dead-letter topics read to their end offsets,
        in place of what was seen live. A record delivered twice is in the view now,
        without waiting a while for it to come."""
        for proc in list(stack.workers if stack is not None else ()):
            assert stack is not None
            code = await asyncio.to_thread(stack.stop_worker, proc)
            assert code == 0, f"a worker exited {code} when stopped\n{stack.logs()}"
        await self.__aexit__()
        enriched: dict[bytes, list[dict[str, Any]]] = {}
        dead: dict[bytes, list[dict[str, Any]]] = {}
        for topic, into in (
            (self.settings.topic_enriched, enriched),
            (self.settings.topic_dlq, dead),
        ):
            async for rec in clients.read_to_end(self.settings, topic):
                into.setdefault(rec.key or b"", []).append(orjson.loads(rec.value or b"null"))
        self.enriched, self.dead = enriched, dead

    def duplicates(self) -> int:
        """Records delivered more than once; asserts that every copy is identical."""
        extra = 0
        for key, copies in self.enriched.items():
            first = without_timestamps(copies[0])
            for other in copies[1:]:
                assert without_timestamps(other) == first, f"{key!r} differs on redelivery"
            extra += len(copies) - 1
        return extra


async def scrape(port: int, path: str = "/metrics") -> tuple[int, str] | None:
    """(status, body) of a worker's HTTP endpoint on this host; None when it does not answer."""
    import aiohttp

    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"http://127.0.0.1:{port}{path}", timeout=aiohttp.ClientTimeout(total=5)
            ) as resp,
        ):
            return resp.status, await resp.text()
    except (aiohttp.ClientError, TimeoutError):
        return None


async def wait_for_metric(port: int, sample: str, value: float, timeout: float) -> None:
    """Until the worker's ``sample`` (a name with labels) reads ``value``; bounded."""
    import re

    deadline = time.monotonic() + timeout
    seen = "no answer"
    while time.monotonic() < deadline:
        answer = await scrape(port)
        if answer is not None:
            match = re.search(rf"^{re.escape(sample)} (\S+)$", answer[1], re.MULTILINE)
            seen = match.group(1) if match else "absent"
            if match and float(match.group(1)) == value:
                return
        await asyncio.sleep(0.3)
    raise AssertionError(f"{sample} is {seen}, not {value}, after {timeout}s")
