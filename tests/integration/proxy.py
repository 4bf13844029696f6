"""A TCP proxy that can cut every connection, or drop the next few: a broker outage
on demand; and, reading the Kafka requests it forwards, hold a chosen request (an
``EndTxn``, everything after an ``AddPartitionsToTxn``): a worker stopped at a chosen
step of its commit.

It runs its own event loop in a thread, so it keeps forwarding whatever the
test's loop is doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any

#: Kafka API keys of the transaction's steps (the request header's first field).
PRODUCE, ADD_PARTITIONS_TO_TXN, ADD_OFFSETS_TO_TXN, END_TXN, TXN_OFFSET_COMMIT = 0, 24, 25, 26, 28


class Proxy:
    """Forwards ``listen_port`` to ``target_port`` on loopback until cut."""

    def __init__(self, listen_port: int, target_port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.listen_port = listen_port
        self.target_port = target_port
        self._server: asyncio.Server | None = None
        self._drop = 0
        self.dropped = 0  # connections dropped by drop_next
        self._writers: set[asyncio.StreamWriter] = set()
        self._hold: frozenset[int] = frozenset()  # API keys held once armed
        self._after: int | None = None  # arm when a request with this key has passed
        self._armed = False
        self.held = threading.Event()  # a request was held
        self.held_api_key: int | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def start(self) -> None:
        """Accept connections (again)."""
        self._call(self._start())

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        self._call(self._cut())

    def drop_next(self, count: int) -> None:
        """Accept the next ``count`` connections and drop each at once, as a network
        that is still starting can."""
        self._call(self._set_drop(count))

    async def _set_drop(self, count: int) -> None:
        self._drop = count

    def hold(self, api_keys: set[int], *, after: int | None = None) -> None:
        """Hold (never forward) the next client request with one of ``api_keys``, and
        everything after it on its connection; only once a request with the key
        ``after`` has passed, where given. ``held`` is set when one is held."""
        self._hold, self._after = frozenset(api_keys), after
        self._armed = after is None
        self.held.clear()

    def release(self) -> None:
        """Forward every request again (those held so far are gone with their
        connections)."""
        self._hold, self._after, self._armed = frozenset(), None, False

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.listen_port, reuse_address=True
        )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._drop > 0:
            self._drop -= 1
            self.dropped += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._requests(reader, up_writer), self._pipe(up_reader, writer))

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Client to broker, a Kafka request at a time (size, then the request: its
        API key first), holding what ``hold`` asks for."""
        try:
            while True:
                size = await reader.readexactly(4)
                body = await reader.readexactly(int.from_bytes(size, "big", signed=True))
                api_key = int.from_bytes(body[:2], "big", signed=True)
                if self._armed and api_key in self._hold:
                    self.held_api_key = api_key
                    self.held.set()
                    await reader.read()  # hold it and all after it: until the client goes
                    return
                writer.write(size + body)
                await writer.drain()
                if self._after is not None and api_key == self._after:
                    self._armed = True
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
