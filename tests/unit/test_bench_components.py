"""The per-component profile of bench/components.py: every part is timed where the
worker calls it, the parts add up within the stage, and the stage is left as it was."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from workers.settings import Settings
from workers.stages import tag as tag_stage
from workers.stages.tag import entities

pytestmark = pytest.mark.model

TEXTS = [
    "Maria Lindqvist, the harbour master in Bergen, said on Monday that the new ferry "
    "terminal would open in May. The council agreed the plan after a long debate.",
    "Apple Inc. reported higher sales in China. Tim Cook told analysts that demand for "
    "the new phones was strong across Asia and Europe.",
] * 3


def _bench() -> ModuleType:
    path = Path(__file__).parents[2] / "bench" / "components.py"
    spec = importlib.util.spec_from_file_location("bench_components", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_each_part_is_timed_inside_the_stage_and_the_stage_is_restored() -> None:
    bench = _bench()
    originals = (tag_stage.truecase, tag_stage.model_sentences, entities.resolve)
    settings = Settings(stages="tag,summarize")
    parts, tag_seconds, summarize_seconds = bench.worker(TEXTS, settings)
    model = ["tokenizer", "tok2vec", "tagger", "senter", "ner"]
    assert all(parts[name] > 0 for name in model), parts
    assert {"truecase", "sentences", "mentions", "noun phrases", "entity rules"} <= set(parts)
    # exclusive times: together they are within the stage's own time
    assert sum(parts.values()) <= tag_seconds * 1.05
    assert summarize_seconds > 0
    assert (tag_stage.truecase, tag_stage.model_sentences, entities.resolve) == originals
    bare = bench.bare(TEXTS, settings)
    assert set(bare) == set(model)
