"""``enrich watch``: a live page of enriched articles, story groups and trending entities.

The page (``watch.html``, plain HTML, CSS and JavaScript, no build step) opens
a server-sent event stream (``/events``): the latest ``recent`` articles, then
each new one as it is published on the enriched topic. ``/trends`` answers
the trending entities from the trends table's changelog. The page shows
article content, so it binds loopback unless told otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from importlib import resources
from typing import Any

import orjson
from aiohttp import web

from workers.settings import Settings
from workers.stories import trends
from workers.stream import clients

log = logging.getLogger(__name__)

TEXT_CHARS = 6000  # of each article's text shown, with the entities inside it
PING_S = 15.0  # a comment line that keeps idle connections open


def view(value: bytes | None) -> dict[str, Any] | None:
    """What the page needs of an enriched record; None for what is not one."""
    try:
        rec = orjson.loads(value or b"")
        text = str(rec["text"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    shown = text[:TEXT_CHARS]
    return {
        "id": rec.get("id"),
        "title": rec.get("title"),
        "source": rec.get("source"),
        "url": rec.get("url"),
        "published_at": rec.get("published_at"),
        "text": shown,
        "cut": len(text) > len(shown),
        "entities": [
            {"start": m["start"], "end": m["end"], "label": m["label"], "name": m["canonical"]}
            for m in rec.get("entities") or []
            if m["end"] <= len(shown)
        ],
        "summary": rec.get("summary"),
        "keywords": rec.get("keywords") or [],
        "story_id": rec.get("story_id") or rec.get("id"),
        "duplicate_of": rec.get("duplicate_of"),
        "similarity": rec.get("similarity"),
    }


class Feed:
    """The latest articles, and the open event streams that hear of new ones."""

    def __init__(self, recent: int) -> None:
        self.recent: deque[bytes] = deque(maxlen=recent)
        self.listeners: set[asyncio.Queue[bytes]] = set()

    def publish(self, article: dict[str, Any]) -> None:
        data = orjson.dumps(article)
        self.recent.append(data)
        for queue in self.listeners:
            if queue.qsize() < 1000:  # a reader that stopped reading misses articles
                queue.put_nowait(data)


async def follow(settings: Settings, feed: Feed) -> None:
    """Feed the enriched topic's records to the page, from the latest ``recent`` on."""
    per_partition = max(1, feed.recent.maxlen or 1)
    async for rec in clients.consume(settings, [settings.topic_enriched], last=per_partition):
        article = view(rec.value)
        if article is not None:
            feed.publish(article)


def make_app(settings: Settings, feed: Feed) -> web.Application:
    page = resources.files("workers.stories").joinpath("watch.html").read_bytes()
    cache: dict[str, tuple[float, bytes]] = {}

    async def index(_: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html", charset="utf-8")

    async def events(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for data in list(feed.recent):
            queue.put_nowait(data)
        feed.listeners.add(queue)
        try:
            while True:
                try:
                    data = await asyncio.wait_for(queue.get(), timeout=PING_S)
                except TimeoutError:
                    await resp.write(b": ping\n\n")
                    continue
                await resp.write(b"event: article\ndata: " + data + b"\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            feed.listeners.discard(queue)
        return resp

    async def trending(request: web.Request) -> web.Response:
        try:
            window = trends.parse_duration(request.query.get("window", "1h"))
            top = int(request.query.get("top", "15"))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        key = f"{window}:{top}"
        now = time.monotonic()
        if key not in cache or now - cache[key][0] > 2.0:  # one changelog read per 2 s
            counts = await trends.read(settings)
            found = trends.trending(counts, now=time.time(), window_s=window, top=top)
            body = orjson.dumps({"window_s": window, "trends": [t.as_json() for t in found]})
            cache[key] = (now, body)
        return web.Response(body=cache[key][1], content_type="application/json")

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/events", events)
    app.router.add_get("/trends", trending)
    return app


async def serve_watch(settings: Settings, host: str, port: int, *, recent: int = 50) -> None:
    """Serve the page until cancelled."""
    feed = Feed(recent)
    runner = web.AppRunner(make_app(settings, feed), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"enrich watch: open http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    reader = asyncio.create_task(follow(settings, feed))
    try:
        await reader
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        await runner.cleanup()
