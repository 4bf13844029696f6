"""The tag stage's vocabularies as data (workers.stages.tag.lexicon)."""

from __future__ import annotations

import re

from workers.stages.tag.lexicon import en, words


def test_words_escape_each_word_and_let_a_space_be_any_whitespace() -> None:
    pattern = re.compile(rf"^(?:{words(['vs.', 'drew with', 'co-founder', '&'])})$")
    assert pattern.match("vs.") and not pattern.match("vsx")
    assert pattern.match("drew  with") and pattern.match("drew\nwith")
    assert pattern.match("co-founder") and pattern.match("&")
    assert not pattern.match("drewwith")


def test_the_english_lexicon_holds_plain_words_only() -> None:
    """Vocabularies are data: no pattern syntax hides in them (a new language's module
    is written by someone who need not read the rules)."""
    for name, value in vars(en).items():
        if name.isupper():
            for word in [value] if isinstance(value, str) else value:
                assert re.fullmatch(r"[\w&.'’ -]+", word), (name, word)
