"""Shared fixtures: a tagger on a blank pipeline (no trained model), record builders;
and how the suite runs in parallel (pytest-xdist: the order tests are handed out in,
the groups that run in one process, the fast loop's smoke tests)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NoReturn

import orjson
import pytest
import spacy

from workers.pipeline import Message
from workers.stages.tag import Tagger

PATTERNS = [
    {"label": "PERSON", "pattern": "Xi Jinping"},
    {"label": "PERSON", "pattern": "Xi"},
    {"label": "PERSON", "pattern": "Vladimir Putin"},
    {"label": "PERSON", "pattern": "Putin"},
    {"label": "GPE", "pattern": "Moscow"},
    {"label": "GPE", "pattern": "China"},
    {"label": "NORP", "pattern": "Chinese"},
    {"label": "ORG", "pattern": "Shanghai Cooperation Organization"},
    {"label": "ORG", "pattern": "SCO"},
]


#: Integration tests the fast loop runs (``-m smoke``): one broker's whole path, and
#: its dead letters.
SMOKE = (
    "tests/integration/test_pipeline_broker.py::test_golden_path_equals_offline_file_mode[tansu]",
    "tests/integration/test_pipeline_broker.py::"
    "test_bad_inputs_land_in_dlq_while_good_ones_are_enriched[tansu]",
)

#: Tests that run one after another in one process (``xdist_group``): those sharing
#: a costly session fixture (the image the container tests build), by path prefix.
GROUPS = {"tests/container/": "container"}

#: The order tests are handed out in, longest first, so that no long test starts last
#: and leaves the other processes idle at the end: by path prefix, the rest after.
#: Run where KAFKA_CLUSTER_TESTS=1: a step of their own in CI, after the README's test
#: command, and bench/faults.py. Left out of the suite's parallel run otherwise: their
#: 20 s bound on a stall needs the cores to themselves.
CLUSTER_TESTS = "tests/integration/test_cluster.py"

LONGEST_FIRST = (
    CLUSTER_TESTS,  # one group: six faults in turn, ~15 min
    "tests/container/",
    "tests/integration/test_exactly_once.py",
    "tests/integration/test_delivery.py",
    "tests/integration/test_hostile.py",
    "tests/integration/test_stories.py",
    "tests/integration/test_outage.py",
    "tests/integration/",
    "tests/deploy/",
)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups into the test ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("KAFKA_CLUSTER_TESTS") != "1":
        # the faults of a replicated cluster: their own run (tests/integration/test_cluster.py)
        cluster = [i for i in items if i.nodeid.startswith(CLUSTER_TESTS)]
        if cluster:
            config.hook.pytest_deselected(items=cluster)
            items[:] = [i for i in items if not i.nodeid.startswith(CLUSTER_TESTS)]
    for item in items:
        if item.nodeid in SMOKE:
            item.add_marker(pytest.mark.smoke)
        for prefix, group in GROUPS.items():
            if item.nodeid.startswith(prefix):
                item.add_marker(pytest.mark.xdist_group(group))

    def rank(item: pytest.Item) -> int:
        found = (i for i, p in enumerate(LONGEST_FIRST) if item.nodeid.startswith(p))
        return next(found, len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: within a rank, the order pytest chose


def pytest_collection_finish(session: pytest.Session) -> None:
    """In an xdist process with ``--dist loadgroup``, every grouped test's id carries its
    group: where it does not (pytest-xdist's grouping broken by a pytest release,
    pytest-dev/pytest-xdist#1386), tests that must share a process would run apart,
    two at once, and fail as flakes. Refuse to run instead."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    ungrouped = [
        item.nodeid
        for item in session.items
        if any(item.iter_markers("xdist_group")) and "@" not in item.nodeid.rpartition("]")[2]
    ]
    if ungrouped:
        raise pytest.UsageError(
            f"pytest-xdist did not group {len(ungrouped)} tests marked xdist_group (first: "
            f"{ungrouped[0]}); this pytest is not one its loadgroup works with "
            "(pytest-dev/pytest-xdist#1386): install the versions pyproject.toml pins"
        )


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: the suite mostly waits (brokers starting, groups joining, session
    timeouts running out), so two processes a core, at least 4 and at most 8 (each
    starts its own brokers)."""
    return min(8, max(4, 2 * (os.cpu_count() or 1)))


def blank_tagger(patterns: list[dict[str, Any]] | None = None, **kwargs: Any) -> Tagger:
    """A Tagger on spacy.blank('en') with a sentencizer and an entity ruler."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(patterns or PATTERNS)  # type: ignore[attr-defined]
    return Tagger(nlp, **kwargs)


def unavailable(message: str, *, required_by: str) -> NoReturn:
    """Skip a test whose tool is missing, saying why; fail instead where the
    environment variable ``required_by`` is ``require`` (as CI sets it)."""
    if os.environ.get(required_by) == "require":
        pytest.fail(f"{message}; {required_by}=require")
    pytest.skip(message)


@pytest.fixture
def tagger() -> Tagger:
    return blank_tagger()


@pytest.fixture
def fixed_clock() -> Callable[[], str]:
    return lambda: "2026-01-01T00:00:00.000Z"


def raw_message(
    obj: Any = None, *, value: bytes | None = None, offset: int = 0, topic: str = "articles.raw"
) -> Message:
    """A message as read from the raw topic."""
    data = value if value is not None else orjson.dumps(obj)
    return Message(topic, 0, offset, None, data)
