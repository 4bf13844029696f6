"""Entity mentions made consistent within one article. Pure functions, no model.

- Spans are trimmed: no trailing possessive ("Xi Jinping's") or punctuation,
  no leading article ("the United Nations"), never across a line break.
- Each mention gets a canonical name: a person's later surname or shorter
  form maps to the full name introduced in the article ("Xi", "President Xi"
  are "Xi Jinping"); an acronym introduced beside its long form maps to it
  ("Shanghai Cooperation Organization (SCO)", later "SCO").
- One entity, one label: the mentions of a canonical entity take the label
  most of them carry (the first seen breaks ties). Demonyms (NORP) are never
  merged into other labels.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import NamedTuple

from schemas.models import Mention


class RawMention(NamedTuple):
    start: int
    end: int
    label: str


_TRAIL = re.compile(r"(?:['’]s|['’]|[\s.,;:!?\"”“)\]}(\[{-])+$")
_LEAD = re.compile(r"^(?:the\s+|[\s\"“'‘(\[{-])+", re.IGNORECASE)
_TITLES = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "prof",
        "president",
        "vice",
        "prime",
        "minister",
        "chancellor",
        "king",
        "queen",
        "prince",
        "princess",
        "sen",
        "senator",
        "rep",
        "representative",
        "gov",
        "governor",
        "gen",
        "general",
        "col",
        "colonel",
        "capt",
        "captain",
        "lt",
        "sgt",
        "judge",
        "justice",
        "chairman",
        "chairwoman",
        "chair",
        "ceo",
        "secretary",
        "pope",
        "sir",
        "lord",
        "lady",
        "mayor",
        "ambassador",
        "premier",
        "sheikh",
        "rev",
        "father",
        "sister",
        "brother",
        "dame",
        "emperor",
    }
)
_ACRONYM_DEF = re.compile(
    r"([A-Z][\w&.'’-]*(?:\s+(?:of|and|for|the|de|du|&)?\s*[A-Z][\w&.'’-]*)+)"
    r"\s+\(([A-Z][A-Z0-9&.]{1,9})\)"
)
_MERGEABLE = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC"})


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
    m = _TRAIL.search(piece)
    if m:
        end = start + m.start()
        piece = text[start:end]
    m = _LEAD.match(piece)
    if m:
        start += m.end()
        piece = text[start:end]
    if not piece.strip() or not any(ch.isalnum() for ch in piece):
        return None
    return start, end


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"\s+", name.strip()) if t]


def strip_titles(name: str) -> str:
    """'President Xi' is 'Xi'; a name that is only a title stays as it is."""
    tokens = _tokens(name)
    while len(tokens) > 1 and tokens[0].rstrip(".").lower() in _TITLES:
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


def _person_canonical(names: list[str]) -> dict[str, str]:
    """Map each person name to the longest full name that contains its tokens
    as a contiguous tail or head ('Xi' -> 'Xi Jinping', 'Putin' -> 'Vladimir Putin').

    Of full names equally long, the one the article names first wins. Every
    head and tail of each full name is indexed once, so the cost grows with the
    number of names, not with its square.
    """
    order = {n: i for i, n in reversed(list(enumerate(names)))}
    full = sorted(
        (n for n in order if len(_tokens(n)) >= 2), key=lambda n: (-len(_tokens(n)), order[n])
    )
    owner: dict[tuple[str, ...], str] = {}
    for cand in full:
        ctoks = tuple(_tokens(cand))
        for k in range(1, len(ctoks)):
            owner.setdefault(ctoks[:k], cand)
            owner.setdefault(ctoks[-k:], cand)
    return {name: owner.get(tuple(_tokens(name)), name) for name in names}


def resolve(text: str, raw: list[RawMention], *, name_text: str | None = None) -> list[Mention]:
    """Trim, canonicalise and relabel an article's mentions; sorted by offset.

    ``name_text`` (same length as ``text``) is where names are read for the
    canonical forms: the text with all-caps lines truecased, so that "PUTIN"
    in a headline is Vladimir Putin. Mention texts always come from ``text``.
    """
    names = name_text if name_text is not None and len(name_text) == len(text) else text
    spans: list[tuple[int, int, str, str]] = []
    seen: set[tuple[int, int]] = set()
    for m in sorted(raw):
        span = trim(text, m.start, m.end)
        if span is None or span in seen:
            continue
        seen.add(span)
        spans.append((span[0], span[1], m.label, names[span[0] : span[1]]))

    acronyms = _acronyms(text)
    base = {s[3]: strip_titles(s[3]) if s[2] == "PERSON" else s[3] for s in spans}
    persons = _person_canonical([base[s[3]] for s in spans if s[2] == "PERSON"])
    # A surname tagged ORG once still belongs to the person introduced in full.
    person_tails = {_tokens(full)[-1]: full for full in persons.values() if len(_tokens(full)) >= 2}

    def canonical(surface: str, label: str) -> str:
        name = base[surface]
        if name in acronyms:
            return acronyms[name]
        if label == "PERSON":
            return persons.get(name, name)
        if label in _MERGEABLE and name in person_tails:
            return person_tails[name]
        return name

    resolved = [(s, e, label, surface, canonical(surface, label)) for s, e, label, surface in spans]

    votes: dict[str, Counter[str]] = defaultdict(Counter)
    first: dict[str, str] = {}
    for _, _, label, _, canon in resolved:
        if label in _MERGEABLE:
            votes[canon][label] += 1
            first.setdefault(canon, label)

    def final_label(label: str, canon: str) -> str:
        if label not in _MERGEABLE:
            return label
        counts = votes[canon]
        top = max(counts.values())
        leaders = [lab for lab, n in counts.items() if n == top]
        return first[canon] if first[canon] in leaders else leaders[0]

    return [
        Mention(text=text[s:e], label=final_label(label, canon), start=s, end=e, canonical=canon)
        for s, e, label, _, canon in resolved
    ]
