"""Alert rules, the Prometheus config and the dashboard's queries, checked by promtool.

That every query names only metrics a live worker exports is checked against a
running worker in tests/integration/test_observability.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.conftest import ROOT, run, tool

DASHBOARD = ROOT / "ops" / "grafana" / "dashboards" / "article-enrich.json"
ALERTS = ROOT / "ops" / "alerts.yml"

# PromQL words that are not metric names
_PROMQL = {
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "by",
    "without",
    "rate",
    "increase",
    "delta",
    "deriv",
    "irate",
    "histogram_quantile",
    "clamp_min",
    "clamp_max",
    "and",
    "or",
    "unless",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "abs",
    "topk",
    "bottomk",
    "le",
    "humanizePercentage",
    "humanizeDuration",
}


def dashboard_queries() -> list[str]:
    board: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return [t["expr"] for panel in board["panels"] for t in panel["targets"]]


def alert_queries() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [r["expr"] for group in rules["groups"] for r in group["rules"]]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (labels and functions left out)."""
    without_labels = re.sub(r"\{[^}]*\}", "", expr)
    without_groupings = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", without_labels)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_groupings)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_ranges))
    return {w for w in words if w not in _PROMQL and not re.fullmatch(r"e\d*", w)}


def test_alert_rules_check() -> None:
    out = run(tool("promtool"), "check", "rules", str(ALERTS))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 6 rules found" in out.stdout
    rules = yaml.safe_load(ALERTS.read_text())["groups"][0]["rules"]
    names = {r["alert"] for r in rules}
    assert names == {
        "EnrichConsumerLagGrowing",
        "EnrichStageStalled",
        "EnrichDeadLetterRateHigh",
        "EnrichBrokerUnreachable",
        "EnrichWorkerDown",
        "EnrichEventLoopLagHigh",
    }
    docs = (ROOT / "docs" / "operations.md").read_text()
    for rule in rules:
        assert rule["annotations"]["summary"] and rule["annotations"]["runbook"]
        assert f"`{rule['alert']}`" in docs, f"{rule['alert']} has no runbook entry"


def test_prometheus_config_check_loads_the_rules() -> None:
    out = run(tool("promtool"), "check", "config", str(ROOT / "ops" / "prometheus.yml"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 rule files found" in out.stdout


def test_every_dashboard_query_parses(tmp_path: Path) -> None:
    queries = dashboard_queries()
    assert len(queries) >= 10
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": q} for i, q in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    out = run(tool("promtool"), "check", "rules", str(path))
    assert out.returncode == 0, out.stdout + out.stderr


def test_metric_names_are_read_from_queries() -> None:
    assert metric_names(
        "histogram_quantile(0.95, sum by (stage, le) (rate(enrich_stage_batch_seconds_bucket[5m])))"
    ) == {"enrich_stage_batch_seconds_bucket"}
    assert metric_names('up{job="enrich"} == 0') == {"up"}
    assert metric_names("a / clamp_min(b, 1e-9) > 0.05") == {"a", "b"}
