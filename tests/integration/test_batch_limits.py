"""The batch commands (``enrich file``, ``enrich produce``) against hostile files:
one line far over the record limit, file names that are not UTF-8, records the
broker refuses, inputs far longer than memory."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.integration.conftest import Stack
from workers.errors import ExitCode
from workers.stream.kafka import clients

pytestmark = pytest.mark.integration

ENRICH = str(Path(sys.executable).parent / "enrich")
PEAK = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:])\n"
    "print('peak-kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(done.returncode)\n"
)
GOOD = (
    b'{"id": "good-%d", "title": "Tram", "text": "The regional council voted on Tuesday '
    b'to extend the tram line by four stations. Work starts next spring."}'
)


def run_measured(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> tuple[subprocess.CompletedProcess[bytes], int]:
    """Run ``enrich`` with ``args``; its result and its peak resident memory in MiB."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ENRICH_")}
    proc = subprocess.run(
        [sys.executable, "-c", PEAK, ENRICH, *args],
        env=base | (env or {}),
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    peak = next(
        int(line.split()[1])
        for line in proc.stderr.decode().splitlines()
        if line.startswith("peak-kib")
    )
    return proc, peak // 1024


@pytest.mark.model
def test_one_huge_line_is_a_dead_letter_read_no_further_than_the_limit(tmp_path: Path) -> None:
    """A 10 MB .jsonl.gz holding one 10 GB line passed 3 GB of memory with no message;
    here 700 MB of line, with a 1 MiB record limit."""
    size = 700 * 1024 * 1024
    path = tmp_path / "one-line.jsonl.gz"
    digest = hashlib.sha256()
    with gzip.open(path, "wb", compresslevel=1) as gz:
        gz.write(GOOD % 1 + b"\n")
        chunk = b'{"id": "huge", "text": "' + b"a" * (1024 * 1024 - 24)
        digest.update(chunk)
        gz.write(chunk)
        written = len(chunk)
        block = b"a" * (1024 * 1024)
        while written < size:
            gz.write(block)
            digest.update(block)
            written += len(block)
        gz.write(b"\n" + GOOD % 2 + b"\n")
    out, dlq = tmp_path / "out.jsonl", tmp_path / "dlq.jsonl"
    proc, peak_mib = run_measured(
        "file",
        str(path),
        "-o",
        str(out),
        "--dlq",
        str(dlq),
        "--processes",
        "1",
        env={"ENRICH_MAX_RECORD_BYTES": str(1024 * 1024)},
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert [orjson.loads(r)["id"] for r in out.read_bytes().splitlines()] == ["good-1", "good-2"]
    (letter,) = [orjson.loads(r) for r in dlq.read_bytes().splitlines()]
    assert letter["code"] == "too_large" and letter["source"]["offset"] == 2
    assert letter["original"]["size"] == written and letter["original"]["truncated"]
    assert letter["original"]["sha256"] == digest.hexdigest()
    assert f"{written} bytes" in letter["message"]
    print(f"peak {peak_mib} MiB")
    assert peak_mib < 900, f"peak {peak_mib} MiB: the line was read whole"


@pytest.mark.model
def test_a_file_name_that_is_not_utf8_names_its_dead_letters_with_escapes(tmp_path: Path) -> None:
    """A non-UTF-8 file name plus any dead letter was a TypeError, exit 1, nothing written."""
    folder = tmp_path / "in"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9\x1b[2J.jsonl")
    (folder / name).write_bytes(GOOD % 1 + b"\nnot json\n" + GOOD % 2 + b"\n")
    out, dlq = tmp_path / "out.jsonl", tmp_path / "dlq.jsonl"
    base = {k: v for k, v in os.environ.items() if not k.startswith("ENRICH_")}
    proc = subprocess.run(
        [ENRICH, "file", str(folder), "-o", str(out), "--dlq", str(dlq), "--processes", "1"],
        env=base,
        capture_output=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(out.read_bytes().splitlines()) == 2
    (letter,) = [orjson.loads(r) for r in dlq.read_bytes().splitlines()]
    assert letter["source"]["topic"].endswith("caf\\xe9\\x1b[2J.jsonl")
    assert letter["source"]["offset"] == 2


async def test_produce_skips_and_names_what_cannot_be_sent_and_goes_on(
    stack: Stack, tmp_path: Path
) -> None:
    """One oversize line aborted produce with a traceback: the lines after it were never
    sent, and a rerun duplicated those before it."""
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        GOOD % 1 + b"\n" + b'{"id": "big", "text": "' + b"x" * 50_000 + b'"}\n' + GOOD % 2 + b"\n"
    )
    topic = stack.settings.topic_raw
    env = stack.env | {"ENRICH_MAX_RECORD_BYTES": "20000"}
    proc = subprocess.run(  # noqa: ASYNC221 - the command as a person runs it
        [ENRICH, "produce", str(path), "--topic", topic],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    err = proc.stderr.decode()
    assert proc.returncode == ExitCode.DATA_ERROR, err
    assert f"{path}:2: a record of" in err and "skipped" in err and "Traceback" not in err
    keys = sorted([m.key or b"" async for m in clients.consume(stack.settings, [topic], timeout=3)])
    assert keys == [b"good-1", b"good-2"]


async def test_produce_keeps_a_bounded_number_of_records_in_flight(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One future per record was kept until the input ended: 8.7 million small records
    reached 2.5 GB."""
    waiting: list[int] = []
    made = clients.producer

    def counting(settings: Any) -> Any:
        prod: Any = made(settings)
        send = prod.send
        futures: list[Any] = []

        async def tracked(*args: Any, **kwargs: Any) -> Any:
            fut = await send(*args, **kwargs)
            futures.append(fut)
            futures[:] = [f for f in futures if not f.done()]
            waiting.append(len(futures))
            return fut

        prod.send = tracked
        return prod

    monkeypatch.setattr(clients, "producer", counting)
    records = ((f"k{i}".encode(), b"{}") for i in range(3000))
    sent = await clients.produce(stack.settings, records, max_in_flight=50)
    assert sent == 3000
    assert max(waiting) <= 51, max(waiting)
