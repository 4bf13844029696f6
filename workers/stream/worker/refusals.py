"""What stands in for a write the broker refused for good (too large, invalid): a
dead letter, with as much of the original as can still be published. Retrying
such a write would loop on it; these never do."""

from __future__ import annotations

import logging

from workers.codec import Message
from workers.errors import DecodeError, EnrichError, StageFailed
from workers.pipeline import Dead, Outcome, Pipeline
from workers.stream.kafka.clients import SIZE_ERRORS

log = logging.getLogger("workers.stream.worker.app")  # the worker's lines, under one name

SHORT_ORIGINAL_BYTES = 4096  # what a refused dead letter keeps of its original
SMALL_RECORD_BYTES = 64 * 1024  # a broker that refuses this little refuses everything


def story_write_refused(
    pipeline: Pipeline,
    stage: str,
    dlq: str,
    topic: str,
    key: bytes,
    value: bytes,
    error: BaseException,
) -> tuple[str, bytes, bytes] | None:
    """A story step's write the broker refused for good (too large): a dead letter
    stands in for it, naming the topic it was for (partition and offset -1: it
    was never written), so that no retry can loop on it. A refused dead letter
    is logged and given up."""
    if topic == dlq:
        log.critical(
            "stories: the broker refused a dead letter of %d bytes (%r)", len(value), error
        )
        return None
    failure = (DecodeError if isinstance(error, SIZE_ERRORS) else StageFailed)(
        f"the broker refused a story step's write of {len(value)} bytes to {topic} "
        f"({type(error).__name__}: {error})",
        code="too_large" if isinstance(error, SIZE_ERRORS) else "stage_failed",
    )
    message = Message(topic, -1, -1, key, value)
    dead = pipeline.dead_letter_for(
        message,
        stage,
        failure,
        None,
        pipeline.clock(),
        max_original_bytes=SHORT_ORIGINAL_BYTES,
    )
    return ("dlq", dead.key.encode("utf-8"), dead.value)


def output_refused(
    pipeline: Pipeline, stage: str, message: Message, outcome: Outcome, error: BaseException
) -> Dead | None:
    """The dead letter that stands in for a record refused for good.

    A refused output becomes a dead letter with its original. A refused
    dead letter is sent again with its original cut short: its message and
    source position are what an operator needs. One refused even so can
    not be published at all: it is logged with its source position, and
    None returned.
    """
    size = isinstance(error, SIZE_ERRORS)
    if isinstance(outcome, Dead):
        if len(outcome.value) <= SMALL_RECORD_BYTES:
            log.critical(
                "%s: the broker refused the dead letter of %s:%d:%d even "
                "with its original cut short (%r)",
                stage,
                message.topic,
                message.partition,
                message.offset,
                error,
            )
            return None
        text = f"{outcome.record.message}; its dead letter was refused: {error}"
        article_id = outcome.record.id
        keep = SHORT_ORIGINAL_BYTES
    else:
        text = f"the broker refused the {stage} stage's output ({type(error).__name__}: {error})"
        article_id = outcome.key
        keep = None
    failure: EnrichError = (
        DecodeError(text, code="too_large") if size else StageFailed(text, code="stage_failed")
    )
    return pipeline.dead_letter_for(
        message, stage, failure, article_id, pipeline.clock(), max_original_bytes=keep
    )
