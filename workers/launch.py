"""When this process started: the start of the start-up times a worker reports."""

from __future__ import annotations

import os
import time


def _launched() -> float:
    """When this process was started, on the ``time.monotonic()`` clock: from the
    kernel's record where there is one (Linux), else now."""
    now = time.monotonic()
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return now
    return now - max(uptime - started, 0.0)


#: When this process started (``time.monotonic()``): the start of the start-up
#: times a worker reports.
LAUNCHED = _launched()
