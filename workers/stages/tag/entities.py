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

from collections import Counter, defaultdict

from schemas.models import Mention
from workers.stages.tag.labels import relabel
from workers.stages.tag.lexicon import en
from workers.stages.tag.names import (
    ACRONYM_DEF,
    CLUB_FIRST,
    MERGEABLE,
    SPACED_DASH,
    RawMention,
    generic_tail,
    name_words,
    pieces,
    strip_titles,
    trim,
)
from workers.stages.tag.places import Places
from workers.stages.tag.recall import (
    mislabelled_people,
    missed_acronyms,
    missed_faiths,
    missed_places,
    missed_short_forms,
    org_heads,
    places_before_dates,
)

__all__ = [
    "RawMention",
    "acronym_owners",
    "name_words",
    "person_canonical",
    "pieces",
    "resolve",
    "strip_titles",
    "trim",
]


def _acronyms(text: str) -> dict[str, str]:
    """Acronyms defined in the text as 'Long Form (ACR)', checked by initials."""
    found: dict[str, str] = {}
    for m in ACRONYM_DEF.finditer(text):
        long_form, acr = m.group(1), m.group(2).replace(".", "")
        words = [w for w in name_words(long_form) if w[0].isupper()]
        # keep the shortest tail of the long form whose initials spell the acronym
        for i in range(len(words)):
            initials = "".join(w[0] for w in words[i:])
            if initials.upper() == acr.upper():
                tail_start = long_form.find(words[i])
                found.setdefault(acr, long_form[tail_start:])
                break
    return found


def _initials(name: str) -> str:
    return "".join(w[0] for w in name_words(name) if w not in en.STOP_INITIALS and w[0].isupper())


def acronym_owners(names: list[str]) -> dict[str, str]:
    """Acronyms among ``names`` ("MBTA") mapped to the one longer name whose initials
    spell them ("Marrow Bay Transit Authority"); an acronym two names could spell
    is left alone."""
    by_initials: dict[str, set[str]] = defaultdict(set)
    for name in names:
        if len(name_words(name)) >= 2:
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


def person_canonical(names: list[str]) -> dict[str, str]:
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
        (n for n in order if len(name_words(n)) >= 2), key=lambda n: (-len(name_words(n)), order[n])
    )
    owner: dict[tuple[str, ...], str] = {}
    for cand in full:
        ctoks = tuple(name_words(cand))
        for k in range(1, min(len(ctoks), _LONGEST_NAME + 1)):
            owner.setdefault(ctoks[:k], cand)
            owner.setdefault(ctoks[-k:], cand)
    return {name: owner.get(tuple(name_words(name)), name) for name in names}


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
        if SPACED_DASH.search(text, *span):
            unsure.update(cut_up)
    for piece, found in split:
        if piece in seen:
            continue
        span, label = piece, found
        club = CLUB_FIRST.search(text, max(0, span[0] - 12), span[0])
        if club is not None and label in MERGEABLE:
            span, label = (club.start(), span[1]), "ORG"  # "Real Madrid", not "Madrid"
        if label in MERGEABLE or label == "NORP":
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
    persons = person_canonical([base[s[3]] for s in spans if s[2] == "PERSON"])
    # A surname tagged ORG once still belongs to the person introduced in full.
    person_tails = {
        name_words(full)[-1]: full for full in persons.values() if len(name_words(full)) >= 2
    }
    heads = org_heads([s[3] for s in spans if s[2] == "ORG"], places)

    def canonical(surface: str, label: str) -> str:
        name = base[surface]
        if name in acronyms:
            return acronyms[name]
        if label == "PERSON":
            return persons.get(name, name)
        if label in MERGEABLE and name in person_tails:
            return person_tails[name]
        if label == "ORG" and name in heads:
            return heads[name]
        return name

    resolved = [(s, e, label, surface, canonical(surface, label)) for s, e, label, surface in spans]

    votes: dict[str, Counter[str]] = defaultdict(Counter)
    first: dict[str, str] = {}
    for s, e, label, _, canon in resolved:
        if label in MERGEABLE and (s, e) not in unsure:
            votes[canon][label] += 1
            first.setdefault(canon, label)

    def final_label(label: str, canon: str) -> str:
        if label not in MERGEABLE or canon not in votes:
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
