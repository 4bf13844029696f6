"""The README documents every setting and every error code."""

from __future__ import annotations

from pathlib import Path

from workers.errors import ERROR_CODES
from workers.settings import Settings

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    missing = [name for name in Settings.model_fields if f"`ENRICH_{name.upper()}`" not in README]
    assert missing == []


def test_every_error_code_is_documented() -> None:
    assert [c for c in sorted(ERROR_CODES) if f"`{c}`" not in README] == []


def test_exit_code_table_matches_the_enum() -> None:
    import re

    from workers.errors import ExitCode

    rows = re.findall(r"^\| (\d+) \| `([A-Z_]+)` \|", README, re.MULTILINE)
    assert [(int(code), name) for code, name in rows] == [(c.value, c.name) for c in ExitCode]
