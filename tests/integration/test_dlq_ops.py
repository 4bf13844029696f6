"""Operating the dead-letter topic: ``enrich dlq list`` and ``enrich dlq replay``."""

from __future__ import annotations

import asyncio
import functools
import signal
import subprocess
import sys

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from tests.integration.conftest import Stack
from tests.integration.helpers import Collector, articles
from workers.stream.kafka import clients, connection

pytestmark = [pytest.mark.integration, pytest.mark.model]


async def test_list_then_replay_once_the_cause_is_fixed(stack: Stack) -> None:
    # a limit set too low dead-letters two long articles
    first = stack.start_worker(ENRICH_MAX_RECORD_BYTES="4096")
    long_ones = [
        (
            f"long-{i}".encode(),
            orjson.dumps(
                {
                    "id": f"long-{i}",
                    "text": (
                        f"Story {i}. "
                        + "The council met again on Friday to discuss the harbour. " * 80
                    ),
                }
            ),
        )
        for i in range(2)
    ]
    await clients.produce(stack.settings, articles(2, "short") + long_ones + [(b"junk", b"{junk")])
    async with Collector(stack.settings) as seen:
        await seen.wait_for(5, timeout=120)
    assert set(seen.dead) == {b"long-0", b"long-1", b"junk"}

    listed = stack.cli("dlq", "list")
    assert listed.returncode == 0, listed.stderr.decode()
    lines = listed.stdout.decode().splitlines()
    assert len(lines) == 3
    assert sum("too_large" in line for line in lines) == 2
    assert any("invalid_json" in line and "id=-" in line for line in lines)
    assert b"3 dead-lettered records" in listed.stderr

    only = stack.cli("dlq", "list", "--code", "too_large", "--json", "--limit", "1")
    assert only.returncode == 0, only.stderr.decode()
    [record] = [orjson.loads(line) for line in only.stdout.splitlines()]
    assert record["code"] == "too_large" and record["original"]["truncated"] is False

    dry = stack.cli("dlq", "replay", "--code", "too_large", "--dry-run")
    assert dry.returncode == 0 and b"would replay 2 of 2" in dry.stdout, dry.stderr.decode()
    none = stack.cli("dlq", "replay", "--since", "2999-01-01T00:00:00Z")
    assert none.returncode == 0 and b"replayed 0 of 0" in none.stdout
    bad_since = stack.cli("dlq", "list", "--since", "last week")
    assert bad_since.returncode == 78 and b"--since" in bad_since.stderr

    # the fix: a worker with the default limit; then the replay
    assert stack.stop_worker(first) == 0
    stack.workers.remove(first)
    stack.start_worker()
    replayed = stack.cli("dlq", "replay", "--code", "too_large", "--since", "1h")
    assert replayed.returncode == 0, replayed.stderr.decode()
    assert (
        f"replayed 2 of 2 matching records (2 to {stack.settings.topic_raw})".encode()
        in replayed.stdout
    )
    async with Collector(stack.settings) as seen:
        await seen.wait_until(lambda: {b"long-0", b"long-1"} <= set(seen.enriched), 120)
        for key in (b"long-0", b"long-1"):
            assert seen.enriched[key][0]["text"].startswith("Story")


async def test_replay_publishes_each_dead_letter_once_and_tombstones_as_null(stack: Stack) -> None:
    stack.start_worker(stages="clean")
    await clients.produce(stack.settings, [(b"tomb", None), (b"junk", b"{junk")])
    async with Collector(stack.settings) as seen:
        await seen.wait_until(
            lambda: len(seen.dead.get(b"tomb", [])) == 1 and len(seen.dead.get(b"junk", [])) == 1,
            120,
        )
        assert seen.dead[b"tomb"][0]["original"]["tombstone"] is True
        for round_ in (1, 2, 3):
            out = stack.cli("dlq", "replay")
            assert out.returncode == 0, out.stderr.decode()
            # each run replays only what failed since the last one: 2, not 2, 4, 8
            assert b"replayed 2 of 2 matching records" in out.stdout, out.stdout
            if round_ > 1:
                assert (
                    f"skipped {2 * (round_ - 1)} matching records replayed before".encode()
                    in out.stderr
                )
            await seen.wait_until(
                functools.partial(
                    lambda n: all(len(seen.dead.get(k, [])) == n + 1 for k in (b"tomb", b"junk")),
                    round_,
                ),
                120,
                lambda: f"dead letters per key: { {k: len(v) for k, v in seen.dead.items()} }",
            )
    listed = stack.cli("dlq", "list")
    assert b"8 dead-lettered records" in listed.stderr  # 2 + 3 rounds of 2
    assert b"6 of them replayed already" in listed.stderr
    tomb = [
        rec.value
        async for rec in clients.read_to_end(stack.settings, stack.settings.topic_raw)
        if rec.key == b"tomb"
    ]
    assert tomb == [None] * 4  # the original and three replays, all tombstones


async def test_an_interrupted_replay_says_how_far_it_got_and_the_next_run_goes_on(
    stack: Stack,
) -> None:
    """Markers were written only after every original for a topic was sent: SIGINT
    after 70,622 sends left 0 markers, exit 130 with no message, and the next replay
    sent those 70,622 again."""
    from workers.dlq import dead_letter
    from workers.stream.kafka.letters import REPLAY_CHUNK

    s = stack.settings
    # paced, so the replay takes some seconds however fast the machine (a replay at
    # full speed could finish before the signal arrived); the rerun is not paced
    rate, total = 1000, 8 * REPLAY_CHUNK
    target = s.topic_cleaned  # a topic no worker reads here: the originals stay put
    letters = [
        (
            f"k{i}".encode(),
            dead_letter(
                topic=target,
                partition=0,
                offset=i,
                key=f"k{i}".encode(),
                value=b'{"n": %d}' % i,
                stage="tag",
                code="invalid_json",
                message="bad",
                article_id=None,
                max_original_bytes=1000,
                now="2026-01-01T00:00:00.000Z",
            )
            .model_dump_json()
            .encode(),
        )
        for i in range(total)
    ]
    await clients.produce(s, letters, topic=s.topic_dlq)

    # how many originals are back: the broker's end offsets
    reader = AIOKafkaConsumer(**connection.client_options(s))
    await reader.start()
    parts = await clients.topic_partitions(reader, target)

    async def replayed_so_far() -> int:
        return sum((await reader.end_offsets(parts)).values())

    proc = subprocess.Popen(  # noqa: ASYNC220 - the command as a person runs it
        [sys.executable, "-m", "workers.cli", "dlq", "replay", "--rate", str(rate)],
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Ctrl-C reaches it as it would from a terminal: a suite started in the
        # background (CI) has SIGINT ignored, a child inherits that, and the replay
        # then ran to its end (exit 0) instead of stopping
        preexec_fn=_sigint_default,  # noqa: PLW1509 - only resets one signal before exec
    )
    try:
        deadline = asyncio.get_running_loop().time() + 120
        while await replayed_so_far() < REPLAY_CHUNK:
            assert proc.poll() is None, proc.communicate()
            assert asyncio.get_running_loop().time() < deadline, "the replay did not start"
            await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        await reader.stop()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err.decode()
    said = err.decode()
    assert "interrupted after replaying" in said and "Traceback" not in said, said
    again = stack.cli("dlq", "replay")
    assert again.returncode == 0, again.stderr.decode()
    keys = [m.key async for m in clients.read_to_end(s, target)]
    assert set(keys) == {f"k{i}".encode() for i in range(total)}
    assert len(keys) - total <= REPLAY_CHUNK, f"{len(keys) - total} originals sent twice"


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
