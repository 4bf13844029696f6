"""Throughput and scaling of the worker against the speed of the model itself.

Usage: python bench/throughput.py DATA_DIR [--articles N] [--partitions P]
                                  [--workers 1,2] [--latency-seconds S]
                                  [--broker embedded|kafka] [--guarantees | --stories]
                                  [--components-only]

In one run:

1. the reference: the spaCy model with only the tag stage's components (tok2vec,
   tagger, senter, ner: exactly those whose output the records carry; tok2vec
   feeds the tagger alone, as ner and senter embed for themselves), through
   ``nlp.pipe(batch_size=64)`` in this process, no Kafka, over the clean texts
   of the corpus; and the naive peer: the full default pipeline called once per
   text, as agents are often written;
2. for each worker count: a fresh set of topics on the embedded broker, the
   workers (``enrich worker``, all stages, one consumer group) started and
   joined, then N raw ``text`` records published at once; time from the first
   record published to the last enriched record received, the workers' peak
   RSS, their worst event-loop lag and any rebalance during the run (read from
   their /metrics);
3. end-to-end latency with one worker at half its measured maximum rate;
   before the runs, the CPU per article of each model component, bare and inside
   the tag stage, and of each part of the stages around them
   (``bench/components.py``; ``--components-only`` stops after it);
4. the ratios: worker/reference, worker/naive, and each worker count against one.

``--broker kafka`` runs the workers on Apache Kafka (one KRaft node from the
release jars, as the tests start it) instead of the embedded broker.
``--guarantees`` instead runs one worker on Apache Kafka with
``ENRICH_PROCESSING_GUARANTEE`` at_least_once and exactly_once, alternately, and
prints exactly-once's rate against at-least-once's; ``--stories`` does the same
for story grouping off and on; ``--compare-brokers`` for the embedded broker and
Apache Kafka.

DATA_DIR holds ``extraction-aeb/ground-truth.json``; its ``articleBody`` texts
are the articles (cycled to N, each with its own id).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import orjson

from schemas import RawArticle
from workers.settings import Settings
from workers.stages.clean import clean
from workers.stages.summarize import word_count
from workers.stages.tag import load_model
from workers.stream.embedded.broker import free_port
from workers.stream.kafka import admin, clients

sys.path.insert(0, str(Path(__file__).resolve().parent))
import components
from brokers import NAMES, broker


def corpus(data_dir: Path) -> list[str]:
    truth = json.loads((data_dir / "extraction-aeb" / "ground-truth.json").read_text("utf-8"))
    return [v["articleBody"] for v in truth.values() if v.get("articleBody", "").strip()]


def clean_texts(bodies: list[str]) -> list[str]:
    out = []
    for i, body in enumerate(bodies):
        try:
            out.append(clean(RawArticle(id=str(i), text=body), now="").text)
        except Exception:  # noqa: BLE001, S112 - an empty article: not a tagging workload
            continue
    return out


def model_rates(texts: list[str], model: str) -> dict[str, float]:
    """Articles per second of the reference and of the naive peer."""
    import spacy

    nlp = load_model(model)
    list(nlp.pipe(texts[:8], batch_size=64))  # warm up
    started = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=64):
        pass
    reference = len(texts) / (time.perf_counter() - started)

    full = spacy.load(model)
    full(texts[0])
    started = time.perf_counter()
    for text in texts:
        full(text)
    naive = len(texts) / (time.perf_counter() - started)
    return {"reference": reference, "naive": naive}


def records(bodies: list[str], n: int, prefix: str) -> list[tuple[bytes, bytes]]:
    out = []
    for i in range(n):
        article_id = f"{prefix}-{i:06d}"
        out.append(
            (article_id.encode(), orjson.dumps({"id": article_id, "text": bodies[i % len(bodies)]}))
        )
    return out


class Workers:
    """``enrich worker`` processes on fresh topics, each with its HTTP port."""

    def __init__(
        self,
        broker: str,
        count: int,
        partitions: int,
        logdir: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        prefix = f"bench{uuid.uuid4().hex[:8]}"
        self.env = (
            {k: v for k, v in os.environ.items() if not k.startswith("ENRICH_")}
            | {
                "ENRICH_BROKER": broker,
                "ENRICH_GROUP_ID": f"{prefix}-group",
                "ENRICH_PARTITIONS": str(partitions),
                "ENRICH_LOG_LEVEL": "WARNING",
            }
            | {f"ENRICH_TOPIC_{k.upper()}": f"{prefix}.{k}" for k in Settings().topics}
            | (extra_env or {})
        )
        self.settings = Settings.model_validate(
            {
                k.removeprefix("ENRICH_").lower(): v
                for k, v in self.env.items()
                if k.startswith("ENRICH_")
            }
        )
        self.ports = [free_port() for _ in range(count)]
        self.logdir = logdir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for port in self.ports:
            log = open(self.logdir / f"worker-{port}.log", "wb")  # noqa: SIM115
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "workers.cli", "worker"],
                    env=self.env | {"ENRICH_HTTP_PORT": str(port), "ENRICH_HTTP_HOST": "127.0.0.1"},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

    def metrics(self) -> list[str]:
        out = []
        for port in self.ports:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                out.append(r.read().decode())
        return out

    def wait_balanced(self, timeout: float = 120) -> None:
        """Until every worker is ready and all partitions are assigned among them."""
        # the three stage topics; with stories, four story topics and six table changelogs
        topics = 3 + (10 if self.settings.stories else 0)
        want = topics * self.settings.partitions
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if sum(
                    sample(m, "enrich_assigned_partitions") for m in self.metrics()
                ) == want and all(
                    sample(m, "enrich_assigned_partitions") > 0 for m in self.metrics()
                ):
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise SystemExit("workers did not join and balance in time")

    def peak_rss_mib(self) -> list[float]:
        return self._memory_mib("VmHWM")

    def rss_mib(self) -> list[float]:
        return self._memory_mib("VmRSS")

    def _memory_mib(self, field: str) -> list[float]:
        """A /proc/PID/status memory field of each worker, in MiB."""
        out = []
        for p in self.procs:
            status = Path(f"/proc/{p.pid}/status").read_text()
            match = re.search(rf"{field}:\s+(\d+)", status)
            out.append(int(match[1]) / 1024 if match else 0.0)
        return out

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float:
    """User and system CPU seconds a process has used (0 for none)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def sample(text: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(m.group(1)) if m else 0.0


async def drain(
    settings: Settings, keys: set[bytes], on_record: Any = None, timeout: float = 3600
) -> None:
    """Until every key in ``keys`` was enriched or dead-lettered."""
    waiting = set(keys)

    async def read() -> None:
        async for rec in clients.consume(settings, [settings.topic_enriched, settings.topic_dlq]):
            if rec.key in waiting:
                waiting.discard(rec.key)
                if on_record:
                    on_record(rec)
                if not waiting:
                    return

    await asyncio.wait_for(read(), timeout)


async def throughput_run(
    w: Workers, batch: list[tuple[bytes, bytes]], broker_pid: int | None
) -> dict[str, Any]:
    rebalances_before = sum(sample(m, "enrich_rebalances_total") for m in w.metrics())
    rss_at: dict[str, list[float]] = {}
    received = 0

    def on_record(_: Any) -> None:
        nonlocal received
        received += 1
        if received == min(1000, len(batch) // 2):
            rss_at["early"] = w.rss_mib()

    reader = asyncio.create_task(drain(w.settings, {k for k, _ in batch}, on_record))  # noqa: RUF006 - awaited below
    await asyncio.sleep(1.0)  # the reader is positioned
    started = time.perf_counter()
    cpu_before = [cpu_seconds(p.pid) for p in w.procs], cpu_seconds(broker_pid), time.process_time()
    await clients.produce(w.settings, batch)
    await reader
    elapsed = time.perf_counter() - started
    workers_cpu = [cpu_seconds(p.pid) - c for p, c in zip(w.procs, cpu_before[0], strict=True)]
    broker_cpu = cpu_seconds(broker_pid) - cpu_before[1]
    client_cpu = time.process_time() - cpu_before[2]
    rss_at["late"] = w.rss_mib()
    metrics = w.metrics()
    return {
        "elapsed": elapsed,
        "rate": len(batch) / elapsed,
        "peak_rss": w.peak_rss_mib(),
        "rss_early": rss_at.get("early", []),
        "rss_late": rss_at["late"],
        "loop_lag_max": max(sample(m, "enrich_event_loop_lag_max_seconds") for m in metrics),
        "rebalances": sum(sample(m, "enrich_rebalances_total") for m in metrics)
        - rebalances_before,
        "cores": {
            "workers": [c / elapsed for c in workers_cpu],
            "broker": broker_cpu / elapsed,
            "client": client_cpu / elapsed,
        },
    }


async def latency_run(w: Workers, bodies: list[str], rate: float, seconds: float) -> list[float]:
    count = max(int(rate * seconds), 20)
    batch = records(bodies, count, "lat")
    sent: dict[bytes, float] = {}
    latencies: list[float] = []

    def on_record(rec: Any) -> None:
        if rec.key in sent:
            latencies.append(time.perf_counter() - sent[rec.key])

    reader = asyncio.create_task(drain(w.settings, {k for k, _ in batch}, on_record))  # noqa: RUF006 - awaited below
    await asyncio.sleep(1.0)
    producer = clients.producer(w.settings)
    await producer.start()
    try:
        started = time.perf_counter()
        for i, (key, value) in enumerate(batch):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[key] = time.perf_counter()
            await producer.send(w.settings.topic_raw, key=key, value=value)
        await producer.flush()
    finally:
        await producer.stop()
    await reader
    return latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def main_async(args: argparse.Namespace) -> None:
    bodies = corpus(args.data_dir)
    texts = clean_texts(bodies)
    words = statistics.fmean(word_count(t) for t in texts)
    print(
        f"corpus: {len(bodies)} articles, {words:.0f} words each on average after cleaning; "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )

    rates = model_rates(texts, Settings().model)
    print(
        f"reference (the tag stage's components, nlp.pipe batch 64): "
        f"{rates['reference']:.1f} articles/s",
        flush=True,
    )
    print(
        f"naive (full pipeline, nlp(text) per text):        {rates['naive']:.1f} articles/s",
        flush=True,
    )

    if not (args.stories or args.guarantees or args.compare_brokers):
        print("\nwhere the CPU goes (bench/components.py, the same texts):", flush=True)
        components.report([texts[i % len(texts)] for i in range(min(200, args.articles))])
        if args.components_only:
            return
        print(flush=True)

    results: dict[int, dict[str, Any]] = {}
    latencies: list[float] = []
    logdir = Path(args.logdir)
    logdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - set-up, before any work
    if args.stories:
        await side_by_side(
            args,
            bodies,
            logdir,
            {"off": {"ENRICH_STORIES": "false"}, "on": {"ENRICH_STORIES": "true"}},
            "stories on / off",
            "goal >= 0.90: at most a 10% drop",
        )
        return
    if args.guarantees:
        args.broker = "kafka"
        await side_by_side(
            args,
            bodies,
            logdir,
            {
                "at_least_once": {"ENRICH_PROCESSING_GUARANTEE": "at_least_once"},
                "exactly_once": {"ENRICH_PROCESSING_GUARANTEE": "exactly_once"},
            },
            "exactly_once / at_least_once",
            "goal >= 0.85",
        )
        return
    if args.compare_brokers:
        await side_by_side(
            args,
            bodies,
            logdir,
            {"embedded": {}, "kafka": {}},
            "Apache Kafka / embedded broker",
            "the same worker: the broker's own cost",
            brokers={"embedded": "embedded", "kafka": "kafka"},
        )
        return
    print(f"workers on {NAMES[args.broker]}", flush=True)
    with broker(args.broker, logdir) as running:
        for count in args.workers:
            w = Workers(
                running.bootstrap,
                count,
                args.partitions,
                logdir,
                {"ENRICH_BATCH_WAIT_S": str(args.batch_wait)} if args.batch_wait else None,
            )
            await admin.create_topics(w.settings)
            w.start()
            try:
                w.wait_balanced()
                results[count] = await throughput_run(
                    w, records(bodies, args.articles, f"w{count}"), running.pid
                )
                r = results[count]
                print(
                    f"{count} worker(s): {r['rate']:.1f} articles/s, "
                    f"{r['rate'] * words:.0f} words/s over {args.articles} articles "
                    f"({r['elapsed']:.1f} s); peak RSS "
                    f"{', '.join(f'{v:.0f}' for v in r['peak_rss'])} MiB; "
                    f"worst event-loop lag {r['loop_lag_max']:.3f} s; "
                    f"rebalances during the run: {r['rebalances']:.0f}",
                    flush=True,
                )
                cores = r["cores"]
                print(
                    f"  CPU cores used during the run: workers "
                    f"{', '.join(f'{c:.2f}' for c in cores['workers'])}, broker "
                    f"{cores['broker']:.2f}, this benchmark's producer and reader "
                    f"{cores['client']:.2f}; total "
                    f"{sum(cores['workers']) + cores['broker'] + cores['client']:.2f} "
                    f"of {os.cpu_count()}",
                    flush=True,
                )
                if r["rss_early"]:
                    print(
                        f"  RSS after the first {min(1000, args.articles // 2)} articles: "
                        f"{', '.join(f'{v:.0f}' for v in r['rss_early'])} MiB; at the end: "
                        f"{', '.join(f'{v:.0f}' for v in r['rss_late'])} MiB",
                        flush=True,
                    )
                if count == args.workers[0] and args.latency_seconds > 0:
                    rate = r["rate"] / 2
                    latencies = await latency_run(w, bodies, rate, args.latency_seconds)
                    print(
                        f"latency at {rate:.1f} articles/s (half the maximum), "
                        f"{len(latencies)} articles: p50 {pct(latencies, 50):.2f} s, "
                        f"p95 {pct(latencies, 95):.2f} s, p99 {pct(latencies, 99):.2f} s",
                        flush=True,
                    )
            finally:
                w.stop()

    one = results[args.workers[0]]["rate"]
    print("\nratios")
    print(f"  worker / reference: {one / rates['reference']:.2f}   (goal >= 0.85)")
    print(f"  worker / naive:     {one / rates['naive']:.2f}   (goal >= 1.5)")
    for count in args.workers[1:]:
        print(
            f"  {count} workers / {args.workers[0]}: "
            f"{results[count]['rate'] / one:.2f}   (goal for 2 on 2 cores >= 1.7)"
        )


async def side_by_side(
    args: argparse.Namespace,
    bodies: list[str],
    logdir: Path,
    modes: dict[str, dict[str, str]],
    ratio: str,
    goal: str,
    brokers: dict[str, str] | None = None,
) -> None:
    """One worker in each of two modes (worker settings), alternately, side by side;
    the second mode's mean rate against the first's. ``brokers`` gives a mode's
    broker kind where it is not ``args.broker`` (all brokers run throughout)."""
    rates: dict[str, list[float]] = {mode: [] for mode in modes}
    kinds = {mode: (brokers or {}).get(mode, args.broker) for mode in modes}
    print(
        "one worker, side by side: "
        + ", ".join(f"{mode} on {NAMES[kind]}" for mode, kind in kinds.items()),
        flush=True,
    )
    with contextlib.ExitStack() as stack:
        running = {kind: stack.enter_context(broker(kind, logdir)) for kind in set(kinds.values())}
        for round_ in range(args.rounds):
            for mode, mode_env in modes.items():
                env = dict(mode_env)
                if args.batch_wait:
                    env["ENRICH_BATCH_WAIT_S"] = str(args.batch_wait)
                on = running[kinds[mode]]
                w = Workers(on.bootstrap, 1, args.partitions, logdir, env)
                await admin.create_topics(w.settings)
                w.start()
                try:
                    w.wait_balanced()
                    r = await throughput_run(
                        w, records(bodies, args.articles, f"m{round_}{mode}"), on.pid
                    )
                finally:
                    w.stop()
                rates[mode].append(r["rate"])
                print(
                    f"{mode} (round {round_ + 1}): {r['rate']:.1f} articles/s over "
                    f"{args.articles} articles; peak RSS {r['peak_rss'][0]:.0f} MiB; "
                    f"broker CPU {r['cores']['broker']:.2f} cores",
                    flush=True,
                )
    first, second = (statistics.fmean(rates[mode]) for mode in modes)
    print("\nratio")
    print(f"  {ratio}: {second / first:.3f}   ({goal})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, help="the shared data folder")
    parser.add_argument("--articles", type=int, default=2000, help="articles per run")
    parser.add_argument("--partitions", type=int, default=6, help="partitions per topic")
    parser.add_argument(
        "--workers", default="1,2", help="worker counts to run, comma-separated (default 1,2)"
    )
    parser.add_argument(
        "--latency-seconds",
        type=float,
        default=30.0,
        help="length of the fixed-rate latency run (0: skip)",
    )
    parser.add_argument(
        "--batch-wait",
        type=float,
        default=0.0,
        help="ENRICH_BATCH_WAIT_S for the workers (default: the setting's)",
    )
    parser.add_argument("--logdir", default="bench-logs", help="where worker logs go")
    parser.add_argument(
        "--stories",
        action="store_true",
        help="instead: one worker with story grouping off and on, side by side",
    )
    parser.add_argument(
        "--guarantees",
        action="store_true",
        help="instead: one worker on Apache Kafka, at_least_once and exactly_once side by side",
    )
    parser.add_argument(
        "--compare-brokers",
        action="store_true",
        help="instead: one worker on the embedded broker and on Apache Kafka, side by side",
    )
    parser.add_argument(
        "--broker",
        choices=("embedded", "kafka"),
        default="embedded",
        help="the broker the workers run on (kafka: Apache Kafka from the release jars)",
    )
    parser.add_argument(
        "--components-only",
        action="store_true",
        help="print the reference and where the CPU goes per article, then stop",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="with --stories or --guarantees: pairs of runs (default 2)",
    )
    args = parser.parse_args()
    args.workers = [int(x) for x in args.workers.split(",")]
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
