"""Reading raw articles from files: JSON Lines (plain or gzipped), one .html/.txt page
per file, directories of those, or standard input."""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import BinaryIO

import orjson

from workers.errors import NotFound
from workers.terminal import safe

STDIN = Path("-")
PAGE_SUFFIXES = (".html", ".htm", ".txt")
LINE_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".json")
SUFFIXES = PAGE_SUFFIXES + LINE_SUFFIXES


def sample_path() -> Path:
    """The sample articles shipped with the package (JSON Lines)."""
    return Path(str(resources.files("workers").joinpath("samples/articles.jsonl")))


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".jsonl.gz" if name.endswith(".jsonl.gz") else path.suffix.lower()


def display(path: Path) -> str:
    """A path as printed and as named in records: any bytes its name holds that are
    not UTF-8 as backslash escapes, control characters escaped (valid JSON, and
    safe on a terminal)."""
    raw = os.fsencode(path)
    return safe(raw.decode("utf-8", "backslashreplace"))


def expand(paths: Sequence[Path]) -> list[Path]:
    """The input files named: each file as given, a directory's article files (sorted,
    recursively), ``-`` for standard input. Checked before any work starts: a path
    that does not exist or cannot be read (a file, or any directory under one
    named), or a directory without article files, raises NotFound."""
    files: list[Path] = []
    for path in paths:
        if path == STDIN:
            files.append(path)
        elif path.is_dir():
            found = sorted(p for p in _walk(path) if _suffix(p) in SUFFIXES)
            if not found:
                raise NotFound(f"{display(path)} holds no article files ({', '.join(SUFFIXES)})")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise NotFound(f"no such file or directory: {display(path)}")
    for path in files:
        if path != STDIN and not os.access(path, os.R_OK):
            raise NotFound(f"cannot read {display(path)}: permission denied")
    return files


def _walk(top: Path) -> Iterator[Path]:
    """Every file under ``top``; NotFound for a directory that cannot be read (it was
    skipped without a word)."""

    def refused(error: OSError) -> None:
        where = display(Path(error.filename)) if error.filename else display(top)
        raise NotFound(f"cannot read {where}: {error.strerror or error}")

    for root, _, names in os.walk(top, onerror=refused):
        for name in names:
            path = Path(root) / name
            if path.is_file():
                yield path


@dataclass(frozen=True, slots=True)
class Oversize:
    """A record over the size limit, read no further than its prefix: its whole size
    and SHA-256, counted and hashed as it streamed past."""

    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Line:
    """One raw record of a file: its line (or file) number, key and value; for one
    over the limit, a prefix of it as ``value`` and its ``oversize``."""

    number: int
    key: bytes | None
    value: bytes
    oversize: Oversize | None = None


def read_records(path: Path) -> Iterator[tuple[int, bytes | None, bytes]]:
    """(line or file number, key, value) for each raw record in a file, whole
    (``read_lines`` bounds what one record may take)."""
    for line in read_lines(path):
        yield line.number, line.key, line.value


def read_lines(path: Path, max_bytes: int | None = None) -> Iterator[Line]:
    """Each raw record in a file.

    JSON Lines give one record per non-blank line, passed on as the bytes
    they are (a broken line still becomes a record, and so a dead-letter);
    the key is the line's ``id`` where it has one. ``.jsonl.gz`` is read
    through gzip, ``-`` from standard input. An ``.html``/``.htm`` or ``.txt``
    file is one article; an HTML page's own site name becomes its source.

    With ``max_bytes``, no record is read whole past it: one longer keeps its
    first ``max_bytes + 1`` bytes as its value (over the limit, so it is refused
    as too large wherever it goes) and its size and SHA-256 (``oversize``).
    """
    suffix = _suffix(path)
    if suffix in PAGE_SUFFIXES:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            with path.open("rb") as fh:
                head = fh.read(max_bytes + 1)
                digest = hashlib.sha256(head)
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
                size = path.stat().st_size
            yield Line(0, None, head, Oversize(size, digest.hexdigest()))
            return
        # Honour the page's declared or detected charset instead of mangling
        # non-UTF-8 bytes into replacement characters.
        from trafilatura.utils import decode_file

        content = decode_file(path.read_bytes())
        field = "text" if suffix == ".txt" else "html"
        yield Line(0, None, orjson.dumps({field: content}))
        return
    limit = -1 if max_bytes is None else max_bytes + 2  # the line's own "\r\n" too
    with _open(path) as fh:
        number = 0
        while raw_line := fh.readline(limit):
            number += 1
            if max_bytes is not None and len(raw_line.rstrip(b"\r\n")) > max_bytes:
                yield _oversize(number, fh, raw_line, max_bytes)
                continue
            line = raw_line.rstrip(b"\r\n")
            if not line.strip():
                continue
            yield Line(number, _key_of(line), line)


def _oversize(number: int, fh: BinaryIO, head: bytes, max_bytes: int) -> Line:
    """The line that begins with ``head``, read on to its end in chunks, only counted
    and hashed."""
    digest = hashlib.sha256()
    size = 0
    chunk = head
    while chunk:
        ends = chunk.endswith(b"\n")
        data = chunk.rstrip(b"\r\n") if ends else chunk
        digest.update(data)
        size += len(data)
        if ends:
            break
        chunk = fh.readline(1 << 20)
    return Line(number, None, head[: max_bytes + 1], Oversize(size, digest.hexdigest()))


def _open(path: Path) -> BinaryIO:
    if path == STDIN:
        return sys.stdin.buffer
    if _suffix(path) == ".jsonl.gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _key_of(line: bytes) -> bytes | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(obj, dict) and isinstance(obj.get("id"), str) and obj["id"]:
        return str(obj["id"]).encode("utf-8")
    return None
