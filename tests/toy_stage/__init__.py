"""A toy fourth stage, for the tests: one package and one row.

"unlabel" sits between tag and summarize. It reads a tagged article and writes
one, without the mentions of the labels it drops (NORP: nationalities and
groups). Importing this module registers it (``ENRICH_PLUGINS=tests.toy_stage``);
nothing else in the project names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemas.models import TaggedArticle
from workers import stage_table

DROPPED = frozenset({"NORP"})


def unlabel(article: TaggedArticle, now: str) -> TaggedArticle:
    """The article without the mentions of the ``DROPPED`` labels."""
    kept = [m for m in article.entities if m.label not in DROPPED]
    return article.model_copy(update={"entities": kept})


def run(pipeline: Any, messages: Sequence[Any]) -> list[Any]:
    return list(pipeline.each("unlabel", messages, unlabel))


ROW = stage_table.StageRow(
    name="unlabel",
    reads=TaggedArticle,
    writes=TaggedArticle,
    output="unlabelled",
    assigns=("entities",),
    help="drops the mentions of some labels (a toy stage for the tests)",
    run=run,
    version="0.1.0",
)
stage_table.register(ROW, after="tag")
