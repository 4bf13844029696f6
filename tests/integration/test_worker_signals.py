"""SIGTERM at any moment of a worker's start-up stops it with exit 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import Stack
from workers.entry import command_of

pytestmark = pytest.mark.integration

ENRICH = Path(sys.executable).parent / "enrich"  # the installed console script


def handles_sigterm(pid: int) -> bool:
    """Whether the process has installed a SIGTERM handler (its caught-signals mask)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


def start(stack: Stack) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(ENRICH), "worker", "--stages", "tag"],
        env=stack.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("delay", [0.0, 1.0, 2.5, 4.0])
def test_sigterm_during_start_up_exits_zero(stack: Stack, delay: float) -> None:
    proc = start(stack)
    try:
        deadline = time.monotonic() + 30
        while not handles_sigterm(proc.pid):  # the first moment a stop can be asked for
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(delay)  # then somewhere in imports, model loading or Faust's start
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.stderr is not None
    assert code == 0, proc.stderr.read().decode()[-3000:]


def test_sigterm_is_handled_before_the_heavy_imports(stack: Stack) -> None:
    """Without its own handler a worker could only be stopped cleanly once Faust had
    started, seconds in; before that SIGTERM killed it (exit 143)."""
    proc = start(stack)
    try:
        deadline = time.monotonic() + 30
        while not handles_sigterm(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)
        loaded = Path(f"/proc/{proc.pid}/maps").read_text()
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert "spacy" not in loaded and "aiokafka" not in loaded


def test_command_of_skips_global_options() -> None:
    assert command_of(["--broker", "k:9092", "worker", "--stages", "tag"]) == "worker"
    assert command_of(["--log-level=DEBUG", "file", "x"]) == "file"
    assert command_of(["--version"]) is None
