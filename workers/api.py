"""A small public Python API: where a text's places are, and its tone toward its
mentions, on any text, with the functions the pipeline itself runs.

    >>> from workers.api import places, tone
    >>> text = "Flooding hit Paris, Texas, on Monday."
    >>> places(text, [(13, 18), (20, 25)])[0].country
    'US'

``spans`` are ``(start, end)`` character offsets of mentions in ``text``. Each function
returns one result per span, in order, or None where it has nothing to say: a place
name the gazetteer does not know or cannot tell apart; a span in no sentence. The
gazetteer and the model load on first use (about a second), once per process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from workers.stages.places.gazetteer import Gazetteer, Place
from workers.stages.tone import Tone

__all__ = ["Place", "ResolvedPlace", "Tone", "places", "tone"]


@dataclass(frozen=True, slots=True)
class ResolvedPlace:
    """A place name resolved: the place, and its first-order region's name."""

    geonameid: int | None
    name: str
    kind: str  # continent, country, region, county, city
    country: str | None  # ISO 3166-1 alpha-2
    region: str | None
    lat: float
    lon: float
    population: int


def places(
    text: str, spans: Sequence[tuple[int, int]], *, url: str | None = None
) -> list[ResolvedPlace | None]:
    """The place each span of ``text`` names, resolved with the rest of the text as
    context (and the source's country, where ``url`` says it)."""
    from workers.stages.places.gazetteer import load
    from workers.stages.places.resolve import resolve

    _check(text, spans)
    gazetteer = load()
    out: list[ResolvedPlace | None] = []
    for found in resolve(text, spans, gazetteer, url=url):
        out.append(None if found is None else resolved(gazetteer.place(found.row), gazetteer))
    return out


def resolved(place: Place, gazetteer: Gazetteer) -> ResolvedPlace:
    """A gazetteer's place as the API and the records give it."""
    region = place.name if place.kind == "region" else None
    if place.kind in ("city", "county"):
        region = gazetteer.region_name(place.country, place.region_code)
    return ResolvedPlace(
        geonameid=place.geonameid,
        name=place.name,
        kind=place.kind,
        country=place.country,
        region=region,
        lat=place.lat,
        lon=place.lon,
        population=place.population,
    )


def tone(text: str, spans: Sequence[tuple[int, int]]) -> list[Tone | None]:
    """The tone of the sentence each span is in, toward it (English)."""
    from workers.stages.text import sentence_around
    from workers.stages.tone import load

    _check(text, spans)
    model = load()
    out: list[Tone | None] = []
    for start, end in spans:
        sentence = sentence_around(text, start, end)
        if sentence is None:
            out.append(None)
            continue
        first, last = sentence
        out.append(model.tone(text[first:last], start - first, end - first))
    return out


def _check(text: str, spans: Sequence[tuple[int, int]]) -> None:
    for start, end in spans:
        if not 0 <= start < end <= len(text):
            raise ValueError(f"span ({start}, {end}) is not within the text ({len(text)} chars)")
