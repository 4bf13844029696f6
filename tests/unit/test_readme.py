"""The README is a front door that stays true: its quick start is what CI runs, its
commands are the command line's, its figures are the benchmarks page's; and every
setting and error code is documented."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from workers.errors import ERROR_CODES
from workers.settings import Settings

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
DELIVERY = (ROOT / "docs" / "delivery.md").read_text(encoding="utf-8")
BENCHMARKS = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")

#: What a newcomer reads before trying the tool; the rest is one click away in docs/.
MAX_LINES = 250


def section(text: str, title: str) -> str:
    """The body of the ``## title`` section."""
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_readme_is_short() -> None:
    assert len(README.splitlines()) <= MAX_LINES


def test_the_quick_start_is_two_commands_and_the_second_is_what_ci_runs() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", section(README, "Quick start"), re.DOTALL)
    commands = [line for block in blocks for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    demo, suite = commands
    assert demo.endswith("pip install . && .venv/bin/enrich demo")
    assert suite.startswith("python3 -m venv .venv && .venv/bin/pip install '.[test]'")
    test_command = suite.rpartition(" && ")[2]  # .venv/bin/python -m pytest
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(rf"^{re.escape(test_command)}(?: |$)", ci, re.MULTILINE), test_command


def test_every_command_is_in_the_commands_table() -> None:
    from workers.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    table = section(README, "Commands")
    missing = [name for name in sub.choices if f"`enrich {name}" not in table]
    assert missing == []


def test_every_headline_figure_is_on_the_benchmarks_page_with_its_command() -> None:
    rows = re.findall(r"^\| (.+?) \| (.+?) \| `(.+?)` \|$", section(README, "Figures"), re.M)
    assert 5 <= len(rows) <= 8
    for _, value, command in rows:
        script = command.split()[1]
        assert (ROOT / script).is_file(), command
        for figure in re.findall(r"\*\*(.+?)\*\*", value):
            assert figure in BENCHMARKS, f"{figure} is not in docs/benchmarks.md"
        assert command.split(" DATA")[0] in BENCHMARKS, command


def test_every_setting_is_documented() -> None:
    missing = [
        name for name in Settings.model_fields if f"`ENRICH_{name.upper()}`" not in CONFIGURATION
    ]
    assert missing == []


def test_every_documentation_link_resolves() -> None:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).is_file(), f"{page.name} links {target}"


def test_every_error_code_is_documented() -> None:
    assert [c for c in sorted(ERROR_CODES) if f"`{c}`" not in DELIVERY] == []


def test_exit_code_table_matches_the_enum() -> None:
    from workers.errors import ExitCode

    rows = re.findall(r"^\| (\d+) \| `([A-Z_]+)` \|", README, re.MULTILINE)
    assert [(int(code), name) for code, name in rows] == [(c.value, c.name) for c in ExitCode]
