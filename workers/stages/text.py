"""Text rules the stages share: what a sentence ends with, and what opens one.

Kept apart from each stage's own rules, so that no stage reaches into another's
internals for them.
"""

from __future__ import annotations

import re

# what a sentence ends with (a closing quote or bracket after the stop included)
SENTENCE_END = (".", "!", "?", '"', "”", "’", "'", "…", ")", "»", "。", "！", "？", "」", "』")
# a line of prose may also end with a colon: it introduces a quote or a list
PROSE_END = (*SENTENCE_END, ":")


# characters that show nothing but change what a reader sees: zero-width spaces and
# joiners, the word joiner, the byte-order mark, the soft hyphen; and the bidirectional
# embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), which can reverse
# how a name displays and split one name into two for anything that compares text
INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u200b\u200c\u200d\u2060\ufeff\u00ad\u202a\u202b\u202c\u202d\u202e"
        "\u2066\u2067\u2068\u2069",
    ),
    None,
)


def visible(text: str) -> str:
    """``text`` without the invisible characters above."""
    return text.translate(INVISIBLE)


def opens_sentence(before: str) -> bool:
    """Whether a mention with ``before`` ahead of it opens a sentence or a line."""
    tail = before.rstrip(" \t")
    return not tail or tail[-1] in ".!?\n:\"”“‘'(>"


#: Farthest a sentence is looked for on each side of a span, in characters.
SENTENCE_REACH = 600
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…。！？])[\"”’')\]»]*\s+|\n\s*\n")


def sentence_around(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The (start, end) of the sentence holding ``text[start:end]``, found by its
    punctuation (for text without the tagger's sentences), at most
    ``SENTENCE_REACH`` characters each side; None for a span that is not text."""
    if not 0 <= start < end <= len(text):
        return None
    lo = max(0, start - SENTENCE_REACH)
    breaks = [m.end() for m in _SENTENCE_BREAK.finditer(text, lo, start)]
    first = breaks[-1] if breaks else lo
    after = _SENTENCE_BREAK.search(text, end, min(len(text), end + SENTENCE_REACH))
    last = after.start() if after else min(len(text), end + SENTENCE_REACH)
    return first, max(last, end)
