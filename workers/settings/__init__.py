"""The one settings object. No other module reads the environment.

Every field maps to an ``ENRICH_``-prefixed environment variable
(``max_record_bytes`` is ``ENRICH_MAX_RECORD_BYTES``); command-line options
override them. ``model`` holds the fields and their validators, ``checks`` the
ranges each protocol allows and how a value's text is read, ``environment`` the
user's cache directory.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import ValidationError

from workers.errors import ConfigError
from workers.settings.checks import parse_duration
from workers.settings.environment import default_data_dir
from workers.settings.model import DEFAULT_ENTITY_LABELS, SECRETS, Settings

__all__ = [
    "DEFAULT_ENTITY_LABELS",
    "SECRETS",
    "Settings",
    "default_data_dir",
    "effective",
    "load_settings",
    "parse_duration",
]


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with ``overrides`` (None values skipped).

    Raises ConfigError with one readable line per invalid setting.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = str(err["msg"]).removeprefix("Value error, ")
            where = "_".join(str(p) for p in err["loc"]).upper()
            lines.append(f"ENRICH_{where}: {msg}" if where else msg)
        raise ConfigError("invalid settings: " + "; ".join(lines)) from None


def effective(
    settings: Settings,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> list[tuple[str, str, str]]:
    """(variable, value, source) of every setting; secrets masked.

    The source is ``command line``, ``environment`` or ``default``.
    """
    env = {k.upper(): v for k, v in (environ if environ is not None else os.environ).items()}
    given = {k for k, v in (overrides or {}).items() if v is not None}
    rows = []
    for name in Settings.model_fields:
        var = f"ENRICH_{name.upper()}"
        value = getattr(settings, name)
        if name in SECRETS:
            shown = "(not set)" if value is None else "********"
        elif value is None:
            shown = "(not set)"
        else:
            shown = str(value)
        source = "command line" if name in given else "environment" if var in env else "default"
        rows.append((var, shown, source))
    return rows
