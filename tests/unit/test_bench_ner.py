"""The NER benchmark's reader of CoNLL-2003 files, and its scores: its figures are
only as right as these."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def _bench() -> ModuleType:
    path = Path(__file__).parents[2] / "bench" / "ner.py"
    spec = importlib.util.spec_from_file_location("bench_ner", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


IOB1 = """-DOCSTART- -X- -X- O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC
call NN I-NP O
. . O O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER
met VBD I-VP O
Rotor NNP I-NP I-ORG
Volgograd NNP I-NP I-ORG
Dynamo NNP I-NP B-ORG
. . O O
-DOCSTART- -X- -X- O

LONDON NNP I-NP I-LOC
1996-08-30 CD I-NP O
"""


def test_documents_sentences_and_iob1_spans_are_read(tmp_path: Path) -> None:
    ner = _bench()
    path = tmp_path / "sample.txt"
    path.write_text(IOB1, "utf-8")
    docs = ner.read_documents(path)
    assert [text for text, _ in docs] == [
        "EU rejects German call .\nPeter Blackburn met Rotor Volgograd Dynamo .",
        "LONDON 1996-08-30",
    ]
    text, gold = docs[0]
    assert sorted((text[s:e], kind) for s, e, kind in gold) == [
        ("Dynamo", "ORG"),  # B- after I- of the same type starts a new name
        ("EU", "ORG"),
        ("German", "MISC"),
        ("Peter Blackburn", "PER"),
        ("Rotor Volgograd", "ORG"),
    ]
    text, gold = docs[1]
    assert [(text[s:e], kind) for s, e, kind in gold] == [("LONDON", "LOC")]


def test_bio_tags_and_scores(tmp_path: Path) -> None:
    ner = _bench()
    path = tmp_path / "bio.txt"
    path.write_text("Anna B-PER\nLee I-PER\nvisited O\nOslo B-LOC\n", "utf-8")
    [(text, gold)] = ner.read_documents(path)
    assert sorted(text[s:e] for s, e, _ in gold) == ["Anna Lee", "Oslo"]
    predicted = {(0, 8, "PER"), (17, 21, "ORG")}  # a right person, a wrong type
    figures = ner.score([(predicted, gold)])
    assert figures["PER"] == (1.0, 1.0, 1.0)
    assert figures["ALL"] == (0.5, 0.5, 0.5)
