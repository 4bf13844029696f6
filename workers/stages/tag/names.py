"""The pieces of an entity mention: its span trimmed, names the model ran together
cut apart, titles stripped. Pure functions (docs: ``workers.stages.tag.entities``)."""

from __future__ import annotations

import re
from typing import NamedTuple

from workers.stages.tag.lexicon import en, words


class RawMention(NamedTuple):
    start: int
    end: int
    label: str


_TRAIL = re.compile(r"(?:['’]s|['’]|[\s.,;:!?\"”“)\]}(\[{-])+$")
# a full stop that belongs to the name: "U.S.", "D.C.", "Apple Inc.", "Martin Luther King Jr."
_ABBREVIATION_END = re.compile(
    rf"(?:(?<![\w.])(?:[A-Za-z]\.){{2,}}|(?<![\w'’-])(?:{words(en.ABBREVIATIONS)})\.)$"
)
# a lower-case function word ends no name
_FUNCTION_WORD_END = re.compile(rf"(?:[\s,]+(?:{words(en.FUNCTION_WORDS)}))+[\s.,;:]*$")
_LEAD = re.compile(rf"^(?:{en.ARTICLE}\s+|[\s\"“'‘(\[{{-])+", re.IGNORECASE)
# A long form starts a word (not inside one: a run of capitals would be tried from
# each of its letters) and has at most as many words as an acronym has letters, so
# that each start is tried over a bounded stretch and the scan is linear.
ACRONYM_DEF = re.compile(
    r"(?<![\w&.-])(?<!\w['’])"
    rf"([A-Z][\w&.'’-]*+(?>\s++(?:(?:{words(en.LONG_FORM_JOINERS)})\s*+)?[A-Z][\w&.'’-]*+){{1,11}})"
    r"\s+\(\s?([A-Z][A-Z0-9&.]{1,9})\s?\)"
)
MERGEABLE = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC"})
# "Marrow Bay city council": the place is "Marrow Bay"
_GENERIC_TAIL = re.compile(rf"\s+(?:{words(en.GENERIC_TAILS)})$")
CLUB_FIRST = re.compile(rf"(?<![\w'’-])(?:{words(en.CLUB_FIRST)})\s+$")
LOCATIVE = re.compile(
    rf"\b(?:{words(en.LOCATIVE_PREPOSITIONS)}"
    rf"|(?:{words(en.TRAVEL)})"
    rf"\s+(?:{en.FROM}\s+[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*\s+)?(?:{words(en.TRAVEL_TO)}))\s+$",
    re.IGNORECASE,
)
WORD_RUN = re.compile(r"(?<![\w'’-])[A-Z][a-z]+(?![\w'’-])")
IN_PLACE = re.compile(rf"^\s+{en.IN}\s+((?:{en.ARTICLE}\s+)?[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)")
DEMONYM = re.compile(rf"(?:{words(en.DEMONYM_ENDINGS)})$")
SPEECH = re.compile(rf"^\s+(?:{words(en.SPEECH)})\b")


def trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without possessives, edge punctuation or a leading article;
    the first line of a span that crosses a line break. None when nothing is left."""
    piece = text[start:end]
    newline = piece.find("\n")
    if newline >= 0:
        end = start + newline
        piece = text[start:end]
    if piece.count("(") > piece.count(")"):
        end = start + piece.rfind("(")
        piece = text[start:end]
    m = _FUNCTION_WORD_END.search(piece)  # "Melvin and": a name the model cut short
    if m:
        end = start + m.start()
        piece = text[start:end]
    m = _TRAIL.search(piece)
    if m:
        end = start + m.start()
        if piece[m.start() : m.start() + 1] == "." and _ABBREVIATION_END.search(
            piece, 0, m.start() + 1
        ):
            end += 1
        piece = text[start:end]
    m = _LEAD.match(piece)
    if m:
        start += m.end()
        piece = text[start:end]
    if not piece.strip() or not any(ch.isalnum() for ch in piece):
        return None
    return start, end


# a dash with spaces round it parts two names, never joins one: "SOCCER - JAPAN",
# "Romania - Cosmin Contra" in a scorers' line
SPACED_DASH = re.compile(r"\s+(?:-{1,2}|–|—)\s+")
# a score or a statistic after a name in a results line: "Somerset 83", "S. Watkin 4-28"
_SCORE_AFTER = re.compile(r"(?:\s+\d+(?:[-–:/]\d+)*)+$")
_SCORE_PAIR_AFTER = re.compile(r"(?:\s+\d+(?:[-–:/]\d+)+)+$")
# a role in a club or a firm right after its name: "Norwich striker"
ROLE_AFTER = re.compile(rf"\s+(?:{words(en.CLUB_ROLES)})\b")
# one side playing another: "Leicestershire beat Somerset", "Kent v Surrey"
_RESULT = rf"(?:{words(en.RESULTS)})"
RESULT_AFTER = re.compile(r"\s+" + _RESULT + rf"\s+(?:{en.ARTICLE}\s+)?[A-Z]")
RESULT_BEFORE = re.compile(r"(?:[A-Z][\w'’.-]*\s+)" + _RESULT + rf"\s+(?:{en.ARTICLE}\s+)?$")
TIMES = frozenset({"DATE", "TIME"})
# labels whose names never end in a number ("Area 51" is a place: it keeps its number
# unless the article names it without one too); ORG, FAC, EVENT, PRODUCT, WORK_OF_ART
# and LAW can ("Channel 4", "Terminal 5", "Euro 96", "Article 50")
_NUMBERLESS = frozenset({"PERSON", "NORP"})
_NUMBERLESS_IF_NAMED = frozenset({"GPE", "LOC", "FAC"})


def pieces(
    text: str, start: int, end: int, label: str, named: frozenset[str] = frozenset()
) -> list[tuple[int, int]]:
    """A trimmed span cut where the model ran two names together: at a spaced dash
    ("CRICKET - LEICESTERSHIRE"), and without a score or number after a name
    ("W. Hegg 54", "Lithuania 2-1"). A place keeps its number ("Area 51") unless
    ``named``, the article's other mentions, has it without one. Pieces are trimmed again."""
    bounds: list[tuple[int, int]] = []
    at = start
    for dash in SPACED_DASH.finditer(text, start, end):
        bounds.append((at, dash.start()))
        at = dash.end()
    bounds.append((at, end))
    out: list[tuple[int, int]] = []
    for s, e in bounds:
        stop = _without_score(text, s, e, label, named)
        span = trim(text, s, stop) if (s, stop) != (start, end) else (s, stop)
        if span is not None and (
            len(bounds) == 1 or any(ch.isupper() for ch in text[span[0] : span[1]])
        ):
            out.append(span)  # a piece cut off at a dash is a name: capitalised
    return out


def _without_score(text: str, start: int, end: int, label: str, named: frozenset[str]) -> int:
    if label not in MERGEABLE and label != "NORP":
        return end
    pair = _SCORE_PAIR_AFTER.search(text, start, end)
    if pair is not None and pair.start() > start:
        return pair.start()
    number = _SCORE_AFTER.search(text, start, end)
    if number is None or number.start() <= start:
        return end
    if label in _NUMBERLESS or (
        label in _NUMBERLESS_IF_NAMED and text[start : number.start()] in named
    ):
        return number.start()
    return end


def generic_tail(text: str, start: int, end: int) -> int | None:
    """Where a place name ends before a trailing generic word ("Marrow Bay city"),
    or None when it has none."""
    m = _GENERIC_TAIL.search(text, start, end)
    if m is None or m.end() != end or m.start() <= start:
        return None
    return m.start()


def name_words(name: str) -> list[str]:
    return [t for t in re.split(r"\s+", name.strip()) if t]


def strip_titles(name: str) -> str:
    """'President Xi' is 'Xi'; a name that is only a title stays as it is."""
    tokens = name_words(name)
    while len(tokens) > 1 and tokens[0].rstrip(".").lower() in en.TITLES:
        tokens.pop(0)
    return " ".join(tokens)
