"""The command line's own figures: ``enrich file`` on 1 and N processes, side by side,
a worker's time from launch to ready, and the time a survivor takes over a killed
worker's partitions, on the embedded broker or Apache Kafka.

    python bench/cli.py DATA_DIR [--articles 500] [--processes 2] [--starts 3]
                                 [--skip-file] [--broker embedded|kafka]

1. ``enrich file --processes 1`` and ``--processes N`` over the same raw articles
   (the ``articleBody`` texts of DATA_DIR/extraction-aeb/ground-truth.json,
   cycled to ``--articles``), timed as whole commands, model loading included;
   the two outputs are checked to be the same records in the same order (but
   for timestamps), and the ratio printed.
2. ``enrich worker`` started ``--starts`` times on a fresh embedded broker: the
   seconds from launch until ``/ready`` answers 200 (joined, partitions
   assigned, model loaded and warm), and where the time went, from the worker's
   ready line: when its stages were loaded (imports, model, warm-up, in a thread
   of their own) and when its group was joined. Beside it, what the broker
   itself costs: a bare aiokafka consumer's time to join a new group on the same
   broker, with the worker's session timeout (Tansu holds a new group's first
   join for half of it; Apache Kafka for ``group.initial.rebalance.delay.ms``).
3. two workers joined and balanced, one killed with ``kill -9``: the seconds until
   the survivor holds every partition (its ``enrich_assigned_partitions``), which
   the session timeout (``ENRICH_SESSION_TIMEOUT_S``) bounds from below.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from workers.settings import Settings
from workers.stream.embedded.broker import free_port
from workers.stream.kafka import admin

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brokers import KINDS, NAMES, broker

ENRICH = str(Path(sys.executable).parent / "enrich")


def articles(data_dir: Path, count: int) -> bytes:
    truth = json.loads((data_dir / "extraction-aeb" / "ground-truth.json").read_text("utf-8"))
    bodies = [v["articleBody"] for v in truth.values() if v.get("articleBody", "").strip()]
    return b"".join(
        orjson.dumps({"id": f"bench-{i:05d}", "text": bodies[i % len(bodies)]}) + b"\n"
        for i in range(count)
    )


def without_timestamps(line: bytes) -> Any:
    record = orjson.loads(line)
    for stage in record["pipeline"].values():
        if isinstance(stage, dict):
            stage.pop("finished_at", None)
    return record


def run_file(src: Path, processes: int, workdir: Path) -> tuple[float, list[Any]]:
    out = workdir / f"out-{processes}.jsonl"
    started = time.perf_counter()
    subprocess.run(
        [
            ENRICH,
            "--log-level",
            "ERROR",
            "file",
            str(src),
            "--processes",
            str(processes),
            "-o",
            str(out),
            "--dlq",
            str(workdir / f"dlq-{processes}.jsonl"),
        ],
        check=True,
    )
    seconds = time.perf_counter() - started
    return seconds, [without_timestamps(line) for line in out.read_bytes().splitlines()]


READY_LINE = re.compile(r"stages loaded ([\d.]+)s, group joined ([\d.]+)s after launch")


def time_to_ready(
    env: dict[str, str], port: int, workdir: Path, timeout: float = 120
) -> tuple[float, float, float]:
    """(seconds to /ready 200, to stages loaded, to group joined) of one worker start."""
    log_path = workdir / f"worker-{port}.log"
    started = time.perf_counter()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [ENRICH, "worker"],
            env=env | {"ENRICH_HTTP_PORT": str(port), "ENRICH_LOG_FORMAT": "text"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        while time.perf_counter() - started < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as r:
                    if r.status == 200:
                        ready = time.perf_counter() - started
                        break
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        else:
            raise RuntimeError(f"worker not ready after {timeout}s")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    found = READY_LINE.search(log_path.read_text("utf-8", "replace"))
    if found is None:
        raise RuntimeError(f"no ready line in {log_path}")
    return ready, float(found[1]), float(found[2])


async def bare_join(settings: Settings) -> float:
    """Seconds for a bare aiokafka consumer to join a new group and get partitions."""
    consumer = AIOKafkaConsumer(
        settings.topic_raw,
        bootstrap_servers=settings.broker,
        group_id=f"bare-{uuid.uuid4().hex[:8]}",
        session_timeout_ms=int(settings.group_session_s * 1000),
        heartbeat_interval_ms=int(settings.heartbeat_interval_s * 1000),
    )
    started = time.perf_counter()
    await consumer.start()
    try:
        while not consumer.assignment():  # noqa: ASYNC110 - aiokafka offers no event for it
            await asyncio.sleep(0.01)
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--skip-file", action="store_true", help="only the start-up figures")
    parser.add_argument("--broker", choices=KINDS, default="embedded")
    args = parser.parse_args()

    if not args.skip_file:
        file_figures(args)
    with broker(args.broker, Path(tempfile.mkdtemp())) as running:
        startup_figures(args, running.bootstrap)
        takeover_figures(args, running.bootstrap)


def file_figures(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        src = workdir / "in.jsonl"
        src.write_bytes(articles(args.data_dir, args.articles))
        one, first = run_file(src, 1, workdir)
        many, second = run_file(src, args.processes, workdir)
        same = first == second
        print(
            f"enrich file, {args.articles} articles: 1 process {one:.1f} s "
            f"({args.articles / one:.1f}/s), {args.processes} processes {many:.1f} s "
            f"({args.articles / many:.1f}/s): {one / many:.2f}x; same records in the same "
            f"order: {same}",
            flush=True,
        )


def startup_figures(args: argparse.Namespace, bootstrap: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = {k: v for k, v in os.environ.items() if not k.startswith("ENRICH_")}
        starts = []
        joins = []
        for _ in range(args.starts):
            group = f"bench-{uuid.uuid4().hex[:8]}"
            env = base | {"ENRICH_BROKER": bootstrap, "ENRICH_GROUP_ID": group}
            settings = Settings(broker=bootstrap)
            asyncio.run(admin.create_topics(settings))
            starts.append(time_to_ready(env, free_port(), Path(tmp)))
            joins.append(asyncio.run(bare_join(settings)))
        ready, loaded, joined = (statistics.median(column) for column in zip(*starts, strict=True))
        print(
            f"worker launch to /ready on {NAMES[args.broker]}, {args.starts} starts: "
            f"median {ready:.1f} s (min {min(s[0] for s in starts):.1f}, "
            f"max {max(s[0] for s in starts):.1f}; goal <= 6 s)\n"
            f"  stages loaded and warm (imports, model, warm-up; beside the join): "
            f"{loaded:.1f} s after launch\n"
            f"  group joined: {joined:.1f} s after launch; of that, the broker's own wait "
            f"(a bare consumer joining a new group, session timeout "
            f"{settings.session_timeout_s:g} s): {statistics.median(joins):.1f} s",
            flush=True,
        )


def assigned(port: int) -> float | None:
    """A worker's ``enrich_assigned_partitions``; None when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except (urllib.error.URLError, OSError):
        return None
    found = re.search(r"^enrich_assigned_partitions (\S+)$", text, re.MULTILINE)
    return float(found[1]) if found else None


def takeover_figures(args: argparse.Namespace, bootstrap: str, rounds: int = 3) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ENRICH_")}
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            prefix = f"take{uuid.uuid4().hex[:8]}"
            env = base | {
                "ENRICH_BROKER": bootstrap,
                "ENRICH_GROUP_ID": f"{prefix}-group",
                "ENRICH_LOG_FORMAT": "text",
            }
            env |= {f"ENRICH_TOPIC_{k.upper()}": f"{prefix}.{k}" for k in Settings().topics}
            settings = Settings.model_validate(
                {k.removeprefix("ENRICH_").lower(): v for k, v in env.items() if "ENRICH_" in k}
            )
            asyncio.run(admin.create_topics(settings))
            total = 3 * settings.partitions
            ports = [free_port(), free_port()]
            procs = []
            for port in ports:
                log = open(Path(tmp) / f"takeover-{port}.log", "wb")  # noqa: SIM115
                procs.append(
                    subprocess.Popen(
                        [ENRICH, "worker"],
                        env=env | {"ENRICH_HTTP_PORT": str(port)},
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            try:
                deadline = time.monotonic() + 180
                while True:
                    held = [assigned(p) or 0 for p in ports]
                    if sum(held) == total and all(held):
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError("the two workers did not balance")
                    time.sleep(0.2)
                procs[0].kill()
                killed = time.perf_counter()
                while assigned(ports[1]) != total:
                    if time.perf_counter() - killed > 180:
                        raise RuntimeError("the survivor did not take the partitions over")
                    time.sleep(0.05)
                times.append(time.perf_counter() - killed)
            finally:
                for proc in procs:
                    proc.kill()
                    proc.wait(timeout=30)
    print(
        f"partitions taken over after kill -9 (two workers, {rounds} rounds, session timeout "
        f"{Settings().session_timeout_s:g} s): median {statistics.median(times):.1f} s "
        f"(min {min(times):.1f}, max {max(times):.1f})",
        flush=True,
    )


if __name__ == "__main__":
    main()
