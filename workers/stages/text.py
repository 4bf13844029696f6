"""Text rules the stages share: what a sentence ends with, and what opens one.

Kept apart from each stage's own rules, so that no stage reaches into another's
internals for them.
"""

from __future__ import annotations

# what a sentence ends with (a closing quote or bracket after the stop included)
SENTENCE_END = (".", "!", "?", '"', "”", "’", "'", "…", ")", "»", "。", "！", "？", "」", "』")
# a line of prose may also end with a colon: it introduces a quote or a list
PROSE_END = (*SENTENCE_END, ":")


def opens_sentence(before: str) -> bool:
    """Whether a mention with ``before`` ahead of it opens a sentence or a line."""
    tail = before.rstrip(" \t")
    return not tail or tail[-1] in ".!?\n:\"”“‘'(>"
