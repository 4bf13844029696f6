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
   (``set_send_deadline``). The worker's hooks (``set_send_hooks``) make it a
   worker's output like any other: its failure is reported as the stages' are
   (``/health``), its deadline is counted anew while the cluster has lost its
   quorum (the broker-lost exit bounds that wait: table writes had crashed a worker
   a minute into a lost quorum, exit 1), and past the deadline the worker exits as
   for its other output (75) instead of crashing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import faust
from aiokafka.errors import KafkaError
from faust.exceptions import ProducerSendError
from faust.transport.producer import ProducerBuffer

from workers.stream.kafka import clients

log = logging.getLogger(__name__)


@dataclass
class _Policy:
    """How an app's table writes are retried (patch 18)."""

    deadline_s: float = 0.0
    #: whether the deadline is counted anew (the cluster has lost its quorum)
    excused: Callable[[], bool] | None = None
    #: told each failure, and None once a write that failed went through
    trouble: Callable[[BaseException | None], None] = lambda _: None
    #: called past the deadline, before the error is raised
    give_up: Callable[[BaseException], None] = lambda _: None


_policies: WeakKeyDictionary[faust.App, _Policy] = WeakKeyDictionary()


def missing() -> str | None:
    """What these patches need and the installed Faust lacks; None when all is there."""
    for name in ("put", "flush", "_send_pending"):
        if not callable(getattr(ProducerBuffer, name, None)):
            return f"faust-streaming has no ProducerBuffer.{name}"
    return None


def set_send_deadline(app: faust.App, deadline_s: float) -> None:
    """How long a table write that failed is retried before the worker fails (patch 18)."""
    _policies.setdefault(app, _Policy()).deadline_s = deadline_s


def set_send_hooks(
    app: faust.App,
    *,
    excused: Callable[[], bool],
    trouble: Callable[[BaseException | None], None],
    give_up: Callable[[BaseException], None],
) -> None:
    """The worker's part in retrying table writes (patch 18): see ``_Policy``."""
    policy = _policies.setdefault(app, _Policy())
    policy.excused, policy.trouble, policy.give_up = excused, trouble, give_up


def apply() -> None:
    """Install the patches; ``faust_compat.apply`` calls this once per process."""
    original_put = ProducerBuffer.put
    original_flush = ProducerBuffer.flush
    original_send_pending = ProducerBuffer._send_pending
    errors = (KafkaError, ProducerSendError)

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
        policy = _policies.get(self.app) if self.app is not None else None
        if policy is None or not policy.deadline_s:
            await original_send_pending(self, fut)
            return
        failed = False

        async def attempt() -> None:
            nonlocal failed
            try:
                await original_send_pending(self, fut)
            except errors as exc:
                failed = True
                policy.trouble(exc)
                raise
            if failed:
                policy.trouble(None)

        def waiting(error: BaseException) -> None:
            log.warning(
                "a table write failed (%r); retrying for up to %.0f s", error, policy.deadline_s
            )

        try:
            await clients.retrying(
                attempt,
                timeout=policy.deadline_s,
                errors=errors,
                waiting=waiting,
                excused=policy.excused,
            )
        except errors as exc:
            policy.give_up(exc)
            raise

    ProducerBuffer.put = put  # type: ignore[method-assign]
    ProducerBuffer.flush = flush  # type: ignore[method-assign]
    ProducerBuffer._send_pending = send_pending  # type: ignore[method-assign]
