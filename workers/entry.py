"""The ``enrich`` console entry point: signals are handled from the first instant.

Importing the command line and loading the model take seconds; a worker told to
stop (SIGTERM) in that time must still exit 0, as it does once running, and not
die by the signal (exit 143). Any other command stopped by SIGTERM before its
own handling exits 143, as a killed command should.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

from workers import launch  # noqa: F401 - first: the launch time is read from the start

#: Longest a worker takes to exit after a SIGTERM that comes before it has started.
EARLY_STOP_BOUND_S = 15.0

_GLOBAL_OPTIONS_WITH_VALUE = frozenset({"--broker", "--log-level"})


def command_of(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (global options may come first)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _GLOBAL_OPTIONS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def main() -> int:
    worker = command_of(sys.argv[1:]) == "worker"

    def stop(signum: int, frame: FrameType | None) -> None:
        if worker:
            # the exception unwinds whatever the start-up was doing; should that hang
            # (a client closing on a broker that does not answer), the stop is still
            # bounded, and still exit 0
            bound = threading.Timer(EARLY_STOP_BOUND_S, os._exit, args=(0,))
            bound.daemon = True
            bound.start()
        raise SystemExit(0 if worker else 128 + signum)

    signal.signal(signal.SIGTERM, stop)
    from workers.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
