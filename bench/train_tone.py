"""Train the tone model the package ships, on NewsMTSC's train split.

    pip install '.[train]'
    python bench/train_tone.py DATA [--out workers/stages/tone/model.npz]

DATA is the development data folder (``newsmtsc/train.jsonl`` in it). The rows are
split by article, never by row: all the sentences of one article (for AllSides, of
one event, which its outlets' articles share) fall on the same side, a fifth of the
articles (by a SHA-256 of their key) in the development split, which the shipped model
never sees and ``bench/tone.py`` measures it on. The model is trained on the rest.

Deterministic: the same data and package versions give the same weights (L-BFGS from
zeros, the rows in file order, CRC-32 feature hashing). About a minute on two cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.stages.tone import BUCKETS, LABELS, PATH, ToneModel, features, vectorized  # noqa: E402

#: Inverse regularisation strength, chosen on the development split (0.1, 0.3, 1, 3).
C = 0.3
DEV_SHARE = 5  # one article in five


def group(row_id: str) -> str:
    """The article (AllSides: the event) a row belongs to: ``polusa_v1_113704059_...``
    is article ``polusa_v1_113704059``; ``allsides_1000_401_...`` is event 401."""
    parts = row_id.split("_")
    return "_".join(parts[:3]) if parts[0] == "polusa" else f"{parts[0]}_event{parts[2]}"


def is_dev(row_id: str) -> bool:
    digest = hashlib.sha256(group(row_id).encode("utf-8")).hexdigest()
    return int(digest, 16) % DEV_SHARE == 0


def rows(data: Path) -> Iterator[dict[str, Any]]:
    with (data / "newsmtsc" / "train.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def split(data: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, dev) rows."""
    train: list[dict[str, Any]] = []
    dev: list[dict[str, Any]] = []
    for row in rows(data):
        (dev if is_dev(row["id"]) else train).append(row)
    return train, dev


def matrix(sample: list[dict[str, Any]]) -> Any:
    from scipy.sparse import csr_matrix

    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    for row in sample:
        vector = vectorized(features(row["sentence"], row["start"], row["end"]))
        for column in sorted(vector):
            indices.append(column)
            data.append(vector[column])
        indptr.append(len(indices))
    return csr_matrix((data, indices, indptr), shape=(len(sample), BUCKETS), dtype=np.float64)


def train(sample: list[dict[str, Any]]) -> ToneModel:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
    model.fit(matrix(sample), [LABELS.index(r["polarity"]) for r in sample])
    order = [list(model.classes_).index(i) for i in range(len(LABELS))]
    return ToneModel(model.coef_[order], model.intercept_[order])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--out", type=Path, default=PATH)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    train_rows, dev_rows = split(args.data)
    model = train(train_rows)
    model.save(args.out)
    print(
        f"{args.out}: trained on {len(train_rows)} rows ({len(dev_rows)} held out for the "
        f"development split) in {time.perf_counter() - started:.0f}s, "
        f"{args.out.stat().st_size} bytes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
