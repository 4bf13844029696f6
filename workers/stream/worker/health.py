"""The worker's health loops: the broker, the event loop, partition lag and the
progress line, each a task beside the stage agents, reporting to the observer.
The Kafka side; a loop that finds the worker unfit stops it (``fail``)."""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import time
from collections.abc import Callable
from typing import NoReturn

import faust

from workers.errors import ExitCode
from workers.settings import Settings
from workers.stream.kafka import clients
from workers.stream.ops.observe import Observer
from workers.stream.seam import faust_compat, send_buffer
from workers.stream.seam.guard import guarded
from workers.stream.seam.transactions import Transactions

log = logging.getLogger("workers.stream.worker.app")  # the worker's lines, under one name


def cannot_publish(what: str, deadline_s: float, error: BaseException) -> NoReturn:
    """Past the produce deadline: exit at once (75), so that what was not published
    is read again after a restart instead of committed unpublished."""
    log.critical(
        "%s: cannot publish for %.0fs (%r); exiting so that the batch "
        "is redelivered after a restart",
        what,
        deadline_s,
        error,
    )
    os._exit(ExitCode.PRODUCE_FAILED)


class Health:
    """The loops of one worker; ``start`` registers them as the app's tasks."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        observer: Observer,
        fail: Callable[[int, str], None],
        next_offset: dict[tuple[str, int], int],
        transactions: Transactions | None,
    ) -> None:
        """``next_offset`` is the worker's own map (per source partition, the offset
        after the last record whose outputs are published), read as it changes."""
        self.app = app
        self.settings = settings
        self.observer = observer
        self.fail = fail
        self.next_offset = next_offset
        self.transactions = transactions

    def start(self) -> None:
        # table writes are output too: reported, waited out while the quorum is lost
        send_buffer.set_send_hooks(
            self.app,
            excused=self.observer.waiting_on_broker,
            trouble=self.observer.publishing,
            give_up=lambda error: cannot_publish(
                "table writes", self.settings.produce_deadline_s, error
            ),
        )
        loops = [self.check_broker, self.check_loop, self.sample_lag]
        if self.settings.progress_interval_s:
            loops.append(self.report_progress)
        for loop in loops:
            self.app.task(guarded(loop, f"the health loop {loop.__name__}", self.fail))

    async def check_broker(self) -> None:
        """Warn once when the broker is lost (no address answers, or fewer than half while
        output fails: a lost quorum); stop non-zero past ``broker_lost_exit_s``."""
        interval = min(5.0, self.settings.broker_lost_exit_s / 4)
        lost_since: float | None = None
        while True:
            await asyncio.sleep(interval)
            answered, asked = await clients.answering(self.settings, timeout=interval)
            self.observer.broker_check(answered > 0, answered, asked)
            if not self.observer.waiting_on_broker():
                if lost_since is not None:
                    log.warning(
                        "broker %s is back after %.0fs",
                        self.settings.broker,
                        time.monotonic() - lost_since,
                    )
                    lost_since = None
                continue
            what = (
                "unreachable"
                if not answered
                else f"lost its quorum ({answered} of {asked} bootstrap addresses answer, "
                "and output cannot be published)"
            )
            now = time.monotonic()
            if lost_since is None:
                lost_since = now
                log.warning(
                    "broker %s %s; waiting up to %.0fs for it",
                    self.settings.broker,
                    what,
                    self.settings.broker_lost_exit_s,
                )
            elif now - lost_since >= self.settings.broker_lost_exit_s:
                self.fail(
                    ExitCode.BROKER_UNAVAILABLE,
                    f"broker {self.settings.broker} {what} for {now - lost_since:.0f}s",
                )
                return

    async def check_loop(self) -> None:
        """Track the event loop's lag: how late a short sleep wakes up."""
        loop = asyncio.get_running_loop()
        interval = 0.25
        while True:
            before = loop.time()
            await asyncio.sleep(interval)
            lag = max(loop.time() - before - interval, 0.0)
            if lag > 1.0 and lag > self.observer.loop_lag_max_s:
                log.warning("event loop blocked for %.2fs", lag)
            self.observer.loop_lag_sample(lag)

    async def report_progress(self) -> None:
        """A progress line every ``progress_interval_s`` while records move or wait."""
        interval = self.settings.progress_interval_s
        since: dict[str, int] = {}
        dead_since: collections.Counter[str] = collections.Counter()
        while True:
            await asyncio.sleep(interval)
            moved = self.observer.done != since
            if moved or any(self.observer.lag.values()):
                log.info("%s", self.observer.report(since, dead_since, interval))
            since = dict(self.observer.done)
            dead_since = collections.Counter(self.observer.dead)

    async def sample_lag(self) -> None:
        """Sample each assigned partition's lag: its end offset less the next to
        process. The story tables' changelog partitions are assigned too, but only
        written after recovery: they are no work waiting."""
        while True:
            await asyncio.sleep(2.0)
            consumer = self.app.consumer
            changelogs = self.app.tables.changelog_topics
            for tp in consumer.assignment():
                if tp.topic in changelogs:
                    continue
                try:
                    end = consumer.highwater(tp)
                    done = self.next_offset.get((tp.topic, tp.partition))
                    if done is None:
                        done = await consumer.position(tp)
                    elif (
                        self.transactions is not None
                        and end is not None
                        and end > done
                        and (await consumer.position(tp) or 0) >= end
                        and faust_compat.drained(self.app, tp)
                        and not await self.transactions.refill(tp.topic, tp.partition)
                    ):
                        # a transaction's commit marker takes an offset: read up to
                        # the end with nothing left to hand over, the partition is done
                        # (unless records in it were read and not committed: a hole,
                        # sought back to, which shows as lag until it is done)
                        done = end
                except Exception:  # noqa: BLE001, S112 - no fetch yet, or mid-rebalance
                    continue
                if end is not None and done is not None:
                    self.observer.partition_lag(tp.topic, tp.partition, max(end - done, 0))


def partition_list(assigned: set[tuple[str, int]]) -> str:
    """``articles.raw[0,1,2] articles.cleaned[0]``, or ``none`` (a standby)."""
    by_topic: dict[str, list[int]] = {}
    for topic, partition in sorted(assigned):
        by_topic.setdefault(topic, []).append(partition)
    return " ".join(f"{t}[{','.join(map(str, ps))}]" for t, ps in by_topic.items()) or "none"
