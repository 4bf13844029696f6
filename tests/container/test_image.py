"""The image and the compose services, started for real.

The stage containers run the way docker-compose.yml runs them: read-only root
filesystem with a tmpfs /tmp, the image's own non-root user, configured only by
the compose file's ``ENRICH_*`` environment, the tagger scaled to 2. The broker
is the embedded one, in a container from the same image, as compose.embedded.yml
runs it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from tests.container.conftest import ROOT, Compose, Engine
from tests.unit.test_pipeline import BAD
from workers.inputs import sample_path

# The first test here also builds the image (the session's ``image`` fixture, bounded
# at 900 s on its own): without a warm layer cache that alone can pass the default
# 300 s per test, which counts fixture set-up.
pytestmark = [pytest.mark.container, pytest.mark.model, pytest.mark.timeout(1500)]

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
EMBEDDED = yaml.safe_load((ROOT / "compose.embedded.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
WORKER_ENV: dict[str, str] = {k: str(v) for k, v in COMPOSE["x-enrich"]["environment"].items()}
# every bad-input class but too_large, whose limit (10 MiB) the compose file does not lower
BAD_LINES = {code: value for code, value in BAD.items() if code != "too_large"}
SAMPLE_TITLES = {
    "Port of Halden opens solar-powered ferry terminal",
    "City council approves night bus network for Marrow Bay",
    "Westbrook library reopens after flood repairs",
    "Solar ferry terminal opens in Halden",  # a near-copy of the Halden story
}


def seconds(duration: str) -> float:
    """A compose duration such as ``30s`` or ``1m30s``, in seconds."""
    total, number = 0.0, ""
    for ch in duration:
        if ch.isdigit() or ch == ".":
            number += ch
        else:
            total += float(number) * {"s": 1, "m": 60, "h": 3600}[ch]
            number = ""
    return total + (float(number) if number else 0.0)


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects printed one per line (other lines, such as a tool's own, skipped)."""
    return [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]


def service_args(name: str, network: str) -> list[str]:
    """``run`` options for a compose service: its hardening and environment, as written."""
    svc = SERVICES[name]
    args = ["--network", network]
    if svc.get("read_only"):
        args.append("--read-only")
    for mount in svc.get("tmpfs", []):
        args += ["--tmpfs", mount]
    for key, value in svc.get("environment", {}).items():
        args += ["-e", f"{key}={value}"]
    return args


class Containers:
    """Containers started by a test, removed at its end; their logs for failures."""

    def __init__(self, engine: Engine, prefix: str) -> None:
        self.engine = engine
        self.prefix = prefix
        self.names: list[str] = []

    def start(self, name: str, *args: str) -> str:
        full = f"{self.prefix}-{name}"
        self.engine.run("run", "-d", "--name", full, *args)
        self.names.append(full)
        return full

    def logs(self) -> str:
        out = []
        for name in self.names:
            proc = self.engine.run("logs", "--tail", "30", name, check=False)
            out.append(f"--- {name}\n{proc.stdout[-2500:]}{proc.stderr[-2500:]}")
        return "\n".join(out)

    def remove(self) -> None:
        for name in self.names:
            self.engine.run("rm", "-f", "-t", "5", name, check=False, timeout=60)


@pytest.fixture
def containers(engine: Engine) -> Iterator[Containers]:
    running = Containers(engine, f"enrich-{uuid.uuid4().hex[:8]}")
    yield running
    running.remove()


def wait_healthy(engine: Engine, name: str, test: list[str], timeout: float) -> str:
    """Run the compose healthcheck command in a container until it passes (bounded)."""
    assert test[0] == "CMD", test
    deadline = time.monotonic() + timeout
    while True:
        proc = engine.run("exec", name, *test[1:], check=False, timeout=30)
        if proc.returncode == 0:
            return proc.stdout
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{name}: healthcheck {test[1:]} still failing after "
                f"{timeout}s: {proc.stdout} {proc.stderr}"
            )
        time.sleep(1)


def test_compose_file_hardens_every_enrich_service() -> None:
    for name in ("cleaner", "tagger", "summarizer", "topics"):
        svc = SERVICES[name]
        assert svc["read_only"] is True and "/tmp" in svc["tmpfs"], name
        assert "user" not in svc or svc["user"] not in ("0", "root"), name
    stop_timeout = float(WORKER_ENV["ENRICH_STOP_TIMEOUT_S"])
    for name in ("cleaner", "tagger", "summarizer"):
        assert seconds(SERVICES[name]["stop_grace_period"]) > stop_timeout, name


def test_stage_containers_enrich_samples_and_dead_letter_bad_input(
    engine: Engine, image: str, network: str, containers: Containers, tmp_path: Path
) -> None:
    kafka = EMBEDDED["services"]["kafka"]
    containers.start(
        "kafka",
        "--network",
        network,
        "--network-alias",
        "kafka",
        "--read-only",
        "--tmpfs",
        "/tmp",
        image,
        *kafka["command"],
    )
    engine.run(
        "run",
        "--rm",
        *service_args("topics", network),
        image,
        *SERVICES["topics"]["command"],
        timeout=180,
    )

    workers = {}
    for service, replicas in (("cleaner", 1), ("tagger", 2), ("summarizer", 1)):
        for n in range(1, replicas + 1):
            workers[f"{service}-{n}"] = containers.start(
                f"{service}-{n}",
                *service_args(service, network),
                image,
                *SERVICES[service]["command"],
            )

    # non-root, and nothing outside /tmp is writable
    some = workers["tagger-1"]
    assert engine.run("exec", some, "id", "-u").stdout.strip() != "0"
    denied = engine.run("exec", some, "touch", "/app/written", check=False)
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr
    engine.run("exec", some, "touch", "/tmp/written")

    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\n".join(BAD_LINES.values()) + b"\n")
    bad.chmod(0o644)
    produce = engine.run(
        "run",
        "--rm",
        *service_args("topics", network),
        "-v",
        f"{sample_path()}:/input/samples.jsonl:ro",
        "-v",
        f"{bad}:/input/bad.jsonl:ro",
        image,
        "produce",
        "/input/samples.jsonl",
        "/input/bad.jsonl",
        timeout=180,
    )
    assert f"published {len(SAMPLE_TITLES) + len(BAD_LINES)} records" in produce.stderr

    def tail(topic: str, limit: int, idle_s: int) -> list[dict[str, Any]]:
        """The first ``limit`` records of a topic, read by a container of the image."""
        out = engine.run(
            "run",
            "--rm",
            *service_args("topics", network),
            image,
            "tail",
            "--topic",
            topic,
            "--from-beginning",
            "--limit",
            str(limit),
            "--timeout",
            str(idle_s),
            timeout=idle_s + 60,
        )
        return json_lines(out.stdout)

    try:
        enriched = tail(
            WORKER_ENV.get("ENRICH_TOPIC_ENRICHED", "articles.enriched"), len(SAMPLE_TITLES), 240
        )
        dead = tail("articles.dlq", len(BAD_LINES), 120)
        assert {r["title"] for r in enriched} == SAMPLE_TITLES
        for record in enriched:
            assert record["entity_list"] and record["summary"], record["id"]

        assert sorted(r["code"] for r in dead) == sorted(BAD_LINES)

        # the compose healthcheck, run inside each running worker
        test = COMPOSE["x-enrich"]["healthcheck"]["test"]
        for name in workers.values():
            assert '"status": "ok"' in wait_healthy(engine, name, test, timeout=60)
        if engine.name == "podman":  # the image's own HEALTHCHECK
            engine.run("healthcheck", "run", workers["cleaner-1"])
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{containers.logs()}") from None

    # SIGTERM: each stage stops gracefully, exit 0, within its grace period
    for service_replica, name in workers.items():
        grace = seconds(SERVICES[service_replica.rsplit("-", 1)[0]]["stop_grace_period"])
        started = time.monotonic()
        engine.run("stop", "-t", str(int(grace)), name, timeout=grace + 30)
        took = time.monotonic() - started
        code = engine.run("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        assert code == "0", f"{name} exited {code}\n{containers.logs()}"
        assert took < grace, f"{name} took {took:.1f}s to stop"


def start_enrich_services(stack: Compose) -> None:
    """The topics job, then the three stages (the tagger scaled to 2), as the compose
    file defines them. Service by service, without dependencies: podman 4.3 cannot
    start a container whose dependency has a dependency of its own (topics on kafka)."""
    stack.run("run", "--rm", "--no-deps", "topics", timeout=240)
    stack.run(
        "up",
        "-d",
        "--no-build",
        "--no-deps",
        "--scale",
        "tagger=2",
        "cleaner",
        "tagger",
        "summarizer",
    )
    assert len(stack.containers_of("tagger")) == 2


def enrich_samples(stack: Compose) -> None:
    """The samples produced through the stack's tools, and read back enriched."""
    stack.run(
        "run",
        "--rm",
        "--no-deps",
        "-v",
        f"{sample_path()}:/input/samples.jsonl:ro",
        "topics",
        "produce",
        "/input/samples.jsonl",
    )
    # at least once: a copy of an article (a rebalance between the two taggers as they
    # start) counts toward the limit, so each extra copy found asks for one more record
    titles: set[str] = set()
    for extra in range(4):
        out = stack.run(
            "run",
            "--rm",
            "--no-deps",
            "topics",
            "tail",
            "--from-beginning",
            "--limit",
            str(len(SAMPLE_TITLES) + extra),
            "--timeout",
            "240",
            timeout=300,
        )
        read = [r["title"] for r in json_lines(out)]
        titles = set(read)
        if titles == SAMPLE_TITLES or len(read) == len(titles):
            break  # all there, or a record missing rather than a copy read
    assert titles == SAMPLE_TITLES, f"missing {SAMPLE_TITLES - titles}\n{stack.logs()}"
    [cleaner] = stack.containers_of("cleaner")
    wait_healthy(stack.engine, cleaner, COMPOSE["x-enrich"]["healthcheck"]["test"], timeout=60)


def test_compose_embedded_stack_runs_the_enrich_services(
    engine: Engine, image: str, compose_tool: list[str]
) -> None:
    stack = Compose(engine, compose_tool, "docker-compose.yml", "compose.embedded.yml")
    try:
        stack.run("up", "-d", "--no-build", "kafka")
        start_enrich_services(stack)
        enrich_samples(stack)
    finally:
        stack.down()


def test_compose_stack_as_written_runs_on_apache_kafka(
    engine: Engine, image: str, kafka_image: str, compose_tool: list[str]
) -> None:
    """docker-compose.yml itself: its Apache Kafka service (with its own healthcheck
    and its host listener), the topics job and the three stages."""
    stack = Compose(engine, compose_tool, "docker-compose.yml")
    try:
        stack.run("up", "-d", "--no-build", "kafka")
        [kafka] = stack.containers_of("kafka")
        check = SERVICES["kafka"]["healthcheck"]["test"]
        deadline = time.monotonic() + 180
        while engine.run("exec", kafka, "sh", "-c", check, check=False, timeout=60).returncode:
            assert time.monotonic() < deadline, engine.run("logs", kafka, check=False).stdout
            time.sleep(2)
        start_enrich_services(stack)
        enrich_samples(stack)
        # the host listener, as a user's own client reaches it
        bootstrap = f"127.0.0.1:{SERVICES['kafka']['ports'][0].split(':')[0]}"
        names = asyncio.run(_topics(bootstrap))
        assert "articles.enriched" in names and "articles.dlq" in names
    finally:
        stack.down()


async def _topics(bootstrap: str) -> set[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()
