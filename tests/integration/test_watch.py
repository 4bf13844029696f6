"""The live page in a real browser: headless Chromium against a running worker.

The worker enriches the samples (one is a near-copy of another); ``enrich watch``
serves the page; Chromium loads it, driven over the DevTools protocol. The page
must show the articles, their entities highlighted, the near-copy folded into
its story, and the trending entities. A screenshot is kept in
``test-artifacts/watch.png`` (or ``$TEST_ARTIFACTS``).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tests.conftest import unavailable
from tests.integration.conftest import Stack
from tests.integration.helpers import Collector
from workers.inputs import read_records, sample_path
from workers.stream.kafka import clients

pytestmark = [pytest.mark.integration, pytest.mark.model, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1400",
    "--remote-debugging-port=0",
]


def start(argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    out = subprocess.PIPE if env is not None else subprocess.DEVNULL
    return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)


def keep(data: bytes, name: str) -> None:
    """Write a test artefact where CI keeps it."""
    artefacts = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "test-artifacts"))
    artefacts.mkdir(parents=True, exist_ok=True)
    (artefacts / name).write_bytes(data)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until(check: Any, timeout: float, what: str) -> Any:
    """The first truthy result of ``await check()``, polled; fails past ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.3)
    raise AssertionError(f"{what} after {timeout}s (last: {last!r})")


class Browser:
    """One page of headless Chromium, driven over the DevTools protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        mid = next(self.ids)
        await self.ws.send_str(
            orjson.dumps({"id": mid, "method": method, "params": params}).decode()
        )
        while True:
            msg = await asyncio.wait_for(self.ws.receive(), timeout=30)
            body = orjson.loads(msg.data)
            if body.get("id") == mid:
                assert "error" not in body, body
                return dict(body["result"])

    async def js(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")


async def test_the_live_page_shows_articles_entities_stories_and_trends(
    stack: Stack, tmp_path: Path
) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        unavailable("Chromium is not installed", required_by="BROWSER_TESTS")
    records = [(key, value) for _, key, value in read_records(sample_path())]
    stack.start_worker(ENRICH_STORIES="true")
    async with Collector(stack.settings) as seen:
        await clients.produce(stack.settings, records)
        await seen.wait_for(len(records), timeout=180)

    port = free_port()
    watch = start([sys.executable, "-m", "workers.cli", "watch", "--port", str(port)], stack.env)
    profile = tmp_path / "chromium"
    browser = None
    try:
        async with aiohttp.ClientSession() as http:

            async def page_served() -> bool:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/") as resp:
                        return resp.status == 200
                except aiohttp.ClientError:
                    assert watch.poll() is None, watch.stdout.read().decode()  # type: ignore[union-attr]
                    return False

            await until(page_served, 60, "enrich watch did not serve its page")
            browser = start(
                [
                    chromium,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile}",
                    f"http://127.0.0.1:{port}/",
                ]
            )

            async def devtools_port() -> int | None:
                path = profile / "DevToolsActivePort"
                return int(path.read_text().split()[0]) if path.exists() else None

            debug = await until(devtools_port, 60, "Chromium did not open its DevTools port")

            async def page_target() -> str | None:
                async with http.get(f"http://127.0.0.1:{debug}/json/list") as resp:
                    pages = [
                        t
                        for t in await resp.json()
                        if t["type"] == "page" and t["url"].startswith(f"http://127.0.0.1:{port}")
                    ]
                return pages[0]["webSocketDebuggerUrl"] if pages else None

            target = await until(page_target, 30, "no page in Chromium")
            async with http.ws_connect(target, max_msg_size=0) as ws:
                page = Browser(ws)
                await page.call("Runtime.enable")

                async def articles_shown() -> int:
                    return int(await page.js("document.querySelectorAll('.article').length") or 0)

                # four articles in three stories: the wire copy is folded into its story
                shape = (
                    "[document.querySelectorAll('.story').length,"
                    " document.querySelectorAll('.copies li').length,"
                    " document.getElementById('status').textContent]"
                )

                async def folded() -> bool:
                    if not await page.js("document.getElementById('status') !== null"):
                        return False  # still loading
                    stories, copies, _ = await page.js(shape)
                    return bool(stories == 3 and copies == 1)

                try:
                    await until(folded, 60, "the stories did not appear")
                except AssertionError as exc:
                    raise AssertionError(f"{exc}; the page shows {await page.js(shape)}") from None
                assert await articles_shown() == 3  # one card per story
                # the two Halden records sit in different partitions, so either can be
                # cleaned first and be the story's first (docs/stories.md)
                halden = await page.js(
                    "(() => { const s = document.querySelector("
                    '\'[data-story="sample-halden-terminal"],'
                    ' [data-story="sample-halden-terminal-wire"]\');'
                    " return s && {story: s.dataset.story,"
                    " title: s.querySelector('h2').textContent,"
                    " copy: s.querySelector('.copies li').dataset.id,"
                    " text: s.querySelector('.copies li').textContent}; })()"
                )
                assert halden is not None, await page.js(shape)
                first_titles = {
                    "sample-halden-terminal": "Port of Halden opens solar-powered ferry terminal",
                    "sample-halden-terminal-wire": "Solar ferry terminal opens in Halden",
                }
                assert halden["title"].startswith(first_titles[halden["story"]])
                assert "2 articles" in halden["title"]
                assert {halden["story"], halden["copy"]} == set(first_titles)
                assert "similarity 0." in halden["text"]
                marks = await page.js(
                    "[...document.querySelectorAll('mark.ent')]"
                    ".map(m => [m.textContent, m.dataset.label])"
                )
                assert ["Maria Lindqvist", "PERSON"] in marks
                assert ["Westbrook", "GPE"] in marks
                trending = await until(
                    lambda: page.js(
                        "[...document.querySelectorAll('#trends li[data-name]')]"
                        ".map(li => li.dataset.name)"
                    ),
                    30,
                    "no trending entities on the page",
                )
                assert "Maria Lindqvist" in trending
                # where and how: each story's places and the tone toward its people, and
                # the countries of the stories on the page, ranked
                where = await until(
                    lambda: page.js(
                        "[...document.querySelectorAll('#where li[data-code]')]"
                        ".map(li => li.dataset.code)"
                    ),
                    30,
                    "no countries in the where panel",
                )
                assert "NO" in where, where  # Halden, in Norway
                lines = await page.js(
                    "[...document.querySelectorAll('.where, .how')].map(p => p.textContent)"
                )
                assert any(line.startswith("Where: ") and "NO" in line for line in lines), lines
                tones = await page.js(
                    "[...document.querySelectorAll('.how .tone')].map(t => t.dataset.tone)"
                )
                assert tones and set(tones) <= {"positive", "neutral", "negative"}, tones

                # what is not an enriched article is skipped, and the page keeps going
                # (entities: [1] killed it, again on every restart); the page shows a
                # bounded window of stories, the oldest going as new ones come
                def enriched(i: int, **fields: Any) -> tuple[bytes, bytes]:
                    body = {"id": f"w{i}", "title": f"W {i}", "text": f"Article {i}."}
                    return f"w{i}".encode(), orjson.dumps(body | fields)

                many = [enriched(i) for i in range(260)]
                bad = [(b"bad", orjson.dumps({"id": "bad", "text": "x", "entities": [1]}))]
                await clients.produce(stack.settings, bad + many, stack.settings.topic_enriched)

                async def window_full() -> bool:
                    shown = await page.js("document.querySelectorAll('.story').length")
                    return bool(shown == 200)

                await until(window_full, 60, "the page did not keep a window of 200 stories")
                assert watch.poll() is None
                # highlights stay on their words after characters JavaScript counts twice
                text = "🎉🎉 Barack Obama met the press."
                at = text.index("Barack")
                mention = {
                    "start": at,
                    "end": at + 12,
                    "label": "PERSON",
                    "canonical": "Barack Obama",
                }
                emoji = [enriched(999, text=text, entities=[mention])]
                await clients.produce(stack.settings, emoji, stack.settings.topic_enriched)
                marked = await until(
                    lambda: page.js(
                        "(() => { const s = document.querySelector('[data-story=\"w999\"]');"
                        " return s && s.querySelector('mark.ent').textContent; })()"
                    ),
                    60,
                    "the emoji article did not appear",
                )
                assert marked == "Barack Obama"
                # a bidirectional override in a producer's title shows as nothing
                flipped = [enriched(1000, title="\u202eReversed title\u202c")]
                await clients.produce(stack.settings, flipped, stack.settings.topic_enriched)
                title = await until(
                    lambda: page.js(
                        "(() => { const s = document.querySelector('[data-story=\"w1000\"]');"
                        " return s && s.querySelector('h2').textContent; })()"
                    ),
                    60,
                    "the reversed-title article did not appear",
                )
                assert title == "Reversed title"
                shot = await page.call("Page.captureScreenshot", format="png")
                png = base64.b64decode(shot["data"])
                assert png.startswith(b"\x89PNG")
                keep(png, "watch.png")
    finally:
        for proc in (browser, watch):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
