"""Stories: ``enrich trends`` (trending entities) and ``enrich watch`` (the live page)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import orjson

from workers.cli.common import add_command, against_broker
from workers.errors import ConfigError, ExitCode
from workers.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(
        sub,
        "trends",
        "the entities whose count in the latest window most exceeds their earlier average",
        "enrich trends",
        "enrich trends --window 15m --top 10 --json",
    )
    p.add_argument("--window", default="1h", help="window length: 90s, 15m, 1h, 1d (default 1h)")
    p.add_argument("--top", type=int, default=20, help="how many entities (default 20)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--countries",
        action="store_true",
        help="rank the countries the articles are about instead of the entities",
    )
    p.set_defaults(func=trends)

    p = add_command(
        sub,
        "watch",
        "serve a live page of enriched articles, story groups and trending entities",
        "enrich watch",
        "enrich watch --port 8090 --host 0.0.0.0",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    p.add_argument("--port", type=int, default=8090, help="port (default 8090)")
    p.add_argument(
        "--recent",
        type=int,
        default=50,
        help="articles shown when the page opens, 1 to 1000 (default 50)",
    )
    p.set_defaults(func=watch)


def _window(text: str) -> float:
    from workers.settings.checks import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ConfigError(f"--window: {exc}") from None


def trends(args: argparse.Namespace, settings: Settings) -> int:
    from workers.demo import render_trends
    from workers.stories import trends as found
    from workers.stream.kafka import clients

    window = _window(args.window)
    if args.top < 1:
        raise ConfigError(f"--top: expected 1 or more, got {args.top}")

    async def read() -> list[found.Trend]:
        counts = await clients.read_trend_counts(settings)
        return found.trending(
            counts, now=time.time(), window_s=window, top=args.top, countries=args.countries
        )

    ranked = against_broker(settings, read)
    if args.json:
        body = {"window_s": window, "trends": [t.as_json() for t in ranked]}
        sys.stdout.buffer.write(orjson.dumps(body) + b"\n")
    else:
        print(render_trends(ranked, args.window))
    return ExitCode.OK


def watch(args: argparse.Namespace, settings: Settings) -> int:
    from workers.stream.live.watch import MAX_RECENT, serve_watch

    if not 1 <= args.port <= 65535:
        raise ConfigError(f"--port: expected 1 to 65535, got {args.port}")
    if not 1 <= args.recent <= MAX_RECENT:
        raise ConfigError(f"--recent: expected 1 to {MAX_RECENT}, got {args.recent}")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"enrich watch: serving article content on {args.host}, not only this machine",
            file=sys.stderr,
        )

    async def run() -> None:
        try:
            await serve_watch(settings, args.host, args.port, recent=args.recent)
        except OSError as exc:  # the port is taken, or the address is not this machine's
            raise ConfigError(
                f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}"
            ) from None

    try:
        asyncio.run(run())  # the port is bound first, then the broker waited for
    except KeyboardInterrupt:
        pass
    except asyncio.CancelledError:
        pass
    return ExitCode.OK
