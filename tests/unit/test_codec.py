from __future__ import annotations

import orjson
import pytest

from schemas import CleanedArticle
from workers import codec
from workers.errors import DecodeError, InvalidRecord

MAX = 1024 * 1024


@pytest.mark.parametrize(
    ("value", "error", "code"),
    [
        (b"\xff\xfe{}", DecodeError, "invalid_encoding"),
        (b"{not json", DecodeError, "invalid_json"),
        (b"[1, 2]", DecodeError, "not_an_object"),
        (b'"a string"', DecodeError, "not_an_object"),
        (None, DecodeError, "not_an_object"),
        (b'{"title": "no body"}', InvalidRecord, "missing_content"),
        (b'{"text": null, "html": null}', InvalidRecord, "missing_content"),
        (b'{"text": 42}', InvalidRecord, "invalid_field"),
        (b'{"text": "x", "title": ["a"]}', InvalidRecord, "invalid_field"),
        (b'{"text": "x", "schema_version": 9}', InvalidRecord, "invalid_field"),
    ],
)
def test_decode_raw_errors(value: bytes | None, error: type[Exception], code: str) -> None:
    with pytest.raises(error) as info:
        codec.decode_raw(value, max_bytes=MAX)
    assert info.value.code == code  # type: ignore[attr-defined]


def test_too_large_is_checked_before_parsing() -> None:
    value = orjson.dumps({"text": "x" * 5000})
    with pytest.raises(DecodeError) as info:
        codec.decode_raw(value, max_bytes=4096)
    assert info.value.code == "too_large"
    assert "4096" in str(info.value)


def test_id_defaults_to_stable_hash_of_url_then_content() -> None:
    a = codec.decode_raw(b'{"url": "https://x.example/a", "text": "one"}', max_bytes=MAX)
    b = codec.decode_raw(b'{"url": "https://x.example/a", "text": "two"}', max_bytes=MAX)
    c = codec.decode_raw(b'{"text": "two"}', max_bytes=MAX)
    d = codec.decode_raw(b'{"text": "three"}', max_bytes=MAX)
    assert a.id == b.id
    assert c.id != d.id
    assert c.id == codec.decode_raw(b'{"text": "two"}', max_bytes=MAX).id


def test_given_id_and_unknown_fields() -> None:
    raw = codec.decode_raw(b'{"id": "abc", "text": "t", "extra": {"x": 1}}', max_bytes=MAX)
    assert raw.id == "abc"
    assert raw.text == "t"


def test_strict_record_rejects_unknown_fields() -> None:
    value = orjson.dumps(
        {
            "id": "a",
            "url": None,
            "source": None,
            "title": None,
            "published_at": None,
            "language": "en",
            "language_confidence": 1.0,
            "text": "x",
            "pipeline": {"clean": {"version": "1", "finished_at": "t"}},
            "surprise": 1,
        }
    )
    with pytest.raises(InvalidRecord) as info:
        codec.decode_model(value, CleanedArticle, max_bytes=MAX)
    assert info.value.code == "invalid_record"
    assert "surprise" in str(info.value)


def test_text_or_base64() -> None:
    assert codec.text_or_base64("é".encode()) == ("é", "utf-8")
    assert codec.text_or_base64(b"\xff") == ("/w==", "base64")
