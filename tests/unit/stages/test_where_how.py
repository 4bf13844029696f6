"""Where and how: places resolved by their context, the countries an article is about,
the tone toward each entity; and the public API over them."""

from __future__ import annotations

import pytest

from schemas.models import EnrichedArticle, Entity, Mention, Sentence, StageRun, Tagging
from workers import api
from workers.stages import where_how
from workers.stages.places import resolve as resolving
from workers.stages.places.gazetteer import key, load
from workers.stages.tone import load as load_tone


def spans_of(text: str, *names: str) -> list[tuple[int, int]]:
    out = []
    at = 0
    for name in names:
        start = text.index(name, at)
        out.append((start, start + len(name)))
        at = start + len(name)
    return out


def countries(text: str, *names: str, url: str | None = None) -> list[str | None]:
    return [p.country if p else None for p in api.places(text, spans_of(text, *names), url=url)]


def test_names_are_keyed_without_case_diacritics_stops_and_a_leading_the() -> None:
    assert key("U.S.") == key("US") == "us"
    assert key("Côte d'Ivoire") == "cote divoire"
    assert key("the Netherlands") == "netherlands"


def test_a_name_alone_is_its_most_likely_place() -> None:
    assert countries("Officials in Paris met on Monday.", "Paris") == ["FR"]
    assert countries("Georgia sent doctors to the border.", "Georgia") == ["GE"]


def test_a_neighbour_decides_paris_texas_and_atlanta_georgia() -> None:
    text = "Flooding hit Paris, Texas, and crews came from Atlanta, Georgia, on Monday."
    found = api.places(text, spans_of(text, "Paris", "Texas", "Atlanta", "Georgia"))
    assert [p.country if p else None for p in found] == ["US", "US", "US", "US"]
    assert found[0] is not None and found[0].region == "Texas"
    assert found[3] is not None and found[3].kind == "region"


def test_the_articles_other_places_decide_an_ambiguous_one() -> None:
    text = "Health officials in Canada said that London had three new cases, as did Toronto."
    assert countries(text, "Canada", "London", "Toronto") == ["CA", "CA", "CA"]
    text = "Health officials in England said that London had three new cases."
    assert countries(text, "England", "London") == ["GB", "GB"]


def test_the_dateline_and_the_source_address_give_a_country() -> None:
    text = "KYIV, Ukraine (AP) — Officials in Kyiv said aid had arrived."
    assert resolving.dateline_countries(text, load()) == {"UA"}
    g = load()
    assert resolving.source_country("https://www.bbc.co.uk/news/x", g) == "GB"
    assert resolving.source_country("https://news.example.com/x", g) is None
    assert resolving.source_country("https://t.co/x", g) is None  # used everywhere


def test_a_small_place_named_like_a_word_stays_unresolved_without_support() -> None:
    """Precision before coverage: "Pacific", a town in Missouri, is not given."""
    assert countries("Storms crossed the Pacific overnight.", "Pacific") == [None]


def test_french_names_resolve_through_the_alternate_names() -> None:
    assert countries("Le maire de Londres a rencontré des élus.", "Londres") == ["GB"]


def test_the_api_says_nothing_for_a_name_it_does_not_know_and_refuses_bad_spans() -> None:
    assert api.places("Zzyzxqwv reported nothing.", [(0, 8)]) == [None]
    with pytest.raises(ValueError, match="not within the text"):
        api.places("short", [(2, 40)])
    with pytest.raises(ValueError, match="not within the text"):
        api.tone("short", [(3, 3)])


def test_tone_is_read_toward_the_mention() -> None:
    def tone_of(sentence: str, target: str) -> float:
        [found] = api.tone(sentence, spans_of(sentence, target))
        assert found is not None
        return found.score

    assert tone_of("The minister praised the mayor for her quick response.", "mayor") > 0.2
    assert tone_of("Critics accused the mayor of corruption and lying.", "mayor") < -0.2
    said = "The mayor said the bridge would open on Monday."
    [neutral] = api.tone(said, spans_of(said, "mayor"))
    assert neutral is not None and neutral.label == "neutral"


def _article(text: str, language: str, mentions: list[tuple[str, str]]) -> EnrichedArticle:
    found: list[Mention] = []
    at = 0
    for name, label in mentions:
        start = text.index(name, at)
        found.append(
            Mention(text=name, label=label, start=start, end=start + len(name), canonical=name)
        )
        at = start + len(name)
    names = list(dict.fromkeys((m.text, m.label) for m in found))
    return EnrichedArticle(
        id="a",
        url=None,
        source=None,
        title=None,
        published_at=None,
        language=language,
        language_confidence=1.0,
        text=text,
        sentences=[Sentence(start=0, end=len(text))],
        entities=found,
        tagging=Tagging(),
        word_count=len(text.split()),
        summary=text,
        summary_sentences=[Sentence(start=0, end=len(text))],
        entity_list=[
            Entity(name=n, label=label, mentions=1, first_offset=0, salience=1.0 / (1 + i))
            for i, (n, label) in enumerate(names)
        ],
        keywords=[],
        pipeline={
            stage: StageRun(version="1", finished_at="t") for stage in ("clean", "tag", "summarize")
        },
    )


def test_the_record_gets_places_countries_and_tone() -> None:
    text = "Ukrainian officials said Kyiv praised Poland for its help."
    article = _article(text, "en", [("Ukrainian", "NORP"), ("Kyiv", "GPE"), ("Poland", "GPE")])
    out = where_how.where_and_how(article, load(), load_tone())
    by_name = {e.name: e for e in out.entity_list}
    assert by_name["Kyiv"].place is not None and by_name["Kyiv"].place.country == "UA"
    assert by_name["Poland"].place is not None and by_name["Poland"].place.kind == "country"
    assert by_name["Ukrainian"].place is None  # a group: its country counts, not a place
    assert [c.code for c in out.countries] == ["UA", "PL"]  # demonym and city both count
    assert out.countries[0].score == 1.0
    assert all(e.tone is not None for e in out.entity_list)
    assert out.tone is not None and out.tone.label is not None and out.tone.skipped is None
    EnrichedArticle.model_validate(out.model_dump())  # the record holds to its schema


def test_a_french_article_gets_places_but_no_tone_and_says_why() -> None:
    text = "Le maire de Londres a rencontré des élus."
    out = where_how.where_and_how(_article(text, "fr", [("Londres", "LOC")]), load(), load_tone())
    assert out.entity_list[0].place is not None and out.entity_list[0].place.country == "GB"
    assert out.entity_list[0].tone is None
    assert out.tone is not None and out.tone.label is None
    assert out.tone.skipped == "no tone model for 'fr'"


def test_ten_thousand_place_names_cost_a_bounded_number_of_resolutions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A page naming 10,000 places resolves each name once per pass (a name with a
    neighbour apart), and reads the tone of at most TONE_ENTITIES x TONE_SENTENCES."""
    names = ["Paris", "London", "Berlin", "Madrid", "Rome"] * 2000
    text = ". ".join(f"Rain fell in {n}" for n in names) + "."
    calls = {"best": 0, "tone": 0}
    best = resolving._best

    def counted_best(*args: object) -> object:
        calls["best"] += 1
        return best(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(resolving, "_best", counted_best)
    found = api.places(text, spans_of(text, *names))
    assert len(found) == 10_000 and all(p is not None for p in found)
    assert calls["best"] <= 2 * len(set(names))
    model = load_tone()
    tone = model.tone

    def counted_tone(*args: object) -> object:
        calls["tone"] += 1
        return tone(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(model, "tone", counted_tone)
    many = [(f"Person {i}", "PERSON") for i in range(500)]
    text = " ".join(f"{n} spoke." for n, _ in many)
    article = _article(text, "en", many).model_copy(
        update={"sentences": [Sentence(start=0, end=len(text))]}
    )
    where_how.where_and_how(article, None, model)
    assert calls["tone"] <= where_how.TONE_ENTITIES * where_how.TONE_SENTENCES
