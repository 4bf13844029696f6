"""The stage table: every stage of the pipeline, in order, one row each.

A row declares a stage's contract: the record it reads, the record it writes,
the fields it assigns, the topic kind it publishes to when another stage follows
it, and whether it needs a spaCy model. Everything else is derived from the
table: the stage names and the default stage list (``Settings``), each stage's
source and destination topics (the previous row's output, ``raw`` for the
first, ``enriched`` for the last), topic creation, the CLI's help and the
worker's group names. The story steps hang on the last row (``last``), whichever
stage that is.

The built-in stages' batch functions are the pipeline's (``workers.pipeline``); a
stage added by a plugin brings its own (``run``). A plugin is a module named in
``ENRICH_PLUGINS``: importing it calls ``register`` with its row, and that is all a
new stage takes besides its own package (``tests/toy_stage`` is one). Base layer:
this module imports records only.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from schemas.models import (
    STAGE_NAME_PATTERN,
    CleanedArticle,
    EnrichedArticle,
    RawArticle,
    TaggedArticle,
)

#: a stage name: also a topic kind's, a group name's and a metric label's part
NAME = re.compile(STAGE_NAME_PATTERN)
FIRST_SOURCE, LAST_DEST = "raw", "enriched"


@dataclass(frozen=True)
class StageRow:
    """One stage's contract. ``run(pipeline, messages)`` gives one outcome per
    message, in order (``workers.pipeline.Outcome``); None for the built-in
    stages, whose functions the pipeline holds."""

    name: str
    reads: type[BaseModel]
    writes: type[BaseModel]
    output: str  # the topic kind it publishes to when another stage follows it
    assigns: tuple[str, ...]
    help: str
    needs_model: bool = False
    run: Callable[[Any, Sequence[Any]], list[Any]] | None = None
    #: the stage's version, for the provenance entry the pipeline adds to each record
    #: a plugin's stage writes (the built-in stages write their own)
    version: str | None = None


_ROWS: list[StageRow] = [
    StageRow(
        "clean",
        RawArticle,
        CleanedArticle,
        "cleaned",
        ("text", "title", "published_at", "authors", "language", "language_confidence"),
        "HTML or pasted text to clean text, boilerplate removed, language detected",
    ),
    StageRow(
        "tag",
        CleanedArticle,
        TaggedArticle,
        "tagged",
        ("sentences", "entities", "noun_phrases", "tagging"),
        "sentences and entities with spaCy, each entity's canonical name",
        needs_model=True,
    ),
    StageRow(
        "summarize",
        TaggedArticle,
        EnrichedArticle,
        "summarized",
        ("summary", "summary_sentences", "entity_list", "keywords", "word_count"),
        "an extractive summary, the entities by salience, keywords",
    ),
]


def rows() -> tuple[StageRow, ...]:
    """Every stage, in pipeline order."""
    return tuple(_ROWS)


def names() -> tuple[str, ...]:
    return tuple(r.name for r in _ROWS)


def last() -> StageRow:
    """The stage whose records are the pipeline's output. The optional steps that
    follow it (the story steps, ``ENRICH_STORIES``) read its row's ``output`` topic
    kind, and it publishes there instead of ``enriched`` while they run."""
    return _ROWS[-1]


def row(name: str) -> StageRow:
    for r in _ROWS:
        if r.name == name:
            return r
    raise KeyError(f"no stage {name!r}; the stages are {','.join(names())}")


def source_of(name: str) -> str:
    """The topic kind a stage reads: the output of the stage before it, ``raw`` for
    the first."""
    i = names().index(name)
    return FIRST_SOURCE if i == 0 else _ROWS[i - 1].output


def dest_of(name: str) -> str:
    """The topic kind a stage publishes to: ``enriched`` for the last stage."""
    i = names().index(name)
    return LAST_DEST if i == len(_ROWS) - 1 else _ROWS[i].output


def register(new: StageRow, *, after: str) -> None:
    """Put ``new`` in the pipeline after the stage ``after``, checking the contracts
    on both sides: what the stage before writes must be what it reads, what it
    writes must be what the stage after reads. Registering the same row again is
    a no-op (a plugin imported twice)."""
    if any(r == new for r in _ROWS):
        return
    if not NAME.match(new.name) or new.name in names():
        raise ValueError(f"stage name {new.name!r} is taken or not [a-z][a-z0-9_]*")
    if new.run is None or new.version is None:
        raise ValueError(f"stage {new.name!r} brings no run function or no version")
    if after not in names():
        raise ValueError(
            f"stage {new.name!r} goes after={after!r}, which is no stage; "
            f"the stages are {','.join(names())}"
        )
    i = names().index(after)
    before, following = _ROWS[i], _ROWS[i + 1] if i + 1 < len(_ROWS) else None
    if not issubclass(before.writes, new.reads):
        raise TypeError(
            f"stage {new.name!r} reads {new.reads.__name__}, "
            f"but {before.name!r} before it writes {before.writes.__name__}"
        )
    if following is not None and not issubclass(new.writes, following.reads):
        raise TypeError(
            f"stage {new.name!r} writes {new.writes.__name__}, "
            f"but {following.name!r} after it reads {following.reads.__name__}"
        )
    kinds = {FIRST_SOURCE, LAST_DEST, *(r.output for r in _ROWS)}
    if new.output in kinds:
        raise ValueError(f"topic kind {new.output!r} of stage {new.name!r} is taken")
    _ROWS.insert(i + 1, new)


def unregister(name: str) -> None:
    """Take a stage added by a plugin out again (tests)."""
    r = row(name)
    if r.run is None:
        raise ValueError(f"{name!r} is a built-in stage")
    _ROWS.remove(r)


class PluginError(ValueError):
    """A plugin that cannot be loaded: it names the plugin and what is wrong."""


def load_plugins(modules: str) -> None:
    """Import each module of ``modules`` (comma-separated): each registers its stages.

    Whatever a plugin does wrong while it loads (it is not found, has a syntax error,
    raises, exits, or registers a stage that breaks the contract) is a PluginError
    that names it, in one line."""
    for module in (m.strip() for m in modules.split(",") if m.strip()):
        try:
            importlib.import_module(module)
        except KeyboardInterrupt:
            raise
        except ModuleNotFoundError as exc:
            raise PluginError(f"plugin {module!r}: cannot import {exc.name!r}: {exc}") from None
        except SyntaxError as exc:
            where = f"{exc.filename}:{exc.lineno}" if exc.filename else "its source"
            raise PluginError(f"plugin {module!r}: syntax error at {where}: {exc.msg}") from None
        except SystemExit as exc:
            raise PluginError(f"plugin {module!r}: exited ({exc.code}) while loading") from None
        except BaseException as exc:  # noqa: BLE001 - any failure is the plugin's, named
            raise PluginError(
                f"plugin {module!r} failed to load: {type(exc).__name__}: {exc}"
            ) from None
