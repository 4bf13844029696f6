"""The JSON Schema files and the Python models are one contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import schemas
from schemas import READABLE_VERSIONS, RECORD_MODELS, SCHEMA_VERSION, load_schema, models
from schemas.generate import SCHEMA_DIR, render, schema_filename

#: Records as versions 2 and 3 wrote them (the sample article, a fixed clock), kept as
#: written
V2 = Path(__file__).parent / "v2"
V3 = Path(__file__).parent / "v3"


@pytest.mark.parametrize("name", sorted(RECORD_MODELS))
def test_committed_file_matches_model(name: str) -> None:
    committed = (SCHEMA_DIR / schema_filename(name)).read_text(encoding="utf-8")
    assert committed == render(name), f"run python -m schemas.generate ({name} is stale)"


@pytest.mark.parametrize("name", sorted(RECORD_MODELS))
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(load_schema(name))


def test_every_file_is_a_known_record_kind_of_a_readable_version() -> None:
    files = {p.name for p in Path(SCHEMA_DIR).glob("*.json")}
    assert files == {f"{n}.v{v}.json" for n in RECORD_MODELS for v in READABLE_VERSIONS}
    assert max(READABLE_VERSIONS) == SCHEMA_VERSION


@pytest.mark.parametrize("name", sorted(set(RECORD_MODELS) - {"raw_article"}))
def test_a_version_2_record_is_read_as_the_current_version(name: str) -> None:
    old = json.loads((V2 / f"{name}.json").read_text(encoding="utf-8"))
    jsonschema.validate(old, load_schema(name, 2))  # as released
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(old, load_schema(name))  # a reader of this only would refuse it
    new = models.upgrade(old)
    record = RECORD_MODELS[name].model_validate(new)
    jsonschema.validate(record.model_dump(mode="json"), load_schema(name))
    assert new["schema_version"] == SCHEMA_VERSION and old["schema_version"] == 2
    if "pipeline" in old:
        chain = old["pipeline"]
        assert list(new["pipeline"]) == [s for s in chain if s != "model"]
        if "tag" in chain:  # the model moves under the stage that used it
            assert new["pipeline"]["tag"]["model"] == chain["model"]
        # everything else is as it was
        assert {k: v for k, v in new.items() if k not in ("pipeline", "schema_version")} == {
            k: v for k, v in old.items() if k not in ("pipeline", "schema_version")
        }


@pytest.mark.parametrize("name", sorted(set(RECORD_MODELS) - {"raw_article"}))
def test_a_version_3_record_is_read_as_version_4_unchanged_but_its_version(name: str) -> None:
    """Version 4 only adds optional fields: a record of 3 is one of 4 without them."""
    old = json.loads((V3 / f"{name}.json").read_text(encoding="utf-8"))
    jsonschema.validate(old, load_schema(name, 3))  # as released
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(old, load_schema(name))  # a reader of 4 only would refuse it
    new = models.upgrade(old)
    assert new == old | {"schema_version": 4} and old["schema_version"] == 3
    record = RECORD_MODELS[name].model_validate(new)
    jsonschema.validate(record.model_dump(mode="json"), load_schema(name))
    if name == "enriched_article":
        assert record.countries == [] and record.tone is None  # type: ignore[attr-defined]
        assert all(e.place is None and e.tone is None for e in record.entity_list)  # type: ignore[attr-defined]


def test_upgrade_leaves_other_versions_and_shapes_alone() -> None:
    others: list[Any] = [{"schema_version": 1, "pipeline": {"model": None}}, {"schema_version": 4}]
    others.append([])
    for obj in others:
        assert models.upgrade(obj) is obj
    # a version-2 record without a tag entry keeps its stray model: validation refuses it
    stray = models.upgrade({"schema_version": 2, "pipeline": {"clean": {}, "model": None}})
    assert "model" in stray["pipeline"]


def test_provenance_must_name_the_stages_a_record_went_through() -> None:
    old = json.loads((V2 / "enriched_article.json").read_text(encoding="utf-8"))
    new = models.upgrade(old)
    del new["pipeline"]["tag"]
    with pytest.raises(ValueError, match="no entry for the stage"):
        schemas.EnrichedArticle.model_validate(new)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(new, load_schema("enriched_article"))
    # a plugin's stage has an entry of its own; a key that is no stage name is refused
    plugged = models.upgrade(old)
    plugged["pipeline"]["unlabel"] = {"version": "0.1.0", "finished_at": "x"}
    schemas.EnrichedArticle.model_validate(plugged)
    plugged["pipeline"]["Not A Stage"] = {"version": "0.1.0", "finished_at": "x"}
    with pytest.raises(ValueError, match="pipeline"):
        schemas.EnrichedArticle.model_validate(plugged)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(plugged, load_schema("enriched_article"))


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
    with pytest.raises(KeyError, match="not shipped"):
        load_schema("dead_letter", 1)
