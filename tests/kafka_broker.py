"""Apache Kafka for the tests: the release jars resolved with Maven, one KRaft node.

``KafkaBroker`` runs a one-node Apache Kafka (broker and controller in one JVM)
on free loopback ports with its log on disk, and can restart it with that log
kept. The jars of ``KAFKA_VERSION`` (``ENRICH_TEST_KAFKA_VERSION`` overrides it)
are resolved once with ``mvn dependency:copy-dependencies`` into a cache
(``ENRICH_TEST_KAFKA_CACHE``, by default ``~/.cache/article-enrich/kafka``) and
reused after that. It needs ``java`` (17 or later) and ``mvn`` on the PATH;
``unavailable_reason()`` says in one line why it cannot run where it cannot.

The broker is configured as a single node needs (replication factors of 1) and
as the project's docker-compose.yml configures its Kafka service (no topic
auto-creation, records up to 21 MiB); the internal topics have few partitions,
so that a group or a transaction starts in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.24.3"
#: ``request.timeout.ms`` of a replicated cluster's nodes (Apache Kafka's default: 30 s).
CLUSTER_REQUEST_TIMEOUT_MS = 6000
CACHE = Path(
    os.environ.get("ENRICH_TEST_KAFKA_CACHE", Path.home() / ".cache" / "article-enrich" / "kafka")
)
START_TIMEOUT_S = 90.0  # a cold JVM on a busy two-core machine

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.test</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""

_LOG4J = """rootLogger.level=INFO
rootLogger.appenderRef.out.ref=out
appender.out.type=Console
appender.out.name=out
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
logger.clients.name=org.apache.kafka
logger.clients.level=WARN
"""

_resolve_lock = threading.Lock()

#: The one user of a secured broker's SASL listener (PLAIN), and its password.
SASL_USER = "enrich"
SASL_PASSWORD = "enrich-test-secret-7"  # noqa: S105 - a test broker's
_STORE_PASSWORD = "changeit"  # noqa: S105 - a test keystore's


def version() -> str:
    return os.environ.get("ENRICH_TEST_KAFKA_VERSION", KAFKA_VERSION)


def unavailable_reason() -> str | None:
    """Why Apache Kafka cannot run here (one line), or None when it can."""
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        return f"Apache Kafka tests need {' and '.join(missing)} on the PATH"
    return None


def resolve(kafka_version: str | None = None) -> Path:
    """The folder of jars that runs ``kafka_version`` (the broker and its tools),
    resolved with Maven on first use."""
    wanted = kafka_version or version()
    lib = CACHE / wanted / "lib"
    done = CACHE / wanted / "resolved"
    pom = _POM.format(kafka=wanted, log4j=LOG4J_VERSION)
    home = CACHE / wanted
    home.mkdir(parents=True, exist_ok=True)
    # a lock file too: the suite's processes (pytest-xdist) may all ask at once
    with _resolve_lock, (home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists() and done.read_text() == pom:
            return lib
        (home / "pom.xml").write_text(pom)
        shutil.rmtree(lib, ignore_errors=True)
        proc = subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(home / "pom.xml"),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={lib}",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0 or not any(lib.glob("kafka_2.13-*.jar")):
            raise RuntimeError(
                f"maven could not resolve Apache Kafka {wanted} (exit {proc.returncode}):\n"
                f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        (home / "log4j2.properties").write_text(_LOG4J)
        done.write_text(pom)
        return lib


def _free_port() -> int:
    from workers.stream.embedded.broker import free_port

    return free_port()


def cluster_id() -> str:
    """A new KRaft cluster id: 16 random bytes in URL-safe base64, never starting
    with "-" (the format tool would read it as an option; Kafka's own ids avoid it)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


class KafkaBroker:
    """One Apache Kafka node in KRaft mode, as a child JVM.

    ``bootstrap`` is the address clients use; ``advertised_port`` makes the
    broker tell clients another port (a proxy's). ``restart()`` stops it and
    starts it again on the same ports with the same log; ``kill()`` ends it
    with SIGKILL. Use as a context manager.
    """

    kind = "kafka"

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        advertised_port: int | None = None,
        kafka_version: str | None = None,
        heap: str = "768m",
        secured: bool = False,
        node_id: int = 1,
        voters: str | None = None,
        cluster: str | None = None,
        replicas: int = 1,
        controller_port: int | None = None,
        roles: str = "broker,controller",
    ) -> None:
        """A node of its own by default; of a cluster with ``node_id``, ``voters`` (the
        controller quorum, ``id@host:port,...``), ``cluster`` (its id, shared),
        ``replicas`` (the internal topics' replication factor, min ISR one less) and
        ``roles`` (``broker``, ``controller``, or both in one JVM)."""
        self.kafka_version = kafka_version or version()
        self.host = "127.0.0.1"
        self.port = port or _free_port()
        self.controller_port = controller_port or _free_port()
        self.node_id = node_id
        self.voters = voters or f"{node_id}@127.0.0.1:{self.controller_port}"
        self.cluster = cluster
        self.replicas = replicas
        self.roles = roles
        self.advertised_port = advertised_port or self.port
        self.data_dir = data_dir
        self.heap = heap
        self.log_path = data_dir / "kafka.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None
        self._formatted = False
        # secured: a SASL_PLAINTEXT (PLAIN) and an SSL listener beside the plain one
        self.secured = secured
        self.sasl_port = _free_port() if secured else None
        self.ssl_port = _free_port() if secured else None

    @property
    def ca_file(self) -> Path:
        """The broker's self-signed certificate as PEM (secured brokers)."""
        return self.data_dir / "broker-ca.pem"

    def _listeners(self) -> tuple[str, str, str, list[str]]:
        """listeners, advertised listeners, the protocol map, and their settings."""
        host = self.host
        controller = f"CONTROLLER://{host}:{self.controller_port}"
        if "broker" not in self.roles:
            return controller, "", "CONTROLLER:PLAINTEXT", []
        listeners = [f"PLAINTEXT://{host}:{self.port}"]
        if "controller" in self.roles:
            listeners.append(controller)
        advertised = [f"PLAINTEXT://{host}:{self.advertised_port}"]
        protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT"]
        extra: list[str] = []
        if self.secured:
            listeners += [
                f"SASL_PLAINTEXT://{host}:{self.sasl_port}",
                f"SSL://{host}:{self.ssl_port}",
            ]
            advertised += [
                f"SASL_PLAINTEXT://{host}:{self.sasl_port}",
                f"SSL://{host}:{self.ssl_port}",
            ]
            protocols += ["SASL_PLAINTEXT:SASL_PLAINTEXT", "SSL:SSL"]
            keystore = self._keystore()
            extra = [
                "sasl.enabled.mechanisms=PLAIN",
                "listener.name.sasl_plaintext.plain.sasl.jaas.config="
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'user_{SASL_USER}="{SASL_PASSWORD}";',
                f"ssl.keystore.location={keystore}",
                f"ssl.keystore.password={_STORE_PASSWORD}",
                f"ssl.key.password={_STORE_PASSWORD}",
                "ssl.keystore.type=PKCS12",
                "ssl.client.auth=none",
            ]
        return ",".join(listeners), ",".join(advertised), ",".join(protocols), extra

    def _keystore(self) -> Path:
        """A self-signed key for 127.0.0.1 and localhost, made once with keytool."""
        keystore = self.data_dir / "broker.p12"
        if keystore.exists():
            return keystore
        common = ["-keystore", str(keystore), "-storetype", "PKCS12", "-storepass", _STORE_PASSWORD]
        subprocess.run(
            ["keytool", "-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048",
             "-validity", "30", "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost",
             "-keypass", _STORE_PASSWORD, *common],
            check=True, capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        subprocess.run(
            ["keytool", "-exportcert", "-rfc", "-alias", "broker", "-file", str(self.ca_file),
             *common],
            check=True, capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        return keystore

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.advertised_port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _properties(self) -> Path:
        path = self.data_dir / "server.properties"
        listeners, advertised, protocols, extra = self._listeners()
        replicated = self.replicas > 1
        broker = [
            f"advertised.listeners={advertised}",
            "inter.broker.listener.name=PLAINTEXT",
            "auto.create.topics.enable=false",
            f"offsets.topic.replication.factor={self.replicas}",
            "offsets.topic.num.partitions=4",
            f"transaction.state.log.replication.factor={self.replicas}",
            f"transaction.state.log.min.isr={max(1, self.replicas - 1)}",
            "transaction.state.log.num.partitions=4",
            f"share.coordinator.state.topic.replication.factor={self.replicas}",
            f"share.coordinator.state.topic.min.isr={max(1, self.replicas - 1)}",
            "group.initial.rebalance.delay.ms=0",
            "group.min.session.timeout.ms=1000",
            "message.max.bytes=22020096",
            "num.partitions=1",
            # a replicated cluster's recommended setting (docs/deployment.md): a
            # transaction's markers sent to a node that froze are waited on this long,
            # and the transactional id's next transaction with them
            *([f"request.timeout.ms={CLUSTER_REQUEST_TIMEOUT_MS}"] if replicated else []),
            *extra,
        ]
        controller = [
            # leaders moved back to the preferred replicas soon after a fault heals
            # (every 5 min by default), before the next test
            "leader.imbalance.check.interval.seconds=2",
            "leader.imbalance.per.broker.percentage=0",
        ]
        path.write_text(
            "\n".join(
                [
                    f"process.roles={self.roles}",
                    f"node.id={self.node_id}",
                    f"controller.quorum.voters={self.voters}",
                    f"listeners={listeners}",
                    "controller.listener.names=CONTROLLER",
                    f"listener.security.protocol.map={protocols}",
                    f"log.dirs={self.data_dir / 'log'}",
                    *(broker if "broker" in self.roles else []),
                    *(controller if "controller" in self.roles and replicated else []),
                    "",
                ]
            )
        )
        return path

    def _java(self, main: str, *args: str) -> list[str]:
        lib = resolve(self.kafka_version)
        return [
            "java",
            f"-Xmx{self.heap}",
            "-Xms128m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={lib.parent / 'log4j2.properties'}",
            "-cp",
            f"{lib}/*",
            main,
            *args,
        ]

    def start(self, timeout: float = START_TIMEOUT_S) -> Self:
        self.launch()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def launch(self) -> None:
        """Format the log where it is new, and start the JVM (without waiting: a node
        of a cluster answers once a quorum of its voters runs)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        properties = self._properties()
        if not self._formatted:
            formatted = subprocess.run(
                self._java(
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    self.cluster or cluster_id(),
                    "-c",
                    str(properties),
                ),
                capture_output=True,
                check=False,
                timeout=120,
                stdin=subprocess.DEVNULL,
            )
            if formatted.returncode != 0:
                raise RuntimeError(
                    f"kafka-storage format failed ({formatted.returncode}): "
                    + (formatted.stdout + formatted.stderr).decode(errors="replace")[-2000:]
                )
            self._formatted = True
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self._proc = subprocess.Popen(
            self._java("kafka.Kafka", str(properties)),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Until the node answers a metadata request (stopped past ``timeout``)."""
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        """Until the broker answers a metadata request through its own port (a
        controller alone: until its listener is open)."""
        from workers.settings import Settings
        from workers.stream.kafka import clients

        settings = Settings(broker=f"{self.host}:{self.port}")
        deadline = time.monotonic() + timeout
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"Apache Kafka exited with code {self._proc.returncode}:\n{self.log_tail()}"
                )
            if "broker" not in self.roles:  # a controller alone: its listener open
                if _listening(self.host, self.controller_port):
                    return
            elif _listening(self.host, self.port) and _in_thread(
                clients.ping(settings, timeout=2.0)
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Apache Kafka did not answer within {timeout:.0f}s:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, a controlled shutdown, and SIGKILL past ``timeout`` seconds."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=10)
        self.stop()

    def restart(self, *, hard: bool = False, down_s: float = 0.0) -> None:
        """Stop (or kill, when ``hard``) and start again on the same ports and log."""
        if hard:
            self.kill()
        else:
            self.stop()
        if down_s:
            time.sleep(down_s)
        self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _in_thread(coro: object) -> bool:
    """Run a coroutine to completion on a loop of its own (callers may be inside one)."""
    result: list[bool] = []

    def run() -> None:
        result.append(bool(asyncio.run(coro)))  # type: ignore[arg-type]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=30)
    return bool(result and result[0])
