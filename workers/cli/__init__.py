"""The ``enrich`` command line.

One module per command group, each with its parser next to its handler, thin
over named operations elsewhere in the package. Every option that sets a
setting has an ``ENRICH_*`` environment variable (see workers.settings); an
option given on the command line wins. Exit codes are ``workers.errors.ExitCode``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from workers import __version__
from workers.cli import broker, config, demo, dlq, records, stories, worker
from workers.cli.common import OVERRIDES, add_global_options, format_value
from workers.errors import ConfigError, EnrichError, ExitCode, NotFound, TransientError
from workers.settings import load_settings
from workers.stream.ops import logs

__all__ = ["build_parser", "format_value", "main"]

COMMAND_GROUPS = (demo, config, broker, worker, records, stories, dlq)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="enrich",
        description="Clean, tag and summarize news articles flowing through Kafka.",
    )
    parser.add_argument("--version", action="version", version=f"enrich {__version__}")
    add_global_options(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(**{k: getattr(args, k, None) for k in OVERRIDES})
        logs.setup(settings.log_level, settings.log_format, settings.secret_values())
        return int(args.func(args, settings))
    except NotFound as exc:
        print(f"enrich: {exc}", file=sys.stderr)
        return ExitCode.NO_INPUT
    except ConfigError as exc:
        print(f"enrich: {exc}", file=sys.stderr)
        return ExitCode.CONFIG
    except TransientError as exc:
        print(f"enrich: {exc}", file=sys.stderr)
        return ExitCode.BROKER_UNAVAILABLE
    except EnrichError as exc:
        print(f"enrich: [{exc.code}] {exc}", file=sys.stderr)
        return ExitCode.ERROR
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # the reader went away (`enrich tail | head`): normal use, not an error; stdout
        # goes to /dev/null so that the interpreter's last flush does not fail too
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.OK
