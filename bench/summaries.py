"""Summary quality: ROUGE-1/2/L of the summarize stage and of Lead-3, side by side.

Usage: python bench/summaries.py PATH [--limit N]

PATH is a JSON Lines file with ``article`` and ``reference`` fields (for
development: the SummEval CNN/DailyMail file in the shared data folder).
Both systems see the same clean text and the same sentence boundaries (the
tag stage's): Lead-3 takes the first three; the project takes what its
summarize stage selects. Scores are ROUGE F-measures with stemming
(``rouge-score``), averaged over articles, in percent.

Where the file holds ``system_summaries`` (SummEval's), the extractive systems
among them are scored the same way and printed beside their mean human ratings
(coherence, consistency, fluency, relevance, 1-5): the systems that beat Lead-3
on ROUGE there lose on coherence. Human ratings of this project's summaries
are not in the file; what stands in for them is their shape: how many are
consecutive sentences of the text, and how many open at its first sentence, as
Lead-3 (the most coherent system there) does. Each system is also compared
with the project article by article: the mean difference in ROUGE-1 and
ROUGE-2 with a 95% paired bootstrap interval (1,000 resamples, fixed seed),
which says whether a gap between two systems on these articles is larger than
the articles' spread.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rouge_score import rouge_scorer

from schemas import RawArticle
from workers.settings import Settings
from workers.stages.clean import clean
from workers.stages.summarize import summarize
from workers.stages.tag import Tagger, load_model

METRICS = ("rouge1", "rouge2", "rougeL")
# SummEval's extractive systems (Fabbri et al., 2021, table 2)
EXTRACTIVE = {"M0": "Lead-3", "M1": "NeuSum", "M2": "BanditSum", "M5": "RNES"}
HUMAN = ("coherence", "consistency", "fluency", "relevance")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="JSON Lines with article and reference")
    parser.add_argument("--limit", type=int, default=0, help="only the first N articles")
    args = parser.parse_args()

    settings = Settings()
    rows = [
        json.loads(line)
        for line in args.path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ][: args.limit or None]
    tagger = Tagger(load_model(settings.model), labels=settings.label_set)
    cleaned = [
        clean(RawArticle(id=str(i), text=row["article"]), now="") for i, row in enumerate(rows)
    ]
    tagged = tagger.tag_batch(cleaned, now="")
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    peers = _peers()
    scores: dict[str, dict[str, list[float]]] = {"enrich": {}, "lead-3": {}}
    scores |= {name: {} for name in peers}
    shape: dict[str, int] = {"consecutive": 0, "first": 0}
    for row, article in zip(rows, tagged, strict=True):
        sents = list(article.sentences)
        enriched = summarize(
            article,
            now="",
            count=settings.summary_sentences,
            max_chars=settings.summary_max_chars,
        )
        ends = [s.end for s in sents]
        at = [ends.index(s.end) for s in enriched.summary_sentences]
        shape["consecutive"] += at == list(range(at[0], at[0] + len(at)))
        shape["first"] += at[0] == 0
        sentences = [article.text[s.start : s.end] for s in sents]
        candidates = {
            "enrich": enriched.summary,
            "lead-3": " ".join(sentences[:3]),
        }
        for name, peer in peers.items():
            candidates[name] = peer(sentences, row["article"])
        for system, summary in candidates.items():
            result = scorer.score(row["reference"], summary)
            for metric in METRICS:
                scores[system].setdefault(metric, []).append(result[metric].fmeasure * 100)

    print(f"{'system':<10} {'docs':>5} " + " ".join(f"{m:>8}" for m in METRICS))
    for system, by_metric in scores.items():
        means = [statistics.fmean(by_metric[m]) for m in METRICS]
        print(f"{system:<10} {len(rows):>5} " + " ".join(f"{v:>8.2f}" for v in means))
    ratios = [
        statistics.fmean(scores["enrich"][m]) / statistics.fmean(scores["lead-3"][m])
        for m in METRICS
    ]
    print("ratio enrich/lead-3   " + " ".join(f"{r:>8.3f}" for r in ratios))
    print(
        f"enrich summaries of consecutive sentences: {shape['consecutive']} of {len(rows)}; "
        f"opening at the text's first sentence: {shape['first']} of {len(rows)} "
        "(the others leave out a stamp, byline, caption, dangling opener or repeat)"
    )
    systems(rows, scorer, scores["enrich"])


class _Words:
    """A tokenizer for sumy over sentences already split (the tag stage's, the same
    for every system): sumy's own needs NLTK data that is not on PyPI."""

    language = "english"

    def to_sentences(self, paragraph: str) -> list[str]:
        return [paragraph]

    def to_words(self, sentence: str) -> list[str]:
        return re.findall(r"\w+", sentence)


def _sumy(kind: str) -> Callable[[list[str], str], str]:
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.nlp.stemmers import Stemmer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer

    summarizer = (LexRankSummarizer if kind == "lexrank" else TextRankSummarizer)(
        Stemmer("english")
    )
    words = _Words()

    def run(sentences: list[str], _: str) -> str:
        document = ObjectDocumentModel([Paragraph([Sentence(text, words) for text in sentences])])
        return " ".join(str(s) for s in summarizer(document, 3))

    return run


def _newspaper(sentences: list[str], article: str) -> str:
    """newspaper4k's summarizer, three sentences, over the same sentences (its own
    split needs NLTK data that is not on PyPI); the file has no titles, so the first
    sentence stands in for the title its scoring wants."""
    from newspaper import nlp
    from newspaper.text import StopWords

    original = nlp.split_sentences
    nlp.split_sentences = lambda _: list(sentences)
    try:
        chosen = nlp.summarize(sentences[0], " ".join(sentences), StopWords("en"), max_sents=3)
    finally:
        nlp.split_sentences = original
    return " ".join(chosen)


def _peers() -> dict[str, Callable[[list[str], str], str]]:
    """The summarizers a team would otherwise pick, where installed (``.[bench]``):
    sumy's LexRank and TextRank (three sentences, the tag stage's sentences) and
    newspaper4k's summary (its own sentence split)."""
    found: dict[str, Callable[[list[str], str], str]] = {}
    try:
        found["sumy-lexrank"] = _sumy("lexrank")
        found["sumy-textrank"] = _sumy("textrank")
    except ImportError:
        print("(sumy is not installed: pip install '.[bench]')")
    try:
        import newspaper  # noqa: F401

        found["newspaper4k"] = _newspaper
    except ImportError:
        print("(newspaper4k is not installed: pip install '.[bench]')")
    return found


def systems(
    rows: list[dict[str, Any]],
    scorer: rouge_scorer.RougeScorer,
    ours: dict[str, list[float]],
) -> None:
    """The file's own extractive systems: ROUGE against the same reference, their
    mean human ratings, and the project's paired difference from each."""
    present = [k for k in EXTRACTIVE if all(k in r.get("system_summaries", {}) for r in rows)]
    if not present:
        return
    print(
        f"\n{'system':<10} {'docs':>5} "
        + " ".join(f"{m:>8}" for m in METRICS)
        + "   human: "
        + " ".join(f"{h[:5]:>6}" for h in HUMAN)
    )
    differences: dict[str, dict[str, list[float]]] = {}
    for key in present:
        rouge: dict[str, list[float]] = {m: [] for m in METRICS}
        human: dict[str, list[float]] = {h: [] for h in HUMAN}
        for row in rows:
            entry = row["system_summaries"][key]
            result = scorer.score(row["reference"], entry["summary"])
            for m in METRICS:
                rouge[m].append(result[m].fmeasure * 100)
            for h in HUMAN:
                human[h].append(float(entry["human_scores"][h]))
        print(
            f"{EXTRACTIVE[key]:<10} {len(rows):>5} "
            + " ".join(f"{statistics.fmean(rouge[m]):>8.2f}" for m in METRICS)
            + "          "
            + " ".join(f"{statistics.fmean(human[h]):>6.2f}" for h in HUMAN)
        )
        differences[key] = rouge
    print("\nenrich minus system, per article: mean [95% paired bootstrap interval]")
    for key, rouge in differences.items():
        cells = [
            "{}: {:+.2f} [{:+.2f}, {:+.2f}]".format(m, *paired(ours[m], rouge[m]))
            for m in ("rouge1", "rouge2")
        ]
        print(f"{EXTRACTIVE[key]:<10} " + "   ".join(cells))


def paired(a: list[float], b: list[float], *, resamples: int = 1000) -> tuple[float, ...]:
    """Mean of a - b and its 95% bootstrap interval over the articles."""
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    rng = random.Random(0)
    means = sorted(statistics.fmean(rng.choices(diffs, k=len(diffs))) for _ in range(resamples))
    return statistics.fmean(diffs), means[int(0.025 * resamples)], means[int(0.975 * resamples)]


if __name__ == "__main__":
    main()
