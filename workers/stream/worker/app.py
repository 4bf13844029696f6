"""The Faust app, its topics and the stage agents: the Kafka plumbing.

Each stage is one agent reading its topic in micro-batches
(``take_events``), running the stage function off the event loop, and
publishing every outcome (the next record, or a dead-letter) before the batch
is acknowledged. Faust commits acked offsets; an ack counts only for a record
whose outputs the broker has acknowledged (``StageAgents.published``), so an
offset is never committed before its outputs exist.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import faust
from aiokafka.errors import KafkaError
from faust.types import TP

from workers import stage_table
from workers.codec import Message
from workers.dlq import DeadLetterLimit
from workers.errors import ExitCode, StageFailed
from workers.pipeline import Dead, Outcome, Pipeline, stage_spec
from workers.settings import Settings
from workers.stories.messages import Send
from workers.stream.kafka import clients
from workers.stream.kafka.clients import REFUSED_FOR_GOOD
from workers.stream.ops.observe import Observer, serve
from workers.stream.seam import faust_compat
from workers.stream.seam.guard import guarded, on_fatal_group_error
from workers.stream.seam.transactions import Refused, Transactions, Write
from workers.stream.stories.steps import StoryAgents
from workers.stream.worker.health import Health, cannot_publish, partition_list
from workers.stream.worker.refusals import output_refused, story_write_refused

log = logging.getLogger(__name__)

T = TypeVar("T")


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, key_serializer="raw", value_serializer="raw")


class StageAgents:
    """Registers one agent per configured stage on an app."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        pipeline: Pipeline | Future[Pipeline],
        *,
        launched: float | None = None,
    ) -> None:
        """``pipeline`` may still be loading (a future): the worker then joins its
        group meanwhile, and handles records, and is ready, once it is loaded.
        ``launched`` (``time.monotonic()``) is when the process started, for the
        start-up times in the ready line."""
        self.app = app
        self.settings = settings
        if isinstance(pipeline, Pipeline):
            loaded: Future[Pipeline] = Future()
            loaded.set_result(pipeline)
            pipeline = loaded
        self.loading = pipeline
        self.launched = time.monotonic() if launched is None else launched
        self.times: dict[str, float] = {}  # start-up milestones, seconds after launch
        pipeline.add_done_callback(
            lambda _: self.times.setdefault("loaded", time.monotonic() - self.launched)
        )
        self.topics = {kind: raw_topic(app, name) for kind, name in settings.topics.items()}
        self.executors: dict[str, ThreadPoolExecutor] = {}
        self.exit_code = 0  # set when the worker stops itself on a fatal condition
        self.observer = Observer(
            stages=settings.stage_list,
            model=pipeline.result().model if pipeline.done() else None,
            stall_timeout_s=settings.stall_timeout_s,
            sources={settings.topics[stage_spec(s).source]: s for s in settings.stage_list},
            loaded=pipeline.done(),
        )
        # per source partition, the offset after the last record whose outputs are published
        self.next_offset: dict[tuple[str, int], int] = {}
        self.sources = {settings.topics[stage_spec(stage).source] for stage in settings.stage_list}
        # exactly_once: each batch commits in a transaction of its own (transactions.py);
        # Faust's consumer reads only committed records and commits no source offset
        self.transactions: Transactions | None = None
        if settings.processing_guarantee == "exactly_once":
            self.transactions = Transactions(
                settings,
                owns=self._owns,
                rewind=self._rewind,
                trouble=self.observer.publishing,
                excused=self.observer.waiting_on_broker,
            )
        self.stories: StoryAgents | None = None
        #: the story steps, when on, follow the last stage of the table, whichever it is
        self.story_stage = stage_table.last().name
        if settings.stories and self.story_stage in settings.stage_list:
            self.stories = StoryAgents(
                app,
                settings,
                self.topics,
                self._loaded,
                self.send_all,
                self.mark_published,
                self.fail,
                transactions=self.transactions,
                refuse=self._story_write_refused,
            )
            self.sources |= self.stories.sources
            self.observer.sources.update(dict.fromkeys(self.stories.sources, self.story_stage))
        if self.transactions is not None:
            faust_compat.commit_by_transactions(app, self.sources)
            # before the tables are read: every earlier owner fenced, its open writes ended
            faust_compat.before_recovery(app, self._fence_assigned)
            app.on_before_shutdown.connect(self._end_transactions)
        faust_compat.correct_end_offsets(app, self._changelog_ends)
        faust_compat.guard_acks(app, self.published)
        on_fatal_group_error(self.fail)
        for stage in settings.stage_list:
            self._register(stage)
        Health(app, settings, self.observer, self.fail, self.next_offset, self.transactions).start()
        app.on_partitions_assigned.connect(self._on_assigned)  # type: ignore[arg-type]
        if settings.http_port:
            app.task(guarded(self._serve_http, "the HTTP server", self.fail))
        app.task(guarded(self._await_pipeline, "the pipeline's loading", self.fail))

    @property
    def pipeline(self) -> Pipeline:
        """The loaded pipeline; agents wait for it before their first batch."""
        return self.loading.result(timeout=0)

    async def _loaded(self) -> Pipeline:
        return await asyncio.wrap_future(self.loading)

    def dest(self, stage: str) -> str:
        """The topic kind a stage publishes to: with stories on, the last stage's
        records wait in its own output kind for their story before they are enriched."""
        if self.stories is not None and stage == self.stories.after.name:
            return self.stories.waiting
        return stage_spec(stage).dest

    async def _await_pipeline(self) -> None:
        """Mark the stages loaded when the pipeline is, or stop the worker if it fails."""
        try:
            pipeline = await asyncio.wrap_future(self.loading)
        except Exception as exc:  # noqa: BLE001 - any failure to load is fatal
            self.fail(ExitCode.CONFIG, f"the stages failed to load: {exc}")
            return
        self.observer.model_loaded(pipeline.model)
        self._announce_ready()

    def _announce_ready(self) -> None:
        """Log the one-line ready summary once the stages are loaded and the group joined."""
        if "ready" in self.times or not (self.observer.loaded and self.observer.joined):
            return
        self.times["ready"] = time.monotonic() - self.launched
        model = self.pipeline.model
        log.info(
            "worker ready in %.1fs (stages loaded %.1fs, group joined %.1fs after launch): "
            "broker %s, group %s, stages %s, model %s, partitions %s",
            self.times["ready"],
            self.times.get("loaded", 0.0),
            self.times.get("joined", 0.0),
            self.settings.broker,
            self.settings.app_id,
            ",".join(self.settings.stage_list),
            f"{model.name} {model.version}" if model else "none",
            partition_list(self.observer.partitions),
        )

    def mark_published(self, messages: Sequence[Message]) -> None:
        for m in messages:
            key = (m.topic, m.partition)
            self.next_offset[key] = max(self.next_offset.get(key, 0), m.offset + 1)

    def published(self, topic: str, partition: int, offset: int) -> bool:
        """Whether a record's outputs are published, so that its offset may be committed.

        Batches of a partition are handled in order, so every offset below the
        mark is published. A record read again after a rebalance is below it.
        """
        if topic not in self.sources:
            return True
        return offset < self.next_offset.get((topic, partition), 0)

    def fail(self, code: int, message: str) -> None:
        """Stop the worker gracefully with exit ``code`` (first failure wins)."""
        if not self.exit_code:
            log.critical("%s; stopping the worker (exit %d)", message, code)
            self.exit_code = code
            os.kill(os.getpid(), signal.SIGTERM)

    def _register(self, stage: str) -> None:
        spec = stage_spec(stage)
        source = self.topics[spec.source]
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"enrich-{stage}")
        self.executors[stage] = executor

        def run(messages: Sequence[Message]) -> list[Outcome]:
            return spec.run(self.pipeline, messages)

        limit = DeadLetterLimit(
            window=self.settings.dlq_window,
            max_ratio=self.settings.dlq_max_ratio,
            max_consecutive=self.settings.dlq_max_consecutive,
        )

        async def agent(stream: faust.StreamT[bytes]) -> None:
            size, within = self.settings.batch_size, self.settings.batch_wait_s
            async for messages in faust_compat.batches(stream, size, within):
                if not await handle(messages):
                    # stopping: read no further, or a later batch would mark this one done
                    await asyncio.Event().wait()

        async def handle(messages: list[Message]) -> bool:
            """Run and publish one batch; False when it must not count as done."""
            loop = asyncio.get_running_loop()
            if not self.loading.done():
                try:
                    await asyncio.wrap_future(self.loading)
                except Exception:  # noqa: BLE001 - _await_pipeline stops the worker
                    return False
            started = time.perf_counter()
            self.observer.batch_started(stage)
            try:
                outcomes = await loop.run_in_executor(executor, run, messages)
            except Exception as exc:  # the pipeline catches all; belt and braces
                log.exception("%s batch failed outside the pipeline", stage)
                outcomes = [
                    self.pipeline.dead_letter_for(
                        m,
                        stage,
                        StageFailed(str(exc), code="stage_failed"),
                        None,
                        self.pipeline.clock(),
                    )
                    for m in messages
                ]
            codes = [o.record.code if isinstance(o, Dead) else None for o in outcomes]
            tripped = limit.observe(codes)
            if tripped:
                self.fail(ExitCode.DLQ_LIMIT, f"{stage}: dead-letter limit reached: {tripped}")
                return False
            if self.transactions is not None:
                done, outcomes = await self.commit_transaction(stage, messages, outcomes)
                messages = [messages[i] for i in done]
                outcomes = [outcomes[i] for i in done]
            else:
                outcomes = await self.publish(stage, messages, outcomes)
            self.mark_published(messages)
            seconds = time.perf_counter() - started
            dead_codes = [o.record.code for o in outcomes if isinstance(o, Dead)]
            self.observer.batch_done(
                stage, len(messages), len(outcomes) - len(dead_codes), dead_codes, seconds
            )
            log.debug("%s: %d records in %.3fs", stage, len(messages), seconds)
            return True

        agent.__name__ = f"{stage}_agent"
        agent.__qualname__ = agent.__name__
        self.app.agent(source, name=f"enrich.{stage}", concurrency=1)(
            guarded(agent, f"the {stage} agent", self.fail)
        )

    async def publish(
        self, stage: str, messages: Sequence[Message], outcomes: Sequence[Outcome]
    ) -> list[Outcome]:
        """Send every outcome and wait for the broker's acks; the outcomes as published.

        A record the broker or client refuses for good (too large, invalid) is
        not retried: it becomes a dead letter, with its original, in its place.
        Other failures are retried with backoff; past ``produce_deadline_s`` the
        process exits at once, without acknowledging the batch, so that the
        records are read again after a restart instead of being committed
        unpublished.
        """
        dest, dlq = self.topics[self.dest(stage)], self.topics["dlq"]

        async def send(outcome: Outcome) -> Any:
            topic = dlq if isinstance(outcome, Dead) else dest
            return await self._send(topic, outcome.key.encode("utf-8"), outcome.value)

        def refused(i: int, outcome: Outcome, error: BaseException) -> Outcome | None:
            return output_refused(self.pipeline, stage, messages[i], outcome, error)

        return await self._deliver(outcomes, send, refused, stage)

    async def _deliver(
        self,
        items: Sequence[T],
        send: Callable[[T], Awaitable[Any]],
        refused: Callable[[int, T, BaseException], T | None],
        what: str,
    ) -> list[T]:
        """Send every item and wait for the broker's acks; the items as sent. One the
        broker or client refuses for good is not retried: ``refused`` gives what is
        sent in its place (None: nothing). Other failures are retried with the one
        backoff (``clients.Backoff``); past ``produce_deadline_s`` the process exits
        at once, so that the batch is read again after a restart instead of being
        committed unpublished; while the cluster is away (``Observer.waiting_on_broker``:
        a lost quorum) the broker-lost exit bounds the wait instead. Each round of
        sends is bounded (twice ``request_timeout_s``): a send that hangs counts as
        failed, as one that fails."""
        final = list(items)
        pending = list(range(len(final)))
        # the deadline counted anew while the cluster is away (a lost quorum)
        backoff = clients.Backoff(
            self.settings.produce_deadline_s, excused=self.observer.waiting_on_broker
        )
        warned = False
        while pending:
            try:
                # bounded: a send to a frozen leader fails here, not never
                results = await asyncio.wait_for(
                    asyncio.gather(*[send(final[i]) for i in pending], return_exceptions=True),
                    self.settings.request_timeout_s * 2,
                )
            except TimeoutError as exc:
                results = [exc] * len(pending)
            replaced: list[int] = []
            failed: list[int] = []
            errors: list[BaseException] = []
            for i, result in zip(pending, results, strict=True):
                if not isinstance(result, BaseException):
                    continue
                if isinstance(result, REFUSED_FOR_GOOD):
                    replacement = refused(i, final[i], result)
                    if replacement is not None:
                        final[i] = replacement
                        replaced.append(i)
                else:
                    failed.append(i)
                    errors.append(result)
            if not failed:
                if warned:
                    log.warning("%s: publishing works again", what)
                    self.observer.publishing(None)
                    warned = False
                pending = replaced  # what stands in for refused records
                continue
            self.observer.publishing(errors[0])
            if backoff.spent():
                cannot_publish(what, self.settings.produce_deadline_s, errors[0])
            if not warned:
                log.warning(
                    "%s: publishing %d records failed (%r); retrying", what, len(failed), errors[0]
                )
                warned = True
            await backoff.wait()
            pending = failed + replaced
        return final

    async def commit_transaction(
        self, stage: str, messages: Sequence[Message], outcomes: Sequence[Outcome]
    ) -> tuple[list[int], list[Outcome]]:
        """exactly_once: commit the batch's outcomes with its input offsets (one
        transaction per source partition); the indexes of the messages done, and
        the outcomes as committed (a refused record's dead letter in its place)."""
        if self.transactions is None:
            raise RuntimeError("transactions are for exactly_once only")
        final = list(outcomes)
        dest, dlq = self.settings.topics[self.dest(stage)], self.settings.topic_dlq

        def write(outcome: Outcome) -> Write:
            topic = dlq if isinstance(outcome, Dead) else dest
            return Write(topic, outcome.key.encode("utf-8"), outcome.value)

        async def replace(refusals: dict[Refused, BaseException]) -> dict[Refused, Write | None]:
            replaced: dict[Refused, Write | None] = {}
            for (i, j), error in refusals.items():
                dead = output_refused(self.pipeline, stage, messages[i], final[i], error)
                if dead is not None:
                    final[i] = dead
                replaced[i, j] = write(dead) if dead is not None else None
            return replaced

        done, _ = await self.transactions.commit(messages, [[write(o)] for o in final], replace)
        return done, final

    async def _rewind(self, topic: str, partition: int, offset: int) -> None:
        """Seek a source partition back, so that its records from ``offset`` are read again."""
        log.info("%s[%d]: reading again from offset %d", topic, partition, offset)
        try:
            await self.app.consumer.seek(TP(topic, partition), max(offset, 0))
        except Exception as exc:  # noqa: BLE001 - lost meanwhile: its new owner reads it
            log.info("%s[%d]: not sought back (%r)", topic, partition, exc)

    async def _changelog_ends(self, reported: Mapping[TP, int]) -> Mapping[TP, int]:
        """Where the tables' changelogs end (patch 5): read past the reported ends, or,
        under exactly_once, back to the last committed record. Retried while a broker
        does not answer (a frozen node), for up to ``broker_lost_exit_s``; past that the
        worker stops, never leaving its table recovery waiting for good."""
        find = (
            clients.last_committed_ends
            if self.transactions is not None
            else clients.true_end_offsets
        )

        def waiting(error: BaseException) -> None:
            log.warning("reading where the changelogs end failed (%r); retrying", error)

        try:
            return await clients.retrying(
                lambda: find(self.settings, reported),
                timeout=self.settings.broker_lost_exit_s,
                errors=(KafkaError, OSError, TimeoutError),
                waiting=waiting,
            )
        except (KafkaError, OSError, TimeoutError) as exc:
            self.fail(
                ExitCode.BROKER_UNAVAILABLE,
                f"where the changelogs end could not be read for "
                f"{self.settings.broker_lost_exit_s:.0f}s ({exc!r})",
            )
            raise

    async def _fence_assigned(self) -> None:
        """exactly_once: make the producers of every source partition assigned here."""
        if self.transactions is not None:
            assigned = self.app.consumer.assignment()
            await self.transactions.fence(
                {(tp.topic, tp.partition) for tp in assigned if tp.topic in self.sources}
            )

    async def _end_transactions(self, *_: Any, **__: Any) -> None:
        """exactly_once, at a graceful stop, once the streams are drained: the commits
        in progress end, and no transaction is left open."""
        if self.transactions is not None:
            await self.transactions.close(within=self.settings.stop_timeout_s / 2)

    def _owns(self, topic: str, partition: int) -> bool:
        return any(
            tp.topic == topic and tp.partition == partition for tp in self.app.consumer.assignment()
        )

    async def send_all(self, sends: Sequence[Send]) -> None:
        """Send (topic kind, key, value) records and wait for the broker's acks,
        retrying as ``publish`` does; past ``produce_deadline_s`` the process exits."""

        async def send_one(item: Send) -> Any:
            kind, key, value = item
            return await self._send(self.topics[kind], key, value)

        def refused(_: int, item: Send, error: BaseException) -> Send | None:
            kind, key, value = item
            return self._story_write_refused(self.topics[kind].get_topic_name(), key, value, error)

        await self._deliver(sends, send_one, refused, "stories")

    def _story_write_refused(
        self, topic: str, key: bytes, value: bytes, error: BaseException
    ) -> tuple[str, bytes, bytes] | None:
        dlq = self.settings.topic_dlq
        return story_write_refused(self.pipeline, self.story_stage, dlq, topic, key, value, error)

    @staticmethod
    async def _send(topic: faust.TopicT, key: bytes, value: bytes) -> Any:
        fut = asyncio.ensure_future(await topic.send(key=key, value=value))
        # read when it ends: a send given up by the bounded wait of ``_deliver`` (and
        # sent again) ends later, unawaited, and asyncio logs each such at ERROR;
        # shielded, as cancelling it would not take it back from the client, and
        # Faust's callback on it logged each cancelled one at ERROR
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        return await asyncio.shield(fut)

    async def _on_assigned(self, sender: Any, *_: Any, signal: Any = None, **__: Any) -> None:
        """Lag and published marks follow the current assignment only: a partition that
        comes back after another worker read it starts from its committed offset, not
        from this worker's old mark (which showed as phantom lag)."""
        assigned = {(tp.topic, tp.partition) for tp in self.app.consumer.assignment()}
        for key in [k for k in self.next_offset if k not in assigned]:
            del self.next_offset[key]
        if self.transactions is not None:
            self.transactions.assigned(assigned)
        first = not self.observer.joined
        self.observer.assigned_partitions(assigned)
        if first:
            self.times["joined"] = time.monotonic() - self.launched
            self._announce_ready()
        else:
            log.info("partitions reassigned: %s", partition_list(assigned))

    async def _serve_http(self) -> None:
        runner = await serve(
            self.observer,
            self.settings.http_host,
            self.settings.http_port,
            trends=self.stories.local_trends if self.stories is not None else None,
            expose_content=self.settings.expose_content,
        )
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    def close(self) -> None:
        for executor in self.executors.values():
            executor.shutdown(wait=False, cancel_futures=True)
        if self.stories is not None:
            self.stories.close()
