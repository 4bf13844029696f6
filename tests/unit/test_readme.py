"""The README documents every setting and every error code."""

from __future__ import annotations

from pathlib import Path

from workers.errors import ERROR_CODES
from workers.settings import Settings

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    missing = [
        name for name in Settings.model_fields if f"`ENRICH_{name.upper()}`" not in CONFIGURATION
    ]
    assert missing == []


def test_every_documentation_link_resolves() -> None:
    import re

    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).is_file(), f"{page.name} links {target}"


def test_every_error_code_is_documented() -> None:
    assert [c for c in sorted(ERROR_CODES) if f"`{c}`" not in README] == []


def test_exit_code_table_matches_the_enum() -> None:
    import re

    from workers.errors import ExitCode

    rows = re.findall(r"^\| (\d+) \| `([A-Z_]+)` \|", README, re.MULTILINE)
    assert [(int(code), name) for code, name in rows] == [(c.value, c.name) for c in ExitCode]
