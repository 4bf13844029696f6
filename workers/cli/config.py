"""``enrich config``: the effective settings and where each came from."""

from __future__ import annotations

import argparse

import orjson

from workers.cli.common import OVERRIDES
from workers.settings import Settings, effective


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "config",
        help="print the effective settings and their sources",
        description="Print every setting, its value and where it came from "
        "(command line, environment or default); secrets are masked.",
    )
    p.add_argument("--json", action="store_true", help="as one JSON object")
    p.set_defaults(func=config)


def config(args: argparse.Namespace, settings: Settings) -> int:
    rows = effective(settings, {k: getattr(args, k, None) for k in OVERRIDES})
    if args.json:
        print(
            orjson.dumps(
                {var: {"value": value, "source": source} for var, value, source in rows}
            ).decode()
        )
        return 0
    width = max(len(var) for var, _, _ in rows)
    for var, value, source in rows:
        print(f"{var:<{width}}  {value}  ({source})")
    return 0
