"""Records in and out: ``enrich produce``, ``enrich tail`` and the offline ``enrich file``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import orjson

from workers.cli.common import add_command, against_broker, format_value
from workers.codec import Message
from workers.errors import ExitCode, NotFound
from workers.inputs import Line, Oversize, display, expand, read_lines
from workers.settings import Settings
from workers.stream.kafka import clients


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


def _records(inputs: list[Path], max_bytes: int) -> Iterator[tuple[str, Line]]:
    """(source name, record) of every record, streamed; none read whole past
    ``max_bytes``. A file that cannot be read stops the command with one line."""
    for path in inputs:
        name = display(path)
        try:
            for line in read_lines(path, max_bytes):
                yield name, line
        except OSError as exc:
            raise NotFound(f"cannot read {name}: {exc.strerror or exc}") from None


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
    """Publish the records; one over the record limit, or one the broker refuses, is
    skipped with a line naming its file and line, and the command exits 65 at the end."""
    inputs = expand(args.inputs)
    topic = args.topic or settings.topic_raw
    progress = Progress("articles")
    skipped = 0
    where: dict[int, str] = {}  # record index -> file:line, while its send is in flight

    def skip(place: str, why: str) -> None:
        nonlocal skipped
        skipped += 1
        print(f"enrich produce: {place}: {why}; skipped", file=sys.stderr)

    def records() -> Iterable[tuple[bytes | None, bytes]]:
        index = 0
        for name, line in _records(inputs, settings.max_record_bytes):
            progress.update()
            place = f"{name}:{line.number}"
            if line.oversize is not None:
                skip(
                    place,
                    f"a record of {line.oversize.size} bytes, over the limit of "
                    f"{settings.max_record_bytes} (ENRICH_MAX_RECORD_BYTES)",
                )
                continue
            where[index] = place
            oldest = next(iter(where))
            if oldest < index - 2 * clients.MAX_IN_FLIGHT:
                del where[oldest]  # acknowledged long ago (never more than in flight)
            index += 1
            yield line.key, line.value

    def refused(index: int, error: BaseException) -> None:
        skip(where.get(index, f"record {index + 1}"), f"refused by the broker ({error})")

    try:
        sent = against_broker(
            settings, lambda: clients.produce(settings, records(), topic=topic, refused=refused)
        )
    finally:
        progress.close()
    print(f"published {sent} records to {topic}", file=sys.stderr)
    if skipped:
        print(f"enrich produce: {skipped} records skipped (exit 65)", file=sys.stderr)
        return ExitCode.DATA_ERROR
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
    from workers.errors import ConfigError
    from workers.loading import check_model
    from workers.offline import run_offline

    inputs = expand(args.inputs)  # before the model loads: a wrong path fails at once
    if args.processes < 1:
        raise ConfigError(f"--processes: expected 1 or more, got {args.processes}")
    check_model(settings.model_copy(update={"stages": ""}))  # every stage runs here
    # each dead letter is reported once, as its record, not also as a log line
    logging.getLogger("workers.pipeline").setLevel(logging.WARNING)
    oversize: dict[tuple[str, int], Oversize] = {}

    def messages() -> Iterator[Message]:
        for source, line in _records(inputs, settings.max_record_bytes):
            if line.oversize is not None:  # its value is a prefix, refused as too large
                oversize[(source, line.number)] = line.oversize
            yield Message(source, 0, line.number, line.key, line.value)

    out: BinaryIO = open(args.output, "wb") if args.output else sys.stdout.buffer  # noqa: SIM115
    dlq: BinaryIO = open(args.dlq, "wb") if args.dlq else sys.stderr.buffer  # noqa: SIM115
    progress = Progress("articles")
    enriched = dead = 0
    try:
        for is_dead, value in run_offline(settings, messages(), processes=args.processes):
            if is_dead:
                dead += 1
                letter = _whole_size(value, oversize, settings.max_record_bytes)
                dlq.write(letter + b"\n")
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


def _whole_size(letter: bytes, oversize: dict[tuple[str, int], Oversize], limit: int) -> bytes:
    """A dead letter of a record read only up to its prefix, with the size and SHA-256
    of the whole record (the dead letter of the prefix has the prefix's)."""
    if not oversize:
        return letter
    record = orjson.loads(letter)
    found = oversize.pop((record["source"]["topic"], record["source"]["offset"]), None)
    if found is None:
        return letter
    record["original"].update(size=found.size, sha256=found.sha256, truncated=True)
    record["message"] = f"value is {found.size} bytes, over the limit of {limit}"
    return orjson.dumps(record)
