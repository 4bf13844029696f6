"""Noun phrases from part-of-speech tags, read in bulk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from spacy.attrs import IDX, IS_PUNCT, IS_SPACE, LENGTH, POS, TAG
from spacy.symbols import ADJ, NOUN, PROPN
from spacy.tokens import Doc

from schemas.models import (
    Span,
)

# part-of-speech tags (Penn Treebank, as spaCy's English models give them) of noun
# phrases: modifiers, then a noun at the end
NOUN_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS"})
_ADJECTIVE_TAGS = frozenset({"JJ", "JJR", "JJS", "VBG", "VBN"})
_MODIFIER_TAGS = NOUN_TAGS | _ADJECTIVE_TAGS | {"HYPH"}


def noun_phrases(doc: Doc, offset: int = 0) -> Iterator[Span]:
    """Runs of modifiers ending in a noun ("electric ferries", "solar-powered ferry
    terminal"), from the part-of-speech tags; a verb, a determiner or punctuation
    ends a run, and so does an adjective after a noun or a noun after a plural one
    ("the basement stores surplus power" gives "basement stores" and "surplus
    power"). The tags are read in bulk (``Doc.to_array``), not token by token."""
    if not len(doc):
        return
    kinds = _tag_kinds(doc.vocab.strings)
    tags, starts, spaces, lengths = doc.to_array([TAG, IDX, IS_SPACE, LENGTH]).T.tolist()
    kind = [None if space else kinds.get(tag) for tag, space in zip(tags, spaces, strict=True)]
    run: list[int] = []
    for i in range(len(kind) + 1):
        k = kind[i] if i < len(kind) else None
        # a new phrase starts at an adjective after a noun (English puts them before
        # it) and at a noun after a plural one (a noun modifying another is singular:
        # "ferry terminal"); so "the basement stores surplus power", where a small
        # model takes "stores" for a plural noun, does not become one phrase
        if k is not None and not (
            run
            and (
                (k == _ADJECTIVE and kind[run[-1]] in _NOUNS)
                or (k in _NOUNS and kind[run[-1]] == _PLURAL)
            )
        ):
            run.append(i)
            continue
        while run and kind[run[-1]] not in _NOUNS:
            run.pop()
        while run and kind[run[0]] == _HYPHEN:
            run.pop(0)
        if run:
            last = run[-1]
            yield Span(start=starts[run[0]] + offset, end=starts[last] + lengths[last] + offset)
        run = [i] if k is not None else []


# what a tag is to a noun phrase
_NOUN, _PLURAL, _ADJECTIVE, _HYPHEN = "noun", "plural", "adjective", "hyphen"
_NOUNS = frozenset({_NOUN, _PLURAL})
_TAG_KINDS = {t: _ADJECTIVE for t in _ADJECTIVE_TAGS} | {t: _NOUN for t in NOUN_TAGS}
_TAG_KINDS |= {"NNS": _PLURAL, "HYPH": _HYPHEN}


def _tag_kinds(strings: Any) -> dict[int, str]:
    """Each modifier tag's hash (as ``Doc.to_array`` gives it) and what it is to a
    noun phrase."""
    return {strings.add(tag): kind for tag, kind in _TAG_KINDS.items()}


_UNIVERSAL_NOUNS = frozenset({int(NOUN), int(PROPN)})
_UNIVERSAL_MODIFIERS = _UNIVERSAL_NOUNS | {int(ADJ)}


def universal_noun_phrases(doc: Doc, offset: int = 0) -> Iterator[Span]:
    """Noun phrases from universal part-of-speech tags (a morphologizer's, as the
    French models have): runs of nouns and adjectives with a noun among them, the
    adjectives on either side ("voiture électrique", "nouvelle centrale solaire")."""
    if not len(doc):
        return
    pos, starts, spaces, puncts, lengths = doc.to_array(
        [POS, IDX, IS_SPACE, IS_PUNCT, LENGTH]
    ).T.tolist()
    run: list[int] = []
    for i in range(len(pos) + 1):
        # a small model tags a guillemet as a noun now and then
        if i < len(pos) and not (spaces[i] or puncts[i]) and pos[i] in _UNIVERSAL_MODIFIERS:
            run.append(i)
            continue
        if any(pos[j] in _UNIVERSAL_NOUNS for j in run):
            last = run[-1]
            yield Span(start=starts[run[0]] + offset, end=starts[last] + lengths[last] + offset)
        run = []
