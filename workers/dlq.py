"""Dead-letter records: the original bytes, where they came from, and why they failed."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from schemas.models import DeadLetter, Original, Source, Stage
from workers import __version__
from workers.codec import Message, text_or_base64, utc_now
from workers.settings import Settings
from workers.terminal import safe


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


async def replayed_positions(settings: Settings) -> set[tuple[int, int]]:
    """The (partition, offset) of every dead letter a replay has marked: a first pass
    over the DLQ that keeps only these, never the letters."""
    from workers.stream import clients

    marked: set[tuple[int, int]] = set()
    async for rec in clients.read_to_end(settings, settings.topic_dlq):
        position = replayed_position(rec.headers, rec.value)
        if position is not None:
            marked.add(position)
    return marked


async def read_letters(
    settings: Settings, filters: Filters, skipped: Callable[[Message], None] | None = None
) -> AsyncIterator[Letter]:
    """The DLQ's dead letters that pass ``filters``, streamed in the order read (each
    partition oldest first), each marked when a replay already published it. Only
    the replayed positions and the letter in hand are held, however long the topic.
    A value that is neither a dead letter nor a replay marker (someone else wrote to
    the topic) goes to ``skipped``."""
    from pydantic import ValidationError

    from workers.stream import clients

    replayed = await replayed_positions(settings)
    async for rec in clients.read_to_end(settings, settings.topic_dlq):
        if replayed_position(rec.headers, rec.value) is not None:
            continue
        try:
            record = DeadLetter.model_validate_json(rec.value or b"")
        except ValidationError:
            if skipped is not None:
                skipped(rec)
            continue
        if matches(record, code=filters.code, stage=filters.stage, since=filters.since):
            yield Letter(rec.partition, rec.offset, record, (rec.partition, rec.offset) in replayed)


@dataclass
class Replay:
    """What a replay did (or, dry, would do); so far, while it runs."""

    sent: Counter[str] = field(default_factory=Counter)  # per source topic, originals sent
    marked: int = 0  # of those, marked replayed in the DLQ
    matching: int = 0  # letters that matched and were not replayed before
    before: int = 0  # letters that matched but were replayed before
    truncated: int = 0  # letters whose original was kept only in part


#: Originals sent before their markers are written: an interrupted replay sends at
#: most this many again on the next run.
REPLAY_CHUNK = 500


async def replay(
    settings: Settings,
    letters: AsyncIterator[Letter],
    *,
    dry_run: bool = False,
    report: Replay | None = None,
    chunk: int = REPLAY_CHUNK,
) -> Replay:
    """Publish each not-yet-replayed letter's original, under its original key, to the
    topic it was read from, and mark it replayed in the DLQ (a tombstone stays one).

    Letters go in chunks: a chunk's markers are written once the broker has all of
    its originals, so a replay stopped at any point has marked everything it sent
    but the last chunk, and the next run goes on from there. ``report`` (given, or
    made) counts as it goes: what was done so far, when it is stopped."""
    from workers.stream import clients

    report = report if report is not None else Replay()
    prod = None if dry_run else clients.producer(settings)
    if prod is not None:
        await prod.start()
    pending: list[Letter] = []

    async def flush() -> None:
        if prod is None or not pending:
            return
        sends = [
            await prod.send(
                x.record.source.topic, key=original_key(x.record), value=original_bytes(x.record)
            )
            for x in pending
        ]
        await asyncio.gather(*sends)
        for x in pending:
            report.sent[x.record.source.topic] += 1
        now = utc_now()
        markers = []
        for x in pending:
            key, value = replay_marker(x.partition, x.offset, to=x.record.source.topic, now=now)
            markers.append(
                await prod.send(
                    settings.topic_dlq, key=key, value=value, headers=[(MARKER_HEADER, REPLAYED)]
                )
            )
        await asyncio.gather(*markers)
        report.marked += len(pending)
        pending.clear()

    try:
        async for letter in letters:
            if letter.replayed:
                report.before += 1
                continue
            report.matching += 1
            if letter.record.original.truncated:
                report.truncated += 1
                continue
            if dry_run:
                report.sent[letter.record.source.topic] += 1
                continue
            pending.append(letter)
            if len(pending) >= chunk:
                await flush()
        await flush()
    finally:
        if prod is not None:
            await prod.stop()
    return report
