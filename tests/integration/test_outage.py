"""Broker outages: a worker waits for a late broker, retries connections dropped as it
starts, rides out a short outage, and exits non-zero, quietly, when the broker stays
away."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.conftest import Stack
from tests.integration.helpers import Collector, articles, wait_for_metric
from tests.integration.proxy import Proxy
from workers.errors import ExitCode
from workers.stream.embedded.broker import EmbeddedBroker, free_port
from workers.stream.kafka import admin, clients

pytestmark = [pytest.mark.integration, pytest.mark.model]


def problem_lines(stack: Stack) -> list[str]:
    return [
        line
        for line in stack.full_logs().splitlines()
        if re.search(r"\"level\":\"(WARNING|ERROR|CRITICAL)\"", line)
    ]


@pytest.fixture
async def own_broker(stack: Stack, tmp_path: Path) -> AsyncIterator[tuple[Stack, Proxy]]:
    """The stack moved to a broker of its own, reached through a proxy that can cut it."""
    proxy_port = free_port()
    with EmbeddedBroker(advertised_port=proxy_port, log_path=tmp_path / "own.log") as broker:
        proxy = Proxy(proxy_port, broker.port)
        proxy.start()
        stack.settings = stack.settings.model_copy(update={"broker": broker.bootstrap})
        stack.env["ENRICH_BROKER"] = broker.bootstrap
        await admin.create_topics(stack.settings)
        try:
            yield stack, proxy
        finally:
            for proc in stack.workers:  # stop them while their broker still runs
                stack.stop_worker(proc)
            proxy.close()


async def test_worker_started_before_the_broker_waits_for_it(stack: Stack, tmp_path: Path) -> None:
    port = free_port()
    address = f"127.0.0.1:{port}"
    stack.settings = stack.settings.model_copy(update={"broker": address})
    stack.env["ENRICH_BROKER"] = address
    worker = stack.start_worker()
    # it says at once that it waits; then it waits, rather than exit
    deadline = time.monotonic() + 60
    while "waiting for broker" not in stack.full_logs():
        assert worker.poll() is None, stack.logs()
        assert time.monotonic() < deadline, f"the worker never said it waits\n{stack.logs()}"
        await asyncio.sleep(0.2)
    assert worker.poll() is None, stack.logs()
    with EmbeddedBroker(port=port, log_path=tmp_path / "late.log"):
        await admin.create_topics(stack.settings)
        records = articles(20, "late")
        async with Collector(stack.settings) as seen:
            await clients.produce(stack.settings, records)
            await seen.wait_for(len(records), timeout=120)
        assert stack.stop_worker(worker) == 0
        stack.workers.remove(worker)


# Faust's start at once, as ``enrich worker`` runs it once the broker has answered
FAUST_AT_ONCE = (
    "-c",
    "import os\n"
    "from workers.loading import build_pipeline\n"
    "from workers.settings import Settings\n"
    "from workers.stream.worker import process\n"
    "settings = Settings()\n"
    "os._exit(process.run(settings, lambda: build_pipeline(settings)))\n",
)


async def test_worker_start_retries_connections_the_network_drops(
    own_broker: tuple[Stack, Proxy],
) -> None:
    stack, proxy = own_broker
    records = articles(10, "dropped")
    await clients.produce(stack.settings, records)
    # the worker's own way in, only for its bootstrap: the broker then gives its clients
    # the address the rest of the stack uses
    entry = Proxy(free_port(), proxy.target_port)
    entry.drop_next(3)
    entry.start()
    try:
        worker = stack.start_worker(
            python=FAUST_AT_ONCE, ENRICH_BROKER=f"127.0.0.1:{entry.listen_port}"
        )
        async with Collector(stack.settings) as seen:
            await seen.wait_until(
                lambda: len(seen.done) == len(records) or worker.poll() is not None,
                120,
                lambda: f"only {len(seen.done)} of {len(records)} records arrived",
            )
        assert worker.poll() is None, stack.logs()
        assert entry.dropped == 3
        assert seen.done == {key for key, _ in records}
    finally:
        entry.close()


async def test_worker_rides_out_a_short_outage(own_broker: tuple[Stack, Proxy]) -> None:
    stack, proxy = own_broker
    port = free_port()
    worker = stack.start_worker(ENRICH_BROKER_LOST_EXIT_S="60", ENRICH_HTTP_PORT=str(port))
    before, after = articles(50, "before"), articles(50, "after")
    async with Collector(stack.settings) as seen:
        await clients.produce(stack.settings, before)
        await seen.wait_for(50, timeout=120)
    proxy.cut()
    cut_at = time.monotonic()
    await wait_for_metric(port, "enrich_broker_reachable", 0, timeout=60)  # it noticed
    # hold the outage past the session timeout, so that the group must re-form
    await asyncio.sleep(max(0.0, 12 - (time.monotonic() - cut_at)))
    assert worker.poll() is None, stack.logs()
    proxy.start()
    await wait_for_metric(port, "enrich_broker_reachable", 1, timeout=60)
    async with Collector(stack.settings) as seen:
        await clients.produce(stack.settings, after)
        await seen.wait_for(100, timeout=120)
    assert seen.done == {key for key, _ in before + after}
    assert worker.poll() is None
    logs = stack.full_logs()
    assert "unreachable" in logs and "is back" in logs
    assert len(problem_lines(stack)) < 40, "\n".join(problem_lines(stack))


async def test_worker_exits_non_zero_when_the_broker_stays_away(
    own_broker: tuple[Stack, Proxy],
) -> None:
    stack, proxy = own_broker
    lost_exit_s = 6.0
    worker = stack.start_worker(ENRICH_BROKER_LOST_EXIT_S=str(lost_exit_s))
    async with Collector(stack.settings) as seen:
        await clients.produce(stack.settings, articles(10, "gone"))
        await seen.wait_for(10, timeout=120)
    proxy.cut()
    started = time.monotonic()
    bound = lost_exit_s + 5 + stack.settings.stop_timeout_s + 5
    try:
        code = await asyncio.to_thread(worker.wait, bound)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"worker still running {bound}s after the broker left") from None
    stack.workers.remove(worker)
    assert code == ExitCode.BROKER_UNAVAILABLE
    assert time.monotonic() - started >= lost_exit_s
    problems = problem_lines(stack)
    assert any("unreachable for" in line for line in problems)
    assert len(problems) < 40, "\n".join(problems)


async def test_a_frozen_bootstrap_address_does_not_make_the_broker_look_lost(stack: Stack) -> None:
    """A frozen node accepts connections (the kernel does) and answers nothing: asked
    first (the client picks its bootstrap address at random), it took the whole
    ping's time, and a healthy cluster looked lost."""
    import contextlib
    import socket

    with contextlib.ExitStack() as stop:
        frozen = []
        for _ in range(3):
            listener = stop.enter_context(socket.socket())
            listener.bind(("127.0.0.1", 0))
            listener.listen(16)  # connections queue; nothing ever reads them
            frozen.append(f"127.0.0.1:{listener.getsockname()[1]}")
        servers = ",".join([*frozen, stack.settings.broker])
        settings = stack.settings.model_copy(update={"broker": servers})
        for _ in range(3):
            assert await clients.ping(settings, timeout=3.0)
        alone = stack.settings.model_copy(update={"broker": frozen[0]})
        assert not await clients.ping(alone, timeout=1.0)
