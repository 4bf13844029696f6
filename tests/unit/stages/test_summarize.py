from __future__ import annotations

from schemas import Sentence
from workers.stages.summarize import select, word_count
from workers.stages.tag import rule_sentences


def _sents(text: str) -> list[Sentence]:
    return rule_sentences(text)


TEXT = ("BREAKING NEWS\nThe council approved the budget on Monday after a long debate. "
        "It includes money for three new schools in the north. Critics objected. "
        "The mayor said more would come next year if revenues rise.")


def test_up_to_three_whole_sentences_in_order_skipping_headings() -> None:
    out = select(TEXT, _sents(TEXT), count=3)
    assert out == ("The council approved the budget on Monday after a long debate. "
                   "It includes money for three new schools in the north. "
                   "The mayor said more would come next year if revenues rise.")


def test_count_and_character_budget() -> None:
    assert select(TEXT, _sents(TEXT), count=1).count(".") == 1
    out = select(TEXT, _sents(TEXT), count=3, max_chars=100)
    assert out == "The council approved the budget on Monday after a long debate."


def test_one_sentence_article_and_never_empty() -> None:
    assert select("Markets closed higher.", _sents("Markets closed higher."), count=3) == \
        "Markets closed higher."
    assert select("SHORT HEADLINE", _sents("SHORT HEADLINE"), count=3) == "SHORT HEADLINE"
    long = "A " * 200 + "end."
    assert select(long, _sents(long), count=3, max_chars=10) == long.strip()


def test_word_count() -> None:
    assert word_count("It's 3 o'clock, in Zürich.") == 7
