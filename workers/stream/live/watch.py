"""``enrich watch``: a live page of enriched articles, story groups and trending entities.

The page (``watch.html``, plain HTML, CSS and JavaScript, no build step) opens
a server-sent event stream (``/events``): the latest ``recent`` articles, then
each new one as it is published on the enriched topic. ``/trends`` answers
the trending entities from the trends table's changelog. The page shows
article content, so it binds loopback unless told otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from importlib import resources
from itertools import accumulate
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from workers.codec import Message
from workers.settings import Settings
from workers.stories import trends
from workers.stream.kafka import clients
from workers.stream.ops.observe import parse_top
from workers.web import LOOPBACK_NAMES, host_guard, host_name, is_loopback_host, start

log = logging.getLogger(__name__)

TEXT_CHARS = 6000  # of each article's text shown, with the entities inside it
PING_S = 15.0  # a comment line that keeps idle connections open
MAX_READERS = 100  # open event streams; one more is answered 503
READER_BUFFER_BYTES = 2 * 1024 * 1024  # queued for one reader; past it, it is dropped
MAX_RECENT = 1000
TRENDS_EVERY_S = 2.0  # one changelog read per this, whatever is asked
FIELD_CHARS = {"title": 1000, "source": 200, "url": 4096, "published_at": 100, "summary": 4000}
MAX_KEYWORDS = 30
MAX_PLACES = 20  # places, tones and countries shown of one article
TONE_LABELS = frozenset({"positive", "neutral", "negative"})


def _text_or_none(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value[:limit]


def view(value: bytes | None) -> dict[str, Any] | None:
    """What the page needs of an enriched record; None for what is not one (a
    record of another shape is skipped, never drawn half). Metadata is cut to
    bounded lengths; entity offsets are given in UTF-16 code units, as the
    page's JavaScript counts."""
    try:
        rec = orjson.loads(value or b"")
        if not isinstance(rec, dict) or not isinstance(rec.get("id"), str):
            return None
        text = rec["text"]
        if not isinstance(text, str):
            return None
        shown = text[:TEXT_CHARS]
        units = _utf16_units(shown)
        entities = []
        for m in rec.get("entities") or []:
            start, end = m["start"], m["end"]
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end):
                return None
            if end <= len(shown):
                entities.append(
                    {
                        "start": units(start),
                        "end": units(end),
                        "label": str(m["label"])[:40],
                        "name": str(m.get("canonical") or "")[:200],
                    }
                )
        keywords = rec.get("keywords") or []
        if not isinstance(keywords, list):
            return None
        similarity = rec.get("similarity")
        if similarity is not None and not isinstance(similarity, int | float):
            return None
        story = rec.get("story_id")
        places, tones = _where_and_how(rec.get("entity_list") or [])
        return {
            "id": rec["id"][:1024],
            **{name: _text_or_none(rec.get(name), n) for name, n in FIELD_CHARS.items()},
            "text": shown,
            "cut": len(text) > len(shown),
            "entities": entities,
            "keywords": [str(k)[:100] for k in keywords[:MAX_KEYWORDS]],
            "story_id": story[:1024] if isinstance(story, str) and story else rec["id"][:1024],
            "duplicate_of": _text_or_none(rec.get("duplicate_of"), 1024),
            "similarity": similarity,
            "places": places,
            "tones": tones,
            "countries": _countries(rec.get("countries") or []),
            "tone": _tone(rec.get("tone")),
        }
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError):
        return None


def _where_and_how(entities: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Of the entity list (most salient first): the places resolved, and the tone of the
    main people and organisations (schema version 4; an earlier record has neither)."""
    places: list[dict[str, Any]] = []
    tones: list[dict[str, Any]] = []
    for e in entities:
        name = str(e["name"])[:200]
        place = e.get("place")
        if isinstance(place, dict) and len(places) < MAX_PLACES:
            places.append(
                {
                    "name": name,
                    "place": str(place["name"])[:200],
                    "country": _text_or_none(place.get("country"), 2),
                    "kind": str(place["kind"])[:20],
                }
            )
        tone = _tone(e.get("tone"))
        if tone and e.get("label") in ("PERSON", "ORG") and len(tones) < MAX_PLACES // 2:
            tones.append({"name": name, **tone})
    return places, tones


def _tone(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict) or value.get("label") not in TONE_LABELS:
        return None
    return {"label": value["label"], "score": float(value["score"])}


def _countries(value: list[Any]) -> list[dict[str, Any]]:
    return [
        {"code": str(c["code"])[:2], "name": str(c["name"])[:100], "score": float(c["score"])}
        for c in value[:MAX_PLACES]
    ]


def _utf16_units(text: str) -> Callable[[int], int]:
    """Maps a code point offset into ``text`` to its UTF-16 offset (what JavaScript's
    string positions count: a character past U+FFFF, as most emoji, is two)."""
    if text.isascii() or max(text) < "\U00010000":
        return lambda i: i
    prefix = list(accumulate((2 if ord(c) > 0xFFFF else 1 for c in text), initial=0))
    return prefix.__getitem__


class Reader:
    """One open event stream's queue, bounded in bytes: a reader that falls that far
    behind is dropped (its page reconnects and starts again from the latest)."""

    def __init__(self, limit_bytes: int = READER_BUFFER_BYTES) -> None:
        self.items: deque[bytes] = deque()
        self.size = 0
        self.limit = limit_bytes
        self.dropped = False
        self.ready = asyncio.Event()

    def put(self, data: bytes) -> None:
        if self.dropped:
            return
        if self.size + len(data) > self.limit:
            self.dropped = True
            self.items.clear()
            self.size = 0
        else:
            self.items.append(data)
            self.size += len(data)
        self.ready.set()

    def take(self) -> list[bytes]:
        out = list(self.items)
        self.items.clear()
        self.size = 0
        self.ready.clear()
        return out


class Feed:
    """The latest articles, and the open event streams that hear of new ones."""

    def __init__(self, recent: int) -> None:
        self.recent: deque[bytes] = deque(maxlen=recent)
        self.readers: set[Reader] = set()
        self.skipped = 0  # records on the enriched topic that are not enriched articles
        self.dropped = 0  # readers dropped for falling behind

    def publish(self, article: dict[str, Any]) -> None:
        data = orjson.dumps(article)
        self.recent.append(data)
        for reader in list(self.readers):
            reader.put(data)
            if reader.dropped:
                self.readers.discard(reader)
                self.dropped += 1
                log.warning("enrich watch: a reader fell %d bytes behind; dropped", reader.limit)

    def skip(self, rec: Message) -> None:
        self.skipped += 1
        if self.skipped == 1 or self.skipped % 1000 == 0:
            log.warning(
                "enrich watch: skipped %d record(s) that are not enriched articles (latest "
                "%s[%d] offset %d)",
                self.skipped,
                rec.topic,
                rec.partition,
                rec.offset,
            )


async def follow(settings: Settings, feed: Feed) -> None:
    """Feed the enriched topic's records to the page, from the latest ``recent`` on."""
    per_partition = max(1, feed.recent.maxlen or 1)
    async for rec in clients.consume(settings, [settings.topic_enriched], last=per_partition):
        article = view(rec.value)
        if article is None:
            feed.skip(rec)
        else:
            feed.publish(article)


def _csp(page: bytes) -> str:
    """The page's Content-Security-Policy: its own inline script and style (by hash)
    and requests to this server, nothing else."""

    def hashes(tag: str) -> str:
        found = re.findall(rf"<{tag}>(.*?)</{tag}>".encode(), page, re.S)
        return " ".join(
            f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'" for body in found
        )

    return (
        f"default-src 'none'; script-src {hashes('script')}; style-src {hashes('style')}; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def make_app(settings: Settings, feed: Feed, *, host: str = "127.0.0.1") -> web.Application:
    """The page's server. Bound to a loopback address, it answers requests for this
    machine's names only (workers.web)."""
    page = resources.files("workers.stream.live").joinpath("watch.html").read_bytes()
    csp = _csp(page)
    ranked: dict[tuple[float, int], bytes] = {}
    counts_read: dict[str, Any] = {"at": -TRENDS_EVERY_S, "counts": {}}

    async def index(_: web.Request) -> web.Response:
        return web.Response(
            body=page,
            content_type="text/html",
            charset="utf-8",
            headers={"Content-Security-Policy": csp},
        )

    async def events(request: web.Request) -> web.StreamResponse:
        if len(feed.readers) >= MAX_READERS:
            return web.json_response({"error": "too many open pages"}, status=503)
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        reader = Reader()
        for data in list(feed.recent):
            reader.put(data)
        feed.readers.add(reader)
        try:
            while not reader.dropped:
                try:
                    await asyncio.wait_for(reader.ready.wait(), timeout=PING_S)
                except TimeoutError:
                    await resp.write(b": ping\n\n")
                    continue
                for data in reader.take():
                    await resp.write(b"event: article\ndata: " + data + b"\n\n")
        except (ConnectionError, asyncio.CancelledError, aiohttp.ClientError):
            pass  # the reader went away, mid-write or not: nothing to log
        finally:
            feed.readers.discard(reader)
        return resp

    async def trending(request: web.Request) -> web.Response:
        try:
            window = trends.parse_duration(request.query.get("window", "1h"))
            top = parse_top(request.query.get("top", "15"))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        now = time.monotonic()
        if now - counts_read["at"] > TRENDS_EVERY_S:  # one changelog read per 2 s, in all
            counts_read["counts"] = await clients.read_trend_counts(settings)
            counts_read["at"] = now
            ranked.clear()  # the rankings of the last read: a handful of keys at most
        key = (window, top)
        if key not in ranked:
            counts = counts_read["counts"]

            def rank() -> bytes:
                found = trends.trending(counts, now=time.time(), window_s=window, top=top)
                return orjson.dumps({"window_s": window, "trends": [t.as_json() for t in found]})

            if len(ranked) >= 32:
                ranked.clear()
            ranked[key] = await asyncio.get_running_loop().run_in_executor(None, rank)
        return web.Response(body=ranked[key], content_type="application/json")

    guards = []
    if host_name(host) in LOOPBACK_NAMES:
        guards.append(host_guard(lambda r: is_loopback_host(r.headers.get("Host"))))
    app = web.Application(middlewares=guards)
    app.router.add_get("/", index)
    app.router.add_get("/events", events)
    app.router.add_get("/trends", trending)
    return app


async def serve_watch(settings: Settings, host: str, port: int, *, recent: int = 50) -> None:
    """Serve the page until cancelled. A port that cannot be bound raises OSError."""
    feed = Feed(recent)
    runner = await start(make_app(settings, feed, host=host), host, port)
    print(f"enrich watch: open http://{_url_host(host)}:{port}/ (Ctrl-C stops)", flush=True)
    reader = asyncio.create_task(_wait_then_follow(settings, feed))
    try:
        await reader
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        await runner.cleanup()


async def _wait_then_follow(settings: Settings, feed: Feed) -> None:
    await clients.wait_for_broker(settings, timeout=settings.broker_wait_s)
    await follow(settings, feed)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
