"""Records in and out: ``enrich produce``, ``enrich tail`` and the offline ``enrich file``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import BinaryIO

from workers.cli.common import against_broker, format_value, records_from
from workers.codec import Message
from workers.errors import ConfigError, ExitCode
from workers.inputs import read_records
from workers.settings import Settings
from workers.stream import clients


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("produce", help="publish raw articles from files")
    p.add_argument("files", nargs="+", type=Path, help="JSON Lines, .html or .txt files")
    p.add_argument("--topic", help="topic (default: the raw topic)")
    p.set_defaults(func=produce)

    p = sub.add_parser("tail", help="print records of a topic as JSON Lines")
    p.add_argument("--topic", help="topic (default: the enriched topic)")
    p.add_argument("--from-beginning", action="store_true", help="start at the oldest record")
    p.add_argument("--limit", type=int, help="stop after N records")
    p.add_argument("--timeout", type=float, help="stop after S seconds without a record")
    p.set_defaults(func=tail)

    p = sub.add_parser("file", help="run the pipeline offline over a JSON Lines file")
    p.add_argument("input", type=Path, help="raw articles (JSON Lines, .html or .txt)")
    p.add_argument("-o", "--output", type=Path, help="enriched records (default: stdout)")
    p.add_argument("--dlq", type=Path, help="dead-letter records (default: stderr)")
    p.set_defaults(func=file)


def produce(args: argparse.Namespace, settings: Settings) -> int:
    records = records_from(args.files)
    sent = against_broker(settings, lambda: clients.produce(settings, records, topic=args.topic))
    print(f"published {sent} records to {args.topic or settings.topic_raw}", file=sys.stderr)
    return ExitCode.OK


def tail(args: argparse.Namespace, settings: Settings) -> int:
    topic = args.topic or settings.topic_enriched

    async def read() -> None:
        count = 0
        async for rec in clients.consume(
            settings, [topic], from_beginning=args.from_beginning, timeout=args.timeout
        ):
            sys.stdout.buffer.write(format_value(rec.value) + b"\n")
            sys.stdout.flush()
            count += 1
            if args.limit and count >= args.limit:
                return

    against_broker(settings, read)
    return ExitCode.OK


def file(args: argparse.Namespace, settings: Settings) -> int:
    from workers.pipeline import Dead, build_pipeline

    if not args.input.exists():
        raise ConfigError(f"no such file: {args.input}")
    pipeline = build_pipeline(settings.model_copy(update={"stages": "clean,tag,summarize"}))
    messages = (
        Message(str(args.input), 0, number, key, value)
        for number, key, value in read_records(args.input)
    )
    out: BinaryIO = open(args.output, "wb") if args.output else sys.stdout.buffer  # noqa: SIM115
    dlq: BinaryIO = open(args.dlq, "wb") if args.dlq else sys.stderr.buffer  # noqa: SIM115
    enriched = dead = 0
    try:
        for outcome in pipeline.run(messages):
            if isinstance(outcome, Dead):
                dead += 1
                dlq.write(outcome.value + b"\n")
            else:
                enriched += 1
                out.write(outcome.value + b"\n")
    finally:
        if args.output:
            out.close()
        if args.dlq:
            dlq.close()
    print(f"{enriched} enriched, {dead} dead-lettered", file=sys.stderr)
    return ExitCode.OK
