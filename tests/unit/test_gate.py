"""The quality gate's verdict (bench/gate.py), on the checked-in baseline."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).parents[2] / "bench"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_gate", BENCH / "gate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gate = _load()


def baseline() -> dict[str, object]:
    return json.loads((BENCH / "gate_baseline.json").read_text("utf-8"))  # type: ignore[no-any-return]


def passing() -> dict[str, float]:
    figures: dict[str, float] = {}
    for name, bound in baseline()["figures"].items():  # type: ignore[attr-defined]
        figures[name] = bound.get("floor", bound.get("ceiling"))
    return figures


def test_figures_at_their_bounds_pass() -> None:
    assert gate.check(passing(), baseline()) == []


def test_the_table_layout_regression_would_have_failed_it() -> None:
    """2c2e21c (the fast pass alone on long text) took the table-layout page's
    precision from 1.00 to 0.60."""
    figures = passing() | {"table_layout_precision": 0.60}
    (failure,) = gate.check(figures, baseline())
    assert failure.startswith("table_layout_precision: 0.600")


def test_a_count_over_its_ceiling_and_a_missing_figure_fail() -> None:
    figures = passing() | {"summary_furniture": 1}
    del figures["keywords_f10"]
    failed = gate.check(figures, baseline())
    assert sorted(f.split(":")[0] for f in failed) == ["keywords_f10", "summary_furniture"]


def test_the_independent_summary_checks() -> None:
    assert gate.DANGLING.match("But the council said no.")
    assert not gate.DANGLING.match("The council said no.")
    assert gate.FURNITURE.search("By Jane Roe . The council met.")
    assert gate.FURNITURE.search("The council met. Scroll down for video")
    assert not gate.FURNITURE.search("The council met on Monday.")
