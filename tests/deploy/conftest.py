"""Deployment artefacts checked with the real tools: kubectl (kustomize), the
Kubernetes OpenAPI schemas (kubernetes-validate) and promtool.

A missing tool skips its tests with the reason, except where
``DEPLOY_TOOLS=require`` (as CI sets): then it fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    """The path of a command-line tool (the virtual environment's first)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        unavailable(f"{name} is not installed", required_by="DEPLOY_TOOLS")
    return found


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), capture_output=True, text=True, input=stdin, timeout=120, check=False
    )


def render(path: str) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize`` renders from a kustomization folder."""
    out = run(tool("kubectl"), "kustomize", str(ROOT / path))
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]
