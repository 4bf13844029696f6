"""JSON log lines with context fields, and repeated client errors quietened."""

from __future__ import annotations

import asyncio
import logging

import orjson
import pytest

from workers.stream.ops.logs import JsonFormatter, RepeatFilter, tasks_dump


def _record(name: str, level: int, msg: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, msg, None, None)
    record.__dict__.update(extra)
    return record


def test_json_line_with_context_fields() -> None:
    line = JsonFormatter().format(
        _record(
            "workers.pipeline",
            logging.ERROR,
            "failed",
            stage="tag",
            topic="articles.cleaned",
            partition=2,
            offset=17,
            article_id="a-1",
        )
    )
    out = orjson.loads(line)
    assert out["level"] == "ERROR" and out["message"] == "failed"
    assert (out["stage"], out["topic"], out["partition"], out["offset"], out["article_id"]) == (
        "tag",
        "articles.cleaned",
        2,
        17,
        "a-1",
    )
    assert out["ts"].endswith("Z") and "\n" not in line


def test_repeats_of_client_errors_pass_once_per_window() -> None:
    now = [0.0]
    f = RepeatFilter(window_s=60, clock=lambda: now[0])
    err = "Unable connect to node with id %s"
    assert f.filter(_record("aiokafka.conn", logging.ERROR, err))
    assert not f.filter(_record("aiokafka.conn", logging.ERROR, err))
    assert not f.filter(_record("aiokafka.conn", logging.ERROR, err))
    assert f.filter(_record("workers.app", logging.ERROR, err))  # ours are never limited
    assert f.filter(_record("aiokafka.conn", logging.INFO, err))  # nor below WARNING
    now[0] = 61
    again = _record("aiokafka.conn", logging.ERROR, err)
    assert f.filter(again)
    assert "2 similar messages suppressed" in again.msg


def test_auto_format_is_text_on_a_terminal_and_json_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from workers.stream.ops.logs import formatter

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert not isinstance(formatter("auto"), JsonFormatter)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert isinstance(formatter("auto"), JsonFormatter)
    assert isinstance(formatter("json"), JsonFormatter)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_no_level_logs_a_secret(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    """At DEBUG, aiokafka's connection logged the SASL PLAIN bytes (user, password) of
    every authentication, 4 to 6 times per start."""
    from workers.stream.ops import logs

    password = "s3cret-Pa55"  # noqa: S105 - a test's
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.setup("DEBUG", fmt, secrets=[password, None])
        conn = logging.getLogger("aiokafka.conn")
        auth = f"SaslAuthenticateRequest_v1(sasl_auth_bytes=b'user\\x00user\\x00{password}')"
        conn.debug("Request to %s:%d %d: %s", "127.0.0.1", 9093, 2, auth)
        # a password the settings do not know (another client's): redacted by its shape
        conn.debug("Request: SaslAuthenticateRequest_v1(sasl_auth_bytes=b'\\x00u\\x00pw2')")
        logging.getLogger("faust").info("credentials: SASLCredentials(password='hunter22')")
        try:
            raise ValueError(f"authentication failed for {password}")
        except ValueError:
            logging.getLogger("workers").exception("start failed")
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        logs.setup("INFO", "text")
    err = capsys.readouterr().err
    for secret in (password, "pw2", "hunter22"):
        assert secret not in err
    assert err.count(logs.REDACTED) >= 4, err
    assert "Request to 127.0.0.1:9093 2: SaslAuthenticateRequest_v1(sasl_auth_bytes=" in err


async def _holds(text: str, event: asyncio.Event) -> None:
    held = text.upper()  # a local variable, as an article's text or a secret would be
    await _waits_on(event)
    assert held


async def _waits_on(event: asyncio.Event) -> None:
    await event.wait()


async def test_the_tasks_dump_says_where_each_task_waits_and_no_local_value() -> None:
    """What SIGUSR1 logs for a worker that makes no progress: the chain of awaits down
    to the future a task waits on (a task's own stack shows its outermost frame only)."""
    event = asyncio.Event()
    task = asyncio.create_task(_holds("s3cret body", event), name="stuck-step")
    await asyncio.sleep(0)
    dump = tasks_dump()
    event.set()
    await task
    mine = dump.split("task stuck-step:\n", 1)[1].split("\ntask ", 1)[0].splitlines()
    assert [line.rsplit(" in ", 1)[1] for line in mine[:-1]] == ["_holds", "_waits_on", "wait"]
    assert mine[-1] == "  awaits Future"
    assert "thread MainThread:" in dump
    assert "s3cret" not in dump.lower()
