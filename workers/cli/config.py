"""``enrich config``: the effective settings and where each came from."""

from __future__ import annotations

import argparse

import orjson

from workers.cli.common import OVERRIDES, add_command
from workers.settings import Settings, effective


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(
        sub,
        "config",
        "print every setting, its value and where it came from; secrets masked",
        "enrich config",
        "ENRICH_BATCH_SIZE=64 enrich config --json",
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
