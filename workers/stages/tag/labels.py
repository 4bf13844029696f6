"""Places labelled as places, and organisations, peoples and capitalised common
words told apart (``relabel``). Pure functions (docs: ``workers.stages.tag.entities``)."""

from __future__ import annotations

import re
from collections import defaultdict

from workers.stages.tag.lexicon import en
from workers.stages.tag.names import (
    DEMONYM,
    IN_PLACE,
    LOCATIVE,
    RESULT_AFTER,
    RESULT_BEFORE,
    ROLE_AFTER,
    SPEECH,
    name_words,
)
from workers.stages.tag.places import Places
from workers.stages.text import opens_sentence


def relabel(
    text: str, mentions: list[tuple[int, int, str, str]], places: Places | None
) -> dict[tuple[str, str], str]:
    """The label of each (canonical name, label) among ``mentions`` (start, end,
    label, canonical) after the place rules; "" for a mention to drop."""
    groups: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for s, e, label, canon in mentions:
        groups[canon, label].append((s, e))
    person_parts = {
        token for canon, label in groups if label == "PERSON" for token in name_words(canon)[:-1]
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
    tokens = name_words(canon)
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
        and any(ROLE_AFTER.match(text, e) for _, e in spans)
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
        and not DEMONYM.search(canon)
        and canon not in en.FAITHS
        and not (places is not None and _country_prefix(canon, places))
    ):
        return ""  # "Harbour director ...": a capitalised common word
    if label == "PERSON" and canon not in person_parts:
        if any(b.endswith(("the ", "The ")) for b in before):
            return "LOC"  # "across the Skagerrak"
        if places is not None and canon in places.large and not any(SPEECH.match(a) for a in after):
            return "GPE"
    if (
        label == "ORG"
        and places is not None
        and canon in places
        and (
            any(LOCATIVE.search(b) for b in before)
            or any(in_larger_place(a, places) for a in after)
        )
        and not any(a.startswith(("'s", "’s")) for a in after)
    ):
        return "GPE"
    return label


def _is_fixture(text: str, start: int, end: int) -> bool:
    """Whether the name at start..end plays a named side ("Leicestershire beat Somerset",
    "Essex drew with Kent", "Kent v Surrey")."""
    return bool(
        RESULT_AFTER.match(text, end) or RESULT_BEFORE.search(text, max(0, start - 40), start)
    )


def in_larger_place(after: str, places: Places) -> bool:
    """Whether ``after`` says "in <a country or region>" ("Strömstad in Sweden")."""
    m = IN_PLACE.match(after)
    return m is not None and re.sub(r"^the\s+", "", m.group(1)) in places.large


def _country_prefix(word: str, places: Places) -> bool:
    """Whether a country's name starts as ``word`` does ("Greek": "Greece")."""
    return len(word) >= 4 and any(
        name.startswith(word[:4]) for name in places.prefixes.get(word[:2], ())
    )
