"""Places resolved to the map, side by side with their peers, on GeoVirus.

    python bench/places.py DATA [--articles N]

DATA is the development data folder (``geovirus/geovirus.jsonl``: news articles with
each place mention's gold point, from its Wikipedia article). Printed in one run:

- **Given the gold spans** (``workers.api.places``, the text as context): for this
  project and the population baseline (the most populous place of the name in the
  same gazetteer, with the same points: what the resolver adds is the difference).
- **End to end** (``enrich file`` on the articles, as a worker runs them): the place
  mentions the tagger finds, resolved; and geotext (an offline geoparser on PyPI: it
  finds the names, which get the most populous place of the name).
- **The gazetteer, chosen by measurement**: the same resolver with the cities of
  1,000 people or more (shipped), of 5,000 and of 15,000 (rows left out at load), with
  their load time and memory.

Per row: the share of gold mentions resolved within 161 km of the gold point
("@161"); the share resolved to the right place ("right": within 161 km, or a
country, region or continent named as the gold's Wikipedia article is, which stands
for the same GeoNames id the held-out sets score: a country's point differs between
gazetteers by up to 500 km); the median error in km (an unresolved mention counts as
20,000); the precision of what is resolved ("right" among those resolved; end to end,
among the resolved mentions that overlap a gold span); how many were resolved; the
milliseconds per article.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.stages.places.gazetteer import PATH, Gazetteer, key, load  # noqa: E402
from workers.stages.places.resolve import resolve  # noqa: E402

MILES_100 = 161.0
MISSED_KM = 20_000.0

Resolver = Callable[[dict[str, Any]], list[int | None]]


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p = math.pi / 180
    a = (
        math.sin((lat2 - lat1) * p / 2) ** 2
        + math.cos(lat1 * p) * math.cos(lat2 * p) * math.sin((lon2 - lon1) * p / 2) ** 2
    )
    return 6371 * 2 * math.asin(min(1.0, math.sqrt(a)))


def articles(data: Path, limit: int | None) -> list[dict[str, Any]]:
    with (data / "geovirus" / "geovirus.jsonl").open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    return rows[:limit] if limit else rows


def same_place(gold: dict[str, Any], row: int, g: Gazetteer) -> bool:
    """A country, region or continent named as the gold's Wikipedia article is."""
    if g.kind_of(row) not in ("country", "region", "continent"):
        return False
    title = key(gold["wiki"].rsplit("/", 1)[-1].replace("_", " ").split(" (")[0])
    return key(g.name[row]) == title or row in g.rows_of(title)


def score(
    golds: Sequence[dict[str, Any]], points: Sequence[tuple[float, float] | None], right: list[bool]
) -> dict[str, float]:
    errors = [
        km(t["lat"], t["lon"], p[0], p[1]) if p is not None else MISSED_KM
        for t, p in zip(golds, points, strict=True)
    ]
    resolved = sum(p is not None for p in points)
    return {
        "within": sum(e <= MILES_100 for e in errors) / len(errors),
        "right": sum(right) / len(errors),
        "median_km": statistics.median(errors),
        "precision": sum(right) / resolved if resolved else 0.0,
        "resolved": resolved,
    }


def given_spans(rows: list[dict[str, Any]], g: Gazetteer, resolver: str) -> dict[str, float]:
    golds: list[dict[str, Any]] = []
    points: list[tuple[float, float] | None] = []
    right: list[bool] = []
    started = time.perf_counter()
    for article in rows:
        spans = [(t["start"], t["end"]) for t in article["toponyms"]]
        if resolver == "ours":
            found = resolve(article["text"], spans, g, url=article["source"])
            picks = [f.row if f is not None else None for f in found]
        else:
            picks = [next(iter(g.rows_of(key(article["text"][s:e]))), None) for s, e in spans]
        for gold, row in zip(article["toponyms"], picks, strict=True):
            golds.append(gold)
            points.append((g.lat[row], g.lon[row]) if row is not None else None)
            ok = row is not None and (
                km(gold["lat"], gold["lon"], g.lat[row], g.lon[row]) <= MILES_100
                or same_place(gold, row, g)
            )
            right.append(ok)
    seconds = time.perf_counter() - started
    return score(golds, points, right) | {"ms": 1000 * seconds / len(rows)}


def end_to_end(rows: list[dict[str, Any]], g: Gazetteer) -> dict[str, float]:
    """The articles through ``enrich file``: its resolved place mentions, by span."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.jsonl"
        source.write_text(
            "".join(
                json.dumps({"id": r["id"], "text": r["text"], "language": "en"}) + "\n"
                for r in rows
            )
        )
        out = Path(tmp) / "out.jsonl"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "workers.cli", "file", str(source), "-o", str(out),
             "--processes", "1"],
            check=True, capture_output=True,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        enriched = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    golds: list[dict[str, Any]] = []
    points: list[tuple[float, float] | None] = []
    right: list[bool] = []
    overlapping = correct = 0
    for article in rows:
        record = enriched.get(article["id"])
        placed: list[tuple[int, int, dict[str, Any]]] = []
        if record is not None:
            where = {
                (e["name"], e["label"]): e["place"] for e in record["entity_list"] if e["place"]
            }
            for m in record["entities"]:
                place = where.get((m["canonical"] or m["text"], m["label"]))
                if place is not None:
                    placed.append((m["start"], m["end"], place))
        for gold in article["toponyms"]:
            hit = next((p for s, e, p in placed if s < gold["end"] and gold["start"] < e), None)
            golds.append(gold)
            points.append((hit["lat"], hit["lon"]) if hit else None)
            ok = hit is not None and (
                km(gold["lat"], gold["lon"], hit["lat"], hit["lon"]) <= MILES_100
                or same_place_named(gold, hit["name"], hit["kind"], g)
            )
            right.append(ok)
        for s, e, place in placed:
            gold = next((t for t in article["toponyms"] if s < t["end"] and t["start"] < e), None)
            if gold is not None:
                overlapping += 1
                correct += km(
                    gold["lat"], gold["lon"], place["lat"], place["lon"]
                ) <= MILES_100 or (same_place_named(gold, place["name"], place["kind"], g))
    result = score(golds, points, right)
    result["precision"] = correct / overlapping if overlapping else 0.0
    return result | {"ms": 1000 * seconds / len(rows)}


def same_place_named(gold: dict[str, Any], name: str, kind: str, g: Gazetteer) -> bool:
    if kind not in ("country", "region", "continent"):
        return False
    title = key(gold["wiki"].rsplit("/", 1)[-1].replace("_", " ").split(" (")[0])
    return key(name) == title or any(key(g.name[r]) == key(name) for r in g.rows_of(title))


def geotext_end_to_end(rows: list[dict[str, Any]], g: Gazetteer) -> dict[str, float]:
    from geotext import GeoText

    golds, points, right = [], [], []
    started = time.perf_counter()
    for article in rows:
        found = GeoText(article["text"])
        names = {key(n) for n in [*found.cities, *found.countries]}
        for gold in article["toponyms"]:
            k = key(gold["name"])
            row = next(iter(g.rows_of(k)), None) if k in names else None
            golds.append(gold)
            points.append((g.lat[row], g.lon[row]) if row is not None else None)
            right.append(
                row is not None
                and (km(gold["lat"], gold["lon"], g.lat[row], g.lon[row]) <= MILES_100
                     or same_place(gold, row, g))
            )  # fmt: skip
    seconds = time.perf_counter() - started
    return score(golds, points, right) | {"ms": 1000 * seconds / len(rows)}


def restricted(least: int) -> tuple[Gazetteer, float, float]:
    """The gazetteer with only cities of ``least`` people or more: (it, load seconds,
    MiB it holds)."""
    import gzip
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    with gzip.open(PATH, "rt", encoding="utf-8") as f:
        gazetteer = Gazetteer(
            line
            for line in f
            if line.split("\t", 2)[1] != "city" or int(line.split("\t")[7]) >= least
        )
    seconds = time.perf_counter() - started
    held = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    return gazetteer, seconds, held


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--articles", type=int, default=None)
    parser.add_argument("--skip-end-to-end", action="store_true")
    args = parser.parse_args(argv)
    rows = articles(args.data, args.articles)
    mentions = sum(len(r["toponyms"]) for r in rows)
    g = load()
    print(f"GeoVirus: {len(rows)} articles, {mentions} gold place mentions")
    results: dict[str, dict[str, float]] = {
        "given spans: this project": given_spans(rows, g, "ours"),
        "given spans: population baseline": given_spans(rows, g, "population"),
    }
    if not args.skip_end_to_end:
        results["end to end: this project (enrich file)"] = end_to_end(rows, g)
        results["end to end: geotext + population"] = geotext_end_to_end(rows, g)
    head = ("@161", "right", "median km", "precision", "resolved", "ms/art")
    print(f"{'':44} " + " ".join(f"{h:>9}" for h in head))
    for name, r in results.items():
        print(
            f"{name:44} {r['within']:9.3f} {r['right']:9.3f} {r['median_km']:9.0f} "
            f"{r['precision']:9.3f} {r['resolved']:9.0f} {r['ms']:9.2f}"
        )
    print("\nthe gazetteer, by the smallest city kept (given spans, this project's resolver):")
    for least in (1000, 5000, 15000):
        restricted_g, seconds, held = restricted(least)
        r = given_spans(rows, restricted_g, "ours")
        print(
            f"  cities of {least:>6}+: {len(restricted_g):>7} places, load {seconds:4.1f} s, "
            f"{held:5.0f} MiB held; right {r['right']:.3f}, @161 {r['within']:.3f}, "
            f"precision {r['precision']:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
