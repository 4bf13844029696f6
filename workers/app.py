"""The Faust app, its topics and the stage agents: the Kafka plumbing.

Each stage is one agent reading its topic in micro-batches
(``take_events``), running the stage function off the event loop, and
publishing every outcome (the next record, or a dead-letter) before the batch
is acknowledged. Faust acks a batch when the agent body returns to the loop
head, and commits only acked offsets: so an offset is committed only after
its outputs were acknowledged by the broker. No exception leaves the agent
body, since Faust would ack the in-flight records and skip them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust

from schemas.models import Stage
from workers.errors import StageFailed
from workers.pipeline import Dead, Message, Outcome, Pipeline
from workers.settings import Settings

log = logging.getLogger(__name__)

EXIT_PRODUCE_FAILED = 75  # EX_TEMPFAIL: an orchestrator should restart us

SOURCE_TOPIC = {"clean": "raw", "tag": "cleaned", "summarize": "tagged"}
DEST_TOPIC = {"clean": "cleaned", "tag": "tagged", "summarize": "enriched"}


def create_app(settings: Settings, **overrides: Any) -> faust.App:
    """A Faust app configured from settings (the group id is the app id)."""
    conf: dict[str, Any] = {
        "broker": [f"kafka://{h.strip()}" for h in settings.broker.split(",")],
        "store": "memory://",
        "autodiscover": False,
        "web_enabled": False,
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        "topic_disable_leader": True,
        "consumer_auto_offset_reset": "earliest",
        "broker_session_timeout": settings.session_timeout_s,
        "broker_heartbeat_interval": settings.heartbeat_interval_s,
        "broker_rebalance_timeout": settings.rebalance_timeout_s,
        "broker_commit_interval": settings.commit_interval_s,
        "producer_acks": -1,
        "producer_max_request_size": settings.max_request_bytes,
        "consumer_max_fetch_size": settings.max_request_bytes,
        "stream_wait_empty": False,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    conf.update(overrides)
    return faust.App(settings.app_id, **conf)


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, key_serializer="raw", value_serializer="raw")


class StageAgents:
    """Registers one agent per configured stage on an app."""

    def __init__(self, app: faust.App, settings: Settings, pipeline: Pipeline) -> None:
        self.app = app
        self.settings = settings
        self.pipeline = pipeline
        self.topics = {kind: raw_topic(app, name) for kind, name in settings.topics.items()}
        self.executors: dict[str, ThreadPoolExecutor] = {}
        self.processed = 0
        for stage in settings.stage_list:
            self._register(stage)

    def _register(self, stage: Stage) -> None:
        source = self.topics[SOURCE_TOPIC[stage]]
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"enrich-{stage}")
        self.executors[stage] = executor
        run: Callable[[Sequence[Message]], list[Outcome]] = (
            lambda msgs: self.pipeline.run_stage(stage, msgs)
        )

        async def agent(stream: faust.StreamT[bytes]) -> None:
            loop = asyncio.get_running_loop()
            async for events in stream.take_events(  # type: ignore[attr-defined]
                self.settings.batch_size, within=self.settings.batch_wait_s
            ):
                messages = [
                    Message(e.message.topic, e.message.partition, e.message.offset,
                            e.message.key, e.message.value)
                    for e in events
                ]
                started = time.perf_counter()
                try:
                    outcomes = await loop.run_in_executor(executor, run, messages)
                except Exception as exc:  # the pipeline catches all; belt and braces
                    log.exception("%s batch failed outside the pipeline", stage)
                    outcomes = [
                        self.pipeline.dead_letter_for(
                            m, stage, StageFailed(str(exc), code="stage_failed"), None,
                            self.pipeline.clock())
                        for m in messages
                    ]
                await self.publish(stage, outcomes)
                self.processed += len(messages)
                log.debug("%s: %d records in %.3fs", stage, len(messages),
                          time.perf_counter() - started)

        agent.__name__ = f"{stage}_agent"
        agent.__qualname__ = agent.__name__
        self.app.agent(source, name=f"enrich.{stage}", concurrency=1)(agent)

    async def publish(self, stage: str, outcomes: Sequence[Outcome]) -> None:
        """Send every outcome and wait for the broker's acks, retrying with backoff.

        Past ``produce_deadline_s`` the process exits at once, without
        acknowledging the batch, so that the records are read again after a
        restart instead of being committed unpublished.
        """
        dest = self.topics[DEST_TOPIC[stage]]
        dlq = self.topics["dlq"]
        pending = [
            (dlq if isinstance(o, Dead) else dest, o.key.encode("utf-8"), o.value)
            for o in outcomes
        ]
        deadline = time.monotonic() + self.settings.produce_deadline_s
        delay = 0.2
        warned = False
        while pending:
            results = await asyncio.gather(
                *[self._send(topic, key, value) for topic, key, value in pending],
                return_exceptions=True,
            )
            failed = [p for p, r in zip(pending, results, strict=True)
                      if isinstance(r, BaseException)]
            if not failed:
                if warned:
                    log.warning("%s: publishing works again", stage)
                return
            error = next(r for r in results if isinstance(r, BaseException))
            if time.monotonic() + delay > deadline:
                log.critical("%s: cannot publish for %.0fs (%r); exiting so that the batch "
                             "is redelivered after a restart", stage,
                             self.settings.produce_deadline_s, error)
                os._exit(EXIT_PRODUCE_FAILED)
            if not warned:
                log.warning("%s: publishing %d records failed (%r); retrying", stage,
                            len(failed), error)
                warned = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            pending = failed

    @staticmethod
    async def _send(topic: faust.TopicT, key: bytes, value: bytes) -> Any:
        fut = await topic.send(key=key, value=value)
        return await fut

    def close(self) -> None:
        for executor in self.executors.values():
            executor.shutdown(wait=False, cancel_futures=True)
