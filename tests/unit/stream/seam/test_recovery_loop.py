"""Faust's table recovery loop is begun again where a cancellation from within ends
it (patch 19), and ends with the worker's stop: without the patch the loop ended for
good, the consumer's flow stopped, and the worker processed nothing more."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from workers.stream.seam import faust_compat, recovery_loop


class Recovery:
    """What the loop reads of Faust's ``Recovery``: its stop, its next-recovery signal."""

    def __init__(self) -> None:
        self.should_stop = False
        self.signal_recovery_start = asyncio.Event()
        self.runs = 0


async def test_a_recovery_loop_cancelled_from_within_is_begun_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recovery = Recovery()

    async def loop(service: Any) -> None:
        service.runs += 1
        if service.runs == 1:
            lookup: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            lookup.cancel()  # what it awaited was cancelled from under it
            await lookup
        service.should_stop = True  # the second run ends as at a stop

    await asyncio.wait_for(recovery_loop.kept(recovery, loop), 5)
    assert recovery.runs == 2
    assert recovery.signal_recovery_start.is_set()  # the partitions recovered anew
    assert "table recovery was cancelled" in caplog.text


async def test_a_recovery_loop_left_as_at_a_stop_while_the_worker_runs_is_begun_again(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mode's ``wait_first`` reports a step that outlasted its bound as the service
    stopped, and Faust leaves its loop (``break``) though nothing stops."""
    monkeypatch.setattr(recovery_loop, "RESTART_PAUSE_S", 0.0)
    recovery = Recovery()

    async def loop(service: Any) -> None:
        service.runs += 1
        if service.runs == 2:
            service.should_stop = True  # the second run ends at a real stop

    await asyncio.wait_for(recovery_loop.kept(recovery, loop), 5)
    assert recovery.runs == 2
    assert recovery.signal_recovery_start.is_set()
    assert "table recovery ended while the worker runs" in caplog.text


async def test_mode_reports_a_wait_that_timed_out_as_the_service_stopped() -> None:
    """What the patch answers (mode-streaming 0.7): the wait Faust's recovery makes of each step."""
    import faust

    class Service(faust.Service):  # mode's Service, as Faust exports it
        pass

    service = Service()
    result = await service.wait_first(asyncio.Event().wait(), timeout=0.01)
    assert result.stopped and not service.should_stop


async def test_a_recovery_loop_whose_task_is_cancelled_ends() -> None:
    recovery = Recovery()
    started = asyncio.Event()

    async def loop(service: Any) -> None:
        service.runs += 1
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(recovery_loop.kept(recovery, loop))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()  # the worker stops
    with pytest.raises(asyncio.CancelledError):
        await task
    assert recovery.runs == 1


def test_the_apps_recovery_runs_its_loop_kept() -> None:
    task = faust_compat.Recovery._restart_recovery
    assert task.fun.__qualname__ == "Recovery._restart_recovery"
    assert task.fun.__module__ == faust_compat.__name__
