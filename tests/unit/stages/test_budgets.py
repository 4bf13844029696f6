"""Per-article budgets: a hostile article costs a bounded, linear amount.

Costs are checked by counting work (strings kept, spaCy calls, comparisons)
rather than by timing, so that a busy machine cannot fail them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import blank_tagger
from tests.generators import many_names, new_vocabulary_article
from tests.unit.stages.test_tag import NOW, _article
from workers.pipeline import Message, Pipeline
from workers.settings import Settings
from workers.stages.summarize.keywords import _NameParts
from workers.stages.tag import Tagger, entities, weight


def test_text_past_the_budget_gets_sentences_but_no_entities() -> None:
    tagger = blank_tagger(max_chars=1000)
    para = "Xi Jinping met Vladimir Putin in Moscow. " * 5
    text = "\n\n".join([para.strip()] * 20)
    out = tagger.tag_batch([_article(text)], now=NOW)[0]
    cut = out.tagging.truncated_at
    assert cut is not None and 500 < cut <= 1000
    assert text[:cut].endswith("\n\n")  # cut at a paragraph break
    assert out.entities and all(m.end <= cut for m in out.entities)
    assert out.sentences[-1].end == len(text)  # the rest still has its sentences
    assert all(text[s.start : s.end].endswith(".") for s in out.sentences)
    assert out.pipeline["tag"].model is not None


def test_text_within_the_budget_is_not_marked() -> None:
    out = blank_tagger(max_chars=1000).tag_batch([_article("Putin in Moscow.")], now=NOW)[0]
    assert out.tagging.truncated_at is None


def test_a_text_dense_in_tokens_is_cut_at_the_token_budget() -> None:
    # a paragraph of punctuation has a token for every two characters, five times
    # prose's: the character budget alone would let it cost five times as much
    para = "Putin in Moscow. " + "! " * 40
    text = "\n\n".join([para.strip()] * 50)
    tagger = blank_tagger(max_chars=100_000, max_tokens=1000)
    out = tagger.tag_batch([_article(text)], now=NOW)[0]
    cut = out.tagging.truncated_at
    assert cut is not None and text[:cut].endswith("\n\n")  # at a paragraph break
    tokens = len(tagger.nlp.tokenizer(text[:cut]))
    assert 750 < tokens <= 1000
    assert out.entities and all(m.end <= cut for m in out.entities)
    assert out.sentences[-1].end == len(text)
    # prose within both budgets is tagged whole
    prose = "\n\n".join(["Xi Jinping met Vladimir Putin in Moscow on Monday."] * 50)
    assert tagger.tag_batch([_article(prose)], now=NOW)[0].tagging.truncated_at is None


class _Recording:
    """Wraps nlp.pipe to record the texts of each call."""

    def __init__(self, tagger: Tagger) -> None:
        self.calls: list[list[str]] = []
        self.pipe = tagger.nlp.pipe

        def pipe(texts: Any, **kwargs: Any) -> Any:
            batch = list(texts)
            self.calls.append(batch)
            return self.pipe(batch, **kwargs)

        tagger.nlp.pipe = pipe  # type: ignore[method-assign]


def test_batches_are_bounded_by_characters_not_by_count() -> None:
    tagger = blank_tagger(chunk_chars=1000, batch_chars=3000, batch_size=64)
    seen = _Recording(tagger)
    para = "Xi Jinping met Vladimir Putin in Moscow. " * 10
    long_text = "\n\n".join([para.strip()] * 30)  # about 12,000 characters
    short = [_article("Putin in Moscow.", id=str(i)) for i in range(5)]
    tagger.tag_batch([_article(long_text), *short], now=NOW)
    assert len(seen.calls) > 1
    for call in seen.calls:
        assert len(call) == 1 or sum(map(len, call)) <= 3000
    assert sum(len(c) for c in seen.calls) == len(
        [p for c in seen.calls for p in c]
    )  # every chunk tagged once


def test_chunks_and_batches_of_text_dense_in_tokens_hold_fewer_characters() -> None:
    # memory follows tokens: a chunk of one-letter words has twice prose's tokens for
    # its length, so it holds half the characters (at most chunk_chars / 4 tokens)
    tagger = blank_tagger(chunk_chars=4000, batch_chars=8000, batch_size=64)
    seen = _Recording(tagger)
    para = "Xi Jinping met Vladimir Putin in Moscow. " + "a - " * 100
    dense = "\n\n".join([para.strip()] * 20)  # about 8,800 characters, 4,400 tokens
    out = tagger.tag_batch([_article(dense)], now=NOW)[0]
    chunks = [text for call in seen.calls for text in call]
    assert "".join(chunks) == dense  # in order, each once
    assert all(len(tagger.nlp.make_doc(text)) <= 1000 for text in chunks)
    assert len(chunks) >= 5  # where 4,000 characters would make 3
    for call in seen.calls:
        assert len(call) == 1 or sum(weight(text) for text in call) <= 8000
    assert len(out.entities) == 3 * 20
    assert weight("Xi Jinping met Vladimir Putin in Moscow.") == 40  # prose: its length


def test_vocabulary_stays_flat_over_new_words() -> None:
    """spaCy keeps every string it sees unless tagging runs in a memory zone; past the
    growth allowed (here 2,000 strings, reached in the first 50 articles), every
    batch runs in one."""
    tagger = blank_tagger(vocab_growth=2000)
    pipeline = Pipeline(Settings(), tagger)

    def run(first: int, last: int) -> None:
        list(
            pipeline.run(
                Message("t", 0, i, None, new_vocabulary_article(i)) for i in range(first, last)
            )
        )

    run(0, 50)
    before = len(tagger.nlp.vocab.strings)
    assert before >= tagger.zone_from  # the growth allowed is used up
    run(50, 650)  # 600 articles, 39,000 words never seen before
    assert len(tagger.nlp.vocab.strings) == before


def test_common_words_are_split_once_before_zones_begin() -> None:
    """In a memory zone spaCy's tokenizer caches nothing: with a zone around every
    batch, each word was split again in every batch."""
    text = "The council met on Monday, and agreed the plan (in full). " * 20

    def affix_searches(vocab_growth: int) -> tuple[int, int]:
        tagger = blank_tagger(vocab_growth=vocab_growth)
        tokenizer: Any = tagger.nlp.tokenizer
        search = tokenizer.suffix_search
        calls = [0]

        def counted(word: str) -> Any:
            calls[0] += 1
            return search(word)

        tokenizer.suffix_search = counted
        tagger.tag_batch([_article(text)], now=NOW)
        first = calls[0]
        tagger.tag_batch([_article(text)], now=NOW)
        return first, calls[0] - first

    first, again = affix_searches(vocab_growth=10**9)  # the first phase: outside zones
    assert first > 0 and again == 0  # split once, then found in the cache
    first, again = affix_searches(vocab_growth=0)  # zones from the start
    assert again > 0  # split again: what every batch paid before


class _CountingTokens:
    """Counts calls of entities.name_words, the unit of work of name matching."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = entities.name_words

        def counted(name: str) -> list[str]:
            self.calls += 1
            return real(name)

        monkeypatch.setattr(entities, "name_words", counted)


def test_person_names_resolve_in_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def work(count: int) -> int:
        names = many_names(count).split("\n", 2)[2].replace(" and ", ", ")
        people = [
            n.strip()
            for line in names.splitlines()
            for n in line.removesuffix(" in the city hall on Tuesday.")
            .replace(" met ", ", ")
            .split(",")
        ]
        people += [p.split()[-1] for p in people]  # and each one's surname alone
        counter = _CountingTokens(monkeypatch)
        mapping = entities.person_canonical(people)
        assert all(mapping[p.split()[-1]] != p.split()[-1] for p in people if " " in p)
        return counter.calls

    small, large = work(1000), work(4000)
    assert large <= 4.5 * small  # linear: 4x the names, about 4x the work


@pytest.mark.timeout(60)
def test_a_person_name_thousands_of_words_long_resolves_in_linear_work() -> None:
    # a page of initials ("A. A. A. ...") that the model reads as one person: every
    # head and tail of it was indexed, each a copy, in work that grew with its square
    initials = " ".join(["A."] * 50_000)
    names = [initials, "Xi Jinping", "Xi", "A."]
    mapping = entities.person_canonical(names)
    assert mapping["Xi"] == "Xi Jinping"
    assert mapping[initials] == initials
    assert mapping["A."] == initials  # still a head of the longest name


def test_keyword_name_check_does_not_grow_with_the_entity_count() -> None:
    names = [tuple(f"name{i} surname{i}".split()) for i in range(20_000)]
    parts = _NameParts(names)
    assert parts(("director", "name7"))  # holds part of a name
    assert not parts(("name7", "surname7"))  # the whole name
    assert not parts(("harbour", "front"))  # no name at all
    # the same answers as comparing with every name
    for key in [
        ("director", "name7"),
        ("name7", "surname7"),
        ("harbour",),
        ("surname3", "name3", "port"),
    ]:
        slow = any(bool(set(key) & set(n)) and not set(n) <= set(key) for n in names)
        assert parts(key) == slow


def test_an_output_over_the_limit_is_dead_lettered_not_published() -> None:
    settings = Settings(max_record_bytes=64 * 1024)
    pipeline = Pipeline(settings, blank_tagger())
    dense = "The Shanghai Cooperation Organization (SCO) met.\n\n" + "SCO met. " * 2500
    import orjson

    [out] = list(
        pipeline.run(
            [Message("raw", 0, 7, b"d", orjson.dumps({"id": "d", "text": dense, "language": "en"}))]
        )
    )
    assert 2 * len(dense) < settings.max_record_bytes  # the input passed the clean stage
    record = out.record
    assert record.code == "too_large" and record.stage == "tag"  # type: ignore[attr-defined]
    assert "output is" in record.message  # type: ignore[attr-defined]
    assert record.original.value  # type: ignore[attr-defined]  # the original is kept


def test_clean_stage_refuses_what_the_last_stage_could_not_publish() -> None:
    import orjson

    settings = Settings(max_record_bytes=64 * 1024)
    text = "The council met on Tuesday and agreed a plan for the port. " * 600  # ~36 KB
    [out] = list(
        Pipeline(settings, blank_tagger()).run(
            [Message("raw", 0, 0, None, orjson.dumps({"id": "long", "text": text}))]
        )
    )
    assert out.record.code == "too_large"  # type: ignore[attr-defined]
    assert out.record.stage == "clean"  # type: ignore[attr-defined]


def test_glued_sentence_openers_are_checked_in_linear_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workers.stages.tag import sentences as tag

    real = tag._words_before
    read = [0]

    def counted(text: str, start: int, end: int) -> list[str]:
        words = real(text, start, end)
        read[0] += sum(len(w) + 1 for w in words)
        return words

    monkeypatch.setattr(tag, "_words_before", counted)

    def work(repeats: int) -> int:
        read[0] = 0
        line = "Xx Yy zz The ww " * repeats  # every opener rejected: a title-case run
        assert len(tag.rule_sentences(line)) == 1
        return read[0]

    small, large = work(2000), work(8000)
    assert large <= 4.5 * small  # linear: 4x the line, about 4x the words looked at
