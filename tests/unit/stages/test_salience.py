"""The entity list: one row per canonical entity, ranked by salience."""

from __future__ import annotations

from schemas import Mention, Sentence
from workers.stages.summarize.salience import TITLE_CHARS, entity_list

TEXT = (
    "Xi Jinping met Vladimir Putin in Moscow. Xi praised the talks. "
    "Later, Xi flew home while Putin stayed. A Kremlin aide spoke to reporters."
)


def _m(surface: str, canonical: str, label: str, nth: int = 0) -> Mention:
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(surface, start + 1)
    return Mention(
        text=surface, label=label, start=start, end=start + len(surface), canonical=canonical
    )


MENTIONS = [
    _m("Xi Jinping", "Xi Jinping", "PERSON"),
    _m("Vladimir Putin", "Vladimir Putin", "PERSON"),
    _m("Moscow", "Moscow", "GPE"),
    _m("Xi", "Xi Jinping", "PERSON", 1),
    _m("Xi", "Xi Jinping", "PERSON", 2),
    _m("Putin", "Vladimir Putin", "PERSON", 1),
    _m("Kremlin", "Kremlin", "ORG"),
]


def test_one_row_per_canonical_entity_with_counts_and_first_offset() -> None:
    rows = {e.name: e for e in entity_list(TEXT, MENTIONS)}
    assert set(rows) == {"Xi Jinping", "Vladimir Putin", "Moscow", "Kremlin"}
    assert (rows["Xi Jinping"].mentions, rows["Xi Jinping"].first_offset) == (3, 0)
    assert (rows["Vladimir Putin"].mentions, rows["Vladimir Putin"].label) == (2, "PERSON")
    assert all(0.0 <= e.salience <= 1.0 for e in rows.values())


def test_sorted_by_salience_frequency_and_position_first() -> None:
    names = [e.name for e in entity_list(TEXT, MENTIONS)]
    assert names == ["Xi Jinping", "Vladimir Putin", "Moscow", "Kremlin"]


def test_title_and_summary_raise_salience() -> None:
    plain = {e.name: e.salience for e in entity_list(TEXT, MENTIONS)}
    kremlin_sentence = Sentence(start=TEXT.index("A Kremlin"), end=len(TEXT))
    boosted = {
        e.name: e.salience
        for e in entity_list(
            TEXT, MENTIONS, title="Kremlin hosts talks", summary=[kremlin_sentence]
        )
    }
    assert boosted["Kremlin"] > plain["Kremlin"] + 0.3
    assert boosted["Xi Jinping"] == plain["Xi Jinping"]


def test_only_a_titles_first_characters_are_read_for_names() -> None:
    # a "title" of a megabyte was searched once for each name of each entity
    plain = {e.name: e.salience for e in entity_list(TEXT, MENTIONS)}
    long_title = "Moscow talks " + "x " * TITLE_CHARS + "Kremlin"
    read = {e.name: e.salience for e in entity_list(TEXT, MENTIONS, title=long_title)}
    assert read["Moscow"] > plain["Moscow"] + 0.1
    assert read["Kremlin"] == plain["Kremlin"]


def test_no_entities() -> None:
    assert entity_list(TEXT, []) == []
