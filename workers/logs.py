"""Logging: quiet repeats of the Kafka client's connection errors."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class RepeatFilter(logging.Filter):
    """Lets a repeated warning or error through once per ``window_s`` seconds.

    While a broker is down the Kafka client logs the same few errors ten times
    a second. Records are grouped by logger and message template; the first
    passes, repeats within the window are dropped, and the next one to pass
    says how many were dropped. Only loggers under ``prefixes`` are limited.
    """

    def __init__(self, window_s: float = 60.0, prefixes: tuple[str, ...] = ("aiokafka",),
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window_s = window_s
        self.prefixes = prefixes
        self.clock = clock
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(self.prefixes):
            return True
        key = (record.name, str(record.msg))
        now = self.clock()
        last = self._seen.get(key)
        if last is not None and now - last[0] < self.window_s:
            self._seen[key] = (last[0], last[1] + 1)
            return False
        if last is not None and last[1]:
            record.msg = f"{record.msg} ({last[1]} similar messages suppressed)"
        self._seen[key] = (now, 0)
        return True


def quiet_repeats(window_s: float = 60.0) -> None:
    """Install a RepeatFilter on every handler of the root logger."""
    repeat = RepeatFilter(window_s)
    for handler in logging.getLogger().handlers:
        handler.addFilter(repeat)
