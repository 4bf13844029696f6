"""Story grouping on the development data: does each page meet its pasted copy?

Each of the 181 AEB news pages goes through the clean stage twice: as HTML,
and as the same page pasted as full-page text (``aeb-fulltext-noisy-vs-clean.jsonl``).
The 100 SummEval CNN/DailyMail articles join them as distinct articles. The
two versions of a page must land in the same story, and no two different
articles may: pairwise precision and recall of "same story" over all pairs.

The articles are grouped in the order given (pages, then their pasted copies,
then the CNN articles) by the same rule the stream applies: a candidate from
a shared LSH band, kept when its estimated similarity reaches the threshold,
the story being that of the first article seen. Prints, per threshold, the
pairwise figures, the exact Jaccard of the pairs missed, the cost per article
(signature and band keys), and the state the stream keeps per 100,000 articles.

With ``--stores N``, it then writes N distinct articles to the story tables in
memory and on disk, each in a process of its own, and prints each store's
resident memory and disk, and their growth per 100,000 articles
(``--disk-articles 1000000`` goes on to a week of a big feed on disk).

Usage: python bench/stories.py DATA [--thresholds 0.5,0.6,0.7] [--stores 100000]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import statistics
import time
from pathlib import Path

from schemas import RawArticle
from workers.errors import StageFailed
from workers.stages.clean import clean, warm
from workers.stories import minhash
from workers.stories.state import StoryIndex, state_bytes_per_article


def cleaned(raw: RawArticle) -> str:
    try:
        return clean(raw, now="").text
    except StageFailed:
        return ""


def load(data: Path, limit: int) -> list[tuple[str, str]]:
    """(story, clean text) for every article: each page twice, then the CNN articles."""
    aeb = data / "extraction-aeb"
    rows = [
        json.loads(line)
        for line in (data / "aeb-fulltext-noisy-vs-clean.jsonl").read_text().splitlines()
    ][: limit or None]
    docs: list[tuple[str, str]] = []
    for row in rows:
        html = gzip.decompress((aeb / "html" / f"{row['id']}.html.gz").read_bytes()).decode(
            "utf-8", errors="replace"
        )
        docs.append((row["id"], cleaned(RawArticle(id=row["id"], html=html))))
    for row in rows:
        docs.append((row["id"], cleaned(RawArticle(id=row["id"], text=row["noisy"]))))
    for i, line in enumerate(
        (data / "summeval-cnndm-100.jsonl").read_text().splitlines()[: limit or None]
    ):
        docs.append((f"cnn-{i}", json.loads(line)["article"]))
    return [(story, text) for story, text in docs if text]


def pairwise(truth: list[str], found: list[str]) -> tuple[float, float, int, int]:
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(truth)), 2):
        same, grouped = truth[i] == truth[j], found[i] == found[j]
        tp += same and grouped
        fp += grouped and not same
        fn += same and not grouped
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1), fp, fn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the development data folder")
    parser.add_argument("--thresholds", default="0.4,0.5,0.6,0.7")
    parser.add_argument("--limit", type=int, default=0, help="only the first N of each set")
    parser.add_argument(
        "--stores",
        type=int,
        default=0,
        metavar="N",
        help="also write N distinct articles to the story tables in memory and on disk, "
        "and print each store's memory and disk per 100,000 (bench/story_store.py)",
    )
    parser.add_argument(
        "--disk-articles",
        type=int,
        default=0,
        metavar="M",
        help="with --stores: go on to M articles on disk (1000000 for a week of a big feed)",
    )
    args = parser.parse_args()
    warm()
    docs = load(args.data, args.limit)
    truth = [story for story, _ in docs]
    print(f"{len(docs)} articles, {len(set(truth))} stories\n")
    started = time.perf_counter()
    sigs = [minhash.signature(text) for _, text in docs]
    sig_ms = (time.perf_counter() - started) * 1000 / len(docs)
    exact = {
        story: [minhash.shingles(text) for s, text in docs if s == story] for story in set(truth)
    }

    print(
        f"{'threshold':>9} {'bands x rows':>12} {'precision':>9} {'recall':>7} "
        f"{'false':>5} {'missed':>6} {'ms/article':>10} {'state/100k':>10}"
    )
    for threshold in (float(t) for t in args.thresholds.split(",")):
        banding = minhash.banding(threshold)
        index = StoryIndex(threshold)
        found: list[str] = []
        started = time.perf_counter()
        for n, sig in enumerate(sigs):
            found.append(index.add(f"doc-{n}", sig).story_id)
        group_ms = (time.perf_counter() - started) * 1000 / len(docs)
        precision, recall, fp, fn = pairwise(truth, found)
        state = state_bytes_per_article(banding) * 100_000 / 2**20
        print(
            f"{threshold:>9.2f} {banding.bands:>5} x {banding.rows:<4} {precision:>9.4f} "
            f"{recall:>7.4f} {fp:>5} {fn:>6} {sig_ms + group_ms:>10.2f} {state:>7.0f} MiB"
        )
        missed = [
            len(a & b) / max(len(a | b), 1)
            for story, sets in exact.items()
            if len(sets) == 2
            for a, b in [sets]
            if found[truth.index(story)] != found[len(truth) - 1 - truth[::-1].index(story)]
        ]
        if missed:
            print(
                f"{'':>9} missed pairs' exact Jaccard: median {statistics.median(missed):.2f}, "
                f"max {max(missed):.2f}"
            )

    if args.stores:
        print()
        compare_stores(args.stores, max(args.disk_articles, args.stores))


def compare_stores(articles: int, disk_articles: int) -> None:
    """Each store's growth per 100,000 distinct articles, each in a process of its own."""
    import subprocess
    import sys

    script = Path(__file__).with_name("story_store.py")
    print(f"{'store':>8} {'articles':>9} {'RSS':>9} {'RSS/100k':>9} {'disk':>9} {'disk/100k':>9}")
    every = max(1, articles // 2)
    for store, count in (("memory", articles), ("rocksdb", disk_articles)):
        run = subprocess.run(
            [sys.executable, str(script), store, str(count), "--report-every", str(every)],
            capture_output=True,
            text=True,
            check=True,
        )
        for line in run.stdout.splitlines():
            row = json.loads(line)
            n, per = row["articles"], 100_000 / row["articles"]
            print(
                f"{store:>8} {n:>9} {row['rss'] / 2**20:>5.0f} MiB "
                f"{row['rss_growth'] * per / 2**20:>5.0f} MiB {row['disk'] / 2**20:>5.0f} MiB "
                f"{row['disk'] * per / 2**20:>5.0f} MiB"
            )


if __name__ == "__main__":
    main()
