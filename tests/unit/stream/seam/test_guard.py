"""No worker lives on half dead: a crashed agent, task or timer stops it; a fatal
error of the group stops it with exit 78 (patch 13)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import errors as aiokafka_errors
from aiokafka.consumer.group_coordinator import GroupCoordinator

from workers.errors import ExitCode
from workers.stream.seam import guard


async def test_a_crashed_agent_stops_the_worker_and_reads_nothing_more() -> None:
    failures: list[tuple[int, str]] = []
    batches: list[int] = []

    async def agent(stream: list[int]) -> None:
        for batch in stream:
            if batch == 2:
                raise OverflowError("timestamp too large")
            batches.append(batch)

    run = asyncio.create_task(
        guard.guarded(agent, "the clean agent", lambda *f: failures.append(f))([1, 2, 3])
    )
    await asyncio.sleep(0.05)
    assert failures == [
        (ExitCode.ERROR, "the clean agent crashed (OverflowError: timestamp too large)")
    ]
    assert batches == [1]
    assert not run.done()  # it waits for the stop: Faust neither restarts it nor goes on
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run


async def test_the_stop_itself_passes_through_the_guard() -> None:
    failures: list[tuple[int, str]] = []

    async def task() -> None:
        await asyncio.Event().wait()

    run = asyncio.create_task(guard.guarded(task, "a task", lambda *f: failures.append(f))())
    await asyncio.sleep(0)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert failures == []


def test_the_guard_keeps_what_faust_reads_of_a_function() -> None:
    import inspect

    async def sample_lag(self: Any = None) -> None:
        return None

    wrapped = guard.guarded(sample_lag, "x", lambda *f: None)
    assert wrapped.__name__ == "sample_lag"
    assert inspect.iscoroutinefunction(wrapped)
    assert list(inspect.signature(wrapped).parameters) == ["self"]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (aiokafka_errors.InvalidSessionTimeoutError(), ExitCode.CONFIG),
        (aiokafka_errors.InvalidGroupIdError(), ExitCode.CONFIG),
        (aiokafka_errors.KafkaConnectionError(), None),  # transient: retried as before
    ],
)
async def test_a_fatal_group_error_stops_the_worker_naming_the_setting(
    error: BaseException, code: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiokafka hands these to the consumer's getmany, which Faust never calls."""
    pushed: list[BaseException] = []

    async def original(self: Any, exc: BaseException) -> None:
        pushed.append(exc)

    monkeypatch.setattr(GroupCoordinator, "_push_error_to_user", original)
    monkeypatch.setattr(guard, "_patched", False)
    failures: list[tuple[int, str]] = []
    guard.on_fatal_group_error(lambda *f: failures.append(f))
    await GroupCoordinator._push_error_to_user(object(), error)
    assert pushed == [error]  # what aiokafka did, it still does
    if code is None:
        assert failures == []
    else:
        assert [c for c, _ in failures] == [code]
        if isinstance(error, aiokafka_errors.InvalidSessionTimeoutError):
            assert "ENRICH_SESSION_TIMEOUT_S" in failures[0][1]
