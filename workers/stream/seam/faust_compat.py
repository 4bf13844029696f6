"""Every change this project makes to Faust's behaviour, in one place.

Faust (faust-streaming) is the stream framework the workers are built on. Some
of its behaviours do not fit a worker that must never commit an unpublished
record, and it offers no setting for them, so they are patched here:

1. **Acks for unpublished records** (``Consumer.ack``). Faust acks records no
   agent finished: at a stop, once ``take_events`` has ended, its stream goes on
   reading and acks each record it reads; in a rebalance it acks the records it
   skips. Its commit then takes the first run of acked offsets even when unacked
   ones come before it. Upstream: faust-streaming/faust#606 (open), fix proposed
   in faust-streaming/faust#707 (unmerged). The patch counts an ack only for a
   record whose outputs the broker has acknowledged (``guard_acks``).
2. **The fetch wait** (``AIOKafkaConsumerThread._create_worker_consumer``).
   Faust hard-codes ``fetch_max_wait_ms=1500``; some Kafka-compatible brokers
   (Tansu among them) hold a fetch over many partitions for the whole wait,
   which put about half a second on every hop between stages
   (``set_fetch_wait``). Faust also refuses a session timeout longer than the
   request timeout, a rule for group joins that wait a session; the join here
   waits the rebalance timeout (patch 16), so the consumer keeps both.
3. **Stopping and logging** (``Worker._schedule_shutdown``,
   ``Worker._setup_logging``): a stop after SIGTERM/SIGINT is bounded in time,
   and our log format survives Faust's own logging set-up (``Worker``).
4. **A second lost at start** (``TableManager.on_start``). Faust's table
   manager sleeps one second before it lets the consumer subscribe, in case
   tables are still being declared; every table here is declared before the
   app starts. ``TableManager`` (the app's ``TableManager`` setting, not a
   patch) starts without the sleep.
5. **Where a changelog ends** (``Recovery._build_highwaters``). Table recovery
   reads each changelog partition up to the end offset the broker reports.
   Tansu reports the base offset of a partition's last record batch plus one,
   not its last offset plus one: recovery stopped before the last batch (its
   table lost those writes), or failed with a ``ConsistencyError`` when a
   standby had read further. ``TableManager`` recovers with ``Recovery``,
   whose end offsets are checked by reading past them (``correct_end_offsets``).
6. **A flush that does not wait** (``ProducerBuffer.flush``), in ``send_buffer.py``.
7. **Seeking with the fetcher running** (``Recovery.on_recovery_completed``,
   ``Recovery._resume_streams``). After table recovery Faust resumes the
   stream partitions and only then seeks them to their committed offsets,
   with the fetcher still running from recovery. A batch fetched from the old
   position in between arrives after the seek; Faust takes the jump from the
   committed offset to that batch for a gap in the log (as compaction or
   transaction markers leave) and counts the records in it as processed:
   they were committed without ever being read, lost. ``Recovery`` stops the
   flow first, so nothing is fetched until the seek is done.
8. **A start that gives up at the first refused connection** (the aiokafka
   clients made by ``Producer._new_producer``, ``ThreadedProducer._new_producer``
   and ``AIOKafkaConsumerThread._create_consumer``). aiokafka tries each
   bootstrap address once; where that fails, Faust's start fails and the worker
   exits, though the broker answered a moment before (``enrich worker`` waits
   for it first) and only dropped a connection, as a container network can while
   it starts. The clients retry their bootstrap with backoff for up to
   ``ENRICH_BROKER_WAIT_S`` (``set_bootstrap_wait``), then fail as before.

9. **Offsets committed by transactions** (``Consumer._commit``, and the
   worker consumer's isolation level). With
   ``ENRICH_PROCESSING_GUARANTEE=exactly_once`` a stage's input offsets are
   committed in the transaction that writes its outputs
   (``workers.stream.seam.transactions``), not by Faust: Faust's own commit would
   write the same offsets again outside any transaction, and a late one from a
   worker that lost the partition could move a committed offset back. Faust's
   commit leaves those topics alone (``commit_by_transactions``), and its
   consumer reads only committed records (``read_committed``), as a consumer of
   transactional output must. Faust's own ``processing_guarantee`` is not used:
   upstream it duplicates records (faust-streaming/faust#517, #323), fails at
   start (#440) and sends outside its transactions (#177).

10. **Changelogs taken for stalled streams** (``Consumer.verify_event_path``).
   Faust's livelock check looks at every assigned partition every 2.5 s, and a
   table's changelog partitions are assigned too: a worker writes them and,
   after recovery, never reads them, so each was logged as a stream that has
   not started processing, several ERROR lines per partition per check, idle
   or busy. The check leaves the tables' changelog partitions alone.

11. **Recovery of tables written in transactions** (``Recovery._build_highwaters``).
   With ``ENRICH_PROCESSING_GUARANTEE=exactly_once`` the story steps write their
   tables' changelogs in their transactions, and Faust's consumer reads them
   read_committed. Faust reads a changelog up to the end offset it is given,
   and waits for a record at the offset before it; after a transaction that
   offset holds a commit or abort marker, which a read_committed reader never
   gets, so recovery never ended. It now ends at the last committed record
   (``clients.last_committed_ends``). And before that end is read, the
   worker's transactional producers are made for every source partition it is
   assigned (``before_recovery``): an earlier owner's open transaction is
   ended, so that recovery reads everything committed and nothing that will
   not be. Faust's own answer (a 10 s wait after which the position counts as
   the end) serves its own ``processing_guarantee`` only.

12. **Partitions without a committed offset** (``AIOKafkaConsumerThread.seek_to_committed``).
   In a rebalance Faust drops the records it had fetched and not yet handed to
   an agent, and then seeks every partition to its committed offset to read them
   again. aiokafka's seek skips a partition with no committed offset (or 0):
   its position stays where the fetcher left it, past the dropped records,
   which nothing read again. A partition's first records, before any commit,
   were lost that way in a rebalance (the story steps' answers, in the
   rebalance storm). Such a partition is now sought to its beginning, as the
   consumer's ``earliest`` reset would.

13. **Fatal errors of the group** (aiokafka's ``GroupCoordinator._push_error_to_user``,
   in ``guard.py``, with the guard that stops a worker whose agent, task or timer
   crashed). A group that cannot be joined (a session timeout the broker refuses)
   was handed to a reader Faust never calls: the worker stayed up, joined nothing,
   and exited 0 when stopped. It now stops with exit 78 and a line naming the setting.

14. **An idempotent producer for at_least_once** (``Producer._settings_extra``). Faust
   makes its producer idempotent only for its own exactly-once processing (not used
   here): a send retried after a timeout could write its records twice. Where the
   broker gives producer ids (not the embedded broker), the worker's producer is
   idempotent, with acks=all (``set_idempotence``).

15-17, 19, 20 of ``aiokafka_compat.py``: aiokafka under a frozen broker, and its
   idempotent producer out of step.

18. **A table write that failed crashed the worker** (``ProducerBuffer._send_pending``),
   in ``send_buffer.py``.
19. **Recovery left dead by a cancellation or a step's timeout** (``Recovery.
   _restart_recovery``), in ``recovery_loop.py``: begun again, flow not left stopped.

``apply()`` checks the installed faust-streaming against the versions these
patches were written for and installs them, once per process; ``create_app``
calls it. Nothing is patched by importing this module. Each patch has a unit
test that fails without it (tests/unit/stream/test_faust_compat.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from importlib.metadata import version
from signal import Signals
from typing import Any
from weakref import WeakKeyDictionary

import faust
from aiokafka.errors import KafkaConnectionError
from faust.exceptions import AlreadyConfiguredWarning
from faust.tables.manager import TableManager as TableManagerBase
from faust.tables.recovery import Recovery as RecoveryBase
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from workers.codec import Message
from workers.stream.kafka import clients
from workers.stream.ops import logs
from workers.stream.seam import aiokafka_compat, guard, recovery_loop, send_buffer

log = logging.getLogger(__name__)

#: faust-streaming releases these patches were written and tested for: [low, high).
SUPPORTED = ((0, 11), (0, 16))

Published = Callable[[str, int, int], bool]

_published: WeakKeyDictionary[faust.App, Published] = WeakKeyDictionary()
_fetch_wait_ms: WeakKeyDictionary[faust.App, int] = WeakKeyDictionary()
EndOffsets = Callable[[Mapping[TP, int]], Awaitable[Mapping[TP, int]]]
_end_offsets: WeakKeyDictionary[faust.App, EndOffsets] = WeakKeyDictionary()
_bootstrap_wait_s: WeakKeyDictionary[faust.App, float] = WeakKeyDictionary()
_by_transactions: WeakKeyDictionary[faust.App, frozenset[str]] = WeakKeyDictionary()
_before_recovery: WeakKeyDictionary[faust.App, Callable[[], Awaitable[None]]] = WeakKeyDictionary()
_idempotent: WeakKeyDictionary[faust.App, bool] = WeakKeyDictionary()
_applied = False


class UnsupportedFaust(RuntimeError):
    """The installed faust-streaming is not one these patches were written for."""


def check_version(installed: str | None = None) -> None:
    """Raise UnsupportedFaust unless faust-streaming is within ``SUPPORTED``."""
    found = installed or version("faust-streaming")
    parts = tuple(int(p) for p in found.split(".")[:2] if p.isdigit())
    low, high = SUPPORTED
    if not low <= parts < high:
        raise UnsupportedFaust(
            f"faust-streaming {found} is installed, but workers.stream.seam.faust_compat "
            f"patches Faust internals written for {'.'.join(map(str, low))} up to "
            f"{'.'.join(map(str, high))} (exclusive); check each patch against that "
            "release before widening SUPPORTED and the dependency pin"
        )
    for owner, name in (
        (faust_aiokafka.Consumer, "ack"),
        (faust_aiokafka.AIOKafkaConsumerThread, "_create_worker_consumer"),
        (faust.Worker, "_schedule_shutdown"),
        (faust.Worker, "_setup_logging"),
        (TableManagerBase, "_update_channels"),
        (RecoveryBase, "on_recovery_completed"),
        (RecoveryBase, "_resume_streams"),
        (faust_aiokafka.Producer, "_new_producer"),
        (faust_aiokafka.ThreadedProducer, "_new_producer"),
        (faust_aiokafka.AIOKafkaConsumerThread, "_create_consumer"),
        (faust_aiokafka.Consumer, "_commit"),
        (faust_aiokafka.Consumer, "verify_event_path"),
        (faust_aiokafka.AIOKafkaConsumerThread, "seek_to_committed"),
        (faust_aiokafka.Producer, "_settings_extra"),
    ):
        if not callable(getattr(owner, name, None)):
            raise UnsupportedFaust(f"faust-streaming {found} has no {owner.__name__}.{name}")
    missing = guard.check_version() or aiokafka_compat.missing() or send_buffer.missing()
    if missing is not None:
        raise UnsupportedFaust(missing)


def apply() -> None:
    """Check the Faust version and install the patches (once per process)."""
    global _applied  # noqa: PLW0603 - the patches are process-wide by nature
    if _applied:
        return
    check_version()
    aiokafka_compat.apply()
    original_ack = faust_aiokafka.Consumer.ack
    original_create = faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer

    def ack(self: Any, message: Any) -> bool:
        published = _published.get(self.app)
        if published is not None and not published(
            message.topic, message.partition, message.offset
        ):
            return False
        return bool(original_ack(self, message))

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        # Faust refuses a session timeout longer than the request timeout, a rule for
        # group joins that wait a session; aiokafka's join here waits the rebalance
        # timeout (aiokafka_compat), so the consumer is made with the session as its
        # request timeout and then given the real one.
        conf = self.app.conf
        request_timeout = conf.broker_request_timeout
        if conf.broker_session_timeout <= request_timeout:
            consumer = original_create(self, transport)
        else:
            with warnings.catch_warnings():  # Faust warns of a setting changed once used
                warnings.simplefilter("ignore", AlreadyConfiguredWarning)
                conf.broker_request_timeout = conf.broker_session_timeout
                try:
                    consumer = original_create(self, transport)
                finally:
                    conf.broker_request_timeout = request_timeout
        consumer._request_timeout_ms = int(request_timeout * 1000)
        consumer._client._request_timeout_ms = int(request_timeout * 1000)
        wait = _fetch_wait_ms.get(self.app)
        if wait is not None:
            consumer._fetch_max_wait_ms = wait
        if self.app in _by_transactions:
            consumer._isolation_level = "read_committed"
        return consumer

    original_commit = faust_aiokafka.Consumer._commit

    async def commit(self: Any, offsets: Mapping[Any, int]) -> bool:
        skipped = _by_transactions.get(self.app)
        if skipped:
            offsets = {tp: o for tp, o in offsets.items() if tp.topic not in skipped}
            if not offsets:
                return True
        return bool(await original_commit(self, offsets))

    original_verify = faust_aiokafka.Consumer.verify_event_path

    def verify_event_path(self: Any, now: float, tp: Any) -> None:
        if tp.topic in self.app.tables.changelog_topics:
            return None
        return original_verify(self, now, tp)

    def retrying(create: Callable[..., Any], client: Callable[[Any], Any]) -> Any:
        def created(self: Any, *args: Any, **kwargs: Any) -> Any:
            made = create(self, *args, **kwargs)
            wait_s = _bootstrap_wait_s.get(self.app)
            if wait_s:
                retry_bootstrap(client(made), wait_s)
            return made

        return created

    faust_aiokafka.Producer._new_producer = retrying(  # type: ignore[method-assign]
        faust_aiokafka.Producer._new_producer, lambda producer: producer.client
    )
    faust_aiokafka.ThreadedProducer._new_producer = retrying(  # type: ignore[method-assign]
        faust_aiokafka.ThreadedProducer._new_producer, lambda producer: producer.client
    )
    faust_aiokafka.AIOKafkaConsumerThread._create_consumer = retrying(  # type: ignore[method-assign]
        faust_aiokafka.AIOKafkaConsumerThread._create_consumer, lambda consumer: consumer._client
    )
    original_seek = faust_aiokafka.AIOKafkaConsumerThread.seek_to_committed

    async def seek_to_committed(self: Any) -> Mapping[Any, int]:
        committed: Mapping[Any, int] = await original_seek(self)
        if self.app.conf.consumer_auto_offset_reset != "earliest":
            return committed
        changelogs = self.app.tables.changelog_topics
        unread = [
            tp
            for tp, offset in committed.items()
            if (offset is None or offset <= 0) and tp.topic not in changelogs
        ]
        if unread:
            consumer = self._ensure_consumer()
            await asyncio.wait_for(
                self.call_thread(consumer.seek_to_beginning, *unread),
                timeout=self.app.conf.broker_request_timeout,
            )
        return committed

    original_extra = faust_aiokafka.Producer._settings_extra

    def settings_extra(self: Any) -> Mapping[str, Any]:
        extra: Mapping[str, Any] = original_extra(self)
        if _idempotent.get(self.app):
            return {**extra, "acks": "all", "enable_idempotence": True}
        return extra

    faust_aiokafka.Producer._settings_extra = settings_extra  # type: ignore[method-assign]
    faust_aiokafka.AIOKafkaConsumerThread.seek_to_committed = seek_to_committed  # type: ignore[method-assign]
    faust_aiokafka.Consumer.ack = ack  # type: ignore[method-assign]
    faust_aiokafka.Consumer._commit = commit  # type: ignore[method-assign]
    faust_aiokafka.Consumer.verify_event_path = verify_event_path  # type: ignore[method-assign]
    send_buffer.apply()
    faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer = (  # type: ignore[method-assign]
        create_worker_consumer
    )
    _applied = True


def guard_acks(app: faust.App, published: Published) -> None:
    """Count an ack on ``app``'s consumer only where ``published(topic, partition,
    offset)`` says the record's outputs are published (patch 1)."""
    _published[app] = published


def commit_by_transactions(app: faust.App, topics: set[str]) -> None:
    """Leave the offsets of ``topics`` to transactions: Faust's consumer of ``app``
    commits none of them, and reads only committed records (patch 9)."""
    _by_transactions[app] = frozenset(topics)


def drained(app: faust.App, tp: Any) -> bool:
    """Whether no record of partition ``tp`` waits in ``app``'s streams: none handed
    to an agent and not yet acknowledged, none queued for one."""
    consumer = app.consumer
    if any(m.tp == tp for m in list(getattr(consumer, "_unacked_messages", ()))):
        return False
    index: Mapping[str, Any] = getattr(app.topics, "_topic_name_index", {})
    for channel in list(index.get(tp.topic, ())):
        queue = getattr(channel, "_queue", None)
        if queue is not None and queue.qsize():
            return False
    return True


def correct_end_offsets(app: faust.App, true_ends: EndOffsets) -> None:
    """Where ``app``'s table recovery takes each changelog to end: ``true_ends``
    maps the reported end offsets to the real ones (patches 5 and 11)."""
    _end_offsets[app] = true_ends


def before_recovery(app: faust.App, hook: Callable[[], Awaitable[None]]) -> None:
    """What ``app``'s table recovery awaits before it reads where the changelogs end
    (patch 11)."""
    _before_recovery[app] = hook


def set_bootstrap_wait(app: faust.App, wait_s: float) -> None:
    """How long the Kafka clients of ``app``'s worker retry their bootstrap (patch 8)."""
    _bootstrap_wait_s[app] = wait_s


def retry_bootstrap(client: Any, wait_s: float) -> None:
    """Make ``client`` (an aiokafka client) retry a failed bootstrap, with backoff,
    for up to ``wait_s`` seconds; past that the last failure is raised (patch 8)."""
    bootstrap = client.bootstrap

    def waiting(error: BaseException) -> None:
        log.warning("%s; retrying for up to %.0f s", error, wait_s)

    async def retried() -> None:
        await clients.retrying(
            bootstrap, timeout=wait_s, errors=(KafkaConnectionError,), waiting=waiting
        )

    client.bootstrap = retried


async def batches(stream: Any, size: int, within: float) -> AsyncIterator[list[Message]]:
    """A Faust stream's records in batches of up to ``size``, each handed over within
    ``within`` seconds of its first record (``take_events``), as the stages read them."""
    async for events in stream.take_events(size, within=within):
        yield messages(events)


def messages(events: Sequence[Any]) -> list[Message]:
    """The records of a batch of Faust events (``take_events``), as the stages read them."""
    return [
        Message(
            e.message.topic,
            e.message.partition,
            e.message.offset,
            e.message.key,
            e.message.value,
            timestamp=e.message.timestamp,
        )
        for e in events
    ]


def set_idempotence(app: faust.App, idempotent: bool) -> None:
    """Make the app's producer idempotent (patch 14), where the broker can."""
    _idempotent[app] = idempotent


def set_fetch_wait(app: faust.App, wait_ms: int) -> None:
    """The longest a fetch of ``app``'s stream consumer waits at the broker (patch 2)."""
    _fetch_wait_ms[app] = wait_ms


class Worker(faust.Worker):
    """A Faust worker whose stop is bounded in time, which keeps our log format, and
    whose SIGUSR1 logs where each task waits, without local variables (patch 3).

    Past ``stop_timeout`` after SIGTERM/SIGINT the process exits at once with
    ``exit_code()``: the batch in hand is abandoned uncommitted and will be read
    again after a restart.
    """

    def __init__(
        self,
        *args: Any,
        stop_timeout: float,
        exit_code: Callable[[], int],
        log_format: str = "json",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.log_format = log_format
        self.stop_timeout = stop_timeout
        self.exit_code = exit_code

    def _setup_logging(self) -> None:
        super()._setup_logging()
        logs.apply(self.log_format)

    def _on_sigusr1(self) -> None:  # mode's own prints local variables: ours never
        log.warning("SIGUSR1: where each thread and task is\n%s", logs.tasks_dump())

    def _schedule_shutdown(self, signal: Signals) -> None:
        if not self._signal_stop_time:
            timer = threading.Timer(self.stop_timeout, self._abandon)
            timer.daemon = True
            timer.start()
        super()._schedule_shutdown(signal)

    def _abandon(self) -> None:
        log.warning("stop took over %.0fs; exiting without finishing", self.stop_timeout)
        logging.shutdown()
        os._exit(self.exit_code())


class Recovery(RecoveryBase):
    """Faust's table recovery, reading each changelog to its real end (5), and
    seeking the stream partitions before anything is fetched from them (7)."""

    # under "faust", so that its lines follow Faust's log level
    logger = logging.getLogger(f"{RecoveryBase.__module__}.patched")

    async def _build_highwaters(
        self, consumer: Any, tps: Any, destination: Any, title: str
    ) -> None:
        hook = _before_recovery.get(self.app)  # type: ignore[call-overload]
        if hook is not None and title == "active":
            await hook()
        await super()._build_highwaters(consumer, tps, destination, title)
        true_ends = _end_offsets.get(self.app)  # type: ignore[call-overload]
        if true_ends is None or not destination:
            return
        # Faust keeps the last offset (end - 1)
        reported = {tp: destination[tp] + 1 for tp in tps if tp in destination}
        for tp, end in (await true_ends(reported)).items():
            if end - 1 != destination[tp]:
                self.logger.info("%s ends at offset %d, not %d as reported", tp, end, reported[tp])
                destination[tp] = end - 1

    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        self._stop_flow()
        await super().on_recovery_completed(generation_id)

    async def _resume_streams(self, generation_id: int = 0) -> None:
        self._stop_flow()
        await super()._resume_streams(generation_id)

    @faust.Service.task
    async def _restart_recovery(self) -> None:  # 19
        await recovery_loop.kept(self, RecoveryBase._restart_recovery.fun)

    def _stop_flow(self) -> None:
        """No fetch until Faust has resumed, seeked, then resumed the flow (7)."""
        self.app.consumer.stop_flow()


class TableManager(TableManagerBase):
    """Faust's table manager without its one-second sleep at start (4): every table
    is declared before the app starts, so there is nothing to wait for; and with
    changelog ends checked (5)."""

    # under "faust", so that its start-up lines follow Faust's log level
    logger = logging.getLogger(f"{TableManagerBase.__module__}.started")

    @property
    def recovery(self) -> RecoveryBase:
        if self._recovery is None:
            self._recovery = Recovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery

    async def on_start(self) -> None:
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()
