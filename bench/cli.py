"""The command line's own figures: ``enrich file`` on 1 and N processes, side by side,
and a worker's time from launch to ready on the embedded broker.

    python bench/cli.py DATA_DIR [--articles 500] [--processes 2] [--starts 3]

1. ``enrich file --processes 1`` and ``--processes N`` over the same raw articles
   (the ``articleBody`` texts of DATA_DIR/extraction-aeb/ground-truth.json,
   cycled to ``--articles``), timed as whole commands, model loading included;
   the two outputs are checked to be the same records in the same order (but
   for timestamps), and the ratio printed.
2. ``enrich worker`` started ``--starts`` times on a fresh embedded broker: the
   seconds from launch until ``/ready`` answers 200 (joined, partitions
   assigned, model loaded).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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

from workers.settings import Settings
from workers.stream import clients
from workers.stream.embedded_broker import EmbeddedBroker, free_port

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


def time_to_ready(env: dict[str, str], port: int, timeout: float = 120) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [ENRICH, "worker"],
        env=env | {"ENRICH_HTTP_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - started < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - started
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"worker not ready after {timeout}s")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()

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

    with EmbeddedBroker() as broker:
        base = {k: v for k, v in os.environ.items() if not k.startswith("ENRICH_")}
        times = []
        for _ in range(args.starts):
            group = f"bench-{uuid.uuid4().hex[:8]}"
            env = base | {"ENRICH_BROKER": broker.bootstrap, "ENRICH_GROUP_ID": group}
            asyncio.run(clients.create_topics(Settings(broker=broker.bootstrap)))
            times.append(time_to_ready(env, free_port()))
        print(
            f"worker launch to /ready on the embedded broker, {args.starts} starts: "
            f"median {statistics.median(times):.1f} s (min {min(times):.1f}, "
            f"max {max(times):.1f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
