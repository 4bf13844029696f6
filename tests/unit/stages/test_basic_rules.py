"""The entity rules that hold in any language (French's, in these examples)."""

from __future__ import annotations

from workers.stages.tag import basic
from workers.stages.tag.names import RawMention
from workers.stages.tag.places import Places


def _french() -> basic.Vocabulary:
    vocabulary = basic.Vocabulary.of("fr")
    assert vocabulary is not None
    return vocabulary


FR = _french()


def spans(text: str, *found: tuple[str, str]) -> list[RawMention]:
    """The model's mentions: each surface's first occurrence, with its label."""
    return [RawMention(text.index(s), text.index(s) + len(s), label) for s, label in found]


def test_trim_drops_edge_punctuation_and_a_leading_article() -> None:
    text = "selon « la Banque de France », hier"
    start = text.index("«")
    span = basic.trim(text, start, text.index("»") + 1, FR.articles)
    assert span is not None and text[slice(*span)] == "Banque de France"
    text = "à l'Élysée"
    span = basic.trim(text, 2, len(text), FR.articles)
    assert span is not None and text[slice(*span)] == "Élysée"
    assert basic.trim("« »", 0, 3, FR.articles) is None


def test_a_name_does_not_end_in_a_function_word_but_keeps_lower_case_words_inside() -> None:
    text = "le tribunal de Bobigny"
    assert text[3 : basic.tail_cut(text, 3, 15, FR.function_words)] == "tribunal"
    text = "Organisation mondiale de la santé"
    assert basic.tail_cut(text, 0, len(text), FR.function_words) == len(text)


def test_titles_before_a_person_are_not_the_name() -> None:
    text = "Maître Éric Dupond-Moretti"
    assert text[basic.title_cut(text, 0, len(text), FR.titles) :] == "Éric Dupond-Moretti"
    text = "M. Macron"
    assert text[basic.title_cut(text, 0, len(text), FR.titles) :] == "Macron"
    assert basic.title_cut("Président", 0, 9, FR.titles) == 0  # nothing would be left
    assert basic.only_titles("Premier ministre", FR.titles)
    assert not basic.only_titles("Premier Bank", FR.titles)


def test_labels_are_named_as_english_and_short_names_take_the_full_one() -> None:
    text = (
        "Le président Emmanuel Macron a reçu Luca de Meo à Paris. M. Macron a salué "
        "le projet de M. de Meo dans le Nord."
    )
    found = spans(
        text,
        ("président Emmanuel Macron", "PER"),
        ("Luca de Meo", "PER"),
        ("Paris", "LOC"),
        ("M. Macron", "PER"),
        ("Meo dans", "ORG"),  # a surname the model took for an organisation
        ("Nord", "LOC"),
    )
    known = Places(names=frozenset({"Paris"}), large=frozenset())
    out = basic.resolve(text, found, FR, places=known)
    assert [(m.text, m.label, m.canonical) for m in out] == [
        ("Emmanuel Macron", "PERSON", "Emmanuel Macron"),
        ("Luca de Meo", "PERSON", "Luca de Meo"),
        ("Paris", "GPE", "Paris"),  # a place the gazetteer knows: a city or a country
        ("Macron", "PERSON", "Emmanuel Macron"),
        ("Meo", "PERSON", "Luca de Meo"),
        ("Nord", "LOC", "Nord"),
    ]
    for m in out:
        assert text[m.start : m.end] == m.text


def test_a_language_without_a_lexicon_keeps_the_model_s_labels() -> None:
    assert basic.Vocabulary.of("xx") is None
    empty = basic.Vocabulary(frozenset(), (), {})
    text = "Ana Lima visitou Lisboa."
    out = basic.resolve(text, spans(text, ("Ana Lima", "PER"), ("Lisboa", "LOC")), empty)
    assert [(m.text, m.label) for m in out] == [("Ana Lima", "PER"), ("Lisboa", "LOC")]
