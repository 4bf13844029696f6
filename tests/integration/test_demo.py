"""The README's first command: the demo on its own embedded broker."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.model]


def test_demo_prints_enriched_samples_and_exits_zero() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENRICH_")}
    out = subprocess.run([sys.executable, "-m", "workers.cli", "demo"], env=env,
                         capture_output=True, timeout=240, check=False)
    text = out.stdout.decode()
    assert out.returncode == 0, text + out.stderr.decode()
    for title in ("Port of Halden opens solar-powered ferry terminal",
                  "City council approves night bus network for Marrow Bay",
                  "Westbrook library reopens after flood repairs"):
        assert title in text
    assert "summary: " in text and "entities: " in text
    assert "3 enriched, 0 dead-lettered" in text
