"""Tone toward each target, side by side with its peers, on the development split.

    python bench/tone.py DATA

DATA is the development data folder. The development split is the fifth of
NewsMTSC's train articles ``bench/train_tone.py`` holds out (split by article); the
shipped model never saw it. Printed in one run, for this project's model
(``workers.api.tone``), VADER (the sentence's compound score, positive from 0.05,
negative to -0.05: the lexicon a team picks first; ``pip install '.[bench]'`` or the
package's own dependency) and the majority class: macro-F1 over the three classes,
accuracy, per-class F1, and the microseconds per target.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_tone import split  # noqa: E402

from workers.stages.tone import LABELS  # noqa: E402


def scores(gold: list[str], predicted: list[str]) -> dict[str, float]:
    """Macro-F1, accuracy and each label's F1."""
    out: dict[str, float] = {}
    for label in LABELS:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        out[f"f1_{label}"] = 2 * precision * recall / (precision + recall) if tp else 0.0
    out["macro_f1"] = sum(out[f"f1_{label}"] for label in LABELS) / len(LABELS)
    out["accuracy"] = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
    return out


def ours(rows: list[dict[str, Any]]) -> list[str]:
    from workers.api import tone

    return [
        found.label if (found := tone(r["sentence"], [(r["start"], r["end"])])[0]) else "neutral"
        for r in rows
    ]


def vader(rows: list[dict[str, Any]]) -> list[str]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    out = []
    for r in rows:
        compound = analyzer.polarity_scores(r["sentence"])["compound"]
        out.append(
            "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
        )
    return out


def measure(data: Path) -> dict[str, dict[str, float]]:
    train, dev = split(data)
    gold = [r["polarity"] for r in dev]
    majority = Counter(r["polarity"] for r in train).most_common(1)[0][0]
    results: dict[str, dict[str, float]] = {}
    for name, predict in (("this project", ours), ("VADER", vader)):
        predict(dev[:5])  # loads, outside the timing
        started = time.perf_counter()
        predicted = predict(dev)
        seconds = time.perf_counter() - started
        results[name] = scores(gold, predicted) | {"us_per_target": 1e6 * seconds / len(dev)}
    results["majority class"] = scores(gold, [majority] * len(gold)) | {"us_per_target": 0.0}
    results["_split"] = {"train": len(train), "dev": len(dev)}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    args = parser.parse_args(argv)
    results = measure(args.data)
    split_sizes = results.pop("_split")
    print(
        f"NewsMTSC development split: {split_sizes['dev']:.0f} targets "
        f"(the model trained on {split_sizes['train']:.0f})"
    )
    head = ("macro-F1", "accuracy", "F1 neg", "F1 neu", "F1 pos", "µs/target")
    print(f"{'':16} " + " ".join(f"{h:>9}" for h in head))
    for name, r in results.items():
        values = [r["macro_f1"], r["accuracy"], r["f1_negative"], r["f1_neutral"], r["f1_positive"]]
        print(f"{name:16} " + " ".join(f"{v:9.3f}" for v in values) + f" {r['us_per_target']:9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
