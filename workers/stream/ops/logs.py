"""Logging: JSON lines (or plain text), quiet repeats of the Kafka client's errors, and
no secret at any level.

Records about one message carry ``stage``, ``topic``, ``partition``,
``offset`` and ``article_id`` as extra fields (``log.warning(..., extra=...)``);
the JSON formatter writes them as keys. Article bodies are never logged.

Secrets are redacted from every record that reaches a handler, whichever logger
wrote it: the values of the secret settings wherever they appear, and what carries
credentials by its shape (the SASL bytes aiokafka's connection logs at DEBUG, a
``password=`` in a client's repr), in the message and in an exception's text.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

CONTEXT_FIELDS = ("stage", "topic", "partition", "offset", "article_id")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, context fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage().strip(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        if record.exc_text:
            out["exc"] = record.exc_text
        elif record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def formatter(fmt: str) -> logging.Formatter:
    """JSON or text; ``auto`` is text when stderr is a terminal (a person reads it), else
    JSON (a log collector does)."""
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


REDACTED = "[redacted]"
# credentials by their shape: the SASL exchange's bytes (PLAIN's hold the password), and
# a password, key or secret given as a keyword in a repr or a URL's user information
_SHAPES = re.compile(
    r"(?P<k>sasl_auth_bytes=)b?(?P<q>['\"]).*?(?<!\\)(?P=q)"
    r"|(?P<k2>(?:password|passwd|secret|sasl_plain_password|key_password)['\"]?\s*[=:]\s*)"
    r"(?P<q2>['\"])[^'\"]*(?P=q2)",
    re.IGNORECASE,
)
_secrets: tuple[str, ...] = ()


def redact(text: str) -> str:
    """``text`` without the secrets this process knows, nor credentials by shape."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _SHAPES.sub(
        lambda m: f"{m['k'] or m['k2']}{REDACTED}" if (m["k"] or m["k2"]) else REDACTED, text
    )


class SecretFilter(logging.Filter):
    """Redacts every record a handler emits: its message, and its exception's text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def setup(level: str, fmt: str, secrets: Iterable[str | None] = ()) -> None:
    """Log to stderr at ``level`` in ``fmt`` (json or text), with repeats quietened and
    ``secrets`` (the secret settings' values) redacted at every level."""
    global _secrets  # noqa: PLW0603 - the process's secrets, set once at start
    # a secret too short to be one (a test's "x") would redact every x; such a
    # password is still redacted where its shape says so
    _secrets = tuple(sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True))
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # the Kafka client's INFO lines repeat on every reconnect and say little
    quiet = root.level > logging.DEBUG
    logging.getLogger("aiokafka").setLevel(logging.WARNING if quiet else logging.NOTSET)
    apply(fmt)


def apply(fmt: str) -> None:
    """Give every root handler our format and the repeat filter (after Faust set its own).

    Below DEBUG, Faust's and mode's start-up chatter (some thirty "Starting..." lines)
    is held back: the worker logs its own one-line summary when it is ready."""
    quiet = logging.getLogger().level > logging.DEBUG
    for name in ("faust", "mode"):
        logging.getLogger(name).setLevel(logging.WARNING if quiet else logging.NOTSET)
    repeat = RepeatFilter()
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter(fmt))
        handler.filters[:] = [
            f for f in handler.filters if not isinstance(f, RepeatFilter | SecretFilter)
        ]
        handler.addFilter(repeat)
        handler.addFilter(SecretFilter())


class RepeatFilter(logging.Filter):
    """Lets a repeated warning or error through once per ``window_s`` seconds.

    While a broker is down the Kafka client logs the same few errors ten times
    a second. Records are grouped by logger and message template; the first
    passes, repeats within the window are dropped, and the next one to pass
    says how many were dropped. Only loggers under ``prefixes`` are limited.
    """

    def __init__(
        self,
        window_s: float = 60.0,
        prefixes: tuple[str, ...] = ("aiokafka",),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
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


def _frame(awaited: Any) -> Any:
    """The frame a coroutine, generator or async generator is suspended in; None."""
    return next(
        (f for a in ("cr_frame", "gi_frame", "ag_frame") if (f := getattr(awaited, a, None))),
        None,
    )


def _where(frame: Any) -> str:
    code = frame.f_code
    return f'  File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}'


def tasks_dump() -> str:
    """Where each thread runs and what each task of the running loop awaits (SIGUSR1),
    for a worker that makes no progress: file, line and function only, never a local
    variable's value (where an article's text or a secret could be)."""
    lines: list[str] = []
    names = {t.ident: t.name for t in threading.enumerate()}
    for ident, running in sys._current_frames().items():
        lines.append(f"thread {names.get(ident, ident)}:")
        lines.extend(line.rstrip() for line in traceback.format_stack(running))
    for task in sorted(asyncio.all_tasks(), key=lambda t: t.get_name()):
        lines.append(f"task {task.get_name()}:")
        awaited: Any = task.get_coro()
        while awaited is not None:
            frame = _frame(awaited)
            if frame is None:
                # an ``__await__`` or an async generator's step: the coroutine or
                # generator within, where there is one
                inner = [r for r in gc.get_referents(awaited) if _frame(r) is not None]
                if inner:
                    awaited = inner[0]
                    continue
                # a future, a task, a callback's wait: where it ends
                lines.append(f"  awaits {type(awaited).__name__.removesuffix('Iter')}")
                break
            lines.append(_where(frame))
            awaited = next(
                (
                    n
                    for a in ("cr_await", "gi_yieldfrom", "ag_await")
                    if (n := getattr(awaited, a, None))
                ),
                None,
            )
    return "\n".join(lines)
