"""Apache Kafka with a SASL_PLAINTEXT (PLAIN) and an SSL listener: the right
credentials work; a refused password, a mechanism the broker does not offer, a plain
client on a SASL port and a certificate the client cannot verify are each one line
and exit 78 at once, not a minute of "waiting for broker" and exit 69; and no log
level prints the password."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import require_kafka
from tests.integration.helpers import scrape
from tests.kafka_broker import SASL_PASSWORD, SASL_USER, KafkaBroker
from workers.errors import ExitCode
from workers.stream.embedded.broker import free_port

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("secured-kafka")]

ENRICH = str(Path(sys.executable).parent / "enrich")
#: Well inside the broker wait: an answer that came after waiting would take longer.
AT_ONCE_S = 20.0


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    require_kafka()
    with KafkaBroker(tmp_path_factory.mktemp("secured-kafka"), secured=True) as broker:
        yield broker


def _env(broker: KafkaBroker, **settings: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ENRICH_")}
    prefix = f"t{time.monotonic_ns()}"
    topics = {f"ENRICH_TOPIC_{k}": f"{prefix}.{k.lower()}" for k in ("RAW", "CLEANED", "DLQ")}
    return base | topics | {"ENRICH_BROKER_WAIT_S": "60", "ENRICH_PARTITIONS": "1"} | settings


def _sasl(broker: KafkaBroker, **more: str) -> dict[str, str]:
    login = {
        "ENRICH_BROKER": f"127.0.0.1:{broker.sasl_port}",
        "ENRICH_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "ENRICH_SASL_USERNAME": SASL_USER,
        "ENRICH_SASL_PASSWORD": SASL_PASSWORD,
    }
    return _env(broker, **(login | more))


def _run(env: dict[str, str], *args: str) -> tuple[int, str, float]:
    started = time.monotonic()
    proc = subprocess.run(
        [ENRICH, *args], env=env, capture_output=True, timeout=120, check=False, text=True
    )
    return proc.returncode, proc.stderr, time.monotonic() - started


def test_the_right_credentials_work_and_debug_logs_no_password(secured: KafkaBroker) -> None:
    code, err, _ = _run(_sasl(secured, ENRICH_LOG_LEVEL="DEBUG"), "topics", "create")
    assert code == 0, err
    assert "SaslAuthenticate" in err  # aiokafka's connection logged the exchange...
    assert SASL_PASSWORD not in err  # ...without the password


@pytest.mark.parametrize(
    ("case", "settings", "needle"),
    [
        ("wrong-password", {"ENRICH_SASL_PASSWORD": "not-the-password"}, "refused authentication"),
        ("wrong-mechanism", {"ENRICH_SASL_MECHANISM": "SCRAM-SHA-256"}, "refused authentication"),
        ("plain-on-sasl", {"ENRICH_SECURITY_PROTOCOL": "PLAINTEXT"}, "ENRICH_SECURITY_PROTOCOL"),
    ],
)
def test_a_refused_login_is_one_line_and_exit_78_at_once(
    secured: KafkaBroker, case: str, settings: dict[str, str], needle: str
) -> None:
    code, err, took = _run(_sasl(secured, **settings), "topics", "create")
    assert code == ExitCode.CONFIG, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("enrich: ") and needle in lines[0], err
    assert "waiting for broker" not in err
    assert took < AT_ONCE_S
    assert "not-the-password" not in err


def test_an_unverifiable_certificate_is_one_line_and_exit_78(
    secured: KafkaBroker, tmp_path: Path
) -> None:
    tls = {"ENRICH_BROKER": f"127.0.0.1:{secured.ssl_port}", "ENRICH_SECURITY_PROTOCOL": "SSL"}
    code, err, took = _run(_env(secured, **tls), "topics", "create")
    assert code == ExitCode.CONFIG, err
    assert "certificate this client cannot verify" in err and "ENRICH_SSL_CAFILE" in err
    assert len(err.strip().splitlines()) == 1 and took < AT_ONCE_S
    # with the broker's CA it works
    code, err, _ = _run(_env(secured, **tls, ENRICH_SSL_CAFILE=str(secured.ca_file)), "check")
    assert code in (ExitCode.OK, ExitCode.BROKER_UNAVAILABLE), err  # topics missing: 69
    assert "certificate" not in err
    # a CA file that is not PEM: named at once, before any connection
    not_pem = tmp_path / "ca.der"
    not_pem.write_bytes(b"\x30\x82\x01\x0a not a certificate")
    code, err, took = _run(_env(secured, **tls, ENRICH_SSL_CAFILE=str(not_pem)), "check")
    assert code == ExitCode.CONFIG and "ENRICH_SSL_CAFILE" in err and took < AT_ONCE_S, err


def test_a_worker_with_a_refused_password_exits_78_at_once(secured: KafkaBroker) -> None:
    env = _sasl(secured, ENRICH_SASL_PASSWORD="not-the-password", ENRICH_LOG_LEVEL="DEBUG")
    code, err, took = _run(env, "worker", "--stages", "clean")
    assert code == ExitCode.CONFIG, err[-3000:]
    assert "refused authentication" in err and took < AT_ONCE_S
    assert "not-the-password" not in err


async def test_a_worker_at_debug_logs_no_password(secured: KafkaBroker, tmp_path: Path) -> None:
    """Faust's own clients authenticate too, each through aiokafka's connection."""
    port = free_port()
    env = _sasl(
        secured,
        ENRICH_LOG_LEVEL="DEBUG",
        ENRICH_DATA_DIR=str(tmp_path / "data"),
        ENRICH_HTTP_PORT=str(port),
    )
    assert _run(env, "topics", "create")[0] == 0
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited on
            [ENRICH, "worker", "--stages", "clean"], env=env, stdout=out, stderr=out
        )
        try:
            deadline = time.monotonic() + 90
            while (await scrape(port, "/ready") or (0, ""))[0] != 200:
                assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
                assert time.monotonic() < deadline, "worker not ready in 90 s"
                await asyncio.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
    text = log.read_text(errors="replace")
    assert text.count("SaslAuthenticate") >= 2
    assert SASL_PASSWORD not in text
