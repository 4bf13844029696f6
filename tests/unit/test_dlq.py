from __future__ import annotations

import hashlib

from workers.dlq import dead_letter, original_bytes


def _dl(value: bytes | None, key: bytes | None = None, max_bytes: int = 1024):
    return dead_letter(topic="articles.raw", partition=2, offset=17, key=key, value=value,
                       stage="clean", code="invalid_json", message="bad",
                       article_id=None, max_original_bytes=max_bytes, now="t")


def test_text_value_kept_as_text() -> None:
    rec = _dl(b'{"broken', key=b"k1")
    assert rec.original.encoding == "utf-8"
    assert original_bytes(rec) == b'{"broken'
    assert (rec.source.topic, rec.source.partition, rec.source.offset) == ("articles.raw", 2, 17)
    assert rec.source.key == "k1"


def test_binary_value_kept_as_base64() -> None:
    data = bytes(range(256))
    rec = _dl(data, key=b"\xff")
    assert rec.original.encoding == "base64"
    assert original_bytes(rec) == data
    assert rec.source.key_encoding == "base64"
    assert rec.original.sha256 == hashlib.sha256(data).hexdigest()


def test_oversized_value_keeps_a_prefix_and_its_identity() -> None:
    data = "é".encode() * 1000
    rec = _dl(data, max_bytes=101)
    assert rec.original.truncated
    assert rec.original.size == len(data)
    assert rec.original.sha256 == hashlib.sha256(data).hexdigest()
    kept = original_bytes(rec)
    assert data.startswith(kept) and len(kept) == 100  # not cut inside a character


def test_tombstone() -> None:
    rec = _dl(None)
    assert rec.original.size == 0 and original_bytes(rec) == b""
