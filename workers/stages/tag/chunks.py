"""What the tag stage hands the model: truecased text, cut in chunks within a budget."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import islice

from workers.stages.tag.model import LONGEST_SPLIT_RUN


@dataclass(frozen=True, slots=True)
class Chunk:
    article: int
    offset: int
    text: str


_LINE = re.compile(r"[^\n]+")
# news prose has 4.7 characters per token; a chunk or batch of ``n`` characters holds
# at most ``n / 4`` tokens, so that memory, which follows tokens, stays within what
# prose of that length takes
CHARS_PER_TOKEN = 4
# what the tagging budget counts as a token: a word, a mark, or a run too long to split
_TOKEN = re.compile(rf"(?<!\S)\S{{{LONGEST_SPLIT_RUN + 1},}}|\w+|[^\w\s]")
_CASED_WORD = re.compile(r"[^\W\d_](?:[\w'’-]|\.(?=\w))*")


_ASCII_LOWER = re.compile(r"[a-z]")


def _shouting(line: str) -> bool:
    # most lines: more than a fifth of their characters are lower-case ASCII letters,
    # so fewer than four fifths of their letters can be capitals (counted in C)
    if len(_ASCII_LOWER.findall(line)) * 5 > len(line):
        return False
    letters = [ch for ch in line if ch.isalpha()]
    words = [w for w in line.split() if sum(ch.isalpha() for ch in w) >= 2]
    return len(words) >= 2 and sum(ch.isupper() for ch in letters) >= 0.8 * len(letters)


def truecase(text: str) -> str:
    """The text with all-caps lines (headlines, banners) in ordinary case, same length.

    A small English model reads "PUTIN MEETS XI IN MOSCOW" as one organisation
    and loses the sentence after it. Each word of a shouted line takes the form
    the rest of the article writes it in ("Putin", "Moscow", "NATO"); other
    words are lower-cased, the first capitalised. Offsets are unchanged: a word
    whose case change would alter its length is left alone.
    """
    lines = [(m.start(), m.end()) for m in _LINE.finditer(text) if _shouting(m.group())]
    if not lines:
        return text
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    shouted: set[int] = set()
    for start, end in lines:
        shouted.update(range(start, end))
    for m in _CASED_WORD.finditer(text):
        if m.start() not in shouted:
            forms[m.group().casefold()][m.group()] += 1
    out = list(text)
    for start, end in lines:
        for i, m in enumerate(_CASED_WORD.finditer(text, start, end)):
            word = m.group()
            known = forms.get(word.casefold())
            if known:
                new = known.most_common(1)[0][0]
            else:
                new = word.lower()
                if i == 0:
                    new = new[:1].upper() + new[1:]
            if len(new) == len(word):
                out[m.start() : m.end()] = new
    return "".join(out)


def piece_end(text: str, start: int, max_chars: int, max_tokens: int) -> int:
    """Where a piece of ``text`` from ``start`` ends: at most ``max_chars`` characters and
    ``max_tokens`` tokens (0: no bound) on, at a paragraph break before that where
    possible, else at a line break, a sentence's end or a space, else hard."""
    end = min(start + max_chars, len(text))
    if max_tokens and end - start > max_tokens:  # else it has fewer tokens
        past = next(islice(_TOKEN.finditer(text, start, end), max_tokens, None), None)
        if past is not None:
            end = past.start()
    if end < len(text):
        window = text[start:end]
        for sep in ("\n\n", "\n", ". ", " "):
            cut = window.rfind(sep)
            if cut > len(window) // 4:
                return start + cut + len(sep)
    return end


def chunk_text(text: str, max_chars: int, max_tokens: int = 0) -> list[tuple[int, str]]:
    """Split text into (offset, piece) of at most ``max_chars`` characters and
    ``max_tokens`` tokens (0: no bound), cut as ``piece_end`` says."""
    pieces: list[tuple[int, str]] = []
    start = 0
    while start < len(text) or not pieces:
        end = piece_end(text, start, max_chars, max_tokens)
        pieces.append((start, text[start:end]))
        start = end
    return pieces


def weight(text: str) -> int:
    """What ``text`` costs the model in memory, in characters of prose: its length, or
    more where it has more tokens than prose has (a text of one-letter words)."""
    if len(text) < CHARS_PER_TOKEN:
        return len(text)
    tokens = sum(1 for _ in _TOKEN.finditer(text))
    return max(len(text), tokens * CHARS_PER_TOKEN)


#: Strings the vocabulary may gain for good (outside memory zones, with the tokenizer
#: cache filling) before tagging runs in memory zones: about 20 MB.
