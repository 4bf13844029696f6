"""Versioned record schemas: the pydantic models and their JSON Schema files."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from schemas.models import (
    RECORD_MODELS,
    SCHEMA_VERSION,
    CleanedArticle,
    DeadLetter,
    EnrichedArticle,
    Entity,
    Mention,
    RawArticle,
    Sentence,
    Span,
    TaggedArticle,
)

__all__ = [
    "RECORD_MODELS",
    "SCHEMA_VERSION",
    "CleanedArticle",
    "DeadLetter",
    "EnrichedArticle",
    "Entity",
    "Mention",
    "RawArticle",
    "Sentence",
    "Span",
    "TaggedArticle",
    "load_schema",
]


def load_schema(name: str) -> dict[str, Any]:
    """The shipped JSON Schema of a record kind (``raw_article``, ``dead_letter``, ...)."""
    if name not in RECORD_MODELS:
        raise KeyError(f"unknown record kind {name!r}; known: {sorted(RECORD_MODELS)}")
    text = (
        resources.files("schemas")
        .joinpath(f"{name}.v{SCHEMA_VERSION}.json")
        .read_text(encoding="utf-8")
    )
    result: dict[str, Any] = json.loads(text)
    return result
