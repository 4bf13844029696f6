"""What a running worker shows: Prometheus metrics, /health and /ready.

One ``Observer`` per worker process holds the metrics (in a registry of its
own) and the state the probes read. The HTTP server runs on the worker's
event loop, so a loop too blocked to answer is a failed health probe.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from schemas.models import ModelInfo
from workers import __version__
from workers.web import is_loopback_host, start

log = logging.getLogger(__name__)

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Observer:
    """The worker's metrics and probe state."""

    def __init__(
        self,
        *,
        stages: Iterable[str],
        model: ModelInfo | None,
        stall_timeout_s: float,
        clock: Any = time.monotonic,
        sources: dict[str, str] | None = None,
        loaded: bool = True,
    ) -> None:
        """``sources`` maps each source topic to the stage that reads it, so that a
        stage's health counts only its own partitions' lag (without it, all lag
        counts for every stage). A worker that loads its model while it joins its
        group starts with ``loaded`` False, and is not ready until ``model_loaded``."""
        self.registry = CollectorRegistry()
        r = self.registry
        self.records_in = Counter(
            "enrich_records_in", "Records read, per stage", ["stage"], registry=r
        )
        self.records_out = Counter(
            "enrich_records_out",
            "Records published to the next topic, per stage",
            ["stage"],
            registry=r,
        )
        self.dead_letters = Counter(
            "enrich_dead_letters",
            "Records dead-lettered, per stage and error code",
            ["stage", "code"],
            registry=r,
        )
        self.batch_seconds = Histogram(
            "enrich_stage_batch_seconds",
            "Time to run and publish one batch, per stage",
            ["stage"],
            buckets=SECONDS_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "enrich_batch_size",
            "Records per batch, per stage",
            ["stage"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.loop_lag = Gauge(
            "enrich_event_loop_lag_seconds",
            "How late the event loop woke up at the last check",
            registry=r,
        )
        self.loop_lag_max = Gauge(
            "enrich_event_loop_lag_max_seconds", "Worst event loop lag since start", registry=r
        )
        self.consumer_lag = Gauge(
            "enrich_consumer_lag",
            "Records behind the end of each assigned partition",
            ["topic", "partition"],
            registry=r,
        )
        self.assigned = Gauge(
            "enrich_assigned_partitions", "Partitions assigned to this worker", registry=r
        )
        self.rebalances = Counter(
            "enrich_rebalances", "Partition assignments received after the first", registry=r
        )
        self.broker_up = Gauge(
            "enrich_broker_reachable", "1 when the broker answered the last check", registry=r
        )
        self.build = Info("enrich_build", "Worker version and model", registry=r)
        self._set_build(model)
        stages = list(stages)
        for stage in stages:  # export zeros before the first record
            self.records_in.labels(stage)
            self.records_out.labels(stage)
        self.stall_timeout_s = stall_timeout_s
        self.clock = clock
        self.joined = False
        self.loaded = loaded
        self.broker_reachable = True  # a worker starts once the broker answered
        self.broker_lost_at: float | None = None
        self.publish_failing: tuple[float, str] | None = None  # since when, and why
        self.brokers_answering = (1, 1)  # of the bootstrap addresses, at the last check
        self.broker_up.set(1)
        self.partitions: set[tuple[str, int]] = set()
        self.lag: dict[tuple[str, int], int] = {}
        self.sources = dict(sources or {})
        self.progress = {stage: clock() for stage in stages}  # per stage, last batch done
        self.running: dict[str, float] = {}  # per stage, when the batch in hand started
        self.done: dict[str, int] = {}  # per stage, records handled since start
        self.dead: collections.Counter[str] = collections.Counter()  # codes since start
        self.loop_lag_max_s = 0.0

    def _set_build(self, model: ModelInfo | None) -> None:
        self.build.info(
            {
                "version": __version__,
                "model": model.name if model else "",
                "model_version": model.version if model else "",
                "model_language": model.language if model else "",
            }
        )

    # -- events from the worker ------------------------------------------

    def model_loaded(self, model: ModelInfo | None) -> None:
        """The stages are loaded and warm: records can be handled at full speed."""
        self._set_build(model)
        self.loaded = True

    def batch_started(self, stage: str) -> None:
        self.running[stage] = self.clock()

    def batch_done(
        self, stage: str, size: int, forwarded: int, dead_codes: list[str], seconds: float
    ) -> None:
        self.records_in.labels(stage).inc(size)
        self.records_out.labels(stage).inc(forwarded)
        for code in dead_codes:
            self.dead_letters.labels(stage, code).inc()
        self.batch_size.labels(stage).observe(size)
        self.batch_seconds.labels(stage).observe(seconds)
        self.running.pop(stage, None)
        self.progress[stage] = self.clock()
        self.done[stage] = self.done.get(stage, 0) + size
        self.dead.update(dead_codes)

    def assigned_partitions(self, partitions: Iterable[tuple[str, int]]) -> None:
        if self.joined:
            self.rebalances.inc()
        self.joined = True
        self.partitions = set(partitions)
        self.assigned.set(len(self.partitions))
        for topic, partition in list(self.lag):
            if (topic, partition) not in self.partitions:
                self.consumer_lag.remove(topic, str(partition))
                del self.lag[(topic, partition)]
        now = self.clock()
        self.progress = dict.fromkeys(self.progress, now)

    def partition_lag(self, topic: str, partition: int, lag: int) -> None:
        self.lag[(topic, partition)] = lag
        self.consumer_lag.labels(topic, str(partition)).set(lag)

    def loop_lag_sample(self, lag: float) -> None:
        self.loop_lag.set(lag)
        if lag > self.loop_lag_max_s:
            self.loop_lag_max_s = lag
            self.loop_lag_max.set(lag)

    def publishing(self, error: BaseException | None) -> None:
        """Whether the stages' outputs reach the broker: None when they do (again), else
        the last error (a write with too few replicas in sync, a leader away)."""
        if error is None:
            self.publish_failing = None
        elif self.publish_failing is None:
            self.publish_failing = (self.clock(), type(error).__name__)
        else:
            self.publish_failing = (self.publish_failing[0], type(error).__name__)

    @property
    def quorum_answers(self) -> bool:
        """Whether more than half the bootstrap addresses answered at the last check."""
        answered, asked = self.brokers_answering
        return 2 * answered > asked

    def waiting_on_broker(self) -> bool:
        """Whether output fails because the cluster is away: no broker answers, or fewer
        than half the bootstrap addresses do while publishing fails (a lost quorum).
        The broker-lost exit (``broker_lost_exit_s``) bounds such a wait, not the
        produce deadline."""
        if not self.broker_reachable:
            return True
        return not self.quorum_answers and self.publish_failing is not None

    def broker_check(self, reachable: bool, answered: int = 1, asked: int = 1) -> None:
        """The last check: whether a broker answered, and how many of the bootstrap
        addresses did (fewer than half: a replicated cluster has lost its quorum)."""
        self.broker_reachable = reachable
        self.brokers_answering = (answered, asked)
        self.broker_up.set(1 if reachable else 0)
        if reachable:
            self.broker_lost_at = None
        elif self.broker_lost_at is None:
            self.broker_lost_at = self.clock()

    # -- probes ------------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Alive, unless one of the stages is stuck: its batch in hand has run longer
        than the stall timeout, or its records wait (lag > 0) and none moved for it."""
        now = self.clock()
        stages: dict[str, dict[str, Any]] = {}
        stalled: dict[str, str] = {}
        for stage, last in self.progress.items():
            behind = sum(
                lag
                for (topic, _), lag in self.lag.items()
                if self.sources.get(topic, stage) == stage
            )
            idle = now - last
            busy = now - self.running[stage] if stage in self.running else 0.0
            stages[stage] = {
                "lag": behind,
                "seconds_since_progress": round(idle, 1),
                "batch_running_s": round(busy, 1),
            }
            if busy > self.stall_timeout_s:
                stalled[stage] = f"one batch has run for {busy:.0f}s"
            elif behind > 0 and idle > self.stall_timeout_s:
                stalled[stage] = f"{behind} records wait and none moved for {idle:.0f}s"
        body = {
            "status": "stalled" if stalled else "ok",
            "lag": sum(self.lag.values()),
            "seconds_since_progress": round(
                min((s["seconds_since_progress"] for s in stages.values()), default=0.0), 1
            ),
            "event_loop_lag_max_s": round(self.loop_lag_max_s, 3),
            # alive while it waits for the broker (it exits by itself past
            # ENRICH_BROKER_LOST_EXIT_S): said, not failed, so nothing restarts it
            "broker": "reachable"
            if self.broker_lost_at is None
            else f"unreachable for {now - self.broker_lost_at:.0f}s",
            "brokers": f"{self.brokers_answering[0]} of {self.brokers_answering[1]} bootstrap "
            "addresses answer",
            "publishing": "ok"
            if self.publish_failing is None
            else f"failing for {now - self.publish_failing[0]:.0f}s ({self.publish_failing[1]})",
            "stages": stages,
        }
        if stalled:
            body["stalled"] = stalled
        return not stalled, body

    def ready(self) -> tuple[bool, dict[str, Any]]:
        """Ready once its stages are loaded, it joined its group, the broker answers and
        its outputs reach the broker."""
        failing = self.publish_failing
        answered, asked = self.brokers_answering
        quorum = self.quorum_answers
        ok = self.loaded and self.joined and self.broker_reachable and quorum and failing is None
        reason = (
            "ok"
            if ok
            else "loading the model"
            if not self.loaded
            else "not joined to the consumer group yet"
            if not self.joined
            else "broker unreachable"
            if not self.broker_reachable
            else f"{answered} of {asked} brokers answer: the cluster may have lost its quorum"
            if not quorum
            else f"cannot publish ({failing[1] if failing else ''}): waiting for the broker"
        )
        return ok, {"status": reason, "partitions": sorted(f"{t}:{p}" for t, p in self.partitions)}

    def report(
        self, since: dict[str, int], dead_since: collections.Counter[str], seconds: float
    ) -> str:
        """One progress line: records per second per stage since the last report, the
        lag, and the dead letters since then by code."""
        rates = ", ".join(
            f"{stage} {(self.done.get(stage, 0) - since.get(stage, 0)) / seconds:.1f}/s"
            for stage in self.progress
        )
        new = self.dead - dead_since
        dead = ", ".join(f"{code} x{n}" for code, n in new.most_common(3)) if new else "none"
        return f"progress: {rates}; lag {sum(self.lag.values())}; dead letters {dead}"

    def metrics_text(self) -> bytes:
        return generate_latest(self.registry)


TrendsView = Callable[[float, int], Awaitable[list[dict[str, object]]]]

#: Most entities one /trends answer lists.
MAX_TRENDS_TOP = 200
LOOPBACK = ("127.", "::1", "::ffff:127.")


def is_loopback(remote: str | None) -> bool:
    return remote is not None and remote.startswith(LOOPBACK)


def parse_top(text: str) -> int:
    """How many trending entities a ``/trends`` request asks for; ValueError past
    1 to ``MAX_TRENDS_TOP``."""
    top = int(text)
    if not 1 <= top <= MAX_TRENDS_TOP:
        raise ValueError(f"top: expected 1 to {MAX_TRENDS_TOP}, got {top}")
    return top


async def serve(
    observer: Observer,
    host: str,
    port: int,
    *,
    trends: TrendsView | None = None,
    expose_content: bool = False,
) -> web.AppRunner:
    """Start the HTTP server for /metrics, /health and /ready, and /trends when given;
    returns its runner. /trends shows entity names from articles: it answers
    loopback clients only unless ``expose_content``."""

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            body=observer.metrics_text(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    def probe(check: Any) -> Any:
        async def handler(_: web.Request) -> web.Response:
            ok, body = check()
            return web.json_response(body, status=200 if ok else 503)

        return handler

    async def trending(request: web.Request) -> web.Response:
        assert trends is not None  # noqa: S101 - routed only when given
        if not expose_content and not (
            is_loopback(request.remote) and is_loopback_host(request.headers.get("Host"))
        ):
            # a loopback client naming another host is a browser led here by DNS
            # rebinding: a page the operator visits reading this machine's port
            return web.json_response(
                {
                    "error": "/trends answers this machine only "
                    "(ENRICH_EXPOSE_CONTENT=true opens it)"
                },
                status=403,
            )
        from workers.settings.checks import parse_duration

        try:
            window = parse_duration(request.query.get("window", "1h"))
            top = parse_top(request.query.get("top", "20"))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"window_s": window, "trends": await trends(window, top)})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/health", probe(observer.health))
    app.router.add_get("/ready", probe(observer.ready))
    if trends is not None:
        app.router.add_get("/trends", trending)
    runner = await start(app, host, port)
    log.info("serving /metrics, /health and /ready on %s:%d", host, port)
    return runner
