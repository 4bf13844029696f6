"""Where and how: an enriched article's places resolved, the countries it is about,
and its tone toward each entity. Pure; the gazetteer and the tone model are given.

- **Places.** Every mention labelled as a place (``PLACE_LABELS``) is resolved with
  the rest of the article as context (``places.resolve``); an entity's place is the
  one most of its mentions resolve to. A place the resolver is not sure of stays
  without one.
- **Countries.** Each country gains the salience of every entity placed in it and of
  every group named for it ("Ukrainian", a demonym); the countries are ranked by that
  sum, each given as its share of the first's.
- **Tone** (English only): an entity's tone is the mean, over the sentences that
  mention it, of the model's chances of each label toward it there; at most
  ``TONE_SENTENCES`` sentences an entity, for the ``TONE_ENTITIES`` most salient
  entities, so that an article naming thousands of entities costs no more than one
  naming a few hundred. The article's tone is its entities' tones weighted by
  their salience. An article in another language gets none, and says why.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from schemas.models import ArticleTone, Country, EnrichedArticle, Entity, Place, Tone
from workers.stages.places.gazetteer import Gazetteer
from workers.stages.places.resolve import resolve
from workers.stages.tone import LABELS, LANGUAGES, ToneModel

PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
GROUP_LABELS = frozenset({"NORP"})
TONE_ENTITIES = 200
TONE_SENTENCES = 8


def where_and_how(
    article: EnrichedArticle, gazetteer: Gazetteer | None, model: ToneModel | None
) -> EnrichedArticle:
    """``article`` with its places, countries and tone (either step left out where
    its resource is None)."""
    entities = list(article.entity_list)
    update: dict[str, object] = {}
    if gazetteer is not None:
        entities, update["countries"] = _places(article, entities, gazetteer)
    if model is not None:
        entities, update["tone"] = _tone(article, entities, model)
    return article.model_copy(update={"entity_list": entities, **update})


def _places(
    article: EnrichedArticle, entities: list[Entity], gazetteer: Gazetteer
) -> tuple[list[Entity], list[Country]]:
    mentions = [m for m in article.entities if m.label in PLACE_LABELS]
    found = resolve(
        article.text,
        [(m.start, m.end) for m in mentions],
        gazetteer,
        url=article.url,
        names=[m.canonical or m.text for m in mentions],
    )
    rows: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    for mention, answer in zip(mentions, found, strict=True):
        if answer is not None:
            rows[(mention.canonical or mention.text, mention.label)][answer.row] += 1
    placed: list[Entity] = []
    weight: dict[str, float] = defaultdict(float)
    for entity in entities:
        votes = rows.get((entity.name, entity.label))
        if votes:
            place = _place(votes.most_common(1)[0][0], gazetteer)
            placed.append(entity.model_copy(update={"place": place}))
            if place.country:
                weight[place.country] += entity.salience
            continue
        if entity.label in GROUP_LABELS:
            country = gazetteer.country_of_demonym(entity.name.removesuffix("s"))
            if country is None:
                country = gazetteer.country_of_demonym(entity.name)
            if country is not None:
                weight[gazetteer.country[country]] += entity.salience
        placed.append(entity)
    top = max(weight.values(), default=0.0)
    countries = [
        Country(
            code=code,
            name=gazetteer.name[gazetteer.countries[code]],
            score=round(total / top, 3) if top else 0.0,
        )
        for code, total in sorted(weight.items(), key=lambda kv: (-kv[1], kv[0]))
        if code in gazetteer.countries and total > 0
    ]
    return placed, countries


def _place(row: int, gazetteer: Gazetteer) -> Place:
    found = gazetteer.place(row)
    region = found.name if found.kind == "region" else None
    if found.kind in ("city", "county"):
        region = gazetteer.region_name(found.country, found.region_code)
    return Place(
        geonameid=found.geonameid,
        name=found.name,
        kind=found.kind,  # type: ignore[arg-type]
        country=found.country,
        region=region,
        lat=round(found.lat, 4),
        lon=round(found.lon, 4),
        population=found.population,
    )


def _tone(
    article: EnrichedArticle, entities: list[Entity], model: ToneModel
) -> tuple[list[Entity], ArticleTone]:
    if article.language not in LANGUAGES:
        skipped = f"no tone model for {article.language or 'an unknown language'!r}"
        return entities, ArticleTone(label=None, score=None, skipped=skipped)
    spans: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for m in article.entities:
        spans[(m.canonical or m.text, m.label)].append((m.start, m.end))
    sentences = [(s.start, s.end) for s in article.sentences]
    toned: list[Entity] = []
    weighted = np.zeros(len(LABELS))
    weights = 0.0
    for rank, entity in enumerate(entities):
        mentions = spans.get((entity.name, entity.label), []) if rank < TONE_ENTITIES else []
        chances = _chances(article.text, mentions, sentences, model)
        if chances is None:
            toned.append(entity)
            continue
        probabilities, count = chances
        score = float(probabilities[2] - probabilities[0])
        tone = Tone(
            label=LABELS[int(np.argmax(probabilities))],  # type: ignore[arg-type]
            score=round(score, 3),
            sentences=count,
        )
        toned.append(entity.model_copy(update={"tone": tone}))
        weighted += entity.salience * probabilities
        weights += entity.salience
    if not weights:
        return toned, ArticleTone(label=None, score=None, skipped="no entity to read it toward")
    overall = weighted / weights
    return toned, ArticleTone(
        label=LABELS[int(np.argmax(overall))],  # type: ignore[arg-type]
        score=round(float(overall[2] - overall[0]), 3),
    )


def _chances(
    text: str,
    mentions: Sequence[tuple[int, int]],
    sentences: Sequence[tuple[int, int]],
    model: ToneModel,
) -> tuple[np.ndarray, int] | None:
    """The mean chances of each label over the sentences of ``mentions`` (each
    sentence once, toward its first mention of the entity), and how many."""
    seen: set[int] = set()
    total = np.zeros(len(LABELS))
    for start, end in mentions:
        at = _sentence_of(sentences, start)
        if at is None or at in seen:
            continue
        seen.add(at)
        first, last = sentences[at]
        total += model.tone(text[first:last], start - first, end - first).probabilities
        if len(seen) >= TONE_SENTENCES:
            break
    return (total / len(seen), len(seen)) if seen else None


def _sentence_of(sentences: Sequence[tuple[int, int]], offset: int) -> int | None:
    """The index of the sentence holding ``offset`` (sentences are in text order)."""
    lo, hi = 0, len(sentences)
    while lo < hi:
        mid = (lo + hi) // 2
        if sentences[mid][1] <= offset:
            lo = mid + 1
        else:
            hi = mid
    if lo < len(sentences) and sentences[lo][0] <= offset < sentences[lo][1]:
        return lo
    return None
