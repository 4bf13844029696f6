"""Sentences of a tagged text: the model's, split at paragraph breaks and at openers
glued to text without end punctuation; sentences by punctuation where the model
did not run."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from spacy.attrs import ENT_TYPE, IDX, LENGTH, SPACY, TAG
from spacy.tokens import Doc, Token
from spacy.tokens import Span as TokenSpan

from schemas.models import (
    Sentence,
)
from workers.stages.tag.phrases import NOUN_TAGS


def _opens_next(token: Token) -> bool:
    """Whether ``token``, the last of a model's sentence, is a quotation mark that opens
    the next one: set against the word after it and apart from the word before
    ("... to bury. 'That was ...", where the model ends its sentence after the mark;
    "... européenne. « Nous devons ...")."""
    doc = token.doc
    return (
        token.text in _OPENING_QUOTES
        # French sets a space inside its guillemets ("« Nous devons"): « opens whatever
        # follows it; another mark only when it is set against the word after it
        and (token.text == "«" or not token.whitespace_)
        and token.i + 1 < len(doc)
        and (token.i == 0 or bool(doc[token.i - 1].whitespace_) or doc[token.i - 1].is_space)
    )


def model_sentences(doc: Doc, offset: int) -> Iterable[Sentence]:
    """Sentences, trimmed of whitespace and split at paragraph breaks and glued
    boundaries; an opening quotation mark goes with the sentence it opens."""
    text = doc.text
    tokens = _Tokens.of(doc)
    carried: int | None = None  # where a quotation mark left at the end of the last opens
    for sent in doc.sents:
        start, end = sent.start_char, sent.end_char
        if carried is not None:
            start, carried = carried, None
        if _opens_next(sent[-1]):
            end = carried = sent[-1].idx
        openers = tagged_openers(sent, tokens)  # in order
        for m in re.finditer(r"[^\n]+", text[start:end]):
            s, e = start + m.start(), start + m.end()
            piece = text[s:e]
            s += len(piece) - len(piece.lstrip())
            e -= len(piece) - len(piece.rstrip())
            inside = openers[bisect_left(openers, s) : bisect_left(openers, e)]
            for gs, ge in unglued(text, s, e, openers=inside):
                yield Sentence(start=gs + offset, end=ge + offset)


# a sentence opener glued to text that has no end punctuation: "... parking lot An FBI
# agent's rifle ...", where a caption or heading lost its line break in the page
_GLUED = re.compile(
    r"(?<=[a-z0-9%)])[ \t]+(?=(?:An?|The|He|She|They|It|His|Her|Their|This|These|Those)"
    r"\s+(?!(?:is|was|are|were|and|or|of|on|in|at|to|for|by|as|with)\b)[a-z])"
)


_GLUE_LOOKBACK = 80  # characters

# Where the tags show a sentence opening inside one the model gave, after a space:
# - after a full stop the tagger read as one ("... in Bergen on May 7. Harbour
#   officials said ..."; an abbreviation such as "Dr." or "a.m." is one token, a noun);
# - at a capitalised determiner right after a noun or a number, where a caption that
#   lost its full stop runs into the sentence after it ("... on Friday The 40-year-old
#   vessel ...", "... parking lot An FBI agent's ..."). The tags keep names whole:
#   "Serie A" is a proper noun, "Steven Covey's The 7 Habits" follows a possessive,
#   "the album Gone With The Wind" a preposition, and "equity giant The Carlyle
#   Group" opens a name the model found;
# - at another capitalised function word after a noun, before a lower-case word ("...
#   in the village As the water rose ..."), but not "I" and not before a number
#   ("the England Under 21 side").
_DETERMINERS = frozenset({"A", "An", "The"})
_NOUN_TAGS_BEFORE = NOUN_TAGS | {"CD", "-RRB-"}  # a noun, a number or ")"
_FUNCTION_TAGS = frozenset({"DT", "EX", "IN", "PRP", "PRP$", "RB", "WP", "WRB"})
_OPENING_QUOTES = frozenset({"'", "‘", '"', "“", "«", "„"})
# entity types of names: a determiner inside one does not open ("A four-year-old",
# a DATE, may)
_NAME_TYPES = frozenset(
    {"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"}
)


@dataclass(frozen=True, slots=True)
class _Tokens:
    """A doc's token attributes, read once in bulk (``Doc.to_array``) instead of
    through a ``Token`` object per token and attribute."""

    text: str
    starts: list[int]
    lengths: list[int]
    spaced: list[int]  # 1 where whitespace follows the token
    tags: list[int]  # hashes
    ents: list[int]  # entity type hashes, 0 outside one
    known: _OpenerTags

    @classmethod
    def of(cls, doc: Doc) -> _Tokens:
        known = _OpenerTags.of(doc.vocab.strings)
        if not len(doc):
            return cls(doc.text, [], [], [], [], [], known)
        starts, lengths, spaced, tags, ents = doc.to_array(
            [IDX, LENGTH, SPACY, TAG, ENT_TYPE]
        ).T.tolist()
        return cls(doc.text, starts, lengths, spaced, tags, ents, known)


@dataclass(frozen=True, slots=True)
class _OpenerTags:
    """The hashes of the tags and entity types ``tagged_openers`` looks at."""

    stop: int
    determiner: int
    noun_before: frozenset[int]
    function: frozenset[int]
    names: frozenset[int]

    @classmethod
    def of(cls, strings: Any) -> _OpenerTags:
        return cls(
            strings.add("."),
            strings.add("DT"),
            frozenset(strings.add(t) for t in _NOUN_TAGS_BEFORE),
            frozenset(strings.add(t) for t in _FUNCTION_TAGS),
            frozenset(strings.add(t) for t in _NAME_TYPES),
        )


def tagged_openers(sent: TokenSpan, tokens: _Tokens | None = None) -> list[int]:
    """The offsets (in the doc's text) where the tags show a sentence opening inside
    ``sent``; empty where the model has no tagger. ``tokens``: the doc's, read once
    for all its sentences."""
    t = tokens or _Tokens.of(sent.doc)
    tags = t.known
    text, starts, lengths, spaced = t.text, t.starts, t.lengths, t.spaced
    count = len(starts)
    found = []
    for i in range(sent.start + 1, sent.end):
        at = starts[i]
        first = text[at : at + 1]
        if not first.isupper() and first not in _OPENING_QUOTES:
            continue  # most tokens: nothing to look at
        prev = i - 1
        if not spaced[prev]:
            continue
        after = text[starts[i + 1] : starts[i + 1] + 1] if i + 1 < count else ""
        word = text[at : at + lengths[i]]
        if t.tags[prev] == tags.stop and text[starts[prev] + lengths[prev] - 1] in ".!?":
            # a quotation mark opens only where it is set against the word after it: the
            # page's "... my contract. ' Filipe Luis insists ..." closes one
            opens = word in _OPENING_QUOTES and not spaced[i] and after.isupper()
            if first.isupper() or opens:
                found.append(at)
        elif (
            first.isupper()
            and word != "I"
            and t.tags[prev] in tags.noun_before
            and t.ents[i] not in tags.names
            and (
                (word in _DETERMINERS and t.tags[i] == tags.determiner)
                or (t.tags[i] in tags.function and after.islower())
            )
        ):
            found.append(at)
    return found


def _words_before(text: str, start: int, end: int) -> list[str]:
    """The words of ``text[start:end]`` within a bounded look back from ``end``, so
    that a long line with many rejected openers is read in linear time."""
    return text[max(start, end - _GLUE_LOOKBACK) : end].split()


def unglued(
    text: str, start: int, end: int, *, openers: Iterable[int] = ()
) -> Iterator[tuple[int, int]]:
    """``text[start:end]`` split where a sentence opener is glued to the words before it.

    Openers are found by pattern ("... parking lot An agent's ...": a determiner or
    pronoun before a lower-case word) and, where the tagger has read the text, at
    the offsets ``openers`` (from :func:`tagged_openers`).
    Not inside a title-case line ("... Sell It as Fertilizer"), not after fewer than
    three words, not before a verb or function word ("plan A was"), and a lone "A"
    found by pattern only after a lower-case word ("Serie A champions").
    """
    found = {m.end(): (m.start(), True) for m in _GLUED.finditer(text, start, end)}
    for at_opener in openers:  # the tagger's reading stands over the lone-"A" guard
        gap = at_opener
        while gap > start and text[gap - 1] in " \t":
            gap -= 1
        if start < gap < at_opener < end:
            found[at_opener] = (gap, False)
    at = start
    for opener in sorted(found):
        gap, by_pattern = found[opener]
        if gap <= at:
            continue
        before = _words_before(text, at, gap)
        if len(before) < 3 or sum(w[:1].isupper() for w in before) * 2 > len(before):
            continue
        if by_pattern and text.startswith("A ", opener) and not before[-1].islower():
            continue
        yield at, gap
        at = opener
    if end > at:
        yield at, end


# A sentence by punctuation: up to a run of ".", "!" or "?" (and closing marks) that a
# space or the end follows, or to the end of its line. Each character is read once:
# a mark inside a word ("3.5", "!(#!(#") ends nothing, and a line without one is a
# sentence of its own.
_RULE_SENT = re.compile(r"(?:[^\n.!?]++|[.!?]++(?![\"'”’)]*+(?:\s|$)))*+(?:[.!?]++[\"'”’)]*+)?")


def rule_sentences(text: str, start: int = 0) -> list[Sentence]:
    """Sentence boundaries by punctuation, line breaks and glued openers (no model),
    from ``start``."""
    out: list[Sentence] = []
    for m in _RULE_SENT.finditer(text, start):
        piece = m.group()
        if not piece.strip():
            continue
        s = m.start() + len(piece) - len(piece.lstrip())
        e = m.end() - (len(piece) - len(piece.rstrip()))
        out.extend(Sentence(start=gs, end=ge) for gs, ge in unglued(text, s, e))
    return out
