"""The story rules: band answers, decisions, and the in-memory index that runs them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import orjson

from workers.stories import minhash
from workers.stories.state import (
    Answer,
    Bucket,
    Decision,
    StoryIndex,
    answer,
    decide,
    expired,
    grouped,
    represented,
)

STORY = (
    "The Port of Halden on Tuesday opened what it calls the first ferry terminal in "
    "northern Europe to run entirely on solar power, after two years of construction. "
    "Harbour director Maria Lindqvist said the roof, covered with 9,000 panels, would "
    "produce more electricity than the building uses in an average year."
)
COPY = "Share this: Facebook, X. " + STORY + " Related news: ferries switch to batteries."
BANDING = minhash.banding(0.4)
OTHER = (
    "The public library in Westbrook reopened on Saturday, eight months after a flood "
    "damaged its ground floor. Volunteers dried and saved more than 4,000 books."
)


def test_the_first_article_in_a_band_represents_it_and_hears_nothing() -> None:
    sig = minhash.signature(STORY)
    reply, stored = answer(None, "00-x", "a", "t1", sig, None, BANDING)
    assert reply == Answer("00-x") and stored == Bucket("a", "t1")
    # read again (a redelivery): the same answer, and nothing to store
    assert answer(stored, "00-x", "a", "t1", sig, sig, BANDING) == (Answer("00-x"), None)


def test_a_later_article_hears_the_representative_with_their_similarity() -> None:
    rep, later = minhash.signature(STORY), minhash.signature(COPY)
    reply, stored = answer(Bucket("a", "t1", "s"), "00-x", "b", "t2", later, rep, BANDING)
    assert stored is None
    assert (reply.rep, reply.story, reply.order) == ("a", "s", "t1")
    assert reply.similarity == minhash.similarity(later, rep) > 0.5
    # and which bands the two share: those whose keys are equal
    pairs = zip(BANDING.keys(later), BANDING.keys(rep), strict=True)
    shared = [i for i, (x, y) in enumerate(pairs) if x == y]
    assert reply.shared == shared and 0 < len(shared) < BANDING.bands


def test_without_the_representatives_signature_an_article_is_not_told_it_represents() -> None:
    # a lost signature once made a copy the representative of its original's bands,
    # and so a story of its own
    sig = minhash.signature(COPY)
    reply, stored = answer(Bucket("a", "t1", "s"), "00-x", "b", "t2", sig, None, BANDING)
    assert stored is None
    assert (reply.rep, reply.story, reply.similarity) == ("a", "s", 0.0)
    assert represented([reply]) == []
    assert decide("b", "t2", [reply], 0.4) == Decision("b")


def test_decide_takes_the_most_similar_earlier_representative_and_its_story() -> None:
    answers = [
        Answer("00-x", "a", "s0", "t1", 0.5),
        Answer("01-x", "c", None, "t2", 0.8),
        Answer("02-x", "z", None, "t9", 0.95),  # seen first in its band, but later
        Answer("03-x"),
    ]
    assert decide("b", "t5", answers, 0.4) == Decision("c", "c", 0.8)
    assert decide("b", "t5", answers[:1], 0.4) == Decision("s0", "a", 0.5)
    assert decide("b", "t5", answers[:1], 0.6) == Decision("b")  # below the threshold
    assert decide("b", "t5", answers[2:], 0.4) == Decision("b")
    assert represented(answers) == ["03-x"]


def test_a_later_article_first_in_every_shared_band_is_joined() -> None:
    """After a redelivery the original can be cleaned again, so come later in "first
    seen" order than its copy, and still reach every band they share first: the copy
    hears it everywhere, and it never hears the copy. The copy joins it; passing it
    over as "later" gave each a story of its own."""
    index = StoryIndex(0.4)
    original = index.add("o", minhash.signature(STORY), order="t3")
    copy = index.add("c", minhash.signature(COPY), order="t2")
    assert original == Decision("o")
    assert copy.story_id == "o" and copy.duplicate_of == "o"


def test_two_articles_that_meet_each_other_agree_on_the_earlier() -> None:
    """Each reached first one of the bands they share: each hears the other, and
    both must pick the same one, the earlier, whatever order they decide in."""
    early = [Answer("00-k", "late", None, "t2", 0.8, [0, 1]), Answer("01-k")]
    late = [Answer("00-k"), Answer("01-k", "early", None, "t1", 0.8, [0, 1])]
    assert decide("early", "t1", early, 0.4) == Decision("early")
    assert decide("late", "t2", late, 0.4) == Decision("early", "early", 0.8)


def test_index_groups_copies_under_the_first_article_in_any_order_of_reading() -> None:
    for order in itertools.permutations([("a", STORY), ("b", COPY), ("c", OTHER)]):
        index = StoryIndex(0.4)
        got = {name: index.add(name, minhash.signature(text)) for name, text in order}
        first = next(name for name, _ in order if name in "ab")
        other = "b" if first == "a" else "a"
        assert got[first] == Decision(first)
        assert got[other].story_id == first and got[other].duplicate_of == first
        assert got["c"] == Decision("c")
        assert index.add(other, minhash.signature(COPY)) == got[other]  # read again


def test_a_copy_of_a_copy_joins_the_first_story() -> None:
    index = StoryIndex(0.4)
    index.add("a", minhash.signature(STORY))
    index.add("b", minhash.signature(COPY))
    # meets b in bands that a did not fall in: b's story is told to those bands
    third = COPY + " Updated at 10:00 with a statement from the port authority."
    assert index.add("c", minhash.signature(third)).story_id == "a"


def test_grouped_sets_story_fields_and_passes_dead_letters_through() -> None:
    records = [
        (False, orjson.dumps({"id": "a", "text": STORY})),
        (True, b'{"code": "empty_text"}'),
        (False, orjson.dumps({"id": "b", "text": COPY})),
    ]
    out = list(grouped(records, 0.4))
    assert out[1] == records[1]
    first, copy = orjson.loads(out[0][1]), orjson.loads(out[2][1])
    assert (first["story_id"], first["duplicate_of"], first["similarity"]) == ("a", None, None)
    assert (copy["story_id"], copy["duplicate_of"]) == ("a", "a")
    assert 0.4 <= copy["similarity"] <= 1


def test_an_article_expires_by_when_it_was_cleaned() -> None:
    cutoff = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    assert expired("2026-11-01T11:59:59.999Z", cutoff)
    assert not expired("2026-11-01T12:00:00.000Z", cutoff)
    assert not expired("2026-11-02T08:00:00+00:00", cutoff)
    assert expired("", cutoff) and expired("soon", cutoff)  # no time: nothing to keep it by


def test_texts_without_words_are_each_a_story_of_their_own() -> None:
    from workers.stories import minhash
    from workers.stories.state import StoryIndex

    index = StoryIndex(0.4)
    texts = ["🔥🔥🔥 💯", "★ ☆ ★ ☆ ★", "🙂", "→ ← ↑ ↓ ⇄"]
    decisions = [index.add(f"a{i}", minhash.signature(text)) for i, text in enumerate(texts)]
    assert [d.story_id for d in decisions] == ["a0", "a1", "a2", "a3"]
    assert all(d.duplicate_of is None for d in decisions)
    # an article with words still meets its copy
    words = "The harbour council met on Monday and agreed a plan for the new ferry terminal."
    assert index.add("w1", minhash.signature(words)).story_id == "w1"
    assert index.add("w2", minhash.signature(words)).duplicate_of == "w1"


def test_a_record_parked_by_the_version_before_goes_out_as_the_current_version() -> None:
    """Mid-upgrade, a summarized record a version-2 worker parked for its story is
    sent on by a version-3 worker: it goes out in version 3."""
    from pathlib import Path

    from schemas import EnrichedArticle
    from workers.stories.state import Decision, with_story

    old = (Path(__file__).parents[1] / "schemas" / "v2" / "enriched_article.json").read_bytes()
    out = orjson.loads(with_story(old, Decision("s1", None, None)))
    record = EnrichedArticle.model_validate(out)
    assert record.schema_version == 4 and record.story_id == "s1"
    assert out["pipeline"]["tag"]["model"] == orjson.loads(old)["pipeline"]["model"]
