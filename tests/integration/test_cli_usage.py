"""The installed ``enrich`` command as a person uses it: errors are one clear line with
a documented exit code, never a traceback; pipes, standard input and directories work."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.integration.conftest import Stack
from workers.errors import ExitCode
from workers.inputs import sample_path

pytestmark = pytest.mark.integration

ENRICH = str(Path(sys.executable).parent / "enrich")
NO_BROKER = {"ENRICH_BROKER": "127.0.0.1:1", "ENRICH_BROKER_WAIT_S": "1"}


def enrich(
    *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ENRICH_")}
    return subprocess.run(
        [ENRICH, *args],
        env=base | (env or {}),
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


BAD_ARGUMENTS = [
    ["demo", "--timeout", "soon"],
    ["demo", "--input", "/no/such.jsonl"],
    ["config", "--bogus"],
    ["--log-level", "debg", "config"],
    ["config", "--log-level", "loud"],
    ["broker", "--port", "ninety"],
    ["broker", "--advertise", "kafka:port"],
    ["topics"],
    ["topics", "create", "--partitions", "many"],
    ["topics", "create"],
    ["check", "--timeout", "x"],
    ["check"],
    ["health"],
    ["health", "--timeout", "x"],
    ["worker", "--stages", "paint"],
    ["worker", "--batch-size", "-1"],
    ["worker"],
    ["produce"],
    ["produce", "/no/such.jsonl"],
    ["produce", str(sample_path())],
    ["tail", "--limit", "x"],
    ["tail", "--topic", "articles.nope"],
    ["dlq"],
    ["dlq", "list", "--code", "nope"],
    ["dlq", "list", "--since", "last week"],
    ["dlq", "replay", "--stage", "paint"],
    ["dlq", "replay"],
    ["file"],
    ["file", "/no/such.jsonl"],
    ["file", str(sample_path()), "--processes", "0"],
    ["nonsense"],
    ["watch", "--port", "99999"],
    ["watch", "--recent", "-1"],
]


@pytest.mark.parametrize("args", BAD_ARGUMENTS, ids=" ".join)
def test_no_command_prints_a_traceback(args: list[str]) -> None:
    out = enrich(*args, env=NO_BROKER)
    err = out.stderr.decode()
    assert out.returncode != 0, err
    assert "Traceback" not in err and "Traceback" not in out.stdout.decode(), err
    assert err.strip(), "a failure says why"


def test_errors_have_their_documented_codes(tmp_path: Path) -> None:
    assert enrich("--log-level", "debg", "config").returncode == ExitCode.CONFIG
    assert enrich("file", "/no/such.jsonl").returncode == ExitCode.NO_INPUT
    assert enrich("file", str(tmp_path)).returncode == ExitCode.NO_INPUT  # no article files
    assert enrich("tail", env=NO_BROKER).returncode == ExitCode.BROKER_UNAVAILABLE
    assert enrich("dlq", "list", "--code", "nope").returncode == 2  # a usage error
    # a worker whose model is not installed says so before it waits for any broker
    missing = enrich("worker", env=NO_BROKER | {"ENRICH_MODEL": "no_such_model"})
    assert missing.returncode == ExitCode.CONFIG
    assert "not installed" in missing.stderr.decode()
    bad = enrich("--log-level", "debg", "config").stderr.decode().strip()
    assert bad.startswith("enrich: invalid settings: ENRICH_LOG_LEVEL") and "\n" not in bad


def test_a_worker_whose_http_port_is_taken_fails_at_once_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [ENRICH, "worker"],
            env={**os.environ, **NO_BROKER, "ENRICH_HTTP_PORT": str(port)},
            capture_output=True,
            timeout=120,
            check=False,
        )
    err = proc.stderr.decode()
    assert proc.returncode == ExitCode.CONFIG, err
    assert f":{port} is already in use" in err
    assert "Traceback" not in err and "worker ready" not in err


def test_watch_with_its_port_taken_or_out_of_range_fails_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = enrich("watch", "--port", str(port), env=NO_BROKER)
    err = proc.stderr.decode()
    assert proc.returncode == ExitCode.CONFIG, err
    assert f"cannot serve on 127.0.0.1:{port}" in err and err.count("\n") == 1, err
    for args in (["--port", "99999"], ["--recent", "-1"], ["--recent", "5000"]):
        bad = enrich("watch", *args, env=NO_BROKER)
        assert bad.returncode == ExitCode.CONFIG and bad.stderr.decode().count("\n") == 1


def test_waiting_for_the_broker_is_said_at_once() -> None:
    proc = subprocess.Popen(
        [ENRICH, "tail"],
        env={**os.environ, **NO_BROKER, "ENRICH_BROKER_WAIT_S": "20"},
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline().decode()  # before the 20 s are up
        assert "waiting for broker 127.0.0.1:1, up to 20 s" in first
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.mark.model
def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    from tests.integration.helpers import articles

    src = tmp_path / "in.jsonl"  # far more output than a pipe holds
    src.write_bytes(b"\n".join(v for _, v in articles(200)) + b"\n")
    shell = f"{ENRICH} file {src} --processes 1 | head -n 1; {ENRICH} config | head -n 1"
    out = subprocess.run(["bash", "-c", shell], capture_output=True, timeout=180, check=False)
    assert b"Traceback" not in out.stderr and b"BrokenPipe" not in out.stderr, out.stderr
    first, config = out.stdout.splitlines()
    assert orjson.loads(first)["id"] == "a-00000" and config.startswith(b"ENRICH_")


def test_every_command_has_a_summary_and_an_example() -> None:
    for command in (
        ["demo"],
        ["config"],
        ["broker"],
        ["topics", "create"],
        ["check"],
        ["health"],
        ["worker"],
        ["produce"],
        ["tail"],
        ["dlq", "list"],
        ["dlq", "replay"],
        ["file"],
    ):
        text = enrich(*command, "--help").stdout.decode()
        assert "examples:\n  " in text and "enrich " in text.split("examples:")[1], command
    codes = enrich("dlq", "list", "--help").stdout.decode()
    assert "invalid_json" in codes and "too_large" in codes


@pytest.mark.model
def test_file_reads_stdin_directories_and_gzip_in_input_order(tmp_path: Path) -> None:
    samples = sample_path().read_bytes()
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "b.jsonl.gz").write_bytes(gzip.compress(samples))
    (pages / "a.html").write_bytes((sample_path().parent / "harbour-page.html").read_bytes())
    (pages / "notes.md").write_text("not an article file")
    out = enrich("file", "-", str(pages), "--processes", "1", stdin=samples)
    assert out.returncode == 0, out.stderr.decode()
    records = [orjson.loads(line) for line in out.stdout.splitlines()]
    ids = [r["id"] for r in records]
    sample_ids = [
        "sample-halden-terminal",
        "sample-halden-terminal-wire",
        "sample-marrow-bay-buses",
        "sample-library-reopens",
    ]
    assert ids[:4] == sample_ids and ids[5:] == sample_ids  # stdin, a.html, then b.jsonl.gz
    assert b"9 enriched, 0 dead-lettered" in out.stderr
    # dead letters only where asked, each once and not as a log line
    bad = enrich("file", "-", "--fail-on-dead-letter", stdin=b'{"id": "a4", "text": 7}\n')
    assert bad.returncode == ExitCode.ERROR
    [dead] = [orjson.loads(line) for line in bad.stderr.splitlines() if line.startswith(b"{")]
    assert (dead["code"], dead["id"]) == ("invalid_field", "a4")
    assert bad.stderr.count(b"invalid_field") == 1


@pytest.mark.model
def test_processes_give_the_same_records_in_the_same_order(tmp_path: Path) -> None:
    from tests.integration.helpers import articles, without_timestamps

    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(v for _, v in articles(150)) + b"\n{broken\n")
    one = enrich("file", str(src), "--processes", "1", "--dlq", str(tmp_path / "d1"))
    two = enrich("file", str(src), "--processes", "2", "--dlq", str(tmp_path / "d2"))
    assert one.returncode == two.returncode == 0, two.stderr.decode()
    first = [without_timestamps(orjson.loads(x)) for x in one.stdout.splitlines()]
    second = [without_timestamps(orjson.loads(x)) for x in two.stdout.splitlines()]
    assert len(first) == 150 and first == second
    assert (tmp_path / "d1").read_bytes().count(b"\n") == 1
    assert (tmp_path / "d2").read_bytes().count(b"\n") == 1


async def test_broker_commands_with_options_after_the_command(stack: Stack) -> None:
    env = {k: v for k, v in stack.env.items() if k != "ENRICH_BROKER"}
    broker = stack.settings.broker
    missing = enrich("tail", "--broker", broker, "--topic", "articles.nope", env=env)
    assert missing.returncode == ExitCode.NO_INPUT
    err = missing.stderr.decode()
    assert "topic 'articles.nope' does not exist" in err and stack.settings.topic_raw in err
    assert "Traceback" not in err
    produced = enrich("produce", "-", "--broker", broker, env=env, stdin=sample_path().read_bytes())
    assert produced.returncode == 0, produced.stderr.decode()
    stack.start_worker()
    pretty = enrich(
        "tail",
        "--pretty",
        "--from-beginning",
        "--limit",
        "3",
        "--timeout",
        "120",
        "--broker",
        broker,
        env=env,
        timeout=300,
    )
    assert pretty.returncode == 0, pretty.stderr.decode()
    text = pretty.stdout.decode()
    assert "■ Port of Halden opens solar-powered ferry terminal" in text
    assert text.count("  summary: ") == 3 and "  entities: " in text
