"""Dead-letter records: the original bytes, where they came from, and why they failed."""

from __future__ import annotations

import hashlib

from schemas.models import DeadLetter, Original, Source, Stage
from workers import __version__
from workers.codec import text_or_base64


def dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    stage: Stage,
    code: str,
    message: str,
    article_id: str | None,
    max_original_bytes: int,
    now: str,
) -> DeadLetter:
    """The DLQ record for one failed message.

    The original value is kept whole (UTF-8 text, or base64 where it is not
    text) unless it is over ``max_original_bytes``; then a prefix is kept,
    ``truncated`` is set, and size and SHA-256 identify the whole value, which
    stays readable at its source topic, partition and offset.
    """
    data = value or b""
    truncated = len(data) > max_original_bytes
    kept = data[:max_original_bytes] if truncated else data
    if truncated:
        # never cut a UTF-8 sequence in half when the value is text
        kept = kept.decode("utf-8", "ignore").encode("utf-8") if _is_utf8(data) else kept
    original_value, encoding = text_or_base64(kept)
    key_text: str | None = None
    key_encoding: str | None = None
    if key is not None:
        key_text, key_encoding = text_or_base64(key)
    return DeadLetter(
        id=article_id,
        stage=stage,
        code=code,
        message=message,
        source=Source(
            topic=topic, partition=partition, offset=offset, key=key_text,
            key_encoding=key_encoding,  # type: ignore[arg-type]
        ),
        original=Original(
            encoding=encoding,  # type: ignore[arg-type]
            value=original_value,
            size=len(data),
            truncated=truncated,
            sha256=hashlib.sha256(data).hexdigest(),
        ),
        failed_at=now,
        worker_version=__version__,
    )


def original_bytes(record: DeadLetter) -> bytes:
    """The original value of a dead-lettered record (a prefix if truncated)."""
    import base64

    if record.original.encoding == "base64":
        return base64.b64decode(record.original.value)
    return record.original.value.encode("utf-8")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
