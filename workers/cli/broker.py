"""The broker and its topics: ``enrich broker``, ``enrich topics create``, ``enrich check``."""

from __future__ import annotations

import argparse
import signal
import sys

from workers.cli.common import add_command, against_broker
from workers.errors import ConfigError, ExitCode
from workers.settings import Settings
from workers.stream.kafka import admin


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(
        sub,
        "broker",
        "run the embedded broker in the foreground (development only: no transactions, "
        "no librdkafka clients)",
        "enrich broker --port 9092",
        "enrich broker --host 0.0.0.0 --port 9092 --advertise kafka:9092   # in a container",
    )
    p.add_argument("--port", type=int, help="port to listen on (default: a free one)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 in a container)",
    )
    p.add_argument(
        "--advertise",
        metavar="HOST[:PORT]",
        help="address clients are told to use (default: HOST:PORT), "
        "for example kafka:9092 in a compose network",
    )
    p.set_defaults(func=broker)

    p = add_command(sub, "topics", "manage the pipeline's topics", "enrich topics create")
    tsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    tc = add_command(
        tsub,
        "create",
        "create every topic of the pipeline where missing (the stages', the story "
        "steps' and the dead-letter topic)",
        "enrich topics create --partitions 12",
    )
    tc.add_argument("--partitions", type=int, help="partitions per topic (ENRICH_PARTITIONS)")
    tc.set_defaults(func=topics_create)

    p = add_command(
        sub,
        "check",
        "exit 0 when the broker answers and the topics exist (69 otherwise)",
        "enrich --broker kafka:9092 check --timeout 10",
    )
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the broker")
    p.set_defaults(func=check)


def advertised(value: str | None) -> tuple[str | None, int | None]:
    """HOST or HOST:PORT of --advertise."""
    if not value:
        return None, None
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, None
    if not host or not port.isdigit():
        raise ConfigError(f"--advertise: expected HOST or HOST:PORT, got {value!r}")
    return host, int(port)


def broker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the embedded broker until SIGTERM/SIGINT (0), or until it dies (1)."""
    from workers.stream.embedded.broker import LIMITS, EmbeddedBroker

    host, port = advertised(args.advertise)
    embedded = EmbeddedBroker(
        port=args.port, host=args.host, advertised_host=host, advertised_port=port
    )
    with embedded:
        print(
            f"embedded broker listening on {args.host}:{embedded.port}; "
            f"bootstrap servers: {embedded.bootstrap}",
            flush=True,
        )
        print(LIMITS, flush=True)
        print("press Ctrl-C to stop", flush=True)
        try:
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            code = embedded.wait()
        except KeyboardInterrupt:
            return ExitCode.OK
    print(f"enrich: the embedded broker exited with code {code}", file=sys.stderr)
    return ExitCode.ERROR


def topics_create(args: argparse.Namespace, settings: Settings) -> int:
    created = against_broker(
        settings, lambda: admin.create_topics(settings, partitions=args.partitions)
    )
    for name in settings.topics.values():
        print(f"{name}\t{'created' if name in created else 'exists'}")
    return ExitCode.OK


def check(args: argparse.Namespace, settings: Settings) -> int:
    missing = against_broker(settings, lambda: admin.missing_topics(settings), wait_s=args.timeout)
    if missing:
        print(
            f"broker {settings.broker} is up; missing topics: {', '.join(missing)}", file=sys.stderr
        )
        return ExitCode.BROKER_UNAVAILABLE
    print(f"broker {settings.broker} is up; all {len(settings.topics)} topics exist")
    return ExitCode.OK
