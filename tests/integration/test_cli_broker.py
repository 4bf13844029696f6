"""`enrich broker` runs a usable broker in the foreground and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import pytest

from workers.settings import Settings
from workers.stream.embedded.broker import free_port
from workers.stream.kafka import admin, clients

pytestmark = pytest.mark.integration


async def test_broker_command_serves_until_sigterm() -> None:
    port = free_port()
    proc = subprocess.Popen(  # noqa: ASYNC220 - starting it does not block
        [sys.executable, "-m", "workers.cli", "broker", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        first = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout=30)
        assert f"127.0.0.1:{port}".encode() in first
        settings = Settings(broker=f"127.0.0.1:{port}", topic_raw="cli.raw")
        await clients.wait_for_broker(settings, timeout=20)
        assert "cli.raw" in await admin.create_topics(settings, partitions=1)
        assert await clients.produce(settings, [(b"k", b"v")], topic="cli.raw") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
    assert code == 0


def test_broker_command_fails_on_a_port_in_use() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "workers.cli", "broker", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert out.returncode == 69
    assert f"port {port}" in out.stderr and "already in use" in out.stderr
    assert "listening" not in out.stdout


def test_broker_command_exits_non_zero_when_the_broker_dies() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "broker", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "listening" in proc.stdout.readline()
        broker_pids = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(broker_pids) == 1
        import os

        os.kill(int(broker_pids[0]), signal.SIGKILL)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert code == 1
    assert proc.stderr is not None and "exited with code" in proc.stderr.read()
