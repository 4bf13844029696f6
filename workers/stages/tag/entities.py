"""Entity mentions made consistent within one article. Pure functions, no model.

- Spans are trimmed: no trailing possessive ("Xi Jinping's") or punctuation
  (but the full stop of "U.S." or "Apple Inc."), no lower-case function word at
  the end ("Manchester United and"), no leading article ("the United Nations"),
  never across a line break.
- Names the model ran together are cut apart: at a spaced dash ("CRICKET -
  LEICESTERSHIRE"), and before a score or statistic ("S. Watkin 4-28",
  "Lithuania 2-1"); a piece takes the label the article's other mentions of
  it carry. A country or large city the model ran into a date is split off it
  ("England 1996-08-31").
- Each mention gets a canonical name: a person's later surname or shorter
  form maps to the full name introduced in the article ("Xi", "President Xi"
  are "Xi Jinping"); an acronym introduced beside its long form maps to it
  ("Shanghai Cooperation Organization (SCO)", later "SCO").
- One entity, one label: the mentions of a canonical entity take the label
  most of them carry (the first seen breaks ties). Demonyms (NORP) are never
  merged into other labels.
- An acronym also maps to a longer name in the article whose initials spell
  it, defined in parentheses or not ("MBTA" is the Marrow Bay Transit Authority).
  An acronym defined beside a tagged name is a mention wherever it stands, the
  model's or not ("the Central Narcotics Bureau (CNB) ... the CNB said").
- A firm's or club's first word on its own maps to the name the article gives in
  full, where a legal form or a large city completes it ("Boeing" is "Boeing
  Co.", "Real" is "Real Madrid"), the model's mention or not (``org_heads``,
  ``missed_short_forms``).
- Places the model missed are added (``missed_places``), and places are
  labelled as places (``relabel``): "Marrow Bay city council" names
  the GPE "Marrow Bay"; a name ending in a landform word ("Strait", "Sea") is a
  LOC; a lone name that is a known place (``places``) and was taken for a
  person, or for an organisation met after "in" or before "in <country>", is a
  GPE; a lone "person"
  after "the" ("across the Skagerrak"), or an unknown "GPE" after it, is a LOC;
  followers of a faith the model missed are added as NORP ("Muslim leaders");
  a country taken for an organisation, building or region is a GPE; a name
  right before a role in a club or firm ("Norwich striker", "Acme chairman")
  is an ORG, unless it is a country or a person's full name;
  a "nationality" that only
  ever opens a sentence or line, does not end as names of peoples do and does
  not begin as a country does ("Harbour director ...") is a capitalised common
  word, and is dropped.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter, defaultdict
from itertools import accumulate
from typing import NamedTuple

from schemas.models import Mention
from workers.stages.tag.lexicon import en, words
from workers.stages.tag.places import Places
from workers.stages.text import opens_sentence


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
_ACRONYM_DEF = re.compile(
    r"(?<![\w&.-])(?<!\w['’])"
    rf"([A-Z][\w&.'’-]*+(?>\s++(?:(?:{words(en.LONG_FORM_JOINERS)})\s*+)?[A-Z][\w&.'’-]*+){{1,11}})"
    r"\s+\(\s?([A-Z][A-Z0-9&.]{1,9})\s?\)"
)
_MERGEABLE = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC"})
# "Marrow Bay city council": the place is "Marrow Bay"
_GENERIC_TAIL = re.compile(rf"\s+(?:{words(en.GENERIC_TAILS)})$")
_CLUB_FIRST = re.compile(rf"(?<![\w'’-])(?:{words(en.CLUB_FIRST)})\s+$")
_LOCATIVE = re.compile(
    rf"\b(?:{words(en.LOCATIVE_PREPOSITIONS)}"
    rf"|(?:{words(en.TRAVEL)})"
    rf"\s+(?:{en.FROM}\s+[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*\s+)?(?:{words(en.TRAVEL_TO)}))\s+$",
    re.IGNORECASE,
)
_WORD_RUN = re.compile(r"(?<![\w'’-])[A-Z][a-z]+(?![\w'’-])")
_IN_PLACE = re.compile(rf"^\s+{en.IN}\s+((?:{en.ARTICLE}\s+)?[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)")
_DEMONYM = re.compile(rf"(?:{words(en.DEMONYM_ENDINGS)})$")
_SPEECH = re.compile(rf"^\s+(?:{words(en.SPEECH)})\b")


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
_SPACED_DASH = re.compile(r"\s+(?:-{1,2}|–|—)\s+")
# a score or a statistic after a name in a results line: "Somerset 83", "S. Watkin 4-28"
_SCORE_AFTER = re.compile(r"(?:\s+\d+(?:[-–:/]\d+)*)+$")
_SCORE_PAIR_AFTER = re.compile(r"(?:\s+\d+(?:[-–:/]\d+)+)+$")
# a role in a club or a firm right after its name: "Norwich striker"
_ROLE_AFTER = re.compile(rf"\s+(?:{words(en.CLUB_ROLES)})\b")
# one side playing another: "Leicestershire beat Somerset", "Kent v Surrey"
_RESULT = rf"(?:{words(en.RESULTS)})"
_RESULT_AFTER = re.compile(r"\s+" + _RESULT + rf"\s+(?:{en.ARTICLE}\s+)?[A-Z]")
_RESULT_BEFORE = re.compile(r"(?:[A-Z][\w'’.-]*\s+)" + _RESULT + rf"\s+(?:{en.ARTICLE}\s+)?$")
_TIMES = frozenset({"DATE", "TIME"})
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
    for dash in _SPACED_DASH.finditer(text, start, end):
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
    if label not in _MERGEABLE and label != "NORP":
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


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"\s+", name.strip()) if t]


def strip_titles(name: str) -> str:
    """'President Xi' is 'Xi'; a name that is only a title stays as it is."""
    tokens = _tokens(name)
    while len(tokens) > 1 and tokens[0].rstrip(".").lower() in en.TITLES:
        tokens.pop(0)
    return " ".join(tokens)


def _acronyms(text: str) -> dict[str, str]:
    """Acronyms defined in the text as 'Long Form (ACR)', checked by initials."""
    found: dict[str, str] = {}
    for m in _ACRONYM_DEF.finditer(text):
        long_form, acr = m.group(1), m.group(2).replace(".", "")
        words = [w for w in _tokens(long_form) if w[0].isupper()]
        # keep the shortest tail of the long form whose initials spell the acronym
        for i in range(len(words)):
            initials = "".join(w[0] for w in words[i:])
            if initials.upper() == acr.upper():
                tail_start = long_form.find(words[i])
                found.setdefault(acr, long_form[tail_start:])
                break
    return found


def _initials(name: str) -> str:
    return "".join(w[0] for w in _tokens(name) if w not in en.STOP_INITIALS and w[0].isupper())


def acronym_owners(names: list[str]) -> dict[str, str]:
    """Acronyms among ``names`` ("MBTA") mapped to the one longer name whose initials
    spell them ("Marrow Bay Transit Authority"); an acronym two names could spell
    is left alone."""
    by_initials: dict[str, set[str]] = defaultdict(set)
    for name in names:
        if len(_tokens(name)) >= 2:
            by_initials[_initials(name).upper()].add(name)
    out: dict[str, str] = {}
    for name in names:
        key = name.replace(".", "")
        if 2 <= len(key) <= 8 and key.isupper() and key.isalpha():
            owners = by_initials.get(key, set())
            if len(owners) == 1:
                out[name] = next(iter(owners))
    return out


# the most words of a person's name that is a part of a longer one ("Juan Carlos
# Alfonso Victor Maria de Borbon" has seven)
_LONGEST_NAME = 8


def _person_canonical(names: list[str]) -> dict[str, str]:
    """Map each person name to the longest full name that contains its tokens
    as a contiguous tail or head ('Xi' -> 'Xi Jinping', 'Putin' -> 'Vladimir Putin').

    Of full names equally long, the one the article names first wins. Every
    head and tail of each full name, up to ``_LONGEST_NAME`` words, is indexed
    once, so the cost grows with the number of names, not with its square, and
    with a name's length, not with its square (a model's "name" of a page of
    initials has thousands of words).
    """
    order = {n: i for i, n in reversed(list(enumerate(names)))}
    full = sorted(
        (n for n in order if len(_tokens(n)) >= 2), key=lambda n: (-len(_tokens(n)), order[n])
    )
    owner: dict[tuple[str, ...], str] = {}
    for cand in full:
        ctoks = tuple(_tokens(cand))
        for k in range(1, min(len(ctoks), _LONGEST_NAME + 1)):
            owner.setdefault(ctoks[:k], cand)
            owner.setdefault(ctoks[-k:], cand)
    return {name: owner.get(tuple(_tokens(name)), name) for name in names}


def resolve(
    text: str,
    raw: list[RawMention],
    *,
    name_text: str | None = None,
    places: Places | None = None,
) -> list[Mention]:
    """Trim, canonicalise and relabel an article's mentions; sorted by offset.

    ``name_text`` (same length as ``text``) is where names are read for the
    canonical forms: the text with all-caps lines truecased, so that "PUTIN"
    in a headline is Vladimir Putin. Mention texts always come from ``text``.
    ``places`` are the known place names (see ``relabel``).
    """
    names = name_text if name_text is not None and len(name_text) == len(text) else text
    spans: list[tuple[int, int, str, str]] = []
    seen: set[tuple[int, int]] = set()
    if places is not None:
        raw = places_before_dates(text, raw, places)
        raw = [*raw, *missed_places(text, raw, places)]
    defined = _acronyms(text)  # read once: the whole text is scanned
    raw = [
        *raw,
        *missed_faiths(text, raw),
        *missed_acronyms(text, raw, defined),
        *missed_short_forms(text, raw, places),
    ]
    trimmed = [(span, m.label) for m in sorted(raw) if (span := trim(text, *m[:2])) is not None]
    named = frozenset(text[s:e] for (s, e), _ in trimmed)
    split: list[tuple[tuple[int, int], str]] = []
    # a piece cut from a run of names ("Amphitheatre - St. Louis") has the label the
    # model gave the run: it does not outvote the article's other mentions of the name
    unsure: set[tuple[int, int]] = set()
    for span, lab in trimmed:
        cut_up = pieces(text, *span, lab, named)
        split.extend((piece, lab) for piece in cut_up)
        if _SPACED_DASH.search(text, *span):
            unsure.update(cut_up)
    for piece, found in split:
        if piece in seen:
            continue
        span, label = piece, found
        club = _CLUB_FIRST.search(text, max(0, span[0] - 12), span[0])
        if club is not None and label in _MERGEABLE:
            span, label = (club.start(), span[1]), "ORG"  # "Real Madrid", not "Madrid"
        if label in _MERGEABLE or label == "NORP":
            cut = generic_tail(text, *span)
            if cut is not None:
                span, label = (span[0], cut), "GPE"
        seen.add(span)
        spans.append((span[0], span[1], label, names[span[0] : span[1]]))

    people = mislabelled_people(text, spans)
    spans = [(s, e, "PERSON" if (s, e) in people else lab, name) for s, e, lab, name in spans]
    acronyms = dict(defined)
    for short, long_form in acronym_owners(sorted({s[3] for s in spans})).items():
        acronyms.setdefault(short, long_form)
    base = {s[3]: strip_titles(s[3]) if s[2] == "PERSON" else s[3] for s in spans}
    persons = _person_canonical([base[s[3]] for s in spans if s[2] == "PERSON"])
    # A surname tagged ORG once still belongs to the person introduced in full.
    person_tails = {_tokens(full)[-1]: full for full in persons.values() if len(_tokens(full)) >= 2}
    heads = org_heads([s[3] for s in spans if s[2] == "ORG"], places)

    def canonical(surface: str, label: str) -> str:
        name = base[surface]
        if name in acronyms:
            return acronyms[name]
        if label == "PERSON":
            return persons.get(name, name)
        if label in _MERGEABLE and name in person_tails:
            return person_tails[name]
        if label == "ORG" and name in heads:
            return heads[name]
        return name

    resolved = [(s, e, label, surface, canonical(surface, label)) for s, e, label, surface in spans]

    votes: dict[str, Counter[str]] = defaultdict(Counter)
    first: dict[str, str] = {}
    for s, e, label, _, canon in resolved:
        if label in _MERGEABLE and (s, e) not in unsure:
            votes[canon][label] += 1
            first.setdefault(canon, label)

    def final_label(label: str, canon: str) -> str:
        if label not in _MERGEABLE or canon not in votes:
            return label
        counts = votes[canon]
        top = max(counts.values())
        leaders = [lab for lab, n in counts.items() if n == top]
        return first[canon] if first[canon] in leaders else leaders[0]

    labelled = [(s, e, final_label(label, canon), canon) for s, e, label, _, canon in resolved]
    labels = relabel(text, labelled, places)
    return [
        Mention(text=text[s:e], label=labels[canon, label], start=s, end=e, canonical=canon)
        for s, e, label, canon in labelled
        if labels[canon, label]
    ]


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
            and not _SPEECH.match(after)
            and (
                name in places.large
                or _PLACE_BEFORE.search(before)
                or _NAME_OF.search(before)
                or _in_larger_place(after, places)
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
        head = _PLACE_THEN_NUMBER.match(text, m.start, m.end) if m.label in _TIMES else None
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
    surfaces = [(text[m.start : m.end], m.label) for m in raw if m.label in _MERGEABLE]
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
        tokens = _tokens(name)
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
        for m in _WORD_RUN.finditer(text)
        if m.group() in en.FAITHS
        and not taken.overlaps(m.start(), m.end())
        and not text[m.end() : m.end() + 2].lstrip(" ")[:1].isupper()  # "Christian Dior"
    ]


def relabel(
    text: str, mentions: list[tuple[int, int, str, str]], places: Places | None
) -> dict[tuple[str, str], str]:
    """The label of each (canonical name, label) among ``mentions`` (start, end,
    label, canonical) after the place rules; "" for a mention to drop."""
    groups: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for s, e, label, canon in mentions:
        groups[canon, label].append((s, e))
    person_parts = {
        token for canon, label in groups if label == "PERSON" for token in _tokens(canon)[:-1]
    }
    out: dict[tuple[str, str], str] = {}
    for (canon, label), spans in groups.items():
        out[canon, label] = _place_label(text, canon, label, spans, places, person_parts)
    return out


def _place_label(
    text: str,
    canon: str,
    label: str,
    spans: list[tuple[int, int]],
    places: Places | None,
    person_parts: set[str],
) -> str:
    tokens = _tokens(canon)
    landform = len(tokens) >= 2 and (
        tokens[-1] in en.LANDFORM_LAST or tokens[0] in en.LANDFORM_FIRST
    )
    if landform and label in ("PERSON", "ORG", "NORP", "FAC"):
        return "LOC"
    organisation = len(tokens) >= 2 and (tokens[-1] in en.ORG_LAST or tokens[0] in en.ORG_FIRST)
    if organisation and label in ("PERSON", "GPE", "LOC", "NORP"):
        return "ORG"
    if (
        label in ("PERSON", "GPE", "LOC")
        and len(tokens) <= 3
        and not (label == "PERSON" and len(tokens) > 1)
        and canon not in person_parts
        and not (places is not None and canon in places.countries)
        and any(_ROLE_AFTER.match(text, e) for _, e in spans)
    ):
        return "ORG"  # "Norwich striker Keith O'Neill", "Deportivo chairman": a club, a firm
    if (
        label in ("PERSON", "GPE", "LOC", "FAC")
        and places is not None
        and canon in places
        and canon not in places.countries
        and canon not in person_parts
        and any(_is_fixture(text, s, e) for s, e in spans)
    ):
        return "ORG"  # "Leicestershire beat Somerset": sides named after their places
    if label in ("ORG", "FAC", "LOC") and places is not None and canon in places.countries:
        return "GPE"  # "Slovakia - Moravcik", "Chile 3-0": a country, not a club or a building
    if len(tokens) != 1:
        return label
    before = [text[max(0, s - 24) : s] for s, _ in spans]
    after = [text[e : e + 40] for _, e in spans]
    if label == "NORP" and places is not None and canon in places.large:
        return "GPE"
    if (
        label == "GPE"
        and places is not None
        and canon not in places
        and canon[:1].isupper()
        and canon[1:].islower()
        and not canon.endswith(("s", "an", "ese", "ish"))  # "the Bidens", "the Ukrainian"
        and any(b.endswith(("the ", "The ")) for b in before)
    ):
        return "LOC"  # "the Skagerrak", "the Sahel" (not "the US"): a region
    if (
        label == "NORP"
        and all(opens_sentence(b) for b in before)
        and not _DEMONYM.search(canon)
        and canon not in en.FAITHS
        and not (places is not None and _country_prefix(canon, places))
    ):
        return ""  # "Harbour director ...": a capitalised common word
    if label == "PERSON" and canon not in person_parts:
        if any(b.endswith(("the ", "The ")) for b in before):
            return "LOC"  # "across the Skagerrak"
        if (
            places is not None
            and canon in places.large
            and not any(_SPEECH.match(a) for a in after)
        ):
            return "GPE"
    if (
        label == "ORG"
        and places is not None
        and canon in places
        and (
            any(_LOCATIVE.search(b) for b in before)
            or any(_in_larger_place(a, places) for a in after)
        )
        and not any(a.startswith(("'s", "’s")) for a in after)
    ):
        return "GPE"
    return label


def _is_fixture(text: str, start: int, end: int) -> bool:
    """Whether the name at start..end plays a named side ("Leicestershire beat Somerset",
    "Essex drew with Kent", "Kent v Surrey")."""
    return bool(
        _RESULT_AFTER.match(text, end) or _RESULT_BEFORE.search(text, max(0, start - 40), start)
    )


def _in_larger_place(after: str, places: Places) -> bool:
    """Whether ``after`` says "in <a country or region>" ("Strömstad in Sweden")."""
    m = _IN_PLACE.match(after)
    return m is not None and re.sub(r"^the\s+", "", m.group(1)) in places.large


def _country_prefix(word: str, places: Places) -> bool:
    """Whether a country's name starts as ``word`` does ("Greek": "Greece")."""
    return len(word) >= 4 and any(
        name.startswith(word[:4]) for name in places.prefixes.get(word[:2], ())
    )
