"""Integration fixtures: real brokers and real worker processes.

Every test that takes ``broker`` (or ``stack``) runs twice: on the embedded
broker (Tansu) and on Apache Kafka (``tests/kafka_broker.py``), one of each per
session on free loopback ports. Where Java or Maven is missing, the Apache
Kafka runs skip with one line saying why (with ``KAFKA_TESTS=require``, as CI
sets, they fail instead). A test for one broker only says so with
``@pytest.mark.parametrize("broker", ["kafka"], indirect=True)``. Each test gets
its own topics and consumer group. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import kafka_broker
from tests.conftest import unavailable
from tests.kafka_broker import KafkaBroker
from workers.settings import Settings
from workers.stream.embedded.broker import EmbeddedBroker
from workers.stream.kafka import admin

pytestmark = pytest.mark.integration

STOP_TIMEOUT = 20.0
BROKERS = ["tansu", "kafka"]

AnyBroker = EmbeddedBroker | KafkaBroker

#: Of each worker's log, how many lines a failed test's report shows: the last ones,
#: and before them the last warnings and errors (a CI run keeps only its output).
LOG_TAIL = 6
LOG_WARNINGS = 12


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, Any, None]:
    """A failed test's report ends with what its workers logged."""
    outcome = yield
    report = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("stack")
    if report.failed and isinstance(running, Stack):
        report.sections.append(("worker logs", running.digest()))


@pytest.fixture(scope="session")
def tansu_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_path=log) as running:
        yield running


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """The session's Apache Kafka node (tests that restart a broker start their own)."""
    require_kafka()
    with KafkaBroker(tmp_path_factory.mktemp("kafka")) as running:
        yield running


def require_kafka() -> None:
    """Skip, saying why, where Apache Kafka cannot run (fail with KAFKA_TESTS=require)."""
    reason = kafka_broker.unavailable_reason()
    if reason is not None:
        unavailable(reason, required_by="KAFKA_TESTS")


@pytest.fixture(scope="session", params=BROKERS)
def broker(request: pytest.FixtureRequest) -> AnyBroker:
    """The broker a test runs on: each test runs once on each."""
    if request.param == "kafka":
        running: AnyBroker = request.getfixturevalue("kafka")
    else:
        running = request.getfixturevalue("tansu_broker")
    return running


@dataclass
class Stack:
    """Unique topics and group on the session broker, and the workers started on them."""

    settings: Settings
    env: dict[str, str]
    broker_kind: str
    logdir: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: int = 0  # workers started, also those since removed: each has its own log

    def start_worker(
        self, stages: str = "clean,tag,summarize", *, python: Sequence[str] = (), **env: str
    ) -> subprocess.Popen[bytes]:
        """``enrich worker`` for ``stages``, or Python with the arguments ``python``."""
        log = open(self.logdir / f"worker-{self.started}.log", "wb")  # noqa: SIM115
        self.started += 1
        args = python or ("-m", "workers.cli", "worker", "--stages", stages)
        proc = subprocess.Popen(
            [sys.executable, *args],
            env=self.env | env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(proc)
        return proc

    def stop_worker(self, proc: subprocess.Popen[bytes]) -> int:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
                raise AssertionError(f"worker ignored SIGTERM for {STOP_TIMEOUT}s") from None
        return proc.returncode

    def logs(self) -> str:
        """The end of each worker's log, for a failure message."""
        return "\n".join(
            p.read_text(errors="replace")[-4000:] for p in sorted(self.logdir.glob("*.log"))
        )

    def digest(self) -> str:
        """Per worker log: its last warnings and errors, then its last lines."""
        parts = []
        for path in sorted(self.logdir.glob("worker-*.log"), key=lambda p: int(p.stem[7:])):
            lines = path.read_text(errors="replace").splitlines()
            tail = lines[-LOG_TAIL:]
            loud = [
                line
                for line in lines[: len(lines) - len(tail)]
                if any(f'"level":"{level}"' in line for level in ("WARNING", "ERROR", "CRITICAL"))
            ]
            parts.append(f"--- {path.name} ({len(lines)} lines)")
            parts.extend(line[:400] for line in [*loud[-LOG_WARNINGS:], *tail])
        return "\n".join(parts)

    def full_logs(self) -> str:
        """Every worker's whole log, for assertions on what was logged."""
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logdir.glob("*.log")))

    def cli(
        self, *args: str, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "workers.cli", *args],
            env=self.env | env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture
async def stack(broker: AnyBroker, tmp_path: Path) -> AsyncIterator[Stack]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    env = {
        "ENRICH_BROKER": broker.bootstrap,
        "ENRICH_GROUP_ID": f"{prefix}-group",
        "ENRICH_PARTITIONS": "3",
        "ENRICH_LOG_LEVEL": "INFO",
        "ENRICH_BATCH_WAIT_S": "0.1",
    } | {f"ENRICH_TOPIC_{kind.upper()}": f"{prefix}.articles.{kind}" for kind in Settings().topics}
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ENRICH_")} | env
    settings = Settings.model_validate(
        {k.removeprefix("ENRICH_").lower(): v for k, v in env.items()}
    )
    await admin.create_topics(settings)
    running = Stack(settings=settings, env=full_env, broker_kind=_kind(broker), logdir=tmp_path)
    yield running
    codes = [running.stop_worker(p) for p in running.workers]
    assert codes == [0] * len(codes), f"workers exited {codes}\n{running.logs()}"


@contextlib.asynccontextmanager
async def own_kafka(
    stack: Stack,
    data_dir: Path,
    *,
    kafka_version: str | None = None,
    port: int | None = None,
    advertised_port: int | None = None,
    **env: str,
) -> AsyncIterator[KafkaBroker]:
    """The stack moved to an Apache Kafka node of its own (a test that restarts its
    broker; ``kafka_version``: another release than the suite's; ``advertised_port``:
    a proxy's, which every client then goes through), with ``env`` added to the
    workers' settings; the workers are stopped while it still runs."""
    require_kafka()
    with KafkaBroker(
        data_dir, kafka_version=kafka_version, port=port, advertised_port=advertised_port
    ) as broker:
        stack.env |= {"ENRICH_BROKER": broker.bootstrap} | env
        update: dict[str, Any] = {"broker": broker.bootstrap}
        update |= {k.removeprefix("ENRICH_").lower(): v for k, v in env.items()}
        stack.settings = Settings.model_validate(stack.settings.model_dump() | update)
        stack.broker_kind = "kafka"
        await admin.create_topics(stack.settings)
        try:
            yield broker
        finally:
            for proc in stack.workers:
                stack.stop_worker(proc)


def _kind(broker: AnyBroker) -> str:
    return "kafka" if isinstance(broker, KafkaBroker) else "tansu"
