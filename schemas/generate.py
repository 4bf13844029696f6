"""Write the JSON Schema files from the record models.

Run ``python -m schemas.generate`` after changing a model; a unit test fails
while the files and the models disagree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.models import RECORD_MODELS, SCHEMA_VERSION

SCHEMA_DIR = Path(__file__).parent


def schema_filename(name: str) -> str:
    return f"{name}.v{SCHEMA_VERSION}.json"


def build_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of one record kind, as shipped in ``schemas/``."""
    model = RECORD_MODELS[name]
    body = model.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://article-enrich.dev/schemas/{schema_filename(name)}",
        **body,
    }


def render(name: str) -> str:
    return json.dumps(build_schema(name), indent=2, sort_keys=True) + "\n"


def main() -> None:
    for name in RECORD_MODELS:
        path = SCHEMA_DIR / schema_filename(name)
        path.write_text(render(name), encoding="utf-8")
        print(path)


if __name__ == "__main__":
    main()
