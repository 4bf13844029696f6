"""The pipeline: stage functions applied to batches of messages. No Kafka here.

A ``Message`` is one record as read (from a topic, or a line of a file); each
stage of the table ``STAGES`` turns a batch of messages into one ``Outcome`` per
message, in order:
a ``Forward`` (the next record, keyed by article id) or a ``Dead`` (its
dead-letter record). The Faust agents and the offline ``enrich file`` mode
call the very same functions, so both give the same records.

No exception escapes a batch function: a permanent error becomes a
dead-letter, an unexpected one too (code ``stage_failed``), and a batch that
fails inside spaCy is retried one record at a time to isolate the culprit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from pydantic import BaseModel

from schemas.models import (
    CleanedArticle,
    DeadLetter,
    EnrichedArticle,
    ModelInfo,
    RawArticle,
    StageRun,
)
from workers import codec, stage_table
from workers.codec import Message
from workers.dlq import dead_letter
from workers.errors import DecodeError, EnrichError, PermanentError, StageFailed
from workers.settings import Settings
from workers.stages import clean as clean_stage
from workers.stages.clean import clean
from workers.stages.places.gazetteer import Gazetteer
from workers.stages.summarize import summarize
from workers.stages.tag import Tagger
from workers.stages.tone import ToneModel
from workers.stages.where_how import where_and_how

__all__ = [
    "Dead",
    "Forward",
    "Message",
    "Outcome",
    "Pipeline",
    "StageSpec",
    "enrich",
    "stage_spec",
    "stage_specs",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Forward:
    """A stage's output record, to publish under ``key`` (the article id)."""

    key: str
    record: BaseModel
    value: bytes


@dataclass(frozen=True, slots=True)
class Dead:
    """A message that could not be processed."""

    record: DeadLetter
    value: bytes

    @property
    def key(self) -> str:
        src = self.record.source
        return self.record.id or src.key or f"{src.topic}:{src.partition}:{src.offset}"


Outcome = Forward | Dead


def _unexpected(exc: BaseException) -> StageFailed:
    return StageFailed(f"{type(exc).__name__}: {exc}", code="stage_failed")


class Pipeline:
    """The three stages over message batches, configured once per process."""

    def __init__(
        self,
        settings: Settings,
        tagger: Tagger | None = None,
        *,
        clock: Callable[[], str] = codec.utc_now,
        gazetteer: Gazetteer | None = None,
        tone: ToneModel | None = None,
    ) -> None:
        """``gazetteer`` and ``tone``: where given, the summarize stage resolves the
        places and reads the tone toward each entity (``stages.where_how``)."""
        self.settings = settings
        self._tagger = tagger
        self.clock = clock
        self.gazetteer = gazetteer
        self.tone = tone

    @property
    def model(self) -> ModelInfo | None:
        """The spaCy model this pipeline tags with, if it tags."""
        return self._tagger.model if self._tagger is not None else None

    @property
    def tagger(self) -> Tagger:
        if self._tagger is None:
            raise RuntimeError("this pipeline was built without a tagger")
        return self._tagger

    def warm(self) -> None:
        """Run one small article through this process's stages now, so that the lazy
        parts (the language identifier, the page-date parser, stop words, spaCy's
        first call) load at start, not inside the first record a worker reads."""
        import orjson

        from workers.stages.summarize.keywords import stop_words, topical

        if "clean" in self.settings.stage_list:
            clean_stage.warm()

        text = (
            "The harbour council met on Monday and agreed a plan for the new ferry terminal. "
            "Maria Lindqvist said the work would start in the spring."
        )
        msg = Message("warm-up", 0, 0, None, orjson.dumps({"id": "warm-up", "text": text}))
        if self._tagger is not None:
            list(self.run([msg]))
        else:
            self.clean_batch([msg])
        for language in self.settings.language_models:
            stop_words(language)
            topical("the", language)  # loads the language's word list
        others = self._tagger.others.values() if self._tagger is not None else ()
        for other in others:
            list(other.nlp.pipe(["Warm up."]))  # each model's first call

    # -- stages ------------------------------------------------------------

    def clean_batch(self, messages: Sequence[Message]) -> list[Outcome]:
        def run(raw: Any, now: str) -> CleanedArticle:
            return clean(
                raw,
                now=now,
                fallback_language=self.settings.model_language,
                min_language_confidence=self.settings.language_min_confidence,
            )

        return self.each("clean", messages, run)

    def tag_batch(self, messages: Sequence[Message]) -> list[Outcome]:
        now = self.clock()
        outcomes: list[Outcome | None] = [None] * len(messages)
        good: list[tuple[int, CleanedArticle]] = []
        for i, msg in enumerate(messages):
            try:
                good.append(
                    (
                        i,
                        codec.decode_model(
                            msg.value, CleanedArticle, max_bytes=self.settings.max_record_bytes
                        ),
                    )
                )
            except EnrichError as exc:
                outcomes[i] = self.dead_letter_for(msg, "tag", exc, None, now)
        try:
            tagged = self.tagger.tag_batch([a for _, a in good], now=now)
            for (i, _), record in zip(good, tagged, strict=True):
                outcomes[i] = self._forward("tag", messages[i], record, now)
        except Exception:  # noqa: BLE001 - isolate the record that breaks the batch
            log.warning("tag batch of %d failed; retrying one by one", len(good))
            for i, article in good:
                try:
                    outcomes[i] = self._forward(
                        "tag", messages[i], self.tagger.tag_batch([article], now=now)[0], now
                    )
                except Exception as exc:  # noqa: BLE001
                    outcomes[i] = self.dead_letter_for(
                        messages[i], "tag", _unexpected(exc), article.id, now
                    )
        return [o for o in outcomes if o is not None]

    def summarize_batch(self, messages: Sequence[Message]) -> list[Outcome]:
        def run(tagged: Any, now: str) -> CleanedArticle:
            enriched = summarize(
                tagged,
                now=now,
                count=self.settings.summary_sentences,
                max_chars=self.settings.summary_max_chars,
            )
            if self.gazetteer is None and self.tone is None:
                return enriched
            return where_and_how(enriched, self.gazetteer, self.tone)

        return self.each("summarize", messages, run)

    def each(
        self,
        stage: str,
        messages: Sequence[Message],
        run: Callable[[Any, str], CleanedArticle],
    ) -> list[Outcome]:
        """A stage that takes one record at a time: each message decoded as the
        record the stage reads (its row in the stage table), ``run(record, now)``,
        and its output forwarded, or the message dead-lettered with the error."""
        reads = stage_table.row(stage).reads
        return [self._each_one(stage, reads, run, m) for m in messages]

    def _each_one(
        self,
        stage: str,
        reads: type[BaseModel],
        run: Callable[[Any, str], CleanedArticle],
        msg: Message,
    ) -> Outcome:
        now = self.clock()
        article_id: str | None = None
        limit = self.settings.max_record_bytes
        try:
            record: BaseModel = (
                codec.decode_raw(msg.value, max_bytes=limit)  # forgiving: fills in the id
                if reads is RawArticle
                else codec.decode_model(msg.value, reads, max_bytes=limit)
            )
            article_id = getattr(record, "id", None)
            return self._forward(stage, msg, run(record, now), now)
        except EnrichError as exc:
            return self.dead_letter_for(msg, stage, exc, article_id, now)
        except Exception as exc:  # noqa: BLE001 - one record must not stop the stream
            return self.dead_letter_for(msg, stage, _unexpected(exc), article_id, now)

    def _forward(self, stage: str, msg: Message, record: CleanedArticle, now: str) -> Outcome:
        """The stage's output, or a ``too_large`` dead letter when it could not be published.

        A record over the limit would fail at the broker, or at the next stage,
        every time: it is dead-lettered here, with its original. The clean stage
        keeps room for what tagging and summarizing add (as much again as the
        text), so that an article too long to finish fails at once, not after
        minutes of tagging.
        """
        if stage not in record.pipeline:  # a plugin's stage: its entry, from its row
            version = stage_table.row(stage).version or "unknown"
            chain = {**record.pipeline, stage: StageRun(version=version, finished_at=now)}
            record = record.model_copy(update={"pipeline": chain})
        value = codec.encode(record)
        limit = self.settings.max_record_bytes
        size = len(value)
        if stage == "clean":
            # room for the tags and summary the text gains: at most about its own size
            size += len(record.text.encode("utf-8"))
        if size <= limit:
            return Forward(key=record.id, record=record, value=value)
        what = (
            f"the clean stage's output is {len(value)} bytes, and with the tags and "
            f"summary it would gain (up to its text's size again) it would pass"
            if stage == "clean"
            else f"the {stage} stage's output is {len(value)} bytes, over"
        )
        error = DecodeError(
            f"{what} the {limit}-byte limit (ENRICH_MAX_RECORD_BYTES)", code="too_large"
        )
        return self.dead_letter_for(msg, stage, error, record.id, now)

    def dead_letter_for(
        self,
        msg: Message,
        stage: str,
        error: EnrichError,
        article_id: str | None,
        now: str,
        max_original_bytes: int | None = None,
    ) -> Dead:
        """The dead-letter outcome of a message that ``stage`` could not process.

        The original is kept whole up to ``max_original_bytes`` (by default what
        still fits one request; see Settings.max_original_bytes)."""
        if article_id is None:  # it failed before it was read: an id it carries still counts
            article_id = codec.id_of(msg.value, max_bytes=self.settings.max_record_bytes)
        context = {
            "stage": stage,
            "topic": msg.topic,
            "partition": msg.partition,
            "offset": msg.offset,
            "article_id": article_id,
        }
        if isinstance(error, PermanentError) and error.code != "stage_failed":
            log.info("dead-lettered [%s] %s", error.code, error.message, extra=context)
        else:
            log.error(
                "unexpected %s failure at %s:%d:%d: %s",
                stage,
                msg.topic,
                msg.partition,
                msg.offset,
                error,
                extra=context,
            )
        record = dead_letter(
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            key=msg.key,
            value=msg.value,
            stage=stage,
            code=error.code,
            message=error.message,
            article_id=article_id,
            now=now,
            max_original_bytes=(
                self.settings.max_original_bytes
                if max_original_bytes is None
                else max_original_bytes
            ),
        )
        return Dead(record=record, value=codec.encode(record))

    def run_stage(self, stage: str, messages: Sequence[Message]) -> list[Outcome]:
        """One outcome per message, in order, from the named stage."""
        return stage_spec(stage).run(self, messages)

    # -- composition -------------------------------------------------------

    def run(self, messages: Iterable[Message]) -> Iterator[Outcome]:
        """All three stages over a stream of raw messages, batch by batch.

        Yields one final outcome per message, in input order: the enriched
        record or the dead-letter from the stage that failed. Records pass
        between stages as encoded bytes, exactly as they travel on Kafka.
        """
        for batch in batched(messages, self.settings.batch_size):
            finals: list[Outcome | None] = [None] * len(batch)
            pending = list(range(len(batch)))
            msgs = batch
            for spec in stage_specs():
                outcomes = spec.run(self, msgs)
                forwards: dict[int, Forward] = {}
                for idx, outcome in zip(pending, outcomes, strict=True):
                    finals[idx] = outcome
                    if isinstance(outcome, Forward):
                        forwards[idx] = outcome
                pending = list(forwards)
                # the next stage reads the output as it would from its topic; a
                # failure there still names the original source position
                msgs = [
                    Message(
                        batch[i].topic,
                        batch[i].partition,
                        batch[i].offset,
                        out.key.encode(),
                        out.value,
                    )
                    for i, out in forwards.items()
                ]
            yield from (f for f in finals if f is not None)


@dataclass(frozen=True, slots=True)
class StageSpec:
    """One step of the pipeline as it runs: the topic kinds it reads and writes (keys
    of ``Settings.topics``), the record it reads, and how a batch runs through it.
    Made from the stage table's row (``workers.stage_table``)."""

    name: str
    source: str
    dest: str
    reads: type[BaseModel]
    run: Callable[[Pipeline, Sequence[Message]], list[Outcome]]


#: The built-in stages' batch functions; a plugin's stage brings its own.
_BUILT_IN: dict[str, Callable[[Pipeline, Sequence[Message]], list[Outcome]]] = {
    "clean": Pipeline.clean_batch,
    "tag": Pipeline.tag_batch,
    "summarize": Pipeline.summarize_batch,
}


def stage_spec(name: str) -> StageSpec:
    """The stage ``name`` as it runs, from its row in the stage table."""
    row = stage_table.row(name)
    run = _guarded(name, row.run) if row.run is not None else _BUILT_IN[name]
    return StageSpec(name, stage_table.source_of(name), stage_table.dest_of(name), row.reads, run)


def _guarded(
    name: str, run: Callable[[Any, Sequence[Any]], list[Any]]
) -> Callable[[Pipeline, Sequence[Message]], list[Outcome]]:
    """A plugin's batch function, held to the rule the built-in stages keep: no
    exception escapes, and one outcome per message. A batch that breaks it is
    dead-lettered whole (``stage_failed``), in a worker and in ``enrich file`` alike."""

    def guarded(pipeline: Pipeline, messages: Sequence[Message]) -> list[Outcome]:
        try:
            outcomes = run(pipeline, messages)
            if not isinstance(outcomes, list) or len(outcomes) != len(messages):
                count = len(outcomes) if isinstance(outcomes, list) else type(outcomes).__name__
                raise StageFailed(
                    f"gave {count} outcomes for {len(messages)} records", code="stage_failed"
                )
            wrong = next((o for o in outcomes if not isinstance(o, Forward | Dead)), None)
            if wrong is not None:
                raise StageFailed(
                    f"gave a {type(wrong).__name__}, not an outcome (Forward or Dead)",
                    code="stage_failed",
                )
            return outcomes
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as exc:  # a plugin that calls sys.exit fails its batch, not the run
            log.exception("stage %s failed outside its per-record wrapper", name)
            now = pipeline.clock()
            return [
                pipeline.dead_letter_for(m, name, _unexpected(exc), None, now) for m in messages
            ]

    return guarded


def stage_specs() -> tuple[StageSpec, ...]:
    """Every stage of the table, in order."""
    return tuple(stage_spec(name) for name in stage_table.names())


def batched(items: Iterable[T], n: int) -> Iterator[list[T]]:
    """``items`` in lists of ``n`` (the last may be shorter), read lazily."""
    it = iter(items)
    while chunk := list(islice(it, n)):
        yield chunk


def enrich(
    raw: RawArticle | dict[str, object],
    tagger: Tagger,
    settings: Settings | None = None,
) -> EnrichedArticle:
    """One raw article to its enriched record, raising the stage's error if any.

    The library entry point; streams and files use ``Pipeline`` instead.
    """
    import orjson

    value = raw.model_dump_json().encode() if isinstance(raw, RawArticle) else orjson.dumps(raw)
    pipeline = Pipeline(settings or Settings(), tagger)
    outcome = next(pipeline.run([Message("library", 0, 0, None, value)]))
    if isinstance(outcome, Dead):
        raise PermanentError(outcome.record.message, code=outcome.record.code)
    if not isinstance(outcome.record, EnrichedArticle):  # the last stage forwards these only
        raise TypeError(f"expected an enriched record, got {type(outcome.record).__name__}")
    return outcome.record
