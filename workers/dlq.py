"""Dead-letter records: the original bytes, where they came from, and why they failed."""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from schemas.models import DeadLetter, Original, Source
from workers import __version__
from workers.codec import text_or_base64
from workers.terminal import safe


def dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    stage: str,
    code: str,
    message: str,
    article_id: str | None,
    max_original_bytes: int,
    now: str,
) -> DeadLetter:
    """The DLQ record for one failed message.

    The original value is kept whole unless it is over ``max_original_bytes``;
    then a prefix is kept, ``truncated`` is set, and size and SHA-256 identify
    the whole value, which stays readable at its source topic, partition and
    offset. It is kept as UTF-8 text where that is compact in JSON, else as
    base64, so a dead letter is never more than 4/3 of the value kept plus
    a little: hostile text full of control characters cannot blow it up.
    """
    data = value if value is not None else b""
    truncated = len(data) > max_original_bytes
    kept = data[:max_original_bytes] if truncated else data
    if truncated:
        # never cut a UTF-8 sequence in half when the value is text
        kept = kept.decode("utf-8", "ignore").encode("utf-8") if _is_utf8(data) else kept
    original_value, encoding = _compact(kept)
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
            topic=topic,
            partition=partition,
            offset=offset,
            key=key_text,
            key_encoding=key_encoding,  # type: ignore[arg-type]
        ),
        original=Original(
            encoding=encoding,  # type: ignore[arg-type]
            value=original_value,
            size=len(data),
            truncated=truncated,
            sha256=hashlib.sha256(data).hexdigest(),
            tombstone=value is None,
        ),
        failed_at=now,
        worker_version=__version__,
    )


def _compact(data: bytes) -> tuple[str, str]:
    text, encoding = text_or_base64(data)
    if encoding == "utf-8" and len(orjson.dumps(text)) > len(data) * 4 // 3 + 16:
        return base64.b64encode(data).decode("ascii"), "base64"
    return text, encoding


def original_bytes(record: DeadLetter) -> bytes | None:
    """The original value of a dead-lettered record (a prefix if truncated; None for a
    tombstone)."""
    if record.original.tombstone:
        return None
    return _decode(record.original.value, record.original.encoding)


# A replay leaves a marker record in the dead-letter topic for each dead letter it
# replayed, so that the next replay does not publish it again (a record that fails
# again is dead-lettered anew, under a new offset, and that one is replayed next).
MARKER_HEADER = "enrich-marker"
REPLAYED = b"replayed"


def replay_marker(partition: int, offset: int, *, to: str, now: str) -> tuple[bytes, bytes]:
    """(key, value) of the marker saying the dead letter at partition:offset was replayed."""
    return (
        f"replayed:{partition}:{offset}".encode(),
        orjson.dumps({"replayed": {"partition": partition, "offset": offset}, "to": to, "at": now}),
    )


def replayed_position(
    headers: Sequence[tuple[str, bytes]], value: bytes | None
) -> tuple[int, int] | None:
    """The (partition, offset) a replay marker names; None for any other record."""
    if (MARKER_HEADER, REPLAYED) not in list(headers) or value is None:
        return None
    try:
        where = orjson.loads(value)["replayed"]
        return int(where["partition"]), int(where["offset"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def original_key(record: DeadLetter) -> bytes | None:
    """The original key of a dead-lettered record, byte for byte."""
    if record.source.key is None:
        return None
    return _decode(record.source.key, record.source.key_encoding or "utf-8")


def _decode(text: str, encoding: str) -> bytes:
    if encoding == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class DeadLetterLimit:
    """Trips when nearly everything a stage reads is dead-lettered.

    A bad deploy (a broken model, a schema mismatch) would otherwise drain a
    whole topic into the DLQ. The limit trips on ``max_consecutive`` failures
    in a row, or when at least ``max_ratio`` of the last ``window`` records
    failed (judged only once the window is full). 0 turns either rule off.
    """

    def __init__(self, *, window: int, max_ratio: float, max_consecutive: int) -> None:
        self.window = window
        self.max_ratio = max_ratio
        self.max_consecutive = max_consecutive
        self._recent: deque[str | None] = deque(maxlen=window or 1)
        self._run: Counter[str] = Counter()  # codes of the current run of failures

    def observe(self, codes: list[str | None]) -> str | None:
        """Record a batch (an error code per failed record, None per success).

        Returns why the limit tripped, or None.
        """
        for code in codes:
            self._recent.append(code)
            if code is None:
                self._run.clear()
                continue
            self._run[code] += 1
            run = self._run.total()
            if self.max_consecutive and run >= self.max_consecutive:
                return f"{run} records in a row dead-lettered ({_top(self._run)})"
        if self.window and len(self._recent) == self.window:
            failed = Counter(c for c in self._recent if c is not None)
            if failed.total() / self.window >= self.max_ratio:
                return (
                    f"{failed.total()} of the last {self.window} records dead-lettered "
                    f"({_top(failed)})"
                )
        return None


def _top(codes: Counter[str]) -> str:
    return ", ".join(f"{code} x{n}" for code, n in codes.most_common(3))


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str, *, now: datetime | None = None) -> datetime:
    """A point in time: ISO 8601 (UTC unless it says otherwise) or an age like 30m, 2h, 1d."""
    now = now or datetime.now(UTC)
    match = _DURATION.match(value.strip())
    if match:
        return now - timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"expected an ISO 8601 time or an age like 30m, 2h, 1d; got {value!r}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def matches(
    record: DeadLetter,
    *,
    code: str | None = None,
    stage: str | None = None,
    since: datetime | None = None,
) -> bool:
    """Whether a dead letter passes the ``dlq list``/``dlq replay`` filters."""
    if code is not None and record.code != code:
        return False
    if stage is not None and record.stage != stage:
        return False
    if since is not None:
        failed = datetime.fromisoformat(record.failed_at)
        if failed < since:
            return False
    return True


def one_line(record: DeadLetter) -> str:
    """One readable line for a dead letter."""
    src = record.source
    size = f"{record.original.size} bytes" + (", truncated" if record.original.truncated else "")
    return safe(
        f"{record.failed_at}  {record.stage:<9} {record.code:<16} "
        f"id={record.id or '-'}  {src.topic}:{src.partition}:{src.offset}  "
        f"{record.message} ({size})"
    )


# -- operating the topic: read and replay ------------------------------------------


@dataclass(frozen=True, slots=True)
class Letter:
    """A dead letter as found in the DLQ topic, with its place there."""

    partition: int
    offset: int
    record: DeadLetter
    replayed: bool


@dataclass(frozen=True, slots=True)
class Filters:
    code: str | None = None
    stage: str | None = None
    since: datetime | None = None
