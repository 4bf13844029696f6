"""The summarize stage: an extractive summary from the tagger's sentences. Pure.

Whole sentences of the clean text, in their original order, never cut. A
first version close to Lead-3, which is hard to beat on news: the leading
sentences that read as sentences (not headings, datelines or captions).
"""

from __future__ import annotations

import re

from schemas.models import EnrichedArticle, EnrichProvenance, Sentence, StageRun, TaggedArticle

VERSION = "1.0.0"

_WORD = re.compile(r"\w+", re.UNICODE)
_ENDS_SENTENCE = ('.', '!', '?', '"', '”', '’', "'", '…', ')')


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def _reads_as_sentence(text: str) -> bool:
    words = text.split()
    if len(words) < 5 or not text.rstrip().endswith(_ENDS_SENTENCE):
        return False
    letters = [ch for ch in text if ch.isalpha()]
    return not letters or sum(ch.isupper() for ch in letters) / len(letters) < 0.6


def select(text: str, sentences: list[Sentence], *, count: int, max_chars: int = 0) -> str:
    """Up to ``count`` whole sentences, in order, within ``max_chars`` when > 0.

    Never empty when ``text`` is not: falls back to the first sentence (or the
    first line) even where it alone exceeds the budget.
    """
    pieces = [text[s.start : s.end] for s in sentences]
    chosen: list[str] = []
    used = 0
    for piece in pieces:
        if len(chosen) >= count:
            break
        if not _reads_as_sentence(piece):
            continue
        cost = len(piece) + (1 if chosen else 0)
        if max_chars and used + cost > max_chars:
            break
        chosen.append(piece)
        used += cost
    if not chosen:
        first = pieces[0] if pieces else text.strip().split("\n", 1)[0]
        chosen = [first.strip()]
    return " ".join(chosen)


def summarize(
    article: TaggedArticle, *, now: str, count: int = 3, max_chars: int = 0
) -> EnrichedArticle:
    """The enriched record: the tagged article with its summary and word count."""
    return EnrichedArticle(
        **article.model_dump(exclude={"pipeline"}),
        word_count=word_count(article.text),
        summary=select(article.text, list(article.sentences), count=count, max_chars=max_chars),
        pipeline=EnrichProvenance(
            **article.pipeline.model_dump(),
            summarize=StageRun(version=VERSION, finished_at=now),
        ),
    )
