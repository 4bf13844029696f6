"""Faust's send buffer, where table writes wait for the producer: two patches
(numbered as in ``faust_compat``, which applies them).

6. **A flush that does not wait** (``ProducerBuffer.flush``). Before it commits
   offsets, Faust flushes its producer, and the flush of its send buffer returns as
   soon as no message left it for 0.1 s, as when the client's own send queue is full
   under load. The offsets were then committed with table writes still unsent, and
   a kill lost them for good. The patched flush waits until every message put in the
   buffer is sent (or failed).
18. **A table write that failed crashed the worker** (``ProducerBuffer._send_pending``).
   The buffer's sender task hands each write to the producer once; where the
   producer cannot take it (aiokafka's send queue stays full for its request timeout
   while a broker is frozen) the task crashed, and the worker with it, exit 1. The
   write is now retried, with backoff, for up to ``ENRICH_PRODUCE_DEADLINE_S``
   (``set_send_deadline``), then fails as before.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from weakref import WeakKeyDictionary

import faust
from aiokafka.errors import KafkaError
from faust.exceptions import ProducerSendError
from faust.transport.producer import ProducerBuffer

from workers.stream.kafka import clients

log = logging.getLogger(__name__)

_send_deadline_s: WeakKeyDictionary[faust.App, float] = WeakKeyDictionary()


def missing() -> str | None:
    """What these patches need and the installed Faust lacks; None when all is there."""
    for name in ("put", "flush", "_send_pending"):
        if not callable(getattr(ProducerBuffer, name, None)):
            return f"faust-streaming has no ProducerBuffer.{name}"
    return None


def set_send_deadline(app: faust.App, deadline_s: float) -> None:
    """How long a table write that failed is retried before the worker fails (patch 18)."""
    _send_deadline_s[app] = deadline_s


def apply() -> None:
    """Install the patches; ``faust_compat.apply`` calls this once per process."""
    original_put = ProducerBuffer.put
    original_flush = ProducerBuffer.flush
    original_send_pending = ProducerBuffer._send_pending

    def put(self: Any, fut: Any) -> None:
        unsent: set[Any] | None = getattr(self, "_unsent", None)
        if unsent is None:
            unsent = self._unsent = set()
        unsent.add(fut)
        fut.add_done_callback(unsent.discard)
        original_put(self, fut)

    async def flush(self: Any) -> None:
        unsent: set[Any] = getattr(self, "_unsent", set())
        if self.should_stop or self.app.conf.producer_threaded:
            # stopping, its sender may be gone; threaded, its futures are another loop's
            await original_flush(self)
            return
        while waiting := [f for f in unsent if not f.done()]:
            await asyncio.wait(waiting)

    async def send_pending(self: Any, fut: Any) -> None:
        deadline_s = _send_deadline_s.get(self.app) if self.app is not None else None
        if not deadline_s:
            await original_send_pending(self, fut)
            return

        def waiting(error: BaseException) -> None:
            log.warning("a table write failed (%r); retrying for up to %.0f s", error, deadline_s)

        await clients.retrying(
            lambda: original_send_pending(self, fut),
            timeout=deadline_s,
            errors=(KafkaError, ProducerSendError),
            waiting=waiting,
        )

    ProducerBuffer.put = put  # type: ignore[method-assign]
    ProducerBuffer.flush = flush  # type: ignore[method-assign]
    ProducerBuffer._send_pending = send_pending  # type: ignore[method-assign]
