"""Keywords side by side with YAKE, against a documented proxy for key phrases.

    python bench/keywords.py PATH [--limit N] [--top 10]

PATH is a JSON Lines file with ``article`` and ``references`` (or ``reference``)
fields: the SummEval CNN/DailyMail file in the shared data folder. The file has
no key phrases, so the proxy gold set of an article is the noun phrases (spaCy
noun chunks, without leading determiners and pronouns) and named entities of
its human-written summaries that also occur in the article. A phrase matches
when its words, lowercased and Porter-stemmed, are the same.

Printed: precision, recall and F1 at ``--top`` per article, averaged, for this
project's keywords (the summarize stage's, with the tag stage's entities) and
for YAKE (``yake.KeywordExtractor``, English, n-grams up to 3, its defaults
otherwise); and how many of each system's keywords are not noun phrases or
entities of the article itself (fragments), and the time per article.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yake
from nltk.stem.porter import PorterStemmer

from schemas import RawArticle
from workers.settings import Settings
from workers.stages.clean import clean
from workers.stages.summarize import summarize
from workers.stages.tag import Tagger, load_model, places

_WORDS = re.compile(r"[a-z0-9]+")
_LEADING = re.compile(
    r"^(?:(?:the|a|an|this|that|these|those|his|her|its|their|our|my|your|some|all)\s+)+"
)
_STEM = PorterStemmer()


def key(phrase: str) -> tuple[str, ...]:
    text = _LEADING.sub("", phrase.lower())
    return tuple(_STEM.stem(w) for w in _WORDS.findall(text))


def phrases(doc: Any) -> set[tuple[str, ...]]:
    """Noun chunks and entities of a parsed text, as stemmed keys."""
    out = {key(c.text) for c in doc.noun_chunks if c.root.pos_ != "PRON"}
    out |= {key(e.text) for e in doc.ents if e.label_ not in ("CARDINAL", "ORDINAL", "DATE")}
    return {k for k in out if k}


def contains(article_words: str, k: tuple[str, ...]) -> bool:
    return f" {' '.join(k)} " in article_words


def prf(predicted: list[str], gold: set[tuple[str, ...]]) -> tuple[float, float, float]:
    keys = list(dict.fromkeys(key(p) for p in predicted if key(p)))
    hits = sum(1 for k in keys if k in gold)
    p = hits / len(keys) if keys else 0.0
    r = hits / len(gold) if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _peers(model: str, top: int) -> dict[str, Callable[[str], list[str]]]:
    """The keyword extractors a team would otherwise pick, where installed
    (``.[bench]``): pytextrank (TextRank over the same spaCy model's noun chunks)
    and newspaper4k's keywords (word frequency)."""
    found: dict[str, Callable[[str], list[str]]] = {}
    try:
        import pytextrank  # noqa: F401
        import spacy

        nlp = spacy.load(model)
        nlp.add_pipe("textrank")
        found["pytextrank"] = lambda text: [p.text for p in nlp(text)._.phrases[:top]]
    except ImportError:
        print("(pytextrank is not installed: pip install '.[bench]')")
    try:
        from newspaper import nlp as news
        from newspaper.text import StopWords

        stop = StopWords("en")
        found["newspaper4k"] = lambda text: list(news.keywords(text, stop, top))
    except ImportError:
        print("(newspaper4k is not installed: pip install '.[bench]')")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()

    import spacy

    rows = [json.loads(line) for line in args.path.read_text("utf-8").splitlines() if line]
    rows = rows[: args.limit or None]
    settings = Settings()
    parser_nlp = spacy.load(settings.model)  # the full pipeline: parser for noun chunks
    tagger = Tagger(load_model(settings.model), labels=settings.label_set, places=places.load())
    extractor = yake.KeywordExtractor(lan="en", n=3, top=args.top)
    # warmed as a worker is at start: stop words and word frequencies load once
    warm = clean(RawArticle(id="warm", text="The council met on Monday.", language="en"), now="")
    summarize(tagger.tag_batch([warm], now="")[0], now="")
    peers = _peers(settings.model, args.top)
    systems = ["enrich", "YAKE", *peers]
    scores: dict[str, list[tuple[float, float, float]]] = {name: [] for name in systems}
    fragments = dict.fromkeys(systems, 0)
    counted = dict.fromkeys(systems, 0)
    seconds = dict.fromkeys(systems, 0.0)
    for i, row in enumerate(rows):
        article = row["article"]
        references = row.get("references") or [row["reference"]]
        article_doc = parser_nlp(article)
        article_words = " " + " ".join(key(article)) + " "
        own = phrases(article_doc)
        gold: set[tuple[str, ...]] = set()
        for ref in references:
            gold |= {k for k in phrases(parser_nlp(ref)) if contains(article_words, k)}
        cleaned = clean(RawArticle(id=str(i), text=article, language="en"), now="")
        tagged = tagger.tag_batch([cleaned], now="")[0]
        started_summary = time.perf_counter()
        ours = summarize(tagged, now="").keywords[: args.top]
        seconds["enrich"] += time.perf_counter() - started_summary
        started = time.perf_counter()
        theirs = [kw for kw, _ in extractor.extract_keywords(article)][: args.top]
        seconds["YAKE"] += time.perf_counter() - started
        answers = {"enrich": ours, "YAKE": theirs}
        for name, peer in peers.items():
            started = time.perf_counter()
            answers[name] = peer(article)[: args.top]
            seconds[name] += time.perf_counter() - started
        for name, predicted in answers.items():
            scores[name].append(prf(predicted, gold))
            counted[name] += len(predicted)
            fragments[name] += sum(1 for p in predicted if key(p) not in own)
    refs = statistics.fmean(len(r.get("references") or [1]) for r in rows)
    print(
        f"{len(rows)} articles; proxy gold: noun phrases and entities of the reference "
        f"summaries found in the article ({refs:.0f} references each)"
    )
    print(
        f"{'system':<8} {'P@k':>6} {'R@k':>6} {'F@k':>6} {'not an NP or entity':>20} "
        f"{'ms/article':>11}"
    )
    for name, values in scores.items():
        p, r, f = (statistics.fmean(v[j] for v in values) * 100 for j in range(3))
        print(
            f"{name:<8} {p:>6.1f} {r:>6.1f} {f:>6.1f} "
            f"{100 * fragments[name] / max(counted[name], 1):>19.1f}% "
            f"{1000 * seconds[name] / len(rows):>11.2f}"
        )
    print(f"(k = {args.top}; enrich's time is the summarize step, keywords and summary together)")


if __name__ == "__main__":
    main()
