"""The stage table drives the pipeline: a stage added with one package and one row
(tests/toy_stage) runs in ``enrich file``, with its contract checked."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson
import pytest

from schemas.models import CleanedArticle, EnrichedArticle, TaggedArticle
from workers import stage_table
from workers.settings import Settings


@pytest.fixture
def toy() -> Iterator[None]:
    sys.modules.pop("tests.toy_stage", None)
    yield
    if "unlabel" in stage_table.names():
        stage_table.unregister("unlabel")
    sys.modules.pop("tests.toy_stage", None)


def test_a_plugin_s_stage_joins_the_table_between_the_stages_it_names(toy: None) -> None:
    settings = Settings(plugins="tests.toy_stage")
    assert stage_table.names() == ("clean", "tag", "unlabel", "summarize")
    assert settings.stage_list == ("clean", "tag", "unlabel", "summarize")  # all, by default
    assert stage_table.source_of("unlabel") == "tagged"
    assert stage_table.source_of("summarize") == "unlabelled"
    assert stage_table.dest_of("summarize") == "enriched"
    assert settings.topics["unlabelled"] == "articles.unlabelled"  # named as the raw topic
    assert Settings(plugins="tests.toy_stage", stages="unlabel").app_id == "enrich-unlabel"


def test_a_stage_whose_contract_does_not_fit_is_refused(toy: None) -> None:
    def run(pipeline: object, messages: object) -> list[object]:
        return []

    wrong = stage_table.StageRow(
        "mismatch",
        EnrichedArticle,
        TaggedArticle,
        "mismatched",
        (),
        "reads too much",
        run=run,
        version="1",
    )
    with pytest.raises(TypeError, match="reads EnrichedArticle, but 'tag' before it writes"):
        stage_table.register(wrong, after="tag")
    loose = stage_table.StageRow(
        "loose",
        TaggedArticle,
        CleanedArticle,
        "loosened",
        (),
        "writes too little",
        run=run,
        version="1",
    )
    with pytest.raises(TypeError, match="writes CleanedArticle, but 'summarize' after it"):
        stage_table.register(loose, after="tag")
    with pytest.raises(ValueError, match="taken"):
        stage_table.register(
            stage_table.StageRow(
                "tag", TaggedArticle, TaggedArticle, "x", (), "", run=run, version="1"
            ),
            after="tag",
        )
    unversioned = stage_table.StageRow("plain", TaggedArticle, TaggedArticle, "x", (), "", run=run)
    with pytest.raises(ValueError, match="no version"):
        stage_table.register(unversioned, after="tag")
    assert stage_table.names() == ("clean", "tag", "summarize")
    with pytest.raises(
        Exception, match=r"ENRICH_PLUGINS: plugin .tests.no_such_stage.: cannot import"
    ):
        Settings(plugins="tests.no_such_stage")


@pytest.mark.model
def test_enrich_file_runs_the_toy_stage(
    toy: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers import cli

    src = tmp_path / "in.jsonl"
    text = (
        "Chinese President Xi Jinping met Vladimir Putin in Moscow on Monday. "
        "The Russian leader said the two countries would deepen trade ties this year."
    )
    src.write_bytes(orjson.dumps({"id": "a", "title": "Xi meets Putin", "text": text}) + b"\n")
    outputs = {}
    for plugins in ("", "tests.toy_stage"):
        monkeypatch.setenv("ENRICH_PLUGINS", plugins)
        out = tmp_path / f"out-{bool(plugins)}.jsonl"
        assert cli.main(["file", str(src), "-o", str(out)]) == 0
        outputs[bool(plugins)] = orjson.loads(out.read_bytes())
    without, with_toy = outputs[False], outputs[True]
    assert {"NORP"} <= {m["label"] for m in without["entities"]}  # "Chinese", "Russian"
    assert "NORP" not in {m["label"] for m in with_toy["entities"]}
    assert "NORP" not in {e["label"] for e in with_toy["entity_list"]}  # summarize read its output
    kept = [m for m in without["entities"] if m["label"] != "NORP"]
    assert with_toy["entities"] == kept
    # its provenance entry, in pipeline order, from its row (it writes none itself)
    assert list(with_toy["pipeline"]) == ["clean", "tag", "unlabel", "summarize"]
    assert with_toy["pipeline"]["unlabel"]["version"] == "0.1.0"
    assert list(without["pipeline"]) == ["clean", "tag", "summarize"]
    # in processes of its own: each loads the plugin (settings reach it unpickled)
    monkeypatch.setenv("ENRICH_BATCH_SIZE", "1")
    src.write_bytes(src.read_bytes() * 2)
    out = tmp_path / "out-processes.jsonl"
    assert cli.main(["file", str(src), "-o", str(out), "--processes", "2"]) == 0
    for line in out.read_bytes().splitlines():
        assert orjson.loads(line)["entities"] == kept


@pytest.mark.parametrize("fault", ["raises", "miscounts", "not-outcomes", "exits"])
def test_a_plugin_s_batch_that_breaks_the_rules_is_dead_lettered_not_fatal(fault: str) -> None:
    """A plugin's run that raises, gives the wrong number of outcomes or something
    else than outcomes, or calls sys.exit, costs its batch (dead-lettered as
    stage_failed), not the run: ``enrich file`` goes on (it crashed with an
    AttributeError, or ended silently with the plugin's exit code)."""
    from tests.conftest import blank_tagger
    from workers.pipeline import Dead, Forward, Message, Pipeline

    def run(pipeline: object, messages: Sequence[object]) -> list[object]:
        if fault == "raises":
            raise RuntimeError("a bug in the plugin")
        if fault == "not-outcomes":
            return list(messages)
        if fault == "exits":
            sys.exit(3)
        return []

    row = stage_table.StageRow(
        "broken", TaggedArticle, TaggedArticle, "broke", (), "", run=run, version="1"
    )
    stage_table.register(row, after="tag")
    try:
        pipeline = Pipeline(Settings(batch_size=2), blank_tagger())
        text = "The harbour council met on Monday. It agreed a plan for the ferry terminal."
        raw = [orjson.dumps({"id": f"a{n}", "text": text}) for n in range(3)]
        outcomes = list(pipeline.run(Message("in", 0, n, None, v) for n, v in enumerate(raw)))
    finally:
        stage_table.unregister("broken")
    assert len(outcomes) == 3 and not any(isinstance(o, Forward) for o in outcomes)
    for n, out in enumerate(outcomes):
        assert isinstance(out, Dead)
        assert (out.record.stage, out.record.code, out.record.id) == (
            "broken",
            "stage_failed",
            f"a{n}",
        )
        expected = {
            "raises": "a bug in the plugin",
            "miscounts": "gave 0 outcomes for",
            "not-outcomes": "gave a Message, not an outcome",
            "exits": "SystemExit: 3",
        }[fault]
        assert expected in out.record.message


BAD_PLUGINS = {
    "raises": ("raise RuntimeError('no config for me')\n", "failed to load: RuntimeError"),
    "syntax": ("def broken(:\n", "syntax error at"),
    "exits": ("import sys\nsys.exit(3)\n", "exited (3) while loading"),
    "contract": (
        "from schemas.models import CleanedArticle\n"
        "from workers import stage_table\n"
        "stage_table.register(stage_table.StageRow('loose', CleanedArticle, CleanedArticle,"
        " 'loose', (), '', run=lambda p, m: [], version='1'), after='tag')\n",
        "failed to load: TypeError: stage 'loose' writes CleanedArticle",
    ),
    "after": (
        "from schemas.models import TaggedArticle\n"
        "from workers import stage_table\n"
        "stage_table.register(stage_table.StageRow('late', TaggedArticle, TaggedArticle,"
        " 'late', (), '', run=lambda p, m: [], version='1'), after='tagg')\n",
        "after='tagg', which is no stage; the stages are clean,tag,summarize",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_PLUGINS))
def test_a_plugin_that_cannot_load_is_one_line_naming_it(
    kind: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each of these exited 1 with a traceback (or 3, silently)."""
    from workers import cli

    source, needle = BAD_PLUGINS[kind]
    module = f"bad_plugin_{kind}"
    (tmp_path / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("ENRICH_PLUGINS", module)
    try:
        assert cli.main(["config"]) == 78
    finally:
        sys.modules.pop(module, None)
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"enrich: invalid settings: ENRICH_PLUGINS: plugin {module!r}")
    assert needle in err and "\n" not in err
    assert stage_table.names() == ("clean", "tag", "summarize")
