"""The HTTP edge both servers share (workers.web): host names, headers, slow and
many clients, and logs a flood cannot fill. Real sockets on loopback."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from aiohttp import web

from workers import web as edge
from workers.stream.embedded.broker import free_port


async def hello(_: web.Request) -> web.Response:
    return web.Response(text="hi")


def loopback_only(request: web.Request) -> bool:
    return edge.is_loopback_host(request.headers.get("Host"))


def test_host_names() -> None:
    assert edge.host_name("LocalHost:8090") == "localhost"
    assert edge.host_name("[::1]:8090") == "::1"
    assert edge.host_name("127.0.0.1") == "127.0.0.1"
    assert edge.host_name("evil.example:8090") == "evil.example"
    assert edge.is_loopback_host("[::1]") and not edge.is_loopback_host(None)
    assert not edge.is_loopback_host("localhost.evil.example")


async def test_a_loopback_server_answers_its_own_names_only_and_sends_its_headers() -> None:
    app = web.Application(middlewares=[edge.host_guard(loopback_only)])
    app.router.add_get("/", hello)
    port = free_port()
    runner = await edge.start(app, "127.0.0.1", port)
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/"
            async with session.get(url) as r:
                assert r.status == 200
                assert r.headers["X-Content-Type-Options"] == "nosniff"
                assert r.headers["X-Frame-Options"] == "DENY"
            # DNS rebinding: a page on evil.example, its name pointed at 127.0.0.1
            async with session.get(url, headers={"Host": f"evil.example:{port}"}) as r:
                assert r.status == 421
            async with session.get(url, headers={"Host": f"localhost:{port}"}) as r:
                assert r.status == 200
    finally:
        await runner.cleanup()


async def test_slow_headers_are_cut_off_and_connections_are_capped() -> None:
    app = web.Application()
    app.router.add_get("/", hello)
    port = free_port()
    runner = await edge.start(app, "127.0.0.1", port, header_timeout_s=1.0, max_connections=5)
    held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        # slowloris: request lines that never end
        for _ in range(5):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-a: ")
            await writer.drain()
            held.append((reader, writer))
        # the sixth is over the cap: closed at once
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        # the slow ones are closed once the header timeout passes
        for reader, _ in held:
            assert await asyncio.wait_for(reader.read(), 10) == b""
        # and the server answers again
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/") as r,
        ):
            assert r.status == 200
    finally:
        for _, writer in held:
            writer.close()
        await runner.cleanup()


def test_a_flood_of_the_same_line_is_logged_once_a_minute_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limit = edge.RateLimit(every_s=60)
    logger = logging.getLogger("asyncio.test-flood")
    logger.addFilter(limit)
    try:
        with caplog.at_level(logging.ERROR, logger="asyncio.test-flood"):
            for _ in range(10_000):
                logger.error("socket.accept() out of system resource")
        assert len(caplog.records) == 1
        limit.last.clear()  # a minute later
        with caplog.at_level(logging.ERROR, logger="asyncio.test-flood"):
            logger.error("socket.accept() out of system resource")
        assert "9999 more like it" in caplog.records[-1].getMessage()
    finally:
        logger.removeFilter(limit)


def test_a_malformed_request_is_one_warning_line_not_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("aiohttp.server")
    limit = edge.RateLimit()
    logger.addFilter(limit)
    try:
        with caplog.at_level(logging.DEBUG, logger="aiohttp.server"):
            try:
                raise ValueError("Invalid method encountered")
            except ValueError:
                logger.exception("Error handling request")
        (record,) = caplog.records
        assert record.levelname == "WARNING" and record.exc_info is None
        assert "Invalid method" in record.getMessage()
    finally:
        logger.removeFilter(limit)
