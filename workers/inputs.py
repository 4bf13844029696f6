"""Reading raw articles from files: JSON Lines, or one .html/.txt page per file."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import orjson


def sample_path() -> Path:
    """The sample articles shipped with the package (JSON Lines)."""
    return Path(str(resources.files("workers").joinpath("samples/articles.jsonl")))


def read_records(path: Path) -> Iterator[tuple[int, bytes | None, bytes]]:
    """(line or file number, key, value) for each raw record in a file.

    JSON Lines give one record per non-blank line, passed on as the bytes
    they are (a broken line still becomes a record, and so a dead-letter);
    the key is the line's ``id`` where it has one. An ``.html``/``.htm`` or
    ``.txt`` file is one article.
    """
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm", ".txt"):
        # Honour the page's declared or detected charset instead of mangling
        # non-UTF-8 bytes into replacement characters.
        from trafilatura.utils import decode_file

        content = decode_file(path.read_bytes())
        field = "text" if suffix == ".txt" else "html"
        yield 0, None, orjson.dumps({field: content, "source": path.name})
        return
    with path.open("rb") as fh:
        for number, raw_line in enumerate(fh, start=1):
            line = raw_line.rstrip(b"\r\n")
            if not line.strip():
                continue
            yield number, _key_of(line), line


def _key_of(line: bytes) -> bytes | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(obj, dict) and isinstance(obj.get("id"), str) and obj["id"]:
        return str(obj["id"]).encode("utf-8")
    return None
