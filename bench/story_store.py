"""The story index's memory and disk as it grows, in memory and on disk.

Each article is written to the summarize worker's story tables as the story
steps write it: a bucket per band (21 at the default threshold) whose first
article it is, a signature per partition it represents a band in, a decision,
and its record parked in ``story-pending`` with its bands' answers, then
forgotten once it goes out. Signatures are random (a real one is as
incompressible); bucket, decision and answer values are the steps' own JSON.
Every article is distinct, the index's worst case: a copy adds no bucket.

This measures the tables through Faust's stores, in a process of their own, not
a whole worker: the broker, the model and the stream's buffers come on top, the
same for both stores (``docs/stories.md`` has a worker's figures).

Usage: python bench/story_store.py STORE ARTICLES [--report-every N]
(``bench/stories.py --stores`` runs it for both stores, side by side).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
import zlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

import faust
import numpy as np
import orjson

from workers.stories import minhash
from workers.stories.state import Answer, Bucket, Decision
from workers.stream.stories.store import disk_bytes
from workers.stream.stories.tables import PartitionTable, compact, record_partition

PARTITIONS = 6
TABLES = ("pending", "buckets", "signatures", "answers", "decisions")
RECORD_BYTES = 4000  # an enriched article parked until its story is decided


def rss_bytes() -> int:
    """This process's resident memory now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def tables(store: str, datadir: Path) -> dict[str, Any]:
    app = faust.App("story-store-bench", broker="kafka://localhost:1", datadir=datadir)
    kind: type[PartitionTable] = PartitionTable
    if store == "rocksdb":
        from workers.stream.stories.store import DiskTable, claim

        kind = DiskTable
        claim(Path(app.conf.tabledir))
    schema: Any = faust.Schema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    return {
        name: kind(app, name=f"story-{name}", partitions=PARTITIONS, schema=schema).data
        for name in TABLES
    }


def put(table: Any, partition: int, key: bytes, value: bytes | None) -> None:
    token = record_partition.set(partition)
    try:
        if value is None:
            del table[key]
        else:
            table[key] = compact(value)  # as the tables do
    finally:
        record_partition.reset(token)


def write_article(
    data: dict[str, Any], n: int, banding: minhash.Banding, rng: random.Random
) -> None:
    article = f"{n:08d}-{rng.getrandbits(96):024x}"  # 33 characters, as a UUID-ish id
    order = f"2026-12-04T10:{n % 60:02d}:00.000000Z|{n}"
    home = zlib.crc32(article.encode()) % PARTITIONS
    key = article.encode()
    record = orjson.dumps({"id": article, "text": "x" * RECORD_BYTES})
    put(data["pending"], home, key, record)
    sig = np.frombuffer(rng.randbytes(4 * minhash.NUM_PERM), dtype=np.uint32)
    answers = {}
    signed: set[int] = set()
    for band in banding.keys(sig):
        partition = zlib.crc32(band.encode()) % PARTITIONS
        put(data["buckets"], partition, band.encode(), orjson.dumps(asdict(Bucket(article, order))))
        if partition not in signed:
            signed.add(partition)
            put(
                data["signatures"],
                partition,
                f"{partition}\t{article}".encode(),
                minhash.to_bytes(sig),
            )
        answers[band.split("-", 1)[0]] = asdict(Answer(band, None))
    put(data["answers"], home, key, orjson.dumps(answers))
    decision = asdict(Decision(article)) | {"order": order}
    put(data["decisions"], home, key, orjson.dumps(decision))
    put(data["pending"], home, key, None)  # gone out: forgotten
    put(data["answers"], home, key, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", choices=["memory", "rocksdb"])
    parser.add_argument("articles", type=int)
    parser.add_argument("--report-every", type=int, default=100_000)
    args = parser.parse_args()
    banding = minhash.banding(0.4, minhash.NUM_PERM)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        data = tables(args.store, Path(tmp))
        gc.collect()
        base = rss_bytes()
        start = time.perf_counter()
        for n in range(args.articles):
            write_article(data, n, banding, rng)
            if (n + 1) % args.report_every == 0 or n + 1 == args.articles:
                disk = disk_bytes(Path(tmp))
                row = {
                    "store": args.store,
                    "articles": n + 1,
                    "rss_growth": rss_bytes() - base,
                    "rss": rss_bytes(),
                    "disk": disk,
                    "seconds": time.perf_counter() - start,
                }
                print(json.dumps(row), flush=True)
        print(json.dumps({"store": args.store, "pid": os.getpid()}), file=sys.stderr)


if __name__ == "__main__":
    main()
