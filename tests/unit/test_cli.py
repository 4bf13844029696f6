"""The offline `enrich file` command and one-line configuration errors."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from workers import cli
from workers.inputs import sample_path


@pytest.mark.model
def test_file_mode_splits_enriched_and_dead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENRICH_STORIES", "true")
    src = tmp_path / "in.jsonl"
    src.write_bytes(sample_path().read_bytes() + b"{broken\n" + b'{"title": "no body"}\n')
    out, dlq = tmp_path / "out.jsonl", tmp_path / "dlq.jsonl"
    assert cli.main(["file", str(src), "-o", str(out), "--dlq", str(dlq)]) == 0
    enriched = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    dead = [orjson.loads(line) for line in dlq.read_bytes().splitlines()]
    assert [(r["id"], r["story_id"], r["duplicate_of"]) for r in enriched] == [
        ("sample-halden-terminal", "sample-halden-terminal", None),
        ("sample-halden-terminal-wire", "sample-halden-terminal", "sample-halden-terminal"),
        ("sample-marrow-bay-buses", "sample-marrow-bay-buses", None),
        ("sample-library-reopens", "sample-library-reopens", None),
    ]
    assert 0.4 <= enriched[1]["similarity"] <= 1.0
    assert [(d["code"], d["source"]["offset"]) for d in dead] == [
        ("invalid_json", 5),
        ("missing_content", 6),
    ]
    assert all(d["source"]["topic"] == str(src) for d in dead)


def test_invalid_setting_exits_78_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENRICH_BATCH_SIZE", "zero")
    assert cli.main(["file", str(sample_path())]) == 78
    err = capsys.readouterr().err.strip()
    assert err.startswith("enrich: invalid settings: ENRICH_BATCH_SIZE")
    assert "\n" not in err


@pytest.mark.parametrize(
    ("variable", "value", "needle"),
    [
        ("ENRICH_MODEL", "no_such_model_package", "ENRICH_MODEL: the spaCy model"),
        ("ENRICH_MODELS", "fr:json", "ENRICH_MODELS: 'json' is not a spaCy model"),
        ("ENRICH_ENTITY_LABELS", "BOGUS", "ENRICH_ENTITY_LABELS: no model here gives BOGUS"),
    ],
)
def test_file_mode_checks_the_models_before_it_loads_them(
    variable: str,
    value: str,
    needle: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It loaded them unchecked: an OSError traceback, exit 1."""
    monkeypatch.setenv(variable, value)
    assert cli.main(["file", str(sample_path()), "--processes", "1"]) == 78
    err = capsys.readouterr().err.strip()
    assert err.startswith("enrich: ") and needle in err
    assert "\n" not in err


def test_missing_input_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for command in ("produce", "file"):
        assert cli.main([command, str(tmp_path / "nope.jsonl")]) == 66
        assert "no such file" in capsys.readouterr().err


def test_format_value_wraps_non_json() -> None:
    assert cli.format_value(b'{"a":1}') == b'{"a":1}'
    assert orjson.loads(cli.format_value(b"\xff")) == {"value": "/w==", "encoding": "base64"}
    assert cli.format_value(None) == b"null"


def test_health_probes_the_workers_http_port(capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio
    import threading

    from workers.stream.embedded.broker import free_port
    from workers.stream.ops.observe import Observer, serve

    port = free_port()
    started, stop = threading.Event(), threading.Event()

    async def run_server() -> None:
        runner = await serve(
            Observer(stages=["clean"], model=None, stall_timeout_s=60), "127.0.0.1", port
        )
        started.set()
        await asyncio.to_thread(stop.wait, 30)
        await runner.cleanup()

    thread = threading.Thread(target=asyncio.run, args=(run_server(),), daemon=True)
    thread.start()
    try:
        assert started.wait(10)
        assert cli.main(["health"]) == 1  # ENRICH_HTTP_PORT unset: nothing to probe
        assert "ENRICH_HTTP_PORT is 0" in capsys.readouterr().err
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("ENRICH_HTTP_PORT", str(port))
            assert cli.main(["health"]) == 0
            assert '"status": "ok"' in capsys.readouterr().out
            mp.setenv("ENRICH_HTTP_PORT", str(free_port()))
            assert cli.main(["health", "--timeout", "2"]) == 1
            assert "no answer from" in capsys.readouterr().err
    finally:
        stop.set()
        thread.join(10)


def test_broker_advertise_is_host_or_host_port() -> None:
    from workers.cli.broker import advertised
    from workers.errors import ConfigError

    assert advertised("kafka:9092") == ("kafka", 9092)
    assert advertised("kafka") == ("kafka", None)
    assert advertised(None) == (None, None)
    with pytest.raises(ConfigError):
        advertised("kafka:port")


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from workers.cli.records import Progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert Progress("articles").bar is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    bar = Progress("articles")
    assert bar.bar is not None
    bar.update(3)
    assert bar.bar.n == 3
    bar.close()


def test_dlq_stage_filter_notes_a_name_the_table_does_not_have(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A typo ("summarise") would match nothing and say nothing; a plugin's stage no
    longer configured may still have letters, so it is a note, not a refusal."""
    import argparse

    from workers.cli.dlq import _filters

    for stage, noted in (("summarize", False), ("summarise", True), (None, False)):
        filters = _filters(argparse.Namespace(code=None, stage=stage, since=None))
        assert filters.stage == stage
        err = capsys.readouterr().err
        assert ("no stage 'summarise' in this table (clean,tag,summarize)" in err) is noted


@pytest.mark.parametrize("where", ["below-a-file", "/proc/enrich-data"])
def test_a_worker_whose_data_directory_cannot_be_made_exits_78_before_the_broker(
    where: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It contacted the broker, then every worker exited 1 with a traceback."""
    from workers.stream.embedded.broker import free_port

    plain = tmp_path / "a-file"
    plain.write_text("not a directory")
    data_dir = plain / "data" if where == "below-a-file" else Path(where)
    monkeypatch.setenv("ENRICH_DATA_DIR", str(data_dir))
    monkeypatch.setenv("ENRICH_BROKER", f"127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("ENRICH_BROKER_WAIT_S", "30")
    assert cli.main(["worker", "--stages", "clean"]) == 78
    err = capsys.readouterr().err.strip()
    assert err.startswith("enrich: ENRICH_DATA_DIR: ") and "\n" not in err
