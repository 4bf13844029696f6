"""The dashboard and the alert rules read only metrics a live worker exports."""

from __future__ import annotations

import re

import pytest

from tests.deploy.test_alerts_and_dashboard import alert_queries, dashboard_queries, metric_names
from tests.integration.conftest import Stack
from tests.integration.helpers import Collector, articles, scrape
from workers.stream.embedded.broker import free_port
from workers.stream.kafka import clients

pytestmark = [pytest.mark.integration, pytest.mark.model]

PROMETHEUS_OWN = {"up"}  # recorded by Prometheus for every target, not by the worker


def exported(text: str) -> set[str]:
    """Every series name a scrape can show: samples, and the families its TYPE lines
    announce (a histogram's _bucket, _sum and _count; an info's _info)."""
    names = {
        line.split("{")[0].split(" ")[0]
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE):
        names.add(name)
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        if kind == "counter" and not name.endswith("_total"):
            names.add(f"{name}_total")
    return names


async def test_dashboard_and_alerts_name_only_exported_metrics(stack: Stack) -> None:
    port = free_port()
    stack.start_worker(ENRICH_HTTP_PORT=str(port), ENRICH_HTTP_HOST="127.0.0.1")
    records = [*articles(5, "obs"), (b"obs-bad", b"{not json")]
    async with Collector(stack.settings) as seen:
        await clients.produce(stack.settings, records)
        await seen.wait_for(len(records), timeout=180)
    answer = await scrape(port)
    assert answer is not None and answer[0] == 200
    names = exported(answer[1])
    assert "enrich_dead_letters_total" in names and "enrich_stage_batch_seconds_bucket" in names
    for query in dashboard_queries() + alert_queries():
        unknown = metric_names(query) - names - PROMETHEUS_OWN
        assert not unknown, f"{query!r} reads {unknown}, which the worker does not export"
