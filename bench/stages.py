"""Each stage alone: its throughput, CPU and memory with one worker at full load.

    python bench/stages.py DATA_DIR [--articles 600] [--stages clean,tag,summarize]
                                    [--every 1000]

For clean, tag and summarize in turn: a worker running only that stage on the
embedded broker, its source topic filled with N records made offline from the
AEB article bodies (raw, cleaned or tagged, as the stage reads them; the 181
articles are made once and repeated under new ids), and the time until its
destination topic holds N records. Printed per stage: articles per second, CPU
used (cores, from /proc), RSS when ready and at the end, and peak RSS; and the
RSS curve, sampled every ``--every`` records out, with the last sample's
change from the first (a long run's memory must stay flat: ``--articles 10000``
compares 10,000 articles with 1,000). These are the figures behind the
Kubernetes requests, limits and KEDA lag thresholds (docs/deployment.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import orjson

from workers.codec import Message
from workers.loading import build_pipeline
from workers.pipeline import Forward, stage_spec
from workers.settings import Settings
from workers.stream.embedded.broker import EmbeddedBroker, free_port
from workers.stream.kafka import admin, clients

ENRICH = str(Path(sys.executable).parent / "enrich")
TICKS = os.sysconf("SC_CLK_TCK")


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(rest.split()[0]) // 1024
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def inputs(data_dir: Path, count: int) -> dict[str, list[tuple[bytes | None, bytes]]]:
    """The records each stage reads (raw, cleaned and tagged): each article is
    cleaned and tagged once, then repeated under new ids up to ``count``."""
    truth = json.loads((data_dir / "extraction-aeb" / "ground-truth.json").read_text("utf-8"))
    bodies = [v["articleBody"] for v in truth.values() if v.get("articleBody", "").strip()]
    raw = [orjson.dumps({"id": f"a-{i:03d}", "text": body}) for i, body in enumerate(bodies)]
    pipeline = build_pipeline(Settings())
    messages = [Message("raw", 0, i, None, v) for i, v in enumerate(raw)]
    cleaned = [o.value for o in pipeline.clean_batch(messages) if isinstance(o, Forward)]
    cleaned_msgs = [Message("c", 0, i, None, v) for i, v in enumerate(cleaned)]
    tagged = [o.value for o in pipeline.tag_batch(cleaned_msgs) if isinstance(o, Forward)]

    def repeated(values: list[bytes]) -> list[tuple[bytes | None, bytes]]:
        out: list[tuple[bytes | None, bytes]] = []
        for i in range(count):
            record = orjson.loads(values[i % len(values)])
            record["id"] = f"s-{i:06d}"
            out.append((record["id"].encode(), orjson.dumps(record)))
        return out

    return {"clean": repeated(raw), "tag": repeated(cleaned), "summarize": repeated(tagged)}


async def count_records(
    settings: Settings, topic: str, want: int, timeout: float, every: int, pid: int
) -> list[tuple[int, int]]:
    """Wait for ``want`` records in ``topic``; (records, worker RSS MiB) every ``every``."""
    seen = 0
    curve: list[tuple[int, int]] = []
    async for _ in clients.consume(settings, [topic], timeout=timeout):
        seen += 1
        if seen % every == 0 or seen == want:
            curve.append((seen, proc_status(pid)["VmRSS"]))
        if seen >= want:
            return curve
    raise RuntimeError(f"only {seen} of {want} records in {topic}")


def run_stage(
    bootstrap: str, stage: str, records: list[tuple[bytes | None, bytes]], every: int
) -> None:
    prefix = f"b{uuid.uuid4().hex[:8]}"
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith("ENRICH_")}
        | {
            "ENRICH_BROKER": bootstrap,
            "ENRICH_GROUP_ID": prefix,
            "ENRICH_HTTP_PORT": str(free_port()),
            "ENRICH_LOG_LEVEL": "WARNING",
            "ENRICH_PARTITIONS": "6",
        }
        | {
            f"ENRICH_TOPIC_{k.upper()}": f"{prefix}.{k}"
            for k in ("raw", "cleaned", "tagged", "enriched", "dlq")
        }
    )
    settings = Settings.model_validate(
        {k.removeprefix("ENRICH_").lower(): v for k, v in env.items() if k.startswith("ENRICH_")}
    )
    asyncio.run(admin.create_topics(settings))
    source, dest = (
        settings.topics[stage_spec(stage).source],
        settings.topics[stage_spec(stage).dest],
    )
    worker = subprocess.Popen(
        [ENRICH, "worker", "--stages", stage],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port = env["ENRICH_HTTP_PORT"]
        deadline = time.monotonic() + 120
        while True:  # ready: joined, model loaded
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{stage} worker not ready")
            time.sleep(0.2)
        warm = proc_status(worker.pid)["VmRSS"]
        cpu0, t0 = cpu_seconds(worker.pid), time.perf_counter()
        asyncio.run(clients.produce(settings, records, topic=source))
        curve = asyncio.run(
            count_records(settings, dest, len(records), timeout=3600, every=every, pid=worker.pid)
        )
        wall = time.perf_counter() - t0
        cpu = cpu_seconds(worker.pid) - cpu0
        status = proc_status(worker.pid)
        print(
            f"{stage:<10} {len(records) / wall:7.1f} articles/s  CPU {cpu / wall:4.2f} cores  "
            f"RSS {warm} MiB ready, {status['VmRSS']} MiB after {len(records)}, "
            f"peak {status['VmHWM']} MiB",
            flush=True,
        )
        if len(curve) > 1:
            (n0, rss0), (n1, rss1) = curve[0], curve[-1]
            print(
                f"{'':<10} RSS curve (records: MiB) "
                f"{', '.join(f'{n}: {rss}' for n, rss in curve)}; "
                f"after {n1} vs after {n0}: {100 * (rss1 - rss0) / rss0:+.1f}% (goal within 5%)",
                flush=True,
            )
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--articles", type=int, default=600)
    parser.add_argument("--stages", default="clean,tag,summarize", help="comma-separated")
    parser.add_argument("--every", type=int, default=1000, help="records between RSS samples")
    args = parser.parse_args()
    made = inputs(args.data_dir, args.articles)
    with EmbeddedBroker() as broker:
        for stage in args.stages.split(","):
            run_stage(broker.bootstrap, stage, made[stage], args.every)


if __name__ == "__main__":
    main()
