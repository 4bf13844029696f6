"""``enrich demo``: the whole pipeline on an embedded broker with sample articles."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workers.cli.common import add_command, format_value, records_from
from workers.codec import Message
from workers.errors import ConfigError, ExitCode
from workers.inputs import sample_path
from workers.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(
        sub,
        "demo",
        "run the whole pipeline on an embedded broker with the sample articles (or yours)",
        "enrich demo",
        "enrich demo --input my-articles.jsonl --json",
    )
    p.add_argument("--input", type=Path, help="raw articles (JSON Lines, .html or .txt)")
    p.add_argument("--json", action="store_true", help="print records as JSON Lines")
    p.add_argument("--timeout", type=float, default=180.0, help="give up after S seconds")
    p.set_defaults(func=demo)


def demo(args: argparse.Namespace, settings: Settings) -> int:
    from workers.demo import LIMITS, render, render_trends, run_demo

    path = args.input or sample_path()
    records = records_from([path])
    if not records:
        raise ConfigError(f"{path} holds no records")
    print(
        f"enrich demo: starting the embedded broker, {len(records)} articles from {path}",
        flush=True,
    )
    print(f"enrich demo: {LIMITS}", flush=True)

    def show(rec: Message, dead: bool) -> None:
        if args.json:
            sys.stdout.buffer.write(format_value(rec.value) + b"\n")
            sys.stdout.flush()
        else:
            print(render(rec.value, dead=dead), flush=True)

    result = run_demo(settings, records, timeout=args.timeout, show=show)
    if not result.finished:
        print(f"enrich demo: timed out after {args.timeout}s", file=sys.stderr)
    if result.finished and not args.json:  # the demo runs with stories on
        print("\n" + render_trends(result.trends), flush=True)
    print(f"enrich demo: {result.enriched} enriched, {result.dead} dead-lettered", flush=True)
    return result.exit_code if result.finished else ExitCode.ERROR
