"""Entity rules on hand-built mentions: no model involved."""

from __future__ import annotations

import pytest

from workers.stages.tag import entities
from workers.stages.tag.entities import RawMention, pieces, resolve, strip_titles, trim
from workers.stages.tag.places import Places


def _find(text: str, surface: str, label: str, nth: int = 0) -> RawMention:
    start = -1
    for _ in range(nth + 1):
        start = text.index(surface, start + 1)
    return RawMention(start, start + len(surface), label)


def test_trim_possessive_punctuation_article_and_line_break() -> None:
    text = "Xi Jinping's visit. The United Nations, said\nLater"
    assert text[slice(*trim(text, 0, 12))] == "Xi Jinping"  # type: ignore[misc]
    s = text.index("The United")
    assert text[slice(*trim(text, s, s + 19))] == "United Nations"  # type: ignore[misc]
    s = text.index("said")
    assert text[slice(*trim(text, s, s + 10))] == "said"  # type: ignore[misc]
    assert trim(text, 18, 19) is None


def test_a_name_the_model_cut_short_loses_the_function_word_it_ends_in() -> None:
    text = "losses to Manchester United and Arsenal at the Economic Club of New York"
    for run, name in (
        ("Manchester United and", "Manchester United"),
        ("Economic Club of", "Economic Club"),
    ):
        s = text.index(run)
        assert text[slice(*trim(text, s, s + len(run)))] == name  # type: ignore[misc]
    text = "the Sabres and, later"
    assert text[slice(*trim(text, 4, 15))] == "Sabres"  # type: ignore[misc]


def test_a_full_stop_that_belongs_to_the_name_is_kept() -> None:
    text = "Troops left the U.S. and Apple Inc. and Martin Luther King Jr. Then Xi Jinping."
    for name in ("U.S.", "Apple Inc.", "Martin Luther King Jr."):
        s = text.index(name)
        assert text[slice(*trim(text, s, s + len(name)))] == name  # type: ignore[misc]
    s = text.index("Xi Jinping.")
    assert text[slice(*trim(text, s, len(text)))] == "Xi Jinping"  # type: ignore[misc]
    text = "the U.S.'s army"
    assert text[slice(*trim(text, 4, 10))] == "U.S."  # type: ignore[misc]


def test_names_run_together_are_cut_apart() -> None:
    def cut(text: str, label: str, named: frozenset[str] = frozenset()) -> list[str]:
        return [text[s:e] for s, e in pieces(text, 0, len(text), label, named)]

    # at a spaced dash: a headline's section word, a scorers' line, a fixture
    assert cut("CRICKET - LEICESTERSHIRE", "ORG") == ["CRICKET", "LEICESTERSHIRE"]
    assert cut("Arsenal -- Chelsea", "ORG") == ["Arsenal", "Chelsea"]
    assert cut("Jean-Pierre Dupont", "PERSON") == ["Jean-Pierre Dupont"]  # no spaces: one name
    # a score or statistic after a name
    assert cut("S. Watkin 4-28", "PERSON") == ["S. Watkin"]
    assert cut("W. Hegg 54", "PERSON") == ["W. Hegg"]
    assert cut("Lithuania 2-1", "GPE") == ["Lithuania"]
    assert cut("Durham 81-3", "ORG") == ["Durham"]
    # names that end in a number keep it
    assert cut("Channel 4", "ORG") == ["Channel 4"]
    assert cut("Terminal 5", "FAC") == ["Terminal 5"]
    assert cut("Euro 96", "EVENT") == ["Euro 96"]
    assert cut("Area 51", "LOC") == ["Area 51"]  # unless the article names it without one:
    assert cut("Somerset 83", "GPE", frozenset({"Somerset"})) == ["Somerset"]


def test_a_place_is_split_off_the_date_the_model_ran_it_into() -> None:
    text = "WIGAN, England 1996-08-31\nResult of the semifinal."
    england = text.index("England")
    raw = [RawMention(england, england + len("England 1996-08-31"), "DATE")]
    got = [(m.text, m.label) for m in resolve(text, raw, places=PLACES)]
    assert ("England", "GPE") in got and ("1996-08-31", "DATE") in got
    text = "Dr Smith 1996-08-31"  # not a place: left as the model tagged it
    assert [m.text for m in resolve(text, [RawMention(3, len(text), "DATE")], places=PLACES)] == [
        "Smith 1996-08-31"
    ]


def test_unbalanced_parenthesis_is_cut() -> None:
    text = "the Shanghai Cooperation Organization (SCO said"
    start = text.index("Shanghai")
    span = trim(text, start, text.index(" said"))
    assert span is not None and text[span[0] : span[1]] == "Shanghai Cooperation Organization"


def test_titles_are_stripped() -> None:
    assert strip_titles("President Xi") == "Xi"
    assert strip_titles("Prime Minister Jane Roe") == "Jane Roe"
    assert strip_titles("President") == "President"


def test_surnames_and_short_forms_map_to_full_name() -> None:
    text = (
        "Xi Jinping met Vladimir Putin. President Xi said Putin agreed. "
        "Analyst Mark N. Katz doubted it, and Katz said so."
    )
    raw = [
        _find(text, "Xi Jinping", "PERSON"),
        _find(text, "Vladimir Putin", "PERSON"),
        _find(text, "President Xi", "PERSON"),
        _find(text, "Putin", "PERSON", 1),
        _find(text, "Mark N. Katz", "PERSON"),
        _find(text, "Katz", "ORG", 1),
    ]
    got = {(m.text, m.canonical, m.label) for m in resolve(text, raw)}
    assert ("President Xi", "Xi Jinping", "PERSON") in got
    assert ("Putin", "Vladimir Putin", "PERSON") in got
    # the ORG surname is re-labelled by the evidence of the full name
    assert ("Katz", "Mark N. Katz", "PERSON") in got


def test_acronym_maps_to_long_form() -> None:
    text = "The Shanghai Cooperation Organization (SCO) met. Later the SCO said no."
    raw = [_find(text, "Shanghai Cooperation Organization", "ORG"), _find(text, "SCO", "ORG", 1)]
    mentions = resolve(text, raw)
    # the acronym in the parentheses is a mention too, though the model left it out
    assert [(m.text, m.canonical) for m in mentions] == [
        ("Shanghai Cooperation Organization", "Shanghai Cooperation Organization"),
        ("SCO", "Shanghai Cooperation Organization"),
        ("SCO", "Shanghai Cooperation Organization"),
    ]


def test_acronym_the_model_missed_takes_its_long_forms_label() -> None:
    text = (
        "the Central Narcotics Bureau ( CNB ) said. The CNB said so, and CNBC did not. "
        "The Bureau of Roads (BOR) said. BOR agreed."
    )
    raw = [_find(text, "Central Narcotics Bureau", "ORG")]  # the model missed BOR's owner
    got = [(m.text, m.label, m.start) for m in resolve(text, raw)]
    assert got == [
        ("Central Narcotics Bureau", "ORG", 4),
        ("CNB", "ORG", text.index("CNB")),
        ("CNB", "ORG", text.index("CNB", text.index("CNB") + 1)),
    ]  # not "CNBC"; "BOR" has no tagged long form, so no label to take


@pytest.mark.timeout(60)
def test_acronym_definitions_are_looked_for_in_linear_work() -> None:
    # Title-case paragraphs: the old pattern tried each way to share a paragraph break
    # between the two spaces it allowed, doubling its work with every line (22 lines
    # took 6 s, these 40 would take months)
    lines = "".join(f"Harbour News {word}\n\n" for word in ["Today", "Tonight"] * 20)
    text = lines + "The Marrow Bay Transit Authority (MBTA) said so."
    assert entities._acronyms(text) == {"MBTA": "Marrow Bay Transit Authority"}
    # long runs of capitals: the old pattern was tried from each letter over the rest
    runs = "A. " * 100_000 + "A" * 100_000 + " A-A'A.A" * 50_000
    assert entities._acronyms(runs) == {}


def test_demonym_is_not_merged_into_country() -> None:
    text = "Chinese officials visited China."
    raw = [_find(text, "Chinese", "NORP"), _find(text, "China", "GPE")]
    assert [(m.canonical, m.label) for m in resolve(text, raw)] == [
        ("Chinese", "NORP"),
        ("China", "GPE"),
    ]


def test_majority_label_wins() -> None:
    text = "Ada Lovelace wrote. Lovelace said. Lovelace left. Lovelace won."
    raw = [
        _find(text, "Ada Lovelace", "PERSON"),
        _find(text, "Lovelace", "PERSON", 1),
        _find(text, "Lovelace", "ORG", 2),
        _find(text, "Lovelace", "PERSON", 3),
    ]
    assert {m.label for m in resolve(text, raw)} == {"PERSON"}


def test_offsets_always_match_text() -> None:
    text = "“Xi Jinping’s” plan, said (Putin)."
    raw = [RawMention(0, 15, "PERSON"), RawMention(26, 33, "PERSON")]
    for m in resolve(text, raw):
        assert text[m.start : m.end] == m.text
        assert "\n" not in m.text


PLACES = Places(
    names=frozenset(
        {"Kyiv", "Sweden", "Westbrook", "Strömstad", "Liverpool", "Norway", "Netherlands"}
        | {"England", "Slovakia"}
    ),
    large=frozenset({"Kyiv", "Sweden", "Norway", "Liverpool", "Netherlands", "England"}),
    countries=frozenset({"Sweden", "Norway", "Netherlands", "England", "Slovakia"}),
)


def _labels(text: str, mentions: list[RawMention]) -> dict[str, str]:
    return {m.canonical: m.label for m in resolve(text, mentions, places=PLACES)}


def test_a_generic_word_after_a_place_name_is_cut_and_the_place_is_a_gpe() -> None:
    text = "The Marrow Bay city council voted on Monday."
    assert _labels(text, [_find(text, "Marrow Bay city", "LOC")]) == {"Marrow Bay": "GPE"}


def test_a_name_ending_in_a_landform_word_is_a_location() -> None:
    text = "Ships crossed the Kattegat Strait and the Sognefjord Channel."
    found = _labels(
        text,
        [_find(text, "Kattegat Strait", "PERSON"), _find(text, "Sognefjord Channel", "ORG")],
    )
    assert found == {"Kattegat Strait": "LOC", "Sognefjord Channel": "LOC"}


def test_a_lone_person_after_the_is_a_location() -> None:
    text = "Ferries still make most crossings in the Skagerrak."
    assert _labels(text, [_find(text, "Skagerrak", "PERSON")]) == {"Skagerrak": "LOC"}


def test_a_known_place_taken_for_a_person_is_a_gpe_unless_it_speaks() -> None:
    text = "Shelling hit Kyiv overnight."
    assert _labels(text, [_find(text, "Kyiv", "PERSON")]) == {"Kyiv": "GPE"}
    said = "Kyiv said nothing. Liverpool said the deal was done."
    found = _labels(said, [_find(said, "Liverpool", "PERSON")])
    assert found == {"Liverpool": "PERSON"}  # a speaker is not a place


def test_a_surname_that_is_also_a_place_stays_a_person() -> None:
    text = "Ann Westbrook spoke. Later Westbrook left."
    found = resolve(
        text,
        [_find(text, "Ann Westbrook", "PERSON"), _find(text, "Westbrook", "PERSON", nth=1)],
        places=PLACES,
    )
    assert {(m.canonical, m.label) for m in found} == {("Ann Westbrook", "PERSON")}


def test_an_organisation_that_is_a_known_place_after_in_is_a_gpe() -> None:
    text = "The public library in Westbrook reopened. Ferries leave for Strömstad in Sweden."
    found = _labels(text, [_find(text, "Westbrook", "ORG"), _find(text, "Strömstad", "ORG")])
    assert found == {"Westbrook": "GPE", "Strömstad": "GPE", "Sweden": "GPE"}  # Sweden added
    club = "Liverpool won in Madrid. Fans of Liverpool sang."
    assert _labels(club, [_find(club, "Liverpool", "ORG")]) == {"Liverpool": "ORG"}
    possessive = "A goal in Liverpool's win."
    assert _labels(possessive, [_find(possessive, "Liverpool", "ORG")]) == {"Liverpool": "ORG"}


def test_a_known_place_after_travel_to_or_from_is_a_gpe() -> None:
    text = "Flights to Westbrook resumed. Trains from Sweden to Strömstad ran late."
    found = _labels(text, [_find(text, "Westbrook", "ORG"), _find(text, "Strömstad", "ORG")])
    assert found == {"Westbrook": "GPE", "Sweden": "GPE", "Strömstad": "GPE"}
    club = "The striker moved to Liverpool in May."  # a transfer, not travel
    assert _labels(club, [_find(club, "Liverpool", "ORG")]) == {"Liverpool": "ORG"}


def test_followers_of_a_faith_the_model_missed_are_a_nationality() -> None:
    text = "Muslim leaders met Sikh and Catholic groups. Christian Eriksen scored."
    found = _labels(text, [_find(text, "Christian Eriksen", "PERSON")])
    assert found == {
        "Muslim": "NORP",  # opens the sentence, and is still a people
        "Sikh": "NORP",
        "Catholic": "NORP",
        "Christian Eriksen": "PERSON",
    }
    name = "Christian Dior opened a shop."  # a faith word before a capitalised word
    assert _labels(name, []) == {}


def test_a_nationality_that_only_opens_sentences_is_dropped() -> None:
    text = "The port opened.\nHarbour director Maria Lindqvist spoke. Norwegian firms bid."
    found = _labels(text, [_find(text, "Harbour", "NORP"), _find(text, "Norwegian", "NORP")])
    assert found == {"Norwegian": "NORP"}
    mid = "Talks with Norwegian firms began. Norwegian ships sailed."
    assert _labels(mid, [_find(mid, "Norwegian", "NORP")]) == {"Norwegian": "NORP"}


def test_an_acronym_joins_a_long_form_with_its_initials_anywhere() -> None:
    text = (
        "The Shanghai Cooperation Organization met in June. Later the SCO said it would "
        "meet again, and the SCO chair agreed."
    )
    found = resolve(
        text,
        [
            _find(text, "Shanghai Cooperation Organization", "ORG"),
            _find(text, "SCO", "ORG"),
            _find(text, "SCO", "ORG", nth=1),
        ],
    )
    assert {m.canonical for m in found} == {"Shanghai Cooperation Organization"}
    two = "The Marrow Bay Transit Authority and the Middle Bank Trade Association met. MBTA won."
    found = resolve(
        two,
        [
            _find(two, "Marrow Bay Transit Authority", "ORG"),
            _find(two, "Middle Bank Trade Association", "ORG"),
            _find(two, "MBTA", "ORG"),
        ],
    )
    assert "MBTA" in {m.canonical for m in found}  # two long forms fit: left alone


def test_places_the_model_missed_are_added_inside_sentences_only() -> None:
    text = (
        "Shelling hit Kyiv overnight. Norway is cold. Ferries leave for Strömstad in Norway. "
        "Westbrook is quiet. Kyiv said it would respond. Mayor Kyiv waved."
    )
    found = resolve(text, [], places=PLACES)
    spans = [(text[m.start : m.end], m.label, m.start) for m in found]
    assert spans == [
        ("Kyiv", "GPE", text.index("Kyiv")),
        ("Strömstad", "GPE", text.index("Strömstad")),  # known, and "in Norway"
        ("Norway", "GPE", text.index("Norway", text.index("Strömstad"))),
    ]  # not a sentence opener, a speaker, a titled name, or a small place on its own
    # a small place that ends the name of its port or town is one; a month or an office
    # that happens to share a town's name is not
    places = Places(names=frozenset({"Halden", "March", "Sales"}), large=frozenset())
    text = "The Port of Halden opened in the first week of March, the Head of Sales said."
    found = resolve(text, [], places=places)
    assert [(m.text, m.label) for m in found] == [("Halden", "GPE")]


def test_an_unknown_gpe_after_the_is_a_region() -> None:
    text = "Drought spread across the Sahel and the Netherlands."
    found = _labels(text, [_find(text, "Sahel", "GPE"), _find(text, "Netherlands", "GPE")])
    assert found == {"Sahel": "LOC", "Netherlands": "GPE"}


def test_names_inside_a_tagged_mention_are_not_added_again() -> None:
    text = "The Muslim Council of Kyiv met. Muslim groups in Kyiv and Sweden agreed."
    council = _find(text, "Muslim Council of Kyiv", "ORG")
    found = resolve(text, [council], places=PLACES)
    assert [(m.text, m.label) for m in found] == [
        ("Muslim Council of Kyiv", "ORG"),
        ("Muslim", "NORP"),
        ("Kyiv", "GPE"),
        ("Sweden", "GPE"),
    ]


def test_names_that_end_or_start_as_organisations_do_are_organisations() -> None:
    text = "Leeds United beat Wigan Athletic. Mexico City and the West Bank. The Bank of Spain."
    found = _labels(
        text,
        [
            _find(text, "Leeds United", "PERSON"),
            _find(text, "Wigan Athletic", "GPE"),
            _find(text, "Mexico City", "GPE"),
            _find(text, "West Bank", "GPE"),
            _find(text, "Bank of Spain", "GPE"),
        ],
    )
    assert found == {
        "Leeds United": "ORG",
        "Wigan Athletic": "ORG",
        "Mexico City": "GPE",  # "City" ends places too
        "West Bank": "GPE",  # and "Bank"
        "Bank of Spain": "ORG",
    }


def test_a_clubs_first_word_left_out_by_the_model_joins_the_name() -> None:
    text = "Real Madrid won. Fans in Madrid cheered."
    found = resolve(text, [_find(text, "Madrid", "GPE"), _find(text, "Madrid", "GPE", 1)])
    assert [(m.text, m.label) for m in found] == [("Real Madrid", "ORG"), ("Madrid", "GPE")]


def test_a_country_taken_for_an_organisation_is_a_gpe() -> None:
    text = "Scorers: Slovakia - Peter Dubovsky (88th). Liverpool signed him."
    found = _labels(text, [_find(text, "Slovakia - Peter", "ORG"), _find(text, "Liverpool", "ORG")])
    assert found["Slovakia"] == "GPE"
    assert found["Liverpool"] == "ORG"  # a city's name can be its club's: left alone


def test_a_name_cut_from_a_run_takes_the_label_of_its_other_mentions() -> None:
    text = "The show at Hollywood Casino Amphitheatre – St. Louis sold out. St. Louis cheered."
    raw = [
        _find(text, "Hollywood Casino Amphitheatre – St. Louis", "ORG"),
        _find(text, "St. Louis", "GPE", 1),
    ]
    got = [(m.text, m.label) for m in resolve(text, raw)]
    assert got == [
        ("Hollywood Casino Amphitheatre", "ORG"),
        ("St. Louis", "GPE"),  # the run's ORG does not outvote the name's own mention
        ("St. Louis", "GPE"),
    ]


def test_a_name_before_a_role_in_a_club_or_firm_is_an_organisation() -> None:
    text = (
        "Norwich striker Keith O'Neill scored. Sweden captain Ola Toivonen watched. "
        "Acme chairman Jo Bell agreed. A Trump spokesman said so. Tony Adams coach."
    )
    found = _labels(
        text,
        [
            _find(text, "Norwich", "PERSON"),
            _find(text, "Keith O'Neill", "PERSON"),
            _find(text, "Sweden", "GPE"),
            _find(text, "Acme", "GPE"),
            _find(text, "Trump", "PERSON"),
            _find(text, "Tony Adams", "PERSON"),
        ],
    )
    assert found["Norwich"] == "ORG" and found["Acme"] == "ORG"
    assert found["Sweden"] == "GPE"  # a country's captain: the national side
    assert found["Trump"] == "PERSON"  # a spokesman can be a person's
    assert found["Tony Adams"] == "PERSON"  # a person's full name stays a person


def test_places_that_play_each_other_are_sides() -> None:
    places = Places(
        names=frozenset({"Leicestershire", "Somerset", "Kent", "Surrey", "Spain", "Russia"}),
        large=frozenset({"Spain", "Russia"}),
        countries=frozenset({"Spain", "Russia"}),
    )
    text = (
        "Leicestershire beat Somerset on Friday. Kent v Surrey was drawn. "
        "Federer beat Nadal. Russia beat Spain. Somerset cider is sweet."
    )
    raw = [
        _find(text, "Leicestershire", "GPE"),
        _find(text, "Somerset", "PERSON"),
        _find(text, "Kent", "PERSON"),
        _find(text, "Surrey", "GPE"),
        _find(text, "Federer", "PERSON"),
        _find(text, "Nadal", "PERSON"),
        _find(text, "Russia", "GPE"),
        _find(text, "Spain", "GPE"),
    ]
    found = {m.canonical: m.label for m in resolve(text, raw, places=places)}
    assert found["Leicestershire"] == "ORG" and found["Somerset"] == "ORG"
    assert found["Kent"] == "ORG" and found["Surrey"] == "ORG"
    assert found["Federer"] == "PERSON" and found["Nadal"] == "PERSON"  # not places
    assert found["Russia"] == "GPE" and found["Spain"] == "GPE"  # national sides


def test_a_firm_or_club_named_in_full_is_the_canonical_name_of_its_first_word() -> None:
    places = Places(
        names=frozenset({"Madrid", "Real", "Leicester"}),
        large=frozenset({"Madrid"}),
        countries=frozenset(),
    )

    def mentions(text: str, raw: list[RawMention]) -> list[tuple[str, str, str]]:
        return [(m.text, m.label, m.canonical) for m in resolve(text, raw, places=places)]

    # the model tagged the short form: it is the firm named in full
    text = "Boeing Co. won an order on Friday. Boeing said the jets fly in 2025."
    raw = [_find(text, "Boeing Co.", "ORG"), _find(text, "Boeing", "ORG", nth=1)]
    assert mentions(text, raw) == [
        ("Boeing Co.", "ORG", "Boeing Co."),
        ("Boeing", "ORG", "Boeing Co."),
    ]
    # the model missed it: a use on its own is a mention, not one in a longer name,
    # after "in" or of a word the article also writes in lower case
    text = "Real Madrid drew 1-1. Roberto Carlos earned Real a point and Real's fans cheered."
    found = mentions(text, [_find(text, "Real Madrid", "ORG")])
    assert found == [
        ("Real Madrid", "ORG", "Real Madrid"),
        ("Real", "ORG", "Real Madrid"),
        ("Real", "ORG", "Real Madrid"),
    ]
    text = "Real Madrid drew 1-1. It was a real chance for Real to win."
    assert len(mentions(text, [_find(text, "Real Madrid", "ORG")])) == 1
    text = "Acme Group opened in Acme on Monday. Acme Tower was full."
    assert len(mentions(text, [_find(text, "Acme Group", "ORG")])) == 1
    # the rest names a product or a part of the firm, not the firm: no short form
    text = "Google Stadia launched on Tuesday. Google said it cost less."
    raw = [_find(text, "Google Stadia", "ORG"), _find(text, "Google", "ORG", nth=1)]
    assert [m.canonical for m in resolve(text, raw, places=places)] == ["Google Stadia", "Google"]
    # a word that opens two names is left alone
    text = "Acme Corp and Acme Group merged. Acme said so."
    raw = [_find(text, "Acme Corp", "ORG"), _find(text, "Acme Group", "ORG")]
    raw.append(_find(text, "Acme", "ORG", nth=2))
    assert resolve(text, raw, places=places)[-1].canonical == "Acme"


def test_a_full_name_the_model_mislabelled_joins_its_surname_as_one_person() -> None:
    """ "... in the opinion of Anna Kowalczyk, an associate professor at ..." tagged FAC,
    then "according to Kowalczyk" tagged PERSON: two entities, and the canonical
    name of "Kowalczyk" was "Kowalczyk"."""
    text = (
        "The plan is sound in the opinion of Anna Kowalczyk, an associate professor at "
        "Marrow Bay University. The costs will fall, according to Kowalczyk."
    )
    raw = [
        _find(text, "Anna Kowalczyk", "FAC"),
        _find(text, "Marrow Bay University", "ORG"),
        _find(text, "Kowalczyk", "PERSON", nth=1),
    ]
    got = {(m.text, m.canonical, m.label) for m in resolve(text, raw)}
    assert ("Anna Kowalczyk", "Anna Kowalczyk", "PERSON") in got
    assert ("Kowalczyk", "Anna Kowalczyk", "PERSON") in got
    assert ("Marrow Bay University", "Marrow Bay University", "ORG") in got


@pytest.mark.parametrize(
    ("text", "name", "label", "then"),
    [
        # the role alone makes the person: no later surname
        ("Tomas Brenner, the company's chief executive, said prices would rise.",
         "Tomas Brenner", "ORG", "PERSON"),
        # the later surname alone
        ("Ines Duarte met the council. Later Duarte said no.", "Ines Duarte", "GPE", "PERSON"),
        # an organisation or landform word, or no sign of a person: unchanged
        ("Goldman Sachs, the bank, said profits fell. Sachs shares rose.",
         "Goldman Sachs", "ORG", "ORG"),
        ("Leeds United, a club in England, won. Later United said no.",
         "Leeds United", "ORG", "ORG"),
        ("Halden Harbour opened on Monday.", "Halden Harbour", "FAC", "FAC"),
        ("Apple Park, a building in Cupertino, opened.", "Apple Park", "FAC", "FAC"),
    ],
)  # fmt: skip
def test_which_full_names_are_taken_for_people(text: str, name: str, label: str, then: str) -> None:
    raw = [_find(text, name, label)]
    if "Duarte said" in text:
        raw.append(_find(text, "Duarte", "PERSON", nth=1))
    got = {m.text: m.label for m in resolve(text, raw)}
    assert got[name] == then
