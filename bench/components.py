"""Where a worker's CPU goes per article: the model's components, bare and inside the
tag stage, and each part of the stages around them, side by side.

Usage: python bench/components.py DATA_DIR [--articles N] [--texts aeb|cnndm]
                                  [--part-of-speech]

In one process, on the same clean texts, in the same batches of 64:

1. the bare model: the tag stage's own components (the model's tokenizer, then
   each of ``tok2vec``, ``tagger``, ``senter``, ``ner``: the tagger reads
   ``tok2vec``, which nothing else does, and ner and senter carry embeddings of
   their own) run one after another over each batch, each timed;
2. the tag and summarize stages as a worker runs them (``Pipeline.tag_batch``,
   ``Pipeline.summarize_batch``, records decoded and encoded as on the broker),
   with each of the stage's own parts timed where it is called: the model
   (tokenizer and components, as above), truecasing, the token budget and
   chunking, sentences, mentions, noun phrases, the entity rules, and the rest
   (decoding, building and encoding records);

each side twice, alternately, keeping the lowest of each row; then the CPU
milliseconds per article of each row, and the worker's total
against the bare model's. Timers are ``time.process_time`` around each call, so
the figures are CPU, not wall time, and a noisy machine moves them less.

``--places-and-tone`` also prints the stages' CPU per article with the places and
tone step and without it (``ENRICH_PLACES_AND_TONE=false``, today's stages before
it), side by side, and the memory the gazetteer and the tone model take.
``--part-of-speech`` also prints the stages' CPU per article with the
part-of-speech tagger and without it (``ENRICH_PART_OF_SPEECH=false``), side by
side. ``--texts cnndm`` takes the CNN/DailyMail articles (about 360 words each)
instead of the cleaned news pages (``extraction-aeb``, longer and more varied).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import orjson

from schemas import RawArticle
from workers.codec import Message
from workers.loading import build_pipeline
from workers.settings import Settings
from workers.stages import tag as tag_stage
from workers.stages.clean import clean
from workers.stages.summarize import word_count
from workers.stages.tag import entities

BATCH = 64
NOW = "2026-01-01T00:00:00.000Z"


def texts_of(data_dir: Path, which: str) -> list[str]:
    """Clean texts: the news pages' bodies after the clean stage, or CNN/DailyMail's."""
    if which == "cnndm":
        with (data_dir / "summeval-cnndm-100.jsonl").open(encoding="utf-8") as f:
            return [json.loads(line)["article"] for line in f if line.strip()]
    truth = json.loads((data_dir / "extraction-aeb" / "ground-truth.json").read_text("utf-8"))
    out = []
    for i, v in enumerate(truth.values()):
        body = v.get("articleBody", "")
        if body.strip():
            try:
                out.append(clean(RawArticle(id=str(i), text=body), now="").text)
            except Exception:  # noqa: BLE001, S112 - an empty article: nothing to tag
                continue
    return out


class Timers:
    """CPU seconds per name, summed over calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, fun: Callable[..., Any], *, consume: bool = False) -> Any:
        """``fun`` timed under ``name``; ``consume``: it returns an iterator, read whole."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                out = fun(*args, **kwargs)
                return list(out) if consume else out
            finally:
                self.seconds[name] += time.process_time() - started

        return timed

    def pipe(self, name: str, proc: Any) -> Callable[..., Iterator[Any]]:
        """A component's ``pipe`` timed under ``name``, less the time its input took."""
        original = proc.pipe

        def timed(docs: Any, **kwargs: Any) -> Iterator[Any]:
            upstream = _Measured(iter(docs))
            inner = original(upstream, **kwargs)
            while True:
                before = upstream.seconds
                started = time.process_time()
                try:
                    doc = next(inner)
                except StopIteration:
                    self.seconds[name] += (
                        time.process_time() - started - (upstream.seconds - before)
                    )
                    return
                self.seconds[name] += time.process_time() - started - (upstream.seconds - before)
                yield doc

        return timed


class _Timed:
    """A pipeline component whose ``pipe`` is timed; everything else is the component's."""

    def __init__(self, proc: Any, pipe: Callable[..., Iterator[Any]]) -> None:
        self._proc = proc
        self.pipe = pipe

    def __getattr__(self, name: str) -> Any:
        return getattr(self._proc, name)

    def __call__(self, doc: Any) -> Any:
        return self._proc(doc)


class _Measured:
    """An iterator that keeps the CPU time spent pulling from it."""

    def __init__(self, it: Iterator[Any]) -> None:
        self.it = it
        self.seconds = 0.0

    def __iter__(self) -> _Measured:
        return self

    def __next__(self) -> Any:
        started = time.process_time()
        try:
            return next(self.it)
        finally:
            self.seconds += time.process_time() - started


def bare(texts: list[str], settings: Settings) -> dict[str, float]:
    """CPU seconds of each of the tag stage's components over ``texts``, bare."""
    nlp = tag_stage.load_model(settings.model)
    tag_stage.bound_tokenizer(nlp)
    list(nlp.pipe(texts[:8]))  # warm
    seconds: dict[str, float] = defaultdict(float)
    for start in range(0, len(texts), BATCH):
        group = texts[start : start + BATCH]
        began = time.process_time()
        docs = [nlp.make_doc(t) for t in group]
        seconds["tokenizer"] += time.process_time() - began
        for name, proc in nlp.pipeline:
            began = time.process_time()
            docs = list(cast(Any, proc).pipe(docs, batch_size=BATCH))
            seconds[name] += time.process_time() - began
    return dict(seconds)


def worker(texts: list[str], settings: Settings) -> tuple[dict[str, float], float, float]:
    """CPU seconds of each part of the tag and summarize stages over ``texts``, and of
    each stage in all."""
    pipeline = build_pipeline(settings)
    pipeline.warm()
    tagger = pipeline.tagger
    timers = Timers()
    nlp = tagger.nlp
    nlp.tokenizer = timers.wrap("tokenizer", nlp.tokenizer)
    components = list(nlp._components)
    nlp._components = [(name, _Timed(proc, timers.pipe(name, proc))) for name, proc in components]
    patches = {
        (tag_stage, "truecase"): timers.wrap("truecase", tag_stage.truecase),
        (tag_stage, "chunk_text"): timers.wrap("budget and chunks", tag_stage.chunk_text),
        (tag_stage, "weight"): timers.wrap("budget and chunks", tag_stage.weight),
        (tag_stage, "model_sentences"): timers.wrap(
            "sentences", tag_stage.model_sentences, consume=True
        ),
        (tag_stage, "_mentions"): timers.wrap("mentions", tag_stage._mentions, consume=True),
        (tag_stage, "noun_phrases"): timers.wrap(
            "noun phrases", tag_stage.noun_phrases, consume=True
        ),
        (entities, "resolve"): timers.wrap("entity rules", entities.resolve),
    }
    originals = {where: getattr(*where) for where in patches}
    for (module, name), timed in patches.items():
        setattr(module, name, timed)
    cleaned = [
        clean(RawArticle(id=str(i), text=t), now=NOW).model_dump_json().encode()
        for i, t in enumerate(texts)
    ]
    tag_seconds = summarize_seconds = 0.0
    try:
        for start in range(0, len(cleaned), BATCH):
            group = [
                Message("cleaned", 0, start + i, None, v)
                for i, v in enumerate(cleaned[start : start + BATCH])
            ]
            began = time.process_time()
            tagged = pipeline.tag_batch(group)
            tag_seconds += time.process_time() - began
            values = [Message("tagged", 0, i, None, o.value) for i, o in enumerate(tagged)]
            began = time.process_time()
            pipeline.summarize_batch(values)
            summarize_seconds += time.process_time() - began
    finally:
        nlp._components = components
        for (module, name), original in originals.items():
            setattr(module, name, original)
    return dict(timers.seconds), tag_seconds, summarize_seconds


def report(texts: list[str], settings: Settings | None = None, rounds: int = 2) -> dict[str, float]:
    """Print the table (each side run ``rounds`` times, alternately, the lowest kept);
    returns the bare model's and the worker's CPU per article, and their ratio."""
    settings = settings or Settings(stages="tag,summarize")
    n = len(texts)
    ours = [
        "truecase",
        "budget and chunks",
        "sentences",
        "mentions",
        "noun phrases",
        "entity rules",
    ]
    # alternated, the lowest of each row kept: a busy machine only adds time
    runs = [(bare(texts, settings), worker(texts, settings)) for _ in range(rounds)]
    base = {k: min(r[0][k] for r in runs) for k in runs[0][0]}
    parts = {k: min(r[1][0].get(k, 0.0) for r in runs) for k in runs[0][1][0]}
    model_parts = list(base)  # the tokenizer, then the components in pipeline order
    tag_s = min(r[1][1] for r in runs)
    summarize_s = min(r[1][2] for r in runs)

    def ms(seconds: float) -> str:
        return f"{seconds / n * 1000:8.2f}"

    words = statistics.fmean(word_count(t) for t in texts)
    print(f"CPU ms per article, {n} texts of {words:.0f} words")
    print(f"{'part':<34}{'bare model':>10}{'worker':>10}")
    for name in model_parts:
        print(f"{'model: ' + name:<34}{ms(base.get(name, 0.0)):>10}{ms(parts.get(name, 0.0)):>10}")
    model_bare = sum(base.values())
    model_worker = sum(parts.get(name, 0.0) for name in model_parts)
    print(f"{'model in all':<34}{ms(model_bare):>10}{ms(model_worker):>10}")
    for name in ours:
        print(f"{'tag stage: ' + name:<34}{'':>10}{ms(parts.get(name, 0.0)):>10}")
    rest = tag_s - model_worker - sum(parts.get(name, 0.0) for name in ours)
    print(f"{'tag stage: records and the rest':<34}{'':>10}{ms(rest):>10}")
    print(f"{'tag stage in all':<34}{'':>10}{ms(tag_s):>10}")
    print(f"{'summarize stage in all':<34}{'':>10}{ms(summarize_s):>10}")
    total = tag_s + summarize_s
    print(f"{'tag and summarize':<34}{ms(model_bare):>10}{ms(total):>10}")
    ratio = model_bare / total
    print(f"bare model / worker, CPU per article: {ratio:.2f}  (1.00: the stages add nothing)")
    return {"bare_ms": model_bare / n * 1000, "worker_ms": total / n * 1000, "ratio": ratio}


def part_of_speech_cost(texts: list[str], rounds: int = 2) -> dict[str, float]:
    """The tag and summarize stages' CPU per article with the part-of-speech tagger
    (and the tok2vec only it reads) and without, alternated, the lowest kept."""
    sides = {
        "with": Settings(stages="tag,summarize"),
        "without": Settings(stages="tag,summarize", part_of_speech=False),
    }
    best: dict[str, float] = {}
    for _ in range(rounds):
        for side, settings in sides.items():
            _, tag_s, summarize_s = worker(texts, settings)
            ms = (tag_s + summarize_s) / len(texts) * 1000
            best[side] = min(best.get(side, ms), ms)
    ratio = best["without"] / best["with"]
    print(
        f"tag and summarize, CPU ms per article: with part of speech {best['with']:.1f}, "
        f"without {best['without']:.1f} (ENRICH_PART_OF_SPEECH=false: {ratio:.2f} of the CPU)"
    )
    return best | {"ratio": ratio}


def places_and_tone_cost(texts: list[str], rounds: int = 2) -> dict[str, float]:
    """The tag and summarize stages' CPU per article with places and tone, and
    without, alternated, the lowest kept; and the MiB the worker holds for them."""
    import subprocess
    import sys

    # in a process of its own: this one holds them already
    measure = (
        "import gc\n"
        "def rss():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmRSS'):\n"
        "            return int(line.split()[1]) / 1024\n"
        "import workers.stages.tone as t, workers.stages.places.gazetteer as g\n"
        "gc.collect(); before = rss(); g.load(); t.load(); gc.collect(); print(rss() - before)\n"
    )
    held = float(
        subprocess.run(
            [sys.executable, "-c", measure], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    sides = {
        "with": Settings(stages="tag,summarize"),
        "without": Settings(stages="tag,summarize", places_and_tone=False),
    }
    best: dict[str, float] = {}
    for _ in range(rounds):
        for side, settings in sides.items():
            _, tag_s, summarize_s = worker(texts, settings)
            ms = (tag_s + summarize_s) / len(texts) * 1000
            best[side] = min(best.get(side, ms), ms)
    ratio = best["with"] / best["without"]
    print(
        f"tag and summarize, CPU ms per article: with places and tone {best['with']:.1f}, "
        f"without {best['without']:.1f} ({ratio:.3f} of it); the gazetteer and the tone "
        f"model hold {held:.0f} MiB"
    )
    return best | {"ratio": ratio, "held_mib": held}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, help="the shared data folder")
    parser.add_argument("--articles", type=int, default=200, help="texts (cycled to this many)")
    parser.add_argument("--texts", choices=("aeb", "cnndm"), default="aeb")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each side (default 2)")
    parser.add_argument(
        "--part-of-speech",
        action="store_true",
        help="also: the stages' CPU with and without the part-of-speech tagger, side by side",
    )
    parser.add_argument(
        "--places-and-tone",
        action="store_true",
        help="also: the stages' CPU with and without places and tone, side by side",
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    texts = texts_of(args.data_dir, args.texts)
    texts = [texts[i % len(texts)] for i in range(args.articles)]
    figures = report(texts, rounds=args.rounds)
    if args.part_of_speech:
        figures |= {f"pos_{k}": v for k, v in part_of_speech_cost(texts, args.rounds).items()}
    if args.places_and_tone:
        figures |= {f"where_{k}": v for k, v in places_and_tone_cost(texts, args.rounds).items()}
    if args.json:
        print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
