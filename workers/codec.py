"""Bytes to records and back, with an error code for every way bytes go wrong."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from schemas.models import MAX_ID_CHARS, READABLE_VERSIONS, RawArticle, upgrade
from workers.errors import DecodeError, InvalidRecord

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Message:
    """One record as read: from a topic (or a line of a file), its key, value and headers."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp: float | None = None  # seconds, as the broker gives it (None: unknown)


def utc_now() -> str:
    """The current UTC time as ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode(record: BaseModel) -> bytes:
    """A record as compact JSON bytes."""
    return orjson.dumps(record.model_dump(mode="json"))


def decode_object(value: bytes | None, *, max_bytes: int) -> dict[str, Any]:
    """Parse a record value into a JSON object, or raise DecodeError."""
    if value is None:
        raise DecodeError("record has no value (tombstone)", code="not_an_object")
    if len(value) > max_bytes:
        raise DecodeError(
            f"value is {len(value)} bytes, over the limit of {max_bytes}", code="too_large"
        )
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(
            f"value is not UTF-8: {exc.reason} at byte {exc.start}", code="invalid_encoding"
        ) from None
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"value is not JSON: {exc}", code="invalid_json") from None
    if not isinstance(obj, dict):
        raise DecodeError(
            f"value is JSON {type(obj).__name__}, expected an object", code="not_an_object"
        )
    return obj


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "record"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def decode_raw(value: bytes | None, *, max_bytes: int) -> RawArticle:
    """Decode a raw article, filling in its id; raises DecodeError or InvalidRecord."""
    obj = decode_object(value, max_bytes=max_bytes)
    if obj.get("html") is None and obj.get("text") is None:
        raise InvalidRecord("raw article has neither 'html' nor 'text'", code="missing_content")
    try:
        raw = RawArticle.model_validate(obj)
    except ValidationError as exc:
        raise InvalidRecord(f"raw article: {_describe(exc)}", code="invalid_field") from None
    if raw.schema_version not in (None, 1, *READABLE_VERSIONS):
        raise InvalidRecord(
            f"raw article schema_version {raw.schema_version} is not supported",
            code="invalid_field",
        )
    if raw.id is None or not raw.id.strip():
        raw = raw.model_copy(update={"id": article_id(raw)})
    return raw


def id_of(value: bytes | None, *, max_bytes: int) -> str | None:
    """The ``id`` of a record that failed before it was read as one, where the value
    is a JSON object with a string id; None otherwise (never raises)."""
    if not value or len(value) > max_bytes:
        return None
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    found = obj.get("id") if isinstance(obj, dict) else None
    if not isinstance(found, str) or not found.strip() or len(found) > MAX_ID_CHARS:
        return None  # an over-long id is not taken as a key either
    return found


def decode_model(value: bytes | None, model: type[M], *, max_bytes: int) -> M:
    """Decode a strict intermediate record, of this schema version or one it still
    reads (``schemas.models.upgrade``); raises DecodeError or InvalidRecord."""
    obj = upgrade(decode_object(value, max_bytes=max_bytes))
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise InvalidRecord(f"{model.__name__}: {_describe(exc)}", code="invalid_record") from None


def article_id(raw: RawArticle) -> str:
    """A stable id: a hash of the URL, else of the content."""
    basis = raw.url.strip() if raw.url and raw.url.strip() else (raw.html or raw.text or "")
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:24]


def text_or_base64(data: bytes) -> tuple[str, str]:
    """(value, encoding): the bytes as UTF-8 text where they are, else base64."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"
