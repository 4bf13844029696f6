"""What the command modules share: running work against the broker, and output."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

import orjson

from workers.codec import text_or_base64
from workers.errors import ConfigError
from workers.inputs import read_records
from workers.settings import Settings
from workers.stream.kafka import clients

T = TypeVar("T")

#: Options that override a setting: the argparse dest is the setting's name.
OVERRIDES = ("broker", "log_level", "stages", "group_id", "batch_size")

Handler = Callable[[argparse.Namespace, Settings], int]


def against_broker(
    settings: Settings, work: Callable[[], Awaitable[T]], *, wait_s: float | None = None
) -> T:
    """Wait (bounded) for the broker, then run ``work`` on one event loop; its result."""

    async def go() -> T:
        await clients.wait_for_broker(
            settings, timeout=settings.broker_wait_s if wait_s is None else wait_s
        )
        return await work()

    return asyncio.run(go())


def format_value(value: bytes | None) -> bytes:
    """A record value as one JSON line (non-JSON values wrapped, non-UTF-8 as base64)."""
    if value is None:
        return b"null"
    try:
        orjson.loads(value)
        return value
    except orjson.JSONDecodeError:
        text, encoding = text_or_base64(value)
        return orjson.dumps({"value": text, "encoding": encoding})


def records_from(paths: Sequence[Path]) -> list[tuple[bytes | None, bytes]]:
    """(key, value) of every raw record in the files; ConfigError for a missing one."""
    records: list[tuple[bytes | None, bytes]] = []
    for path in paths:
        if not path.exists():
            raise ConfigError(f"no such file: {path}")
        records.extend((key, value) for _, key, value in read_records(path))
    return records


def add_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    *examples: str,
) -> argparse.ArgumentParser:
    """A subcommand with its one-line summary, examples in its help, and the global
    options (``--broker``, ``--log-level``), which work after the command too."""
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples) if examples else None
    parser = sub.add_parser(
        name,
        help=summary,
        description=summary[:1].upper() + summary[1:] + ".",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_global_options(parser, default=argparse.SUPPRESS)
    return parser


def add_global_options(parser: argparse.ArgumentParser, default: object = None) -> None:
    parser.add_argument(
        "--broker", default=default, help="bootstrap servers HOST:PORT (ENRICH_BROKER)"
    )
    parser.add_argument(
        "--log-level",
        default=default,
        help="DEBUG, INFO, WARNING, ERROR (ENRICH_LOG_LEVEL)",
    )
