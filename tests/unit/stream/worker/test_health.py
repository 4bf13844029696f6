"""The broker check: what counts as a lost broker, and when the worker gives up."""

from __future__ import annotations

import asyncio

import pytest

from workers.errors import ExitCode
from workers.settings import Settings
from workers.stream.kafka import clients
from workers.stream.ops.observe import Observer
from workers.stream.worker.health import Health
from workers.stream.worker.process import create_app


def health(monkeypatch: pytest.MonkeyPatch, answers: tuple[int, int]) -> tuple[Health, list[int]]:
    settings = Settings(broker="a:9092,b:9092,c:9092", stages="clean", broker_lost_exit_s=0.4)
    observer = Observer(stages=["clean"], model=None, stall_timeout_s=60)
    exits: list[int] = []

    async def answering(*_: object, **__: object) -> tuple[int, int]:
        return answers

    monkeypatch.setattr(clients, "answering", answering)
    return Health(create_app(settings), settings, observer, lambda code, _: exits.append(code),
                  {}, None), exits  # fmt: skip


async def test_a_lost_quorum_while_output_fails_exits_past_the_broker_lost_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check, exits = health(monkeypatch, (1, 3))
    check.observer.publishing(ConnectionError("not enough replicas"))
    await asyncio.wait_for(check.check_broker(), 10)
    assert exits == [ExitCode.BROKER_UNAVAILABLE]


async def test_bootstrap_addresses_away_while_output_flows_is_no_reason_to_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two stale bootstrap addresses of a cluster that works: said on /ready, never fatal."""
    check, exits = health(monkeypatch, (1, 3))
    check.observer.assigned_partitions([("articles.raw", 0)])
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(check.check_broker(), 1.5)
    assert exits == []
    assert check.observer.ready()[1]["status"].startswith("1 of 3 brokers answer")


async def test_no_broker_answering_exits_past_the_broker_lost_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check, exits = health(monkeypatch, (0, 3))
    await asyncio.wait_for(check.check_broker(), 10)
    assert exits == [ExitCode.BROKER_UNAVAILABLE]
