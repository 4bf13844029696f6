"""Mentions the model missed or mislabelled as people: places after a locative, places
run into dates, acronyms and short forms defined in the article, followers of a faith.
Pure functions (docs: ``workers.stages.tag.entities``)."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from itertools import accumulate

from workers.stages.tag.labels import in_larger_place
from workers.stages.tag.lexicon import en, words
from workers.stages.tag.names import (
    MERGEABLE,
    SPEECH,
    TIMES,
    WORD_RUN,
    RawMention,
    name_words,
    trim,
)
from workers.stages.tag.places import Places
from workers.stages.text import opens_sentence

# a role in apposition after a name: "First Last, an associate professor at ...", "...,
# the company's chief executive"
_ROLE_APPOSITION = re.compile(
    rf",\s+(?:{words(en.APPOSITION_DETERMINERS)}|[A-Z][\w'’-]*['’]s)\s+(?:[\w'’-]+\s+){{0,3}}?"
    rf"(?:{words(en.PERSON_ROLES)})s?\b"
)
_PLAIN_WORD = re.compile(r"[A-Z][a-z'’-]+")
_NOT_A_PERSON = frozenset(
    {"LANGUAGE", "LAW", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"}
)


def mislabelled_people(text: str, spans: list[tuple[int, int, str, str]]) -> set[tuple[int, int]]:
    """The (start, end) of full names the model labelled other than PERSON that are
    people: two plain capitalised words ("First Last", no organisation or landform
    word) followed by a role in apposition (", an associate professor at"), or
    whose second word the article later names alone as a PERSON ("according to
    Last"). The model may label a full name FAC or ORG at its first mention and
    the surname PERSON later; the two are then one person."""
    later_surnames: dict[str, int] = {}  # a one-word PERSON name: where it is last named
    for s, _, label, name in spans:
        if label == "PERSON" and _PLAIN_WORD.fullmatch(name):
            later_surnames[name] = max(later_surnames.get(name, -1), s)
    found: set[tuple[int, int]] = set()
    for s, e, label, name in spans:
        if label == "PERSON" or label in _NOT_A_PERSON:
            continue
        words = name.split()
        if len(words) != 2 or not all(_PLAIN_WORD.fullmatch(w) for w in words):
            continue
        if (
            words[0] in en.ORG_FIRST | en.LANDFORM_FIRST
            or words[1] in en.ORG_LAST | en.LANDFORM_LAST
        ):
            continue
        if later_surnames.get(words[1], -1) > s or _ROLE_APPOSITION.match(text, e):
            found.add((s, e))
    return found


_CAPITALISED = re.compile(r"(?<![\w'’])[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,3}")
_PLACE_BEFORE = re.compile(rf"\b(?:{words(en.PLACE_PREPOSITIONS)})\s+$", re.IGNORECASE)
# a place that ends the name of its port, town or office: "the Port of Halden"
_NAME_OF = re.compile(rf"(?<![\w'’-])(?:{words(en.NAME_OF)})\s+{en.OF}\s+$")


class _Taken:
    """The spans of tagged mentions; whether a span overlaps one, in log time."""

    def __init__(self, raw: list[RawMention]) -> None:
        spans = sorted((m.start, m.end) for m in raw)
        self.starts = [s for s, _ in spans]
        self.max_end = list(accumulate((e for _, e in spans), max))

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect_left(self.starts, end)  # spans before i start before ``end``
        return i > 0 and self.max_end[i - 1] > start


def missed_places(text: str, raw: list[RawMention], places: Places) -> list[RawMention]:
    """Places the model did not tag: a capitalised name (the whole run of capitalised
    words) inside a sentence that is a country, region or city of 500,000 or more
    ("Shelling hit Kyiv"), or a smaller known place after "in", "from", "near" and
    the like, at the end of a name ("the Port of Halden"), or before "in <country or
    region>" ("Strömstad in Sweden"). Not a name
    that speaks ("Victoria said"), follows a title, or overlaps a tagged mention."""
    taken = _Taken(raw)
    out: list[RawMention] = []
    for m in _CAPITALISED.finditer(text):
        name = m.group()  # the whole capitalised run: "Jones Beach Theater" is no place
        if name not in places:
            continue
        start, end = m.start(), m.end()
        before, after = text[max(0, start - 24) : start], text[end : end + 40]
        titled = before.rstrip().rsplit(" ", 1)[-1].rstrip(".").lower() in en.TITLES
        if (
            not opens_sentence(before)
            and not titled
            and not SPEECH.match(after)
            and (
                name in places.large
                or _PLACE_BEFORE.search(before)
                or _NAME_OF.search(before)
                or in_larger_place(after, places)
            )
            and not taken.overlaps(start, end)
        ):
            out.append(RawMention(start, end, "GPE"))
    return out


# a date the model ran on from the place before it: "England 1996-08-31"
_PLACE_THEN_NUMBER = re.compile(r"([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,3})\s*,?\s+(?=\d)")


def places_before_dates(text: str, raw: list[RawMention], places: Places) -> list[RawMention]:
    """The mentions with a country or large city split off the start of a date or time
    the model ran on from it ("England 1996-08-31" is the GPE "England" and a DATE)."""
    out: list[RawMention] = []
    for m in raw:
        head = _PLACE_THEN_NUMBER.match(text, m.start, m.end) if m.label in TIMES else None
        if head is not None and head.group(1) in places.large:
            out.append(RawMention(m.start, head.end(1), "GPE"))
            out.append(RawMention(head.end(), m.end, m.label))
        else:
            out.append(m)
    return out


MAX_ACRONYMS = 20  # acronyms defined in one article that are looked for again


def missed_acronyms(text: str, raw: list[RawMention], defined: dict[str, str]) -> list[RawMention]:
    """Uses of an acronym the model did not tag, where the article defines it beside a
    name it did tag ("the Central Narcotics Bureau (CNB) ... the CNB said"): each
    takes the name's label. Not inside a tagged mention. ``defined`` is the
    article's acronyms and their long forms (``_acronyms``)."""
    surfaces = [(text[m.start : m.end], m.label) for m in raw if m.label in MERGEABLE]
    owners: dict[str, str] = {}
    for short, long_form in list(defined.items())[:MAX_ACRONYMS]:
        label = next((lab for surface, lab in surfaces if surface.endswith(long_form)), None)
        if label is not None:
            owners[short] = label
    if not owners:
        return []
    taken = _Taken(raw)
    uses = re.compile(r"(?<![\w.&-])(?:" + "|".join(map(re.escape, owners)) + r")(?![\w&-])")
    return [
        RawMention(m.start(), m.end(), owners[m.group()])
        for m in uses.finditer(text)
        if not taken.overlaps(m.start(), m.end())
    ]


_NO_SHORT_FORM = en.ORG_LAST | en.NO_SHORT_FORM


def org_heads(names: list[str], places: Places | None = None) -> dict[str, str]:
    """The first words of the article's names of firms and clubs, of two or three
    words, that a legal form or a large city completes, each mapped to the one name
    it opens ("Boeing" to "Boeing Co.", "Bayern" to "Bayern Munich"). Not where the
    rest names a product or a part of the organisation ("Google Stadia", "House
    Intelligence Committee", "Nissan North America Inc."), nor a word that opens two
    names, is a generic one ("Bank", "New", "United") or names a country or large
    city ("Budapest Stock Exchange")."""
    owners: dict[str, set[str]] = defaultdict(set)
    for name in names:
        tokens = name_words(name)
        head = tokens[0] if len(tokens) >= 2 else ""
        rest = " ".join(tokens[1:])
        if (
            len(tokens) <= 3  # not a division: "Nissan North America Inc."
            and (tokens[-1] in en.LEGAL_FORMS or (places is not None and rest in places.large))
            and len(head) >= 3
            and head.isalpha()
            and head[0].isupper()
            and not head.isupper()
            and head not in _NO_SHORT_FORM
            and head.lower() not in en.TITLES
            and head.lower() not in en.STOP_INITIALS
            and not (places is not None and (head in places.large or head in places.countries))
        ):
            owners[head].add(name)
    return {head: next(iter(full)) for head, full in owners.items() if len(full) == 1}


_WORD_TOKEN = re.compile(r"(?<![\w'’.-])[\w'’-]+")
_NEXT_CAPITAL = re.compile(r"\s+[A-Z]")


def missed_short_forms(text: str, raw: list[RawMention], places: Places | None) -> list[RawMention]:
    """Uses of an organisation's first word on its own that the model did not tag,
    where the article names the organisation in full ("Real Madrid ... earned Real a
    point", "Boeing Co. ... Boeing's jets"): ORG (see ``org_heads``). Not a word the
    article also writes in lower case ("a real chance"), not after "in", "at",
    "from" and the like (a place), not before another capitalised word, and not
    inside a tagged mention. One pass over the text's words."""
    spans = [trim(text, m.start, m.end) for m in raw if m.label == "ORG"]
    heads = set(org_heads([text[span[0] : span[1]] for span in spans if span], places))
    if not heads:
        return []
    words = list(_WORD_TOKEN.finditer(text))
    lower = {w.group() for w in words if w.group()[:1].islower()}
    heads = {head for head in heads if head.lower() not in lower}
    taken = _Taken(raw)
    out: list[RawMention] = []
    for w in words:
        head = w.group().removesuffix("'s").removesuffix("’s")
        start, end = w.start(), w.start() + len(head)
        if (
            head in heads
            and not _NEXT_CAPITAL.match(text, end)
            and not taken.overlaps(start, end)
            and not _PLACE_BEFORE.search(text, max(0, start - 12), start)
        ):
            out.append(RawMention(start, end, "ORG"))
    return out


def missed_faiths(text: str, raw: list[RawMention]) -> list[RawMention]:
    """Names of faiths' followers the model did not tag ("Muslim leaders"): NORP,
    wherever they stand, unless inside a tagged mention ("Christian Dior")."""
    taken = _Taken(raw)
    return [
        RawMention(m.start(), m.end(), "NORP")
        for m in WORD_RUN.finditer(text)
        if m.group() in en.FAITHS
        and not taken.overlaps(m.start(), m.end())
        and not text[m.end() : m.end() + 2].lstrip(" ")[:1].isupper()  # "Christian Dior"
    ]
