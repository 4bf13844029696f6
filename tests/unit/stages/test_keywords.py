"""Key phrases: entities first, then recurring content phrases; never stop words."""

from __future__ import annotations

from workers.stages.summarize.keywords import keywords, stop_words

TEXT = (
    "The Port of Halden opened a solar-powered ferry terminal on Saturday. "
    "The solar-powered ferry terminal can charge two electric ferries at once, "
    "the harbour authority said. Electric ferries will cross the fjord every hour.\n"
    "The harbour authority expects the terminal to cut emissions by a third. "
    "Local fishermen welcomed the quieter electric ferries, though some worried "
    "about parking near the new ferry terminal."
)


def test_five_to_ten_phrases_entities_first() -> None:
    got = keywords(
        TEXT,
        title="Halden opens solar-powered ferry terminal",
        entities=["Port of Halden", "Halden"],
    )
    assert 5 <= len(got) <= 10
    assert got[0] == "Port of Halden"
    assert "Halden" not in got[1:]  # overlaps a name already chosen
    lowered = [k.lower() for k in got]
    assert any("ferry terminal" in k for k in lowered)
    assert any("electric ferries" in k for k in lowered)
    assert any("harbour authority" in k for k in lowered)


def test_no_stop_words_alone_and_no_near_duplicates() -> None:
    got = keywords(TEXT)
    stops = stop_words("en")
    for phrase in got:
        words = phrase.lower().split()
        assert words[0] not in stops and words[-1] not in stops
    for i, a in enumerate(got):
        for b in got[i + 1 :]:
            assert not set(a.lower().split()) <= set(b.lower().split())


def test_limit_and_empty_text() -> None:
    assert len(keywords(TEXT, limit=5)) == 5
    assert keywords("") == []
    assert keywords("the and of") == []


def test_other_languages_use_their_stop_words() -> None:
    text = (
        "Der Hafen von Halden hat ein neues Fährterminal eröffnet. Das neue "
        "Fährterminal lädt zwei Fähren zugleich. Die Fähren fahren jede Stunde."
    )
    got = [k.lower() for k in keywords(text, language="de")]
    assert any("fährterminal" in k for k in got)
    assert not any(k in {"der", "das", "die", "von"} for k in got)
