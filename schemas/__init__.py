"""Versioned record schemas: the pydantic models and their JSON Schema files."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from schemas.models import (
    READABLE_VERSIONS,
    RECORD_MODELS,
    SCHEMA_VERSION,
    ArticleTone,
    CleanedArticle,
    Country,
    DeadLetter,
    EnrichedArticle,
    Entity,
    Mention,
    Place,
    RawArticle,
    Sentence,
    Span,
    TaggedArticle,
    Tone,
)

__all__ = [
    "READABLE_VERSIONS",
    "RECORD_MODELS",
    "SCHEMA_VERSION",
    "ArticleTone",
    "CleanedArticle",
    "Country",
    "DeadLetter",
    "EnrichedArticle",
    "Entity",
    "Mention",
    "Place",
    "RawArticle",
    "Sentence",
    "Span",
    "TaggedArticle",
    "Tone",
    "load_schema",
]


def load_schema(name: str, version: int = SCHEMA_VERSION) -> dict[str, Any]:
    """The shipped JSON Schema of a record kind (``raw_article``, ``dead_letter``, ...),
    of this version or, for readers still on it, of an earlier one still read
    (``READABLE_VERSIONS``; its file is kept as it was released)."""
    if name not in RECORD_MODELS:
        raise KeyError(f"unknown record kind {name!r}; known: {sorted(RECORD_MODELS)}")
    if version not in READABLE_VERSIONS:
        raise KeyError(f"schema version {version} is not shipped; shipped: {READABLE_VERSIONS}")
    text = (
        resources.files("schemas").joinpath(f"{name}.v{version}.json").read_text(encoding="utf-8")
    )
    result: dict[str, Any] = json.loads(text)
    return result
