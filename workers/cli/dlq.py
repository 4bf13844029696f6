"""The dead-letter topic: ``enrich dlq list`` and ``enrich dlq replay``."""

from __future__ import annotations

import argparse
import heapq
import sys

from workers import dlq, stage_table
from workers.cli.common import add_command, against_broker
from workers.codec import Message
from workers.errors import ERROR_CODES, ConfigError, ExitCode
from workers.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(
        sub, "dlq", "inspect and replay dead-lettered records", "enrich dlq list --since 2h"
    )
    dsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, func, text, examples in (
        (
            "list",
            list_letters,
            "show dead-lettered records, oldest first",
            ("enrich dlq list --code too_large --since 2h", "enrich dlq list --json | jq .code"),
        ),
        (
            "replay",
            replay,
            "re-publish original values to their source topics, each dead letter once",
            ("enrich dlq replay --code too_large --dry-run", "enrich dlq replay --stage tag"),
        ),
    ):
        d = add_command(dsub, name, text, *examples)
        d.add_argument(
            "--code",
            choices=sorted(ERROR_CODES),
            metavar="CODE",
            help=f"only records with this error code: {', '.join(sorted(ERROR_CODES))}",
        )
        d.add_argument(
            "--stage",
            metavar="STAGE",
            help=f"only records from this stage ({', '.join(stage_table.names())}, or a plugin's)",
        )
        d.add_argument("--since", help="only records failed since TIME (ISO 8601, or 30m, 2h, 1d)")
        d.set_defaults(func=func)
        if name == "list":
            d.add_argument("--limit", type=int, help="show only the last N")
            d.add_argument("--json", action="store_true", help="print whole records as JSON Lines")
        else:
            d.add_argument(
                "--rate",
                type=float,
                metavar="N",
                help="send at most N records a second (default: as fast as the broker takes them)",
            )
            d.add_argument(
                "--dry-run",
                action="store_true",
                help="count what would be replayed; publish nothing",
            )


def _filters(args: argparse.Namespace) -> dlq.Filters:
    try:
        since = dlq.parse_since(args.since) if args.since else None
    except ValueError as exc:
        raise ConfigError(f"--since: {exc}") from None
    if args.stage and args.stage not in stage_table.names():
        # a stage a plugin no longer configured may still have letters: a note, not a refusal
        print(
            f"enrich: note: no stage {args.stage!r} in this table "
            f"({','.join(stage_table.names())}); looking for its letters anyway",
            file=sys.stderr,
        )
    return dlq.Filters(code=args.code, stage=args.stage, since=since)


def _skipped(rec: Message) -> None:
    print(
        f"enrich: skipping {rec.topic}:{rec.partition}:{rec.offset}: not a dead-letter record",
        file=sys.stderr,
    )


def list_letters(args: argparse.Namespace, settings: Settings) -> int:
    """Print the matching letters as they are read; with --limit, the last N by the
    time they failed (only those N are held)."""
    filters = _filters(args)
    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit: expected 1 or more, got {args.limit}")
    counts = {"letters": 0, "replayed": 0}

    def show(letter: dlq.Letter) -> None:
        if args.json:
            sys.stdout.buffer.write(letter.record.model_dump_json().encode() + b"\n")
        else:
            print(dlq.one_line(letter.record) + ("  (replayed)" if letter.replayed else ""))

    async def read() -> None:
        from workers.stream.kafka import letters

        last: list[tuple[str, int, int, dlq.Letter]] = []  # a heap of the latest --limit
        async for letter in letters.read_letters(settings, filters, _skipped):
            counts["letters"] += 1
            counts["replayed"] += letter.replayed
            if args.limit is None:
                show(letter)
                continue
            item = (letter.record.failed_at, letter.partition, letter.offset, letter)
            if len(last) < args.limit:
                heapq.heappush(last, item)
            elif item[:3] > last[0][:3]:
                heapq.heapreplace(last, item)
        for *_, letter in sorted(last, key=lambda i: i[:3]):
            show(letter)

    against_broker(settings, read)
    sys.stdout.flush()
    total = counts["letters"]
    shown = min(total, args.limit) if args.limit else total
    more = f" (showing the last {shown})" if shown < total else ""
    done = counts["replayed"]
    again = f"; {done} of them replayed already" if done else ""
    print(f"{total} dead-lettered records in {settings.topic_dlq}{more}{again}", file=sys.stderr)
    return ExitCode.OK


def replay(args: argparse.Namespace, settings: Settings) -> int:
    from workers.stream.kafka import letters

    filters = _filters(args)
    if args.rate is not None and not args.rate > 0:
        raise ConfigError(f"--rate: expected more than 0 records a second, got {args.rate}")
    report = letters.Replay()

    async def run() -> letters.Replay:
        found = letters.read_letters(settings, filters, _skipped)
        return await letters.replay(
            settings, found, dry_run=args.dry_run, report=report, rate=args.rate
        )

    try:
        against_broker(settings, run)
    except KeyboardInterrupt:
        print(
            f"enrich dlq replay: interrupted after replaying {sum(report.sent.values())} "
            f"records, {report.marked} of them marked replayed; a new run goes on from "
            "there (the unmarked ones, at most one chunk, are sent again)",
            file=sys.stderr,
        )
        return ExitCode.INTERRUPTED
    verb = "would replay" if args.dry_run else "replayed"
    where = ", ".join(f"{n} to {t}" for t, n in sorted(report.sent.items())) or "nothing"
    print(f"{verb} {sum(report.sent.values())} of {report.matching} matching records ({where})")
    if report.before:
        print(
            f"skipped {report.before} matching records replayed before (each is replayed "
            "once; one that failed again is a new dead letter)",
            file=sys.stderr,
        )
    if report.truncated:
        print(
            f"skipped {report.truncated} records whose original value was over the size "
            "limit and kept only in part; read them at their source offsets",
            file=sys.stderr,
        )
    return ExitCode.OK
