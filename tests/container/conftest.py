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
