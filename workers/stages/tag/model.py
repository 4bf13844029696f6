"""The spaCy pipeline the tag stage runs: loaded with only the components tagging
needs, and a tokenizer whose cost is linear in the text."""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spacy.language import Language

from workers.errors import ConfigError

_NEEDED = ("tok2vec", "tagger", "senter", "ner")


def load_model(name: str, *, part_of_speech: bool = True) -> Language:
    """Load a spaCy model with only the components tagging needs.

    ``part_of_speech=False`` leaves out the part-of-speech tagger, and the shared
    ``tok2vec`` where nothing else reads it (in the English pipelines ner and senter
    embed for themselves): no noun phrases and no tag-based sentence openers, for
    about 40% less CPU per article (docs/benchmarks.md has the figures)."""
    import spacy

    nlp = spacy.load(name, exclude=["parser", "attribute_ruler", "lemmatizer"])
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    if "senter" not in nlp.pipe_names and "parser" not in nlp.pipe_names:
        nlp.add_pipe("sentencizer")
    if not part_of_speech:
        for pos in ("tagger", "morphologizer"):
            if pos in nlp.pipe_names:
                nlp.remove_pipe(pos)
        shared: Any = nlp.get_pipe("tok2vec") if "tok2vec" in nlp.pipe_names else None
        if shared is not None and not shared.listening_components:
            nlp.remove_pipe("tok2vec")
    return nlp


#: Entity labels of the standard schemes: OntoNotes 5 (English's models) and WikiNER
#: (French's, named as English's: PER is PERSON), beside what a model's meta lists.
KNOWN_LABELS = frozenset(
    [
        "PERSON",
        "NORP",
        "FAC",
        "ORG",
        "GPE",
        "LOC",
        "PRODUCT",
        "EVENT",
        "WORK_OF_ART",
        "LAW",
        "LANGUAGE",
        "DATE",
        "TIME",
        "PERCENT",
        "MONEY",
        "QUANTITY",
        "ORDINAL",
        "CARDINAL",
        "MISC",
    ]
)
#: How the models of other schemes name a label that English names otherwise.
LABEL_NAMES = {"PER": "PERSON"}


def model_meta(name: str) -> dict[str, Any]:
    """The ``meta.json`` of the spaCy model ``name`` (a package or a folder), read
    without loading the model. ConfigError, saying what is wrong, when ``name`` is
    not an installed spaCy model."""
    folder: Path | None = None
    if Path(name).exists():
        folder = Path(name)
        if not (folder / "config.cfg").is_file():
            raise ConfigError(f"{name!r} is a path but not a spaCy model folder (no config.cfg)")
    elif name.isidentifier():
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            folder = Path(next(iter(spec.submodule_search_locations)))
        elif spec is not None:
            raise ConfigError(f"{name!r} is a module, not a spaCy model package")
    if folder is None:
        raise ConfigError(f"the spaCy model {name!r} is not installed")
    meta_path = folder / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{name!r} is not a spaCy model (no meta.json in {folder})") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{name!r}: its meta.json cannot be read: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("lang"), str):
        raise ConfigError(f"{name!r}: its meta.json names no language")
    return meta


def model_labels(meta: dict[str, Any]) -> frozenset[str]:
    """The entity labels a model's meta lists, named as English's."""
    labels = meta.get("labels", {}).get("ner", []) if isinstance(meta.get("labels"), dict) else []
    return frozenset(LABEL_NAMES.get(str(label), str(label)) for label in labels)


# The longest run without a space that the tokenizer splits into words and punctuation.
# spaCy's tokenizer strips a run's prefixes and suffixes one at a time, each time
# searching and hashing what is left of it, so a run costs the square of its length:
# 40,000 "!" took two minutes, and the 300,000 characters a budget allows would take
# hours. No word is this long; a web address is one token anyway.
LONGEST_SPLIT_RUN = 100


def bound_tokenizer(nlp: Language) -> None:
    """Make a run of more than ``LONGEST_SPLIT_RUN`` characters without a space one
    token in ``nlp``'s tokenizer, so that tokenizing costs time linear in the text.

    The bound is a ``token_match`` (a run it matches is not split), tried before
    the model's own one if it has one. Applying it again changes nothing.
    """
    tokenizer: Any = nlp.tokenizer
    if not hasattr(tokenizer, "token_match"):
        return  # a custom tokenizer: its cost is its own
    current = tokenizer.token_match
    if current is None:
        tokenizer.token_match = _LONG_RUN.match  # a plain pattern: the tokenizer still saves
    elif getattr(current, "__self__", None) is not _LONG_RUN and not isinstance(
        current, _LongRunOr
    ):
        tokenizer.token_match = _LongRunOr(current)


_LONG_RUN = re.compile(rf"(?s:.){{{LONGEST_SPLIT_RUN + 1}}}")  # at least that many characters


@dataclass(frozen=True, slots=True)
class _LongRunOr:
    """A ``token_match``: a run too long to split, or one the model's own rule matches."""

    other: Any

    def __call__(self, string: str) -> bool:
        return len(string) > LONGEST_SPLIT_RUN or bool(self.other(string))
