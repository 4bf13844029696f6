"""Faust's table recovery loop kept running (patch 19 of ``faust_compat``).

Faust runs table recovery in one background task of its ``Recovery`` service
(``Recovery._restart_recovery``): after each rebalance it stops the consumer's flow,
reads the changelogs, seeks the stream partitions and resumes the flow. mode ends a
service's task without a word where a ``CancelledError`` comes out of it while the
service runs (``Service._execute_task`` logs it at DEBUG): an await within recovery
cancelled from under it, not the task itself. The loop then never ran again: the
consumer's flow stayed stopped, and the worker kept its partitions and processed
nothing, with no error logged, until an orchestrator restarted it (seen after a lost
quorum, where the group rebalanced while one node of three answered). The loop is
now begun again, with a warning, and recovers the partitions assigned now; only a
stop ends it.

The loop also ended where one of its steps outlasted its bound: Faust waits for each
step (the changelogs' ends, the producer's flush, the seek of the stream partitions)
for up to ``broker_request_timeout`` (``ENRICH_REQUEST_TIMEOUT_S``) with mode's
``wait_first``, which reports a wait that timed out as the service stopped; Faust then
left its loop as at a stop (seen after a lost quorum, under a loaded machine). A loop
that returns while the service runs is begun again the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

#: The pause before a loop that ended without a stop is begun again.
RESTART_PAUSE_S = 1.0


async def kept(recovery: Any, loop: Callable[[Any], Awaitable[None]]) -> None:
    """Run Faust's recovery ``loop`` for ``recovery`` until the service stops, begun
    again (its next recovery signalled) where a cancellation from within ends it, or
    where it returns while the service runs."""
    while not recovery.should_stop:
        try:
            await loop(recovery)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if recovery.should_stop or (task is not None and task.cancelling()):
                raise  # the service stops: this task itself was cancelled
            log.warning(
                "table recovery was cancelled from within; recovering the partitions "
                "assigned now again"
            )
        else:
            if recovery.should_stop:
                return
            log.warning(
                "table recovery ended while the worker runs (a step outlasted "
                "ENRICH_REQUEST_TIMEOUT_S); recovering the partitions assigned now again"
            )
            await asyncio.sleep(RESTART_PAUSE_S)  # never a busy loop
        recovery.signal_recovery_start.set()
