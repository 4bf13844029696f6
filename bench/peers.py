"""A peer side by side: the same three stage functions as a Quix Streams application
and as this project's worker, over the same articles on the same Apache Kafka.

    python bench/peers.py DATA_DIR [--articles 500] [--partitions 3]

Quix Streams (``quixstreams``, built on librdkafka) is what a team would pick
instead of gluing Faust together. It needs a broker librdkafka can reach, so both
run on Apache Kafka (one KRaft node from the release jars, as the tests start it).

1. this project: one ``enrich worker`` (all stages, at_least_once) on fresh topics;
2. Quix Streams: one process, one ``Application`` with three StreamingDataFrames
   (raw -> cleaned -> tagged -> enriched), each applying this project's stage
   function for that stage (``Pipeline.clean_batch`` and the others, on one
   record at a time: Quix's ``apply`` hands over one record), at-least-once, its
   default;

each timed from the first article published to the last enriched record read
back, with the articles per second of both printed in one run, and the ratio.
DATA_DIR holds ``extraction-aeb/ground-truth.json``; its ``articleBody`` texts are
the articles (cycled to N).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brokers import broker
from throughput import Workers, corpus, drain, records

from workers.settings import Settings
from workers.stream.kafka import admin, clients


def quix_app(bootstrap: str, settings: Settings, ready: Any) -> None:
    """The Quix Streams application: this project's stage functions, one record each."""
    from quixstreams import Application

    from workers.codec import Message
    from workers.loading import build_pipeline
    from workers.pipeline import Dead

    pipeline = build_pipeline(settings)
    pipeline.warm()
    app = Application(
        broker_address=bootstrap,
        consumer_group=f"{settings.group_id}-quix",
        auto_offset_reset="earliest",
        loglevel="WARNING",
    )

    def stage(run: Any, name: str) -> Any:
        def apply(value: bytes, key: Any, timestamp: int, headers: Any) -> bytes | None:
            [outcome] = run([Message(name, 0, 0, key, value)])
            if isinstance(outcome, Dead):
                return None  # a peer run of good articles: none expected
            return bytes(outcome.value)

        return apply

    topics = {
        kind: app.topic(
            settings.topics[kind],
            key_deserializer="bytes",
            value_deserializer="bytes",
            key_serializer="bytes",
            value_serializer="bytes",
        )
        for kind in ("raw", "cleaned", "tagged", "enriched")
    }
    for source, dest, run in (
        ("raw", "cleaned", pipeline.clean_batch),
        ("cleaned", "tagged", pipeline.tag_batch),
        ("tagged", "enriched", pipeline.summarize_batch),
    ):
        sdf = app.dataframe(topics[source])
        sdf = sdf.apply(stage(run, source), metadata=True).filter(lambda v: v is not None)
        sdf.to_topic(topics[dest])
    ready.set()
    app.run()


async def timed(settings: Settings, batch: list[tuple[bytes, bytes]]) -> float:
    """Seconds from publishing ``batch`` to its last enriched record."""
    reader = asyncio.create_task(drain(settings, {k for k, _ in batch}))  # noqa: RUF006 - awaited below
    await asyncio.sleep(1.0)
    started = time.perf_counter()
    await clients.produce(settings, batch)
    await reader
    return time.perf_counter() - started


def run_ours(bootstrap: str, bodies: list[str], args: argparse.Namespace, logdir: Path) -> float:
    w = Workers(bootstrap, 1, args.partitions, logdir)
    asyncio.run(admin.create_topics(w.settings))
    w.start()
    try:
        w.wait_balanced()
        return asyncio.run(timed(w.settings, records(bodies, args.articles, "ours")))
    finally:
        w.stop()


def run_quix(bootstrap: str, bodies: list[str], args: argparse.Namespace) -> float:
    prefix = f"quix{uuid.uuid4().hex[:8]}"
    settings = Settings.model_validate(
        {"broker": bootstrap, "group_id": f"{prefix}-group", "partitions": args.partitions}
        | {f"topic_{k}": f"{prefix}.{k}" for k in Settings().topics}
    )
    asyncio.run(admin.create_topics(settings))
    ready = multiprocessing.Event()
    proc = multiprocessing.Process(target=quix_app, args=(bootstrap, settings, ready))
    proc.start()
    try:
        if not ready.wait(180):
            raise SystemExit("the Quix Streams application did not start")
        # one article through first: its consumers have joined, and everything is loaded
        asyncio.run(timed(settings, records(bodies, 1, "quix-warm-up")))
        return asyncio.run(timed(settings, records(bodies, args.articles, "quix")))
    finally:
        proc.terminate()
        proc.join(30)
        if proc.is_alive():
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--partitions", type=int, default=3)
    args = parser.parse_args()
    bodies = corpus(args.data_dir)
    logdir = Path(tempfile.mkdtemp(prefix="peers-"))
    with broker("kafka", logdir) as running:
        ours = run_ours(running.bootstrap, bodies, args, logdir)
        print(f"article-enrich worker: {args.articles / ours:.1f} articles/s", flush=True)
        quix = run_quix(running.bootstrap, bodies, args)
        print(f"Quix Streams app:      {args.articles / quix:.1f} articles/s", flush=True)
    print(f"\nratio\n  article-enrich / Quix Streams: {quix / ours:.2f}")


if __name__ == "__main__":
    main()
