"""Reading raw articles from files: JSON Lines (plain or gzipped), one .html/.txt page
per file, directories of those, or standard input."""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import BinaryIO

import orjson

from workers.errors import NotFound

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


def expand(paths: Sequence[Path]) -> list[Path]:
    """The input files named: each file as given, a directory's article files (sorted,
    recursively), ``-`` for standard input. Checked before any work starts: a path
    that does not exist, or a directory without article files, raises NotFound."""
    files: list[Path] = []
    for path in paths:
        if path == STDIN:
            files.append(path)
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _suffix(p) in SUFFIXES)
            if not found:
                raise NotFound(f"{path} holds no article files ({', '.join(SUFFIXES)})")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise NotFound(f"no such file or directory: {path}")
    return files


def read_records(path: Path) -> Iterator[tuple[int, bytes | None, bytes]]:
    """(line or file number, key, value) for each raw record in a file.

    JSON Lines give one record per non-blank line, passed on as the bytes
    they are (a broken line still becomes a record, and so a dead-letter);
    the key is the line's ``id`` where it has one. ``.jsonl.gz`` is read
    through gzip, ``-`` from standard input. An ``.html``/``.htm`` or ``.txt``
    file is one article; an HTML page's own site name becomes its source.
    """
    suffix = _suffix(path)
    if suffix in PAGE_SUFFIXES:
        # Honour the page's declared or detected charset instead of mangling
        # non-UTF-8 bytes into replacement characters.
        from trafilatura.utils import decode_file

        content = decode_file(path.read_bytes())
        field = "text" if suffix == ".txt" else "html"
        yield 0, None, orjson.dumps({field: content})
        return
    with _open(path) as fh:
        for number, raw_line in enumerate(fh, start=1):
            line = raw_line.rstrip(b"\r\n")
            if not line.strip():
                continue
            yield number, _key_of(line), line


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
