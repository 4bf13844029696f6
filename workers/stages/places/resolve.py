"""Which place each place name of an article means: the gazetteer's candidates for the
name, scored by what kind of place each is, how many people live there, and what the
rest of the article says. Pure.

A candidate's score adds up:

- its kind: a country first, then a continent, a first-order region, a county or
  province, a city (a bare "Georgia" is the country, unless the article says otherwise);
- its size: the base-10 logarithm of its population (the prior);
- the article's countries: the countries the other place names resolve to (each of
  up to two names counts), the dateline's ("KYIV, Ukraine (AP) —") and the source's
  where its web address says it (``.co.uk``, ``.com.au``, ``.fr``); a place in one
  of them gains;
- its region, named elsewhere in the article: a city in a region the article names;
- its neighbour: "Paris, Texas" (a city followed by its region or country) and
  "Atlanta, Georgia" (a region or country after one of its cities) decide at once;
- its own name: a place named so (not by one of its other names) gains a little.

Precision before coverage: a name stays unresolved where its best candidate is not
ahead of the next by ``MARGIN``, or where it is a city or county that nothing in the
article supports and that is small (under ``SMALL`` people) or named like a common
English word (under ``LARGE``). Each name is scored twice: the second time with the
other names' first answers as context (a name never counts as its own context).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from workers.stages.places.gazetteer import Gazetteer, key

#: The prior of each kind of place (``gazetteer.KINDS``' order).
KIND_PRIOR = {"continent": 3.0, "country": 4.0, "region": 2.0, "county": 0.5, "city": 0.0}
#: Weight of the base-10 logarithm of a place's population: a world city named
#: alone is that city, though a town of its name lies in a country the article names.
POPULATION = 1.0
IN_ARTICLE_COUNTRY = 1.5
#: The other names of the article in the same country count up to this many times.
MOST_COUNTED = 2
IN_DATELINE_COUNTRY = 2.0
IN_SOURCE_COUNTRY = 0.75
IN_NAMED_REGION = 2.0
NEIGHBOUR = 4.0
OWN_NAME = 0.5
#: How far ahead of the next candidate the best must be to be given.
MARGIN = 0.25
#: A city or county smaller than this is given only where the article supports it.
SMALL = 20_000
#: A name at least this frequent as an English word (wordfreq's Zipf scale: "pacific"
#: 4.1, "reading" 5.1) names a place under ``LARGE`` people only where the article
#: supports it; a city of ``LARGE`` or more is its name's meaning ("paris" is 4.8).
COMMON_WORD = 3.5
LARGE = 1_000_000

# "KYIV, Ukraine (AP) —", "BUFFALO, N.Y. — ", "LONDON (Reuters) -"
_DATELINE = re.compile(
    r"^\s*([A-Z][A-Z .'’-]{1,40}?)(?:,\s*([A-Z][\w.'’ -]{1,40}?))?\s*"
    r"(?:\((?:AP|AFP|Reuters|UPI|dpa|CNN|AFX|Xinhua)\)\s*)?[—–-]{1,2}\s"
)
_NEXT = re.compile(r",\s*([A-Z][\w.'’-]*(?:\s[A-Z][\w.'’-]*){0,3})")
_BEFORE = re.compile(r"([A-Z][\w.'’-]*(?:\s[A-Z][\w.'’-]*){0,3}),\s*$")
#: Country-code domains used worldwide, not for their country.
_GENERIC_DOMAINS = frozenset({"co", "io", "tv", "me", "ai", "fm", "ly", "am", "to", "cc", "ws"})
_SECOND_LEVEL = {"uk": "GB"}


@dataclass(frozen=True, slots=True)
class Found:
    """A name resolved: its row, and how far ahead of the next candidate it was."""

    row: int
    margin: float


def source_country(url: str | None, gazetteer: Gazetteer) -> str | None:
    """The country a web address's domain names, if it names one (``bbc.co.uk``)."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return None
    tld = host.rsplit(".", 1)[-1].lower() if "." in host else ""
    if tld in _GENERIC_DOMAINS or len(tld) != 2:
        return None
    code = _SECOND_LEVEL.get(tld, tld.upper())
    return code if code in gazetteer.countries else None


def dateline_countries(text: str, gazetteer: Gazetteer) -> set[str]:
    """The countries the article's dateline names or is in ("KYIV, Ukraine (AP) —")."""
    found = _DATELINE.match(text[:120])
    if found is None:
        return set()
    countries: set[str] = set()
    for part in (found[2], found[1]):
        rows = gazetteer.candidates(part) if part else ()
        if rows:
            best = max(
                rows, key=lambda r: (KIND_PRIOR[gazetteer.kind_of(r)], gazetteer.population[r])
            )
            if gazetteer.country[best]:
                countries.add(gazetteer.country[best])
                break
    return countries


def resolve(
    text: str,
    spans: Sequence[tuple[int, int]],
    gazetteer: Gazetteer,
    *,
    url: str | None = None,
    names: Sequence[str] | None = None,
) -> list[Found | None]:
    """The place each span of ``text`` means, or None where it is not sure (``spans``
    are ``(start, end)`` offsets of place names; ``names``, where given, are the names
    to look up in their place, such as an entity's canonical name)."""
    keys = [key(names[i] if names else text[s:e]) for i, (s, e) in enumerate(spans)]
    candidates = [gazetteer.rows_of(k) for k in keys]
    neighbours = [_neighbours(text, s, e, gazetteer) for s, e in spans]
    given: dict[str, float] = {}
    for code in dateline_countries(text, gazetteer):
        given[code] = given.get(code, 0.0) + IN_DATELINE_COUNTRY
    source = source_country(url, gazetteer)
    if source is not None:
        given[source] = given.get(source, 0.0) + IN_SOURCE_COUNTRY
    picks: list[int | None] = [rows[0] if rows else None for rows in candidates]
    found: list[Found | None] = []
    for _ in range(2):
        context = _Context(keys, picks, gazetteer)
        memo: dict[str, Found | None] = {}  # names with no neighbour: one answer a name
        found = []
        for i, rows in enumerate(candidates):
            plain = not neighbours[i][0] and not neighbours[i][1]
            if plain and keys[i] in memo:
                found.append(memo[keys[i]])
                continue
            answer = _best(text, spans[i], keys[i], rows, neighbours[i], context, given, gazetteer)
            if plain:
                memo[keys[i]] = answer
            found.append(answer)
        picks = [f.row if f is not None else None for f in found]
    return [f if f is not None and f.margin >= MARGIN else None for f in found]


class _Context:
    """The countries and regions the names resolved to, counted, and by name: what the
    article says around one name is what the others resolved to (never its own)."""

    def __init__(
        self, keys: Sequence[str], picks: Sequence[int | None], gazetteer: Gazetteer
    ) -> None:
        self.countries: Counter[str] = Counter()
        self.regions: Counter[tuple[str, str]] = Counter()
        self.own: dict[str, tuple[Counter[str], Counter[tuple[str, str]]]] = {}
        for name_key, row in zip(keys, picks, strict=True):
            if row is None:
                continue
            own = self.own.setdefault(name_key, (Counter(), Counter()))
            country = gazetteer.country[row]
            if country:
                self.countries[country] += 1
                own[0][country] += 1
            if gazetteer.kind_of(row) == "region":
                region = (country, gazetteer.region_code[row])
                self.regions[region] += 1
                own[1][region] += 1

    def country_names(self, name_key: str, country: str) -> int:
        """How many of the other names resolved to a place in ``country``."""
        own = self.own.get(name_key)
        return self.countries[country] - (own[0][country] if own else 0)

    def has_region(self, name_key: str, region: tuple[str, str]) -> bool:
        own = self.own.get(name_key)
        return self.regions[region] - (own[1][region] if own else 0) > 0


def _neighbours(
    text: str, start: int, end: int, gazetteer: Gazetteer
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(the regions and countries named right after the span, as in "Paris, Texas";
    the cities and counties named right before it, as in "Atlanta, Georgia"), each
    as (country, region code), the code empty for a country."""
    after: set[tuple[str, str]] = set()
    found = _NEXT.match(text, end, min(len(text), end + 60))
    if found is not None:
        for row in gazetteer.candidates(found[1]):
            kind = gazetteer.kind_of(row)
            if kind in ("country", "region"):
                after.add(
                    (gazetteer.country[row], gazetteer.region_code[row] if kind == "region" else "")
                )
    before: set[tuple[str, str]] = set()
    found = _BEFORE.search(text, max(0, start - 60), start)
    if found is not None:
        for row in gazetteer.candidates(found[1]):
            if gazetteer.kind_of(row) in ("city", "county"):
                before.add((gazetteer.country[row], gazetteer.region_code[row]))
    return after, before


def _best(
    text: str,
    span: tuple[int, int],
    name_key: str,
    rows: Sequence[int],
    neighbours: tuple[set[tuple[str, str]], set[tuple[str, str]]],
    context: _Context,
    given: dict[str, float],
    gazetteer: Gazetteer,
) -> Found | None:
    if not rows:
        return None
    after, before = neighbours
    scored: list[tuple[float, int, int]] = []
    for row in rows:
        kind = gazetteer.kind_of(row)
        country, region = gazetteer.country[row], gazetteer.region_code[row]
        score = KIND_PRIOR[kind] + POPULATION * math.log10(1 + gazetteer.population[row])
        support = 0
        others = context.country_names(name_key, country) if country else 0
        if others > 0:
            score += IN_ARTICLE_COUNTRY * min(others, MOST_COUNTED)
            support += 1
        if country and given.get(country):
            score += given[country]
            support += 1
        if kind in ("city", "county") and context.has_region(name_key, (country, region)):
            score += IN_NAMED_REGION
            support += 1
        if kind != "country" and any(
            c == country and (not r or (kind != "region" and r == region)) for c, r in after
        ):
            score += NEIGHBOUR
            support += 1
        if kind in ("country", "region") and any(
            c == country and (kind == "country" or r == region) for c, r in before
        ):
            score += NEIGHBOUR
            support += 1
        if key(gazetteer.name[row]) == name_key:
            score += OWN_NAME
        scored.append((score, support, row))
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    score, support, row = scored[0]
    margin = score - scored[1][0] if len(scored) > 1 else math.inf
    if not support and gazetteer.kind_of(row) in ("city", "county"):
        people = gazetteer.population[row]
        if people < SMALL or (people < LARGE and _common_word(text[span[0] : span[1]])):
            return Found(row, -math.inf)
    return Found(row, margin)


def _common_word(word: str) -> bool:
    from wordfreq import zipf_frequency

    return zipf_frequency(word.lower(), "en") >= COMMON_WORD
