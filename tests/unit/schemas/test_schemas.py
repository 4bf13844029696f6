"""The JSON Schema files and the Python models are one contract."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import schemas
from schemas import RECORD_MODELS, load_schema, models
from schemas.generate import SCHEMA_DIR, render, schema_filename


@pytest.mark.parametrize("name", sorted(RECORD_MODELS))
def test_committed_file_matches_model(name: str) -> None:
    committed = (SCHEMA_DIR / schema_filename(name)).read_text(encoding="utf-8")
    assert committed == render(name), f"run python -m schemas.generate ({name} is stale)"


@pytest.mark.parametrize("name", sorted(RECORD_MODELS))
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(load_schema(name))


def test_every_file_is_a_known_record_kind() -> None:
    files = {p.name for p in Path(SCHEMA_DIR).glob("*.json")}
    assert files == {schema_filename(n) for n in RECORD_MODELS}


def test_every_record_but_raw_carries_schema_version() -> None:
    for name in RECORD_MODELS:
        props = load_schema(name)["properties"]
        assert "schema_version" in props, name


def test_model_dump_validates_against_json_file() -> None:
    record = schemas.DeadLetter(
        id=None,
        stage="clean",
        code="invalid_json",
        message="value is not JSON",
        source=models.Source(topic="t", partition=0, offset=3, key=None, key_encoding=None),
        original=models.Original(encoding="utf-8", value="x", size=1, truncated=False, sha256="00"),
        failed_at="2026-01-01T00:00:00.000Z",
        worker_version="0",
    )
    jsonschema.validate(record.model_dump(mode="json"), load_schema("dead_letter"))
    broken = record.model_dump(mode="json") | {"code": 5}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, load_schema("dead_letter"))


def test_raw_schema_accepts_unknown_fields_but_strict_schemas_do_not() -> None:
    assert load_schema("raw_article").get("additionalProperties") is not False
    assert load_schema("enriched_article")["additionalProperties"] is False


def test_public_api() -> None:
    assert set(schemas.__all__) <= set(dir(schemas))
    assert json.loads(json.dumps(load_schema("enriched_article")))["title"] == "EnrichedArticle"
    with pytest.raises(KeyError):
        load_schema("nope")
