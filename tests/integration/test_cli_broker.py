"""`enrich broker` runs a usable broker in the foreground and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import pytest

from workers import kafka
from workers.broker import free_port
from workers.settings import Settings

pytestmark = pytest.mark.integration


async def test_broker_command_serves_until_sigterm() -> None:
    port = free_port()
    proc = subprocess.Popen(  # noqa: ASYNC220 - starting it does not block
        [sys.executable, "-m", "workers.cli", "broker", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        first = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout=30)
        assert f"127.0.0.1:{port}".encode() in first
        settings = Settings(broker=f"127.0.0.1:{port}", topic_raw="cli.raw")
        await kafka.wait_for_broker(settings, timeout=20)
        assert "cli.raw" in await kafka.create_topics(settings, partitions=1)
        assert await kafka.produce(settings, [(b"k", b"v")], topic="cli.raw") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
    assert code == 0
