"""What every HTTP server of this project does at its edge.

Two servers show article content: the worker's port (``/trends``, beside
``/metrics``, ``/health`` and ``/ready``) and ``enrich watch``. Both bind or
answer loopback by default, and both go through ``start``:

- **Host names.** A loopback-only server answers only requests whose ``Host``
  names this machine (``localhost``, ``127.0.0.1``, ``[::1]``). Without that a
  web page the operator visits could point its own name at 127.0.0.1 (DNS
  rebinding) and read the page or its stream. Other names get 421.
- **Headers.** Every answer carries ``X-Content-Type-Options: nosniff``,
  ``X-Frame-Options: DENY`` and ``Referrer-Policy: no-referrer``; pages carry
  their own Content-Security-Policy.
- **Slow and many clients.** A connection must send its request headers
  within ``HEADER_TIMEOUT_S`` (aiohttp closes one idle that long, including
  before its first request), and at most ``MAX_CONNECTIONS`` are open at once:
  one past that is closed at once, so a flood cannot take the process to its
  descriptor limit.
- **Logs.** Lines logged for malformed requests and for refused connections
  are rate-limited: the first of a kind, then at most one a minute with the
  count of those left out (``RateLimit``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

HEADER_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 256
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def host_name(header: str) -> str:
    """The name a ``Host`` header gives, without its port or brackets, lower-cased."""
    header = header.strip().lower()
    if header.startswith("["):  # [::1]:8090
        return header[1 : header.find("]")] if "]" in header else header[1:]
    if header.count(":") == 1:
        return header.split(":", 1)[0]
    return header


def is_loopback_host(header: str | None) -> bool:
    return header is not None and host_name(header) in LOOPBACK_NAMES


def host_guard(check: Callable[[web.Request], bool]) -> Any:
    """A middleware that answers 421 to a request ``check`` refuses."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not check(request):
            return web.json_response(
                {"error": "this server answers requests for this machine's names only"},
                status=421,
            )
        return await handler(request)

    return guard


async def _common_headers(_: web.Request, response: web.StreamResponse) -> None:
    for name, value in COMMON_HEADERS.items():
        response.headers.setdefault(name, value)


class _Refused(asyncio.Protocol):
    """A connection over the cap: closed as soon as it is made."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class _Capped:
    """aiohttp's protocol factory, refusing connections past ``limit`` open ones."""

    def __init__(self, server: web.Server, limit: int) -> None:
        self.server = server
        self.limit = limit
        self.refused = 0

    def __call__(self) -> asyncio.Protocol:
        if len(self.server.connections) >= self.limit:
            self.refused += 1
            if self.refused == 1 or self.refused % 1000 == 0:
                logging.getLogger("aiohttp.server").warning(
                    "HTTP: %d connections open, the most allowed; refused %d so far",
                    self.limit,
                    self.refused,
                )
            return _Refused()
        return self.server()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.server, name)


class RateLimit(logging.Filter):
    """Lets the first record of each kind (logger and message template) through,
    then at most one per ``every_s`` with the count of those left out meanwhile."""

    def __init__(self, every_s: float = 60.0) -> None:
        super().__init__()
        self.every_s = every_s
        self.last: dict[tuple[str, str], float] = {}
        self.dropped: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, str(record.msg)[:200])
        now = time.monotonic()
        last = self.last.get(kind)
        if last is not None and now - last < self.every_s:
            self.dropped[kind] = self.dropped.get(kind, 0) + 1
            return False
        if len(self.last) > 1000:  # bounded, whatever the messages
            self.last.clear()
        self.last[kind] = now
        left_out = self.dropped.pop(kind, 0)
        if left_out:
            record.msg = f"{record.msg} ({left_out} more like it in the last {self.every_s:.0f}s)"
        if record.name.startswith("aiohttp") and record.exc_info and record.levelno >= 40:
            # a malformed request is the client's error, not ours: one line, no traceback
            record.msg = f"{record.msg}: {record.exc_info[1]!r}"
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_rate_limit = RateLimit()


def limit_logs(loggers: Iterable[str] = ("aiohttp.server", "aiohttp.web", "asyncio")) -> None:
    """Rate-limit what a flood of bad clients makes these loggers write (once each)."""
    for name in loggers:
        logger = logging.getLogger(name)
        if _rate_limit not in logger.filters:
            logger.addFilter(_rate_limit)


async def start(
    app: web.Application,
    host: str,
    port: int,
    *,
    header_timeout_s: float = HEADER_TIMEOUT_S,
    max_connections: int = MAX_CONNECTIONS,
) -> web.AppRunner:
    """Serve ``app`` on ``host:port`` with the guards above; the runner (clean it up
    to stop). A port that cannot be bound raises OSError, nothing left open."""
    app.on_response_prepare.append(_common_headers)
    limit_logs()
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=header_timeout_s)
    await runner.setup()
    capped = _Capped(runner.server, max_connections)  # type: ignore[arg-type]
    runner._server = capped  # type: ignore[assignment]  # TCPSite takes its factory here
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
