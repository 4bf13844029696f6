"""Clean-stage quality and speed against the article-extraction-benchmark metric.

Usage: python bench/extraction.py DATA_DIR

DATA_DIR holds ``extraction-aeb/`` (HTML pages and ground truth) and
``aeb-fulltext-noisy-vs-clean.jsonl`` (the same pages as pasted full-page text).
Prints, side by side in one run: this project's clean stage, plain
trafilatura and two peers a team would otherwise pick (newspaper4k and
readability-lxml, where installed) on the HTML pages, and the clean stage's fallback path for pages
trafilatura cannot read (all visible text, then the pasted-text rules); the
clean stage and the raw text on the pasted text, also with its blank lines
removed and with a blank line after every line (scrapers lay text out both
ways); and per-article clean time percentiles. The clean stage's total time on the HTML
pages is given as a ratio to ``trafilatura.extract``'s on the same pages, timed
page by page in turn after both are warmed (as a worker warms at start).

The metric is the benchmark's own: word 4-gram shingles per document, tp/fp/fn
normalised to sum 1, averaged over documents, F1 from the averaged precision
and recall.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import trafilatura

from schemas import RawArticle
from workers.errors import StageFailed
from workers.stages.clean import clean, visible_text_article, warm

_WORDS = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = _WORDS.findall(text.lower())
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def score(pairs: list[tuple[str, str]]) -> tuple[float, float, float]:
    """(precision, recall, F1) of (predicted, gold) text pairs."""
    tps = fps = fns = 0.0
    for pred, gold in pairs:
        p, g = shingles(pred), shingles(gold)
        tp, fp, fn = len(p & g), len(p - g), len(g - p)
        total = tp + fp + fn
        if total == 0:
            tps += 1.0
            continue
        tps, fps, fns = tps + tp / total, fps + fp / total, fns + fn / total
    n = len(pairs)
    precision = tps / max(tps + fps, 1e-9)
    recall = tps / max(tps + fns, 1e-9)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return precision, recall, f1 if n else 0.0


def ours(raw: RawArticle) -> str:
    try:
        return clean(raw, now="").text
    except StageFailed:
        return ""


def _newspaper(html: str) -> str:
    import newspaper

    try:
        return str(newspaper.article("https://example.test/", input_html=html).text or "")
    except Exception:  # noqa: BLE001 - a peer's failure on one page is an empty answer
        return ""


def _readability(html: str) -> str:
    from lxml.html import fromstring
    from readability import Document

    try:
        return str(fromstring(Document(html).summary()).text_content())
    except Exception:  # noqa: BLE001 - a peer's failure on one page is an empty answer
        return ""


def _peers() -> dict[str, Callable[[str], str]]:
    """The extractors a team would otherwise pick, where installed (``.[bench]``)."""
    found: dict[str, Callable[[str], str]] = {}
    for name, module, fn in (
        ("newspaper4k", "newspaper", _newspaper),
        ("readability-lxml", "readability", _readability),
    ):
        try:
            __import__(module)
        except ImportError:
            print(f"({name} is not installed: pip install '.[bench]')")
            continue
        found[name] = fn
    return found


PEERS = _peers()


def timed(fn: Callable[[], str], times: list[float]) -> str:
    start = time.perf_counter()
    out = fn()
    times.append(time.perf_counter() - start)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the development data folder")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages")
    args = parser.parse_args()

    aeb = args.data / "extraction-aeb"
    truth = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth)[: args.limit or None]
    warm()  # the worker's start-up warm-up: the language identifier, the date parser
    trafilatura.extract("<html><body><p>" + "A warm-up sentence here. " * 20 + "</p></body></html>")
    html_ours: list[tuple[str, str]] = []
    html_traf: list[tuple[str, str]] = []
    html_fallback: list[tuple[str, str]] = []
    html_peers: dict[str, list[tuple[str, str]]] = {}
    t_ours: list[float] = []
    t_traf: list[float] = []
    for pid in ids:
        html = gzip.decompress((aeb / "html" / f"{pid}.html.gz").read_bytes()).decode(
            "utf-8", errors="replace"
        )
        gold = truth[pid]["articleBody"]
        raw = RawArticle(id=pid, html=html)
        html_ours.append((timed(lambda raw=raw: ours(raw), t_ours), gold))  # type: ignore[misc]
        html_traf.append((timed(lambda h=html: trafilatura.extract(h) or "", t_traf), gold))  # type: ignore[misc]
        html_fallback.append((visible_text_article(html), gold))
        for name, peer in PEERS.items():
            html_peers.setdefault(name, []).append((peer(html), gold))

    rows = [
        json.loads(line)
        for line in (args.data / "aeb-fulltext-noisy-vs-clean.jsonl").read_text().splitlines()
    ]
    rows = rows[: args.limit or None]
    t_text: list[float] = []
    text_ours = [
        (
            timed(lambda r=r: ours(RawArticle(id="x", text=r["noisy"])), t_text),  # type: ignore[misc]
            r["clean"],
        )
        for r in rows
    ]
    text_raw = [(r["noisy"], r["clean"]) for r in rows]
    # the same pages copied by scrapers that lay lines out differently
    text_dense = [
        (ours(RawArticle(id="x", text=re.sub(r"\n\s*\n", "\n", r["noisy"]))), r["clean"])
        for r in rows
    ]
    text_spaced = [
        (ours(RawArticle(id="x", text=re.sub(r"\n+", "\n\n", r["noisy"]))), r["clean"])
        for r in rows
    ]

    print(f"{'input':<8} {'extractor':<24} {'docs':>5} {'P':>7} {'R':>7} {'F1':>7}")
    for label, name, pairs in (
        ("html", "enrich clean stage", html_ours),
        ("html", "trafilatura (plain)", html_traf),
        ("html", "enrich fallback path", html_fallback),
        *(("html", name, pairs) for name, pairs in html_peers.items()),
        ("text", "enrich clean stage", text_ours),
        ("text", "  no blank lines", text_dense),
        ("text", "  blank after each line", text_spaced),
        ("text", "raw page text", text_raw),
    ):
        p, r, f = score(pairs)
        print(f"{label:<8} {name:<24} {len(pairs):>5} {p:>7.3f} {r:>7.3f} {f:>7.3f}")
    f_ours, f_traf = score(html_ours)[2], score(html_traf)[2]
    print(f"\nHTML F1 ratio enrich/trafilatura: {f_ours / max(f_traf, 1e-9):.3f}")
    print(
        f"HTML time, all {len(t_ours)} pages: clean stage {sum(t_ours):.2f} s, "
        f"trafilatura.extract {sum(t_traf):.2f} s: "
        f"{sum(t_ours) / max(sum(t_traf), 1e-9):.2f}x (goal <= 1.5x)"
    )
    for name, times in (
        ("clean stage, html", t_ours),
        ("trafilatura, html", t_traf),
        ("clean stage, text", t_text),
    ):
        print(
            f"time per article, {name:<18} p50 {statistics.median(times) * 1000:7.1f} ms  "
            f"p99 {percentile(times, 0.99) * 1000:7.1f} ms  max {max(times) * 1000:7.1f} ms"
        )


if __name__ == "__main__":
    main()
