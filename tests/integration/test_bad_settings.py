"""Settings the broker refuses end a worker or a command at once, with exit 78 and a
line naming the setting: never a worker that looks alive and does nothing, nor a
crash loop under the code of an outage."""

from __future__ import annotations

import subprocess

import pytest

from tests.integration.conftest import Stack
from tests.integration.helpers import articles
from workers.errors import ExitCode
from workers.stream.kafka import clients

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("broker", ["kafka"], indirect=True),
]

#: Far inside the produce deadline and the broker wait: the exit comes from the refusal.
AT_ONCE_S = 45


def _exits(stack: Stack, proc: subprocess.Popen[bytes]) -> int:
    """The worker's exit code, bounded; it is no longer one the stack stops."""
    try:
        code = proc.wait(timeout=AT_ONCE_S)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the worker still runs\n{stack.logs()}") from None
    stack.workers.remove(proc)
    return code


def test_a_session_timeout_the_broker_refuses_stops_the_worker(stack: Stack) -> None:
    """It logged one InvalidSessionTimeoutError, never joined, and exited 0 on SIGTERM.
    (The suite's broker allows 1 s and up.)"""
    proc = stack.start_worker(
        "clean", ENRICH_SESSION_TIMEOUT_S="0.5", ENRICH_HEARTBEAT_INTERVAL_S="0.1"
    )
    assert _exits(stack, proc) == ExitCode.CONFIG
    assert "ENRICH_SESSION_TIMEOUT_S" in stack.full_logs()


async def test_a_transaction_timeout_above_the_brokers_maximum_stops_the_worker(
    stack: Stack,
) -> None:
    """Every commit failed, and the worker exited 75 after the produce deadline: a
    crash loop under the publish-failure code, for a setting."""
    await clients.produce(stack.settings, articles(3))
    proc = stack.start_worker(
        "clean",
        ENRICH_PROCESSING_GUARANTEE="exactly_once",
        ENRICH_TRANSACTION_TIMEOUT_S="1000",  # the broker's maximum is 900 s
        ENRICH_PRODUCE_DEADLINE_S="300",
    )
    assert _exits(stack, proc) == ExitCode.CONFIG
    assert "refuses ENRICH_TRANSACTION_TIMEOUT_S=1000" in stack.full_logs()


def test_a_replication_factor_above_the_broker_count_names_the_setting(stack: Stack) -> None:
    proc = stack.cli("topics", "create", ENRICH_REPLICATION_FACTOR="3", ENRICH_TOPIC_RAW="rf.raw")
    err = proc.stderr.decode()
    assert proc.returncode == ExitCode.CONFIG, err
    assert err.startswith("enrich: ENRICH_REPLICATION_FACTOR=3: the broker refused topic")
    assert len(err.strip().splitlines()) == 1
