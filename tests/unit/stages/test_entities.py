"""Entity rules on hand-built mentions: no model involved."""

from __future__ import annotations

from workers.stages.tag.entities import RawMention, resolve, strip_titles, trim


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
    assert [m.canonical for m in mentions] == ["Shanghai Cooperation Organization"] * 2


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
