"""Container fixtures: a container engine (docker or podman) and the project's image.

The tests here build the image from the project's Dockerfile and start real
containers. They skip, saying why, only where no container engine can run at
all; with ``CONTAINER_TESTS=require`` (as CI sets) they fail instead.
``CONTAINER_BUILD_OPTS`` adds options to the image build (for example volumes
that lend the build a local package index).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import unavailable

pytestmark = pytest.mark.container

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "article-enrich:dev"  # the name docker-compose.yml builds and runs


@dataclass(frozen=True)
class Engine:
    """A container engine's command line."""

    name: str  # "docker" or "podman"

    def run(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run ``<engine> args...``; fails the test on a non-zero exit when ``check``."""
        proc = subprocess.run(
            [self.name, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{self.name} {shlex.join(args)} exited {proc.returncode}:\n"
                f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        return proc

    def compose(self) -> list[str] | None:
        """The compose command that drives this engine, if one runs here."""
        if self.name == "docker":
            probe = subprocess.run(
                ["docker", "compose", "version"], capture_output=True, check=False
            )
            if probe.returncode == 0:
                return ["docker", "compose"]
            found = shutil.which("docker-compose")
            return [found] if found else None
        beside = Path(sys.executable).parent / "podman-compose"
        found = str(beside) if beside.exists() else shutil.which("podman-compose")
        return [found] if found else None


def _find_engine() -> tuple[Engine | None, str]:
    reasons = []
    for name in ("docker", "podman"):
        if shutil.which(name) is None:
            reasons.append(f"no {name} command")
            continue
        probe = subprocess.run(
            [name, "info"], capture_output=True, text=True, check=False, timeout=60
        )
        if probe.returncode == 0:
            return Engine(name), ""
        reasons.append(
            f"{name} cannot reach a container engine: "
            f"{(probe.stderr or probe.stdout).strip()[-200:]}"
        )
    return None, "; ".join(reasons)


@pytest.fixture(scope="session")
def engine() -> Engine:
    found, why = _find_engine()
    if found is None:
        unavailable(f"no container engine can run here ({why})", required_by="CONTAINER_TESTS")
    return found


@pytest.fixture(scope="session")
def image(engine: Engine) -> str:
    """The project's image, built from its Dockerfile as a user would."""
    opts = shlex.split(os.environ.get("CONTAINER_BUILD_OPTS", ""))
    # podman drops HEALTHCHECK from OCI-format images; the docker format keeps it
    fmt = ["--format", "docker"] if engine.name == "podman" else []
    engine.run("build", *fmt, "--network", "host", *opts, "-t", IMAGE, str(ROOT), timeout=900)
    return IMAGE


@pytest.fixture
def network(engine: Engine) -> Iterator[str]:
    """A network of its own, where containers find each other by name."""
    name = f"enrich-test-{uuid.uuid4().hex[:8]}"
    engine.run("network", "create", name)
    yield name
    engine.run("network", "rm", "-f", name, check=False)


STANDIN = Path(__file__).parent / "kafka_standin"


@pytest.fixture(scope="session")
def kafka_image(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Apache Kafka image docker-compose.yml names: pulled, or already here, or
    (on a machine that cannot reach Docker Hub) a local stand-in built from the
    release jars and Debian's JRE, configured by the same ``KAFKA_*`` variables
    (``kafka_standin/``; a fixture of these machines, never used by the project)."""
    import yaml

    from tests import kafka_broker

    name = str(
        yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["kafka"]["image"]
    )
    if engine.run("image", "inspect", name, check=False).returncode == 0:
        return name
    if engine.run("pull", name, check=False, timeout=120).returncode == 0:
        return name
    reason = kafka_broker.unavailable_reason()
    if reason is not None:
        unavailable(
            f"cannot pull {name}, nor build a stand-in: {reason}", required_by="CONTAINER_TESTS"
        )
    version = name.rsplit(":", 1)[1]
    context = tmp_path_factory.mktemp("kafka-standin")
    shutil.copytree(kafka_broker.resolve(version), context / "libs")
    for path in STANDIN.iterdir():
        shutil.copy(path, context / path.name)
    shutil.copy(kafka_broker.resolve(version).parent / "log4j2.properties", context)
    opts = shlex.split(os.environ.get("CONTAINER_BUILD_OPTS", ""))
    engine.run(
        "build",
        "--network",
        "host",
        *opts,
        "-t",
        name,
        "-f",
        str(context / "Containerfile"),
        str(context),
        timeout=900,
    )
    return name


class Compose:
    """A compose project of the repository's compose files, on this engine."""

    def __init__(self, engine: Engine, tool: list[str], *files: str) -> None:
        self.engine = engine
        self.project = f"enrichtest{uuid.uuid4().hex[:8]}"
        self.command = [*tool, "-p", self.project]
        for name in files:
            self.command += ["-f", str(ROOT / name)]

    def run(self, *args: str, timeout: float = 180) -> str:
        proc = subprocess.run(
            [*self.command, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 0, (
            f"compose {' '.join(args)} exited {proc.returncode}:\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
        return proc.stdout

    def containers_of(self, service: str) -> list[str]:
        return self.engine.run(
            "ps",
            "--filter",
            f"label=com.docker.compose.project={self.project}",
            "--filter",
            f"label=com.docker.compose.service={service}",
            "--format",
            "{{.Names}}",
        ).stdout.split()

    def logs(self, lines: int = 30) -> str:
        """The last lines of every container of the project, for a failure message."""
        names = self.engine.run(
            "ps",
            "-a",
            "--filter",
            f"label=com.docker.compose.project={self.project}",
            "--format",
            "{{.Names}}",
        ).stdout.split()
        parts = []
        for name in sorted(names):
            got = self.engine.run("logs", "--tail", str(lines), name, check=False)
            parts.append(f"--- {name}\n{(got.stdout + got.stderr)[-6000:]}")
        return "\n".join(parts)

    def down(self) -> None:
        try:
            self.run("down", "-v", "-t", "30", timeout=240)
        finally:
            # podman-compose's down leaves a scaled replica (tagger_2) behind, and its
            # restart policy would bring it back forever: remove what the project left
            left = self.engine.run(
                "ps",
                "-a",
                "--filter",
                f"label=com.docker.compose.project={self.project}",
                "--format",
                "{{.Names}}",
            ).stdout.split()
            if left:
                self.engine.run("rm", "-f", "-t", "5", *left, check=False, timeout=120)


@pytest.fixture
def compose_tool(engine: Engine) -> list[str]:
    tool = engine.compose()
    if tool is None:
        unavailable(f"no compose tool for {engine.name} here", required_by="CONTAINER_TESTS")
    return tool
