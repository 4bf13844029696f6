"""Records in and out: ``enrich produce``, ``enrich tail`` and the offline ``enrich file``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from workers.cli.common import add_command, against_broker, format_value
from workers.codec import Message
from workers.errors import ExitCode
from workers.inputs import expand, read_records
from workers.settings import Settings
from workers.stream import clients


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(
        sub,
        "produce",
        "publish raw articles from files, directories or standard input to the raw topic",
        "enrich produce my-articles.jsonl",
        "enrich produce pages/ archive.jsonl.gz",
        "cat articles.jsonl | enrich produce -",
    )
    _add_inputs(p)
    p.add_argument("--topic", help="topic (default: the raw topic)")
    p.set_defaults(func=produce)

    p = add_command(
        sub,
        "tail",
        "print the records of a topic as they arrive, as JSON Lines or readable",
        "enrich tail --pretty",
        "enrich tail --topic articles.dlq --from-beginning --limit 10",
    )
    p.add_argument("--topic", help="topic (default: the enriched topic)")
    p.add_argument("--from-beginning", action="store_true", help="start at the oldest record")
    p.add_argument("--limit", type=int, help="stop after N records")
    p.add_argument("--timeout", type=float, help="stop after S seconds without a record")
    p.add_argument(
        "--pretty",
        action="store_true",
        help="title, entities and summary for a person, instead of JSON",
    )
    p.set_defaults(func=tail)

    p = add_command(
        sub,
        "file",
        "run the pipeline offline, with no broker, over files, directories or standard input",
        "enrich file articles.jsonl -o enriched.jsonl --dlq dead.jsonl",
        "enrich file pages/ --processes 4 > enriched.jsonl",
        "zcat dump.jsonl.gz | enrich file - --fail-on-dead-letter",
    )
    _add_inputs(p)
    p.add_argument("-o", "--output", type=Path, help="enriched records (default: stdout)")
    p.add_argument("--dlq", type=Path, help="dead-letter records (default: stderr)")
    p.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="processes to run the pipeline in; the output order is the input order "
        "(default: the CPU count)",
    )
    p.add_argument(
        "--fail-on-dead-letter",
        action="store_true",
        help="exit 1 when any record was dead-lettered",
    )
    p.set_defaults(func=file)


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    """The input files of ``produce`` and ``file``, the same for both."""
    parser.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="INPUT",
        help="JSON Lines (.jsonl, .jsonl.gz), .html or .txt files, directories of them, or -",
    )


def _records(inputs: list[Path]) -> Iterator[tuple[str, int, bytes | None, bytes]]:
    """(source name, line or file number, key, value) of every record, streamed."""
    for path in inputs:
        for number, key, value in read_records(path):
            yield str(path), number, key, value


class Progress:
    """A progress bar on stderr when a person watches it (a terminal); else nothing."""

    def __init__(self, unit: str) -> None:
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(unit=f" {unit}", file=sys.stderr, dynamic_ncols=True, leave=True)

    def update(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def produce(args: argparse.Namespace, settings: Settings) -> int:
    inputs = expand(args.inputs)
    topic = args.topic or settings.topic_raw
    progress = Progress("articles")

    def records() -> Iterable[tuple[bytes | None, bytes]]:
        for _, _, key, value in _records(inputs):
            progress.update()
            yield key, value

    try:
        sent = against_broker(settings, lambda: clients.produce(settings, records(), topic=topic))
    finally:
        progress.close()
    print(f"published {sent} records to {topic}", file=sys.stderr)
    return ExitCode.OK


def tail(args: argparse.Namespace, settings: Settings) -> int:
    topic = args.topic or settings.topic_enriched

    async def read() -> None:
        count = 0
        async for rec in clients.consume(
            settings, [topic], from_beginning=args.from_beginning, timeout=args.timeout
        ):
            if args.pretty:
                from workers.demo import render

                print(render(rec.value, dead=topic == settings.topic_dlq), flush=True)
            else:
                sys.stdout.buffer.write(format_value(rec.value) + b"\n")
                sys.stdout.flush()
            count += 1
            if args.limit and count >= args.limit:
                return

    against_broker(settings, read)
    return ExitCode.OK


def file(args: argparse.Namespace, settings: Settings) -> int:
    from workers.offline import run_offline

    inputs = expand(args.inputs)  # before the model loads: a wrong path fails at once
    if args.processes < 1:
        from workers.errors import ConfigError

        raise ConfigError(f"--processes: expected 1 or more, got {args.processes}")
    # each dead letter is reported once, as its record, not also as a log line
    logging.getLogger("workers.pipeline").setLevel(logging.WARNING)
    messages = (
        Message(source, 0, number, key, value) for source, number, key, value in _records(inputs)
    )
    out: BinaryIO = open(args.output, "wb") if args.output else sys.stdout.buffer  # noqa: SIM115
    dlq: BinaryIO = open(args.dlq, "wb") if args.dlq else sys.stderr.buffer  # noqa: SIM115
    progress = Progress("articles")
    enriched = dead = 0
    try:
        for is_dead, value in run_offline(settings, messages, processes=args.processes):
            if is_dead:
                dead += 1
                dlq.write(value + b"\n")
                dlq.flush()
            else:
                enriched += 1
                out.write(value + b"\n")
            progress.update()
    finally:
        progress.close()
        if args.output:
            out.close()
        else:
            out.flush()
        if args.dlq:
            dlq.close()
    print(f"{enriched} enriched, {dead} dead-lettered", file=sys.stderr)
    return ExitCode.ERROR if args.fail_on_dead_letter and dead else ExitCode.OK
