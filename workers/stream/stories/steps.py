"""Story grouping and trending entities in the stream: the Faust tables and agents.

The last stage's records (summarize's, unless a plugin adds a stage after it:
``stage_table.last``) wait on that stage's own output topic,
``articles.summarized``, for their story. Three steps, each owning its state by
the key of the topic it reads, so that each scales with partitions
(docs/stories.md has the picture):

- **bands** (``articles.summarized``, keyed by article): the MinHash
  signature, the record parked in ``story-pending``, one query per LSH band
  to ``articles.story-bands``.
- **buckets** (``articles.story-bands``, keyed by band): ``story-buckets``
  holds each band's first article, ``story-signatures`` its signature; each
  query is answered on ``articles.story-matches`` with the band's first
  article and their estimated similarity.
- **decide** (``articles.story-matches``, keyed by article): answers collect
  in ``story-answers``; with every band answered the story is decided
  (``story-decisions`` keeps it, so a record read twice gets the same story),
  the record goes to ``articles.enriched``, the bands the article represents
  learn its story, and its entities go to ``articles.story-entities``.
- **trends** (``articles.story-entities``, keyed by entity): counts per
  tumbling window in the windowed table ``story-trends``.

Every table is changelog-backed and written to the partition of the record
being handled (the changelog partition is that record's partition), so a
worker recovers exactly the state of the partitions it is assigned. A story
is stored before the record that carries it goes out; every table write of a
step is on the broker before its input is committed (Faust flushes them
first, faust_compat patch 6); and a record's parked copy is dropped only
after its story is stored and the record sent: a worker killed at any point
redoes the unfinished records and decides nothing differently.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import faust
import orjson

from schemas.models import EnrichedArticle
from workers import stage_table
from workers.codec import Message
from workers.errors import ConfigError, DecodeError, ExitCode, InvalidRecord, PermanentError
from workers.pipeline import Dead, Pipeline
from workers.settings import Settings
from workers.stories import minhash
from workers.stories.messages import (
    Outputs,
    Send,
    bands_of,
    decision_of,
    entity_keys,
    order_of,
    parked,
    parked_versions,
    read_batch,
    signature_key,
    summed,
)
from workers.stories.state import (
    Answer,
    Bucket,
    answer,
    decide,
    represented,
    with_story,
)
from workers.stream.seam import faust_compat
from workers.stream.seam.guard import guarded
from workers.stream.seam.transactions import Refused, Transactions, Write
from workers.stream.stories.index import Index, partition_of, ranked, sweep, trend_counts
from workers.stream.stories.tables import (
    Held,
    held_writes,
    record_partition,
    record_stamp,
    stamp_of,
)

log = logging.getLogger(__name__)

SendAll = Callable[[Sequence[Send]], Awaitable[None]]
Step = Callable[[Sequence[Message]], Awaitable[Outputs]]
#: A story write the broker refused for good: (topic, key, value, error) -> its dead letter.
Refuse = Callable[[str, bytes, bytes, BaseException], Send | None]


class StoryAgents:
    """Registers the story steps on a worker that runs the last stage (``after``)."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        topics: dict[str, faust.TopicT],
        pipeline: Callable[[], Awaitable[Pipeline]],
        send_all: SendAll,
        mark_published: Callable[[Sequence[Message]], None],
        fail: Callable[[int, str], None],
        *,
        transactions: Transactions | None = None,
        refuse: Refuse | None = None,
    ) -> None:
        """``transactions`` (exactly_once): each step's batch commits its table writes,
        its outputs and its input offsets in one transaction per source partition;
        ``refuse`` gives the dead letter of a write the broker refused for good."""
        #: the stage the steps follow, and the topic kind its records wait in
        self.after = stage_table.last()
        self.waiting = self.after.output
        if not issubclass(self.after.writes, EnrichedArticle):
            raise ConfigError(
                f"the story steps read enriched records, and the last stage "
                f"{self.after.name!r} writes {self.after.writes.__name__} (ENRICH_STORIES)"
            )
        self.app = app
        self.settings = settings
        self.topics = topics
        self.pipeline = pipeline
        self.send_all = send_all
        self.mark_published = mark_published
        self.fail = fail
        self.transactions = transactions
        self.refuse = refuse
        self.banding = minhash.banding(settings.story_threshold, minhash.NUM_PERM)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="enrich-stories")
        self.store_lock: IO[bytes] | None = None
        if settings.story_store == "rocksdb":
            from workers.stream.stories.store import claim

            self.store_lock = claim(Path(app.conf.tabledir))
        self.index = Index.open(app, settings)
        self.pending, self.buckets = self.index.pending, self.index.buckets
        self.signatures, self.answers = self.index.signatures, self.index.answers
        self.decisions = self.index.decisions
        self.counts = trend_counts(app, settings)
        # windows by the time each count was sent (the record's timestamp), set per record
        self.trends = self.counts.tumbling(
            settings.trend_bucket_s, expires=timedelta(seconds=settings.trend_retention_s)
        ).relative_to(stamp_of)  # type: ignore[attr-defined]
        # exactly_once: the steps sharing the article tables take turns (``_batch``)
        self._articles = asyncio.Lock()
        self._agent("bands", self.waiting, self._bands, shared=True)
        self._agent("buckets", "story_bands", self._buckets)
        self._agent("decide", "story_matches", self._decide, shared=True)
        self._agent("trends", "story_entities", self._count)
        sweep_every = max(1.0, min(600.0, settings.story_retention_s / 10))
        app.timer(sweep_every, name="enrich.stories.sweep")(
            guarded(self._sweep_timer, "the story index's retention sweep", self.fail)
        )

    @property
    def sources(self) -> set[str]:
        return {
            self.topics[k].get_topic_name()
            for k in (self.waiting, "story_bands", "story_matches", "story_entities")
        }

    def _by_partition(self, bands: Sequence[str], body: dict[str, Any]) -> list[Send]:
        """One message per partition of the bands topic for the bands that fall in it,
        keyed by one of them: a few messages per article instead of one per band."""
        count = self._partitions("story_bands")
        groups: dict[int, list[str]] = {}
        for band in bands:
            groups.setdefault(partition_of(band.encode(), count), []).append(band)
        return [
            ("story_bands", group[0].encode(), orjson.dumps(body | {"bands": group}))
            for group in groups.values()
        ]

    def _agent(self, name: str, source: str, step: Step, *, shared: bool = False) -> None:
        async def agent(stream: faust.StreamT[bytes]) -> None:
            size, within = self.settings.batch_size * 4, self.settings.batch_wait_s
            async for messages in faust_compat.batches(stream, size, within):
                try:
                    await self._batch(messages, step, shared=shared)
                except Exception as exc:  # a bug must not stop this step silently
                    log.exception("story step %s failed", name)
                    # stop the worker: the batch is not marked, so it is read again after a restart
                    self.fail(ExitCode.ERROR, f"story step {name} failed: {exc!r}")
                    await asyncio.Event().wait()

        agent.__name__ = f"story_{name}_agent"
        self.app.agent(self.topics[source], name=f"enrich.stories.{name}", concurrency=1)(
            guarded(agent, f"the story step {name}", self.fail)
        )

    async def _batch(self, messages: Sequence[Message], step: Step, *, shared: bool) -> None:
        """One batch of a step: handled, its outputs published, its input marked done.

        exactly_once: a step that ``shared`` the article tables (pending, answers,
        decisions) holds them from its reading to its commit. Its writes are in
        memory before they commit, and are taken back where they do not: another
        step must not act on them meanwhile. The bands step sent an article that a
        decide batch had decided and not committed; where that commit failed, the
        decide step, reading its answers again, sent the article a second time."""
        token = held_writes.set(Held() if self.transactions is not None else None)
        turn = self._articles if shared and self.transactions is not None else None
        try:
            async with turn or contextlib.nullcontext():
                fresh = await self._fresh(messages)
                await self._finish(messages, fresh, await step(fresh))
        finally:
            held_writes.reset(token)

    # -- step 1: signatures and band queries, keyed by article ---------------

    async def _bands(self, messages: Sequence[Message]) -> Outputs:
        out = Outputs()
        loop = asyncio.get_running_loop()
        read = await loop.run_in_executor(self.executor, read_batch, messages, self.banding)
        # earliest first: within a batch, every band then meets the articles in the
        # order that decides which came first, and a copy read beside its original
        # is never taken for the first of its story
        pairs = sorted(
            zip(messages, read, strict=True),
            key=lambda p: ("", "") if isinstance(p[1], InvalidRecord) else (p[1][1], p[1][0]),
        )
        for message, item in pairs:
            sends = out.of(message.partition)
            if isinstance(item, InvalidRecord):
                sends.append(await self._dead(message, item))
                continue
            article, order, sig, keys = item
            token = record_partition.set(message.partition)
            try:
                kept = self.decisions.get(article.encode())
                if kept is not None:  # read again after its story was decided
                    decision = decision_of(kept)
                    sends.append(
                        ("enriched", article.encode(), with_story(message.value or b"", decision))
                    )
                    continue
                held = parked(self.pending.get(article.encode()), message.value or b"")
                if len(held) > self.settings.max_request_bytes - 64 * 1024:
                    # parked, it would be a changelog write over the request limit
                    too_large = DecodeError(
                        f"{len(held)} bytes to park for {article[:80]!r} (with any other "
                        "version waiting for its story): too large to wait for a story",
                        code="too_large",
                    )
                    sends.append(await self._dead(message, too_large))
                    continue
                self.pending[article.encode()] = held
                body = {"id": article, "order": order, "sig": sig}
                sends.extend(self._by_partition(keys, body))
                finished = await self._complete(article, message.partition)
                if finished:  # its answers were in already (it is read again)
                    sends.extend(finished)
                    out.forget.append((article, message.partition))
            finally:
                record_partition.reset(token)
        return out

    async def _fresh(self, messages: Sequence[Message]) -> list[Message]:
        """The messages a step handles: exactly_once, the ones not committed yet, each
        once, after the producers of their partitions are made (every earlier owner
        fenced); at least once, all of them."""
        if self.transactions is None:
            return list(messages)
        await self.transactions.fence({(m.topic, m.partition) for m in messages})
        return [messages[i] for i in self.transactions.fresh(messages)]

    async def _finish(
        self, messages: Sequence[Message], fresh: Sequence[Message], out: Outputs
    ) -> None:
        """Publish a step's outputs, then mark its input done.

        At least once: the outputs go out once the decisions are stored. A record
        with its story must never be out while its decision could be lost, as the
        answers it was decided from can change. Other table writes go out beside
        the outputs: Faust commits a step's input only after every buffered write
        is on the broker (faust_compat, patch 6), and a step read again rebuilds
        its state in the same order of its input (a band keeps its first
        article), so its outputs come out the same. A parked record is dropped
        only once it is out.

        exactly_once: per source partition, one transaction holds the step's table
        writes, its outputs and its input offsets. Where one does not commit (the
        partition was lost, or must be read again), its table writes are taken
        back in memory and its records are not marked done."""
        if self.transactions is None:
            await self.decisions.stored()
            await self.send_all(summed([s for sends in out.sends.values() for s in sends]))
            for article, partition in out.forget:
                self._forget(article, partition)
            self.mark_published(messages)
            return
        held = held_writes.get()
        if held is None:
            raise RuntimeError("a story step ran outside its batch")
        for article, partition in out.forget:
            self._forget(article, partition)  # held with the rest
        # a partition's writes ride on its latest record: a batch read across a
        # rebalance may hand records over out of order
        last: dict[tuple[str, int], int] = {}
        for i, m in enumerate(fresh):
            j = last.get((m.topic, m.partition))
            if j is None or m.offset > fresh[j].offset:
                last[m.topic, m.partition] = i
        writes: list[list[Write]] = [[] for _ in fresh]
        for (_, partition), i in last.items():
            sends = summed(out.sends.get(partition, []))
            writes[i] = held.writes.get(partition, []) + [self._write(s) for s in sends]

        async def replace(refusals: dict[Refused, BaseException]) -> dict[Refused, Write | None]:
            replaced: dict[Refused, Write | None] = {}
            for (i, j), error in refusals.items():
                write = writes[i][j]
                dead = None
                if self.refuse is not None:
                    dead = self.refuse(write.topic, write.key, write.value or b"", error)
                replaced[i, j] = self._write(dead) if dead is not None else None
            return replaced

        done, _ = await self.transactions.commit(fresh, writes, replace, whole=True)
        committed = set(done)
        failed = {(m.topic, m.partition) for i, m in enumerate(fresh) if i not in committed}
        for _, partition in failed:
            held.rollback(partition)
        self.mark_published([m for m in messages if (m.topic, m.partition) not in failed])

    def _write(self, send: Send) -> Write:
        kind, key, value = send
        return Write(self.topics[kind].get_topic_name(), key, value)

    # -- step 2: band buckets, keyed by band -----------------------------------

    async def _buckets(self, messages: Sequence[Message]) -> Outputs:
        out = Outputs()
        # one answer message per article and source partition
        replies: dict[tuple[int, str], list[dict[str, Any]]] = {}
        dead: set[tuple[int, int]] = set()
        for message, band, body in bands_of(messages):
            token = record_partition.set(message.partition)
            try:
                if body is None:
                    raise ValueError("not a JSON object")
                stored = self.buckets.get(band.encode())
                bucket = Bucket(**orjson.loads(stored)) if stored is not None else None
                if "story" in body and "sig" not in body:  # a representative's story, decided
                    if bucket is not None and bucket.id == body["id"] and bucket.story is None:
                        self.buckets[band.encode()] = orjson.dumps(
                            asdict(Bucket(bucket.id, bucket.order, body["story"]))
                        )
                    continue
                article, order = str(body["id"]), str(body["order"])
                sig = minhash.from_bytes(base64.b64decode(body["sig"]))
                rep_sig = None
                if bucket is not None and bucket.id != article:
                    raw = self.signatures.get(signature_key(message.partition, bucket.id))
                    if raw is None:
                        log.warning(
                            "stories: no signature for %s, the representative of a band "
                            "in partition %d",
                            bucket.id,
                            message.partition,
                        )
                    rep_sig = minhash.from_bytes(raw) if raw is not None else None
                reply, new = answer(bucket, band, article, order, sig, rep_sig, self.banding)
                if new is not None:
                    self.buckets[band.encode()] = orjson.dumps(asdict(new))
                if new is not None or (bucket is not None and bucket.id == article):
                    # the representative read again: its signature too, should a crash
                    # (at_least_once) have kept the bucket's write and lost this one
                    sig_key = signature_key(message.partition, article)
                    if sig_key not in self.signatures:
                        self.signatures[sig_key] = minhash.to_bytes(sig)
                replies.setdefault((message.partition, article), []).append(asdict(reply))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                if (message.partition, message.offset) not in dead:  # once per message
                    dead.add((message.partition, message.offset))
                    failure = InvalidRecord(f"bad band message: {exc}", code="invalid_record")
                    out.of(message.partition).append(await self._dead(message, failure))
            finally:
                record_partition.reset(token)
        for (partition, article), found in replies.items():
            answers = orjson.dumps({"id": article, "answers": found})
            out.of(partition).append(("story_matches", article.encode(), answers))
        return out

    # -- step 3: decisions, keyed by article -----------------------------------

    async def _decide(self, messages: Sequence[Message]) -> Outputs:
        out = Outputs()
        for message in messages:
            sends = out.of(message.partition)
            token = record_partition.set(message.partition)
            try:
                body = orjson.loads(message.value or b"")
                article = str(body["id"])
                key = article.encode()
                gone = key not in self.pending or (article, message.partition) in out.forget
                if key in self.decisions and gone:
                    # answers repeated after the article went out: in an earlier batch,
                    # or in this one (it is forgotten once the batch is done), where
                    # its versions would go out again, once per answer message
                    continue
                held = orjson.loads(self.answers.get(key) or b"{}")
                for reply in map(lambda a: Answer(**a), body["answers"]):
                    held.setdefault(reply.band.split("-", 1)[0], asdict(reply))
                self.answers[key] = orjson.dumps(held)
                finished = await self._complete(article, message.partition)
                if finished:
                    sends.extend(finished)
                    out.forget.append((article, message.partition))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                sends.append(
                    await self._dead(
                        message, InvalidRecord(f"bad band answer: {exc}", code="invalid_record")
                    )
                )
            finally:
                record_partition.reset(token)
        return out

    async def _complete(self, article: str, partition: int) -> list[Send]:
        """The outputs of an article whose bands have all answered and whose record
        is parked; nothing while either is missing."""
        key = article.encode()
        value = self.pending.get(key)
        held = orjson.loads(self.answers.get(key) or b"{}")
        if value is None or len(held) < self.banding.bands:
            return []
        versions = parked_versions(value)
        record = orjson.loads(versions[0])  # the story is the first version's
        kept = self.decisions.get(key)
        if kept is not None:
            decision = decision_of(kept)
            replies: list[Answer] = []
        else:
            replies = [Answer(**a) for a in held.values()]
            order = order_of(record)
            decision = decide(article, order, replies, self.settings.story_threshold)
            self.decisions[key] = orjson.dumps(asdict(decision) | {"order": order})
        sends: list[Send] = [("enriched", key, with_story(v, decision)) for v in versions]
        update = {"id": article, "story": decision.story_id}
        sends.extend(self._by_partition(represented(replies), update))
        if kept is None:  # counted once, when the story is first decided
            sends.extend(("story_entities", e.encode(), b"1") for e in entity_keys(record))
        return sends

    def _forget(self, article: str, partition: int) -> None:
        token = record_partition.set(partition)
        try:
            key = article.encode()
            self.pending.pop(key, None)
            self.answers.pop(key, None)
        finally:
            record_partition.reset(token)

    # -- retention: the index keeps what was cleaned within story_retention_s --

    async def _sweep_timer(self, *_: object) -> None:
        tables: Any = self.app.tables
        if self.app.rebalancing or not tables.recovery.completed.is_set():
            return  # the tables are being rebuilt; the next round sweeps
        cutoff = datetime.now(UTC) - timedelta(seconds=self.settings.story_retention_s)
        dropped = await sweep(self.index, self._owned(), self.waiting, cutoff)
        if any(dropped.values()):
            log.info("stories: dropped from the index %s", dropped)

    def _owned(self) -> dict[str, tuple[set[int], int]]:
        """Per source topic: the partitions this worker owns, and how many it has."""
        assigned = self.app.consumer.assignment()
        out = {}
        for kind in (self.waiting, "story_bands"):
            name = self.topics[kind].get_topic_name()
            mine = {tp.partition for tp in assigned if tp.topic == name}
            out[kind] = (mine, self._partitions(kind))
        return out

    def _partitions(self, kind: str) -> int:
        """How many partitions a story topic has (the setting until the consumer knows)."""
        name = self.topics[kind].get_topic_name()
        return self.app.consumer.topic_partitions(name) or self.settings.partitions

    async def _dead(self, message: Message, error: PermanentError) -> Send:
        pipeline = await self.pipeline()
        dead: Dead = pipeline.dead_letter_for(
            message, self.after.name, error, None, pipeline.clock()
        )
        return ("dlq", dead.key.encode("utf-8"), dead.value)

    # -- trending entities, keyed by entity -------------------------------------

    async def _count(self, messages: Sequence[Message]) -> Outputs:
        out = Outputs()
        for message in messages:
            token = record_partition.set(message.partition)
            stamp = record_stamp.set(
                message.timestamp if message.timestamp is not None else time.time()
            )
            try:
                entity = (message.key or b"").decode("utf-8", "replace")
                self.trends[entity] += int(message.value or b"1")
            except ValueError as exc:
                failure = InvalidRecord(f"bad entity count: {exc}", code="invalid_record")
                out.of(message.partition).append(await self._dead(message, failure))
            finally:
                record_stamp.reset(stamp)
                record_partition.reset(token)
        return out

    async def local_trends(self, window_s: float, top: int) -> list[dict[str, object]]:
        """The trending entities of the partitions this worker owns, from its own table."""
        return await ranked(self.counts, window_s, top)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
