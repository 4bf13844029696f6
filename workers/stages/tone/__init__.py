"""Tone toward a mention: positive, neutral or negative, from the sentence it is in,
read toward it ("the minister praised the mayor" is positive for the mayor). Pure.

The model is a multinomial logistic regression over features of the sentence as seen
from the mention (``features``): its words and word pairs, the words within
``WINDOW`` of the mention on each side (apart: what is said of it is near it), a
negation carried to the words after it ("not fair": NOT_fair), whether the mention
opens the sentence or stands in a quotation, and the valence VADER's lexicon gives
the sentence, each side of the mention, and the words nearest it. Features are hashed
into ``BUCKETS`` columns (CRC-32: the same on every machine), so the shipped weights
are one array (``model.npz``, beside this module). ``bench/train_tone.py`` trains it
on NewsMTSC's train split, deterministically; ``bench/tone.py`` measures it.

English only: the words and the lexicon are English's.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

PATH = Path(__file__).with_name("model.npz")
LABELS = ("negative", "neutral", "positive")
LANGUAGES = frozenset({"en"})
BUCKETS = 2**18
WINDOW = 5

_TOKEN = re.compile(r"[A-Za-z]+(?:'[a-z]+)?|[0-9]+|[^\sA-Za-z0-9]")
_NEGATION = frozenset(
    {"not", "no", "never", "without", "nor", "neither", "cannot", "nothing", "nobody", "none"}
)
_CLAUSE_END = frozenset(".,;:!?")
_QUOTES = ('"', "“", "”")


@cache
def _lexicon() -> dict[str, float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return dict(SentimentIntensityAnalyzer().lexicon)


def _valence(words: list[str], near_first: bool) -> float:
    """The lexicon's valence of ``words``, each weighted by 1/(1 + its distance from the
    mention) when ``near_first`` orders them so."""
    lexicon = _lexicon()
    return sum(lexicon.get(w, 0.0) / (1 + k if near_first else 1) for k, w in enumerate(words))


def features(sentence: str, start: int, end: int) -> dict[str, float]:
    """The features of ``sentence`` toward the mention at ``start:end`` in it."""
    left = _TOKEN.findall(sentence[:start].lower())
    right = _TOKEN.findall(sentence[end:].lower())
    tokens = [*left, "<T>", *right]
    at = len(left)
    found: defaultdict[str, float] = defaultdict(float)
    negated = False
    for i, word in enumerate(tokens):
        if word in _NEGATION or word.endswith("n't"):
            negated = True
            found["w=" + word] += 1
            continue
        if word in _CLAUSE_END:
            negated = False
        shown = "NOT_" + word if negated else word
        found["w=" + shown] += 1
        if i + 1 < len(tokens):
            found[f"b={word}_{tokens[i + 1]}"] += 1
        distance = i - at
        if 0 < abs(distance) <= WINDOW:
            found[("L=" if distance < 0 else "R=") + shown] += 1
        if 0 < abs(distance) <= 2:
            found[("L2=" if distance < 0 else "R2=") + word] += 1
    found["opens"] = float(at == 0)
    found["quoted"] = float(any(q in sentence for q in _QUOTES))
    # the lexicon's valence: of the sentence, of each side, near the mention first
    found["v:all"] += _valence(left + right, near_first=False)
    found["v:left"] += _valence(left[::-1], near_first=True)
    found["v:right"] += _valence(right, near_first=True)
    return dict(found)


def bucket(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) % BUCKETS


def vectorized(found: dict[str, float]) -> dict[int, float]:
    """The features as the model reads them: hashed, counts log-scaled."""
    out: dict[int, float] = {}
    for name, value in found.items():
        if not value:
            continue
        scaled = math.log1p(value) if not name.startswith("v:") else value
        b = bucket(name)
        out[b] = out.get(b, 0.0) + scaled
    return out


@dataclass(frozen=True, slots=True)
class Tone:
    """Tone toward a target: the probability of each label (``LABELS``' order), and
    ``score``, positive minus negative (-1 to 1)."""

    probabilities: tuple[float, float, float]

    @property
    def label(self) -> str:
        return LABELS[int(np.argmax(self.probabilities))]

    @property
    def score(self) -> float:
        return self.probabilities[2] - self.probabilities[0]


class ToneModel:
    """The weights: one row per label over the buckets, and a bias per label."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray) -> None:
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)

    def tone(self, sentence: str, start: int, end: int) -> Tone:
        """The tone of ``sentence`` toward the mention at ``start:end`` in it."""
        vector = vectorized(features(sentence, start, end))
        logits = self.bias.copy()
        if vector:
            columns = np.fromiter(vector, dtype=np.int64, count=len(vector))
            values = np.fromiter(vector.values(), dtype=np.float32, count=len(vector))
            logits += self.weights[:, columns] @ values
        exp = np.exp(logits - logits.max())
        probabilities = exp / exp.sum()
        return Tone(tuple(float(p) for p in probabilities))  # type: ignore[arg-type]

    def save(self, path: Path) -> None:
        np.savez_compressed(path, weights=self.weights.astype(np.float16), bias=self.bias)


@cache
def load(path: Path = PATH) -> ToneModel:
    """The shipped model (read once per process: a few MiB)."""
    with np.load(path) as data:
        return ToneModel(data["weights"], data["bias"])
