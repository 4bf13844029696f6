"""Shared fixtures: a tagger on a blank pipeline (no trained model), record builders."""

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
