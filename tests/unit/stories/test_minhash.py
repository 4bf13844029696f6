"""MinHash signatures and LSH banding: stable, close to the true Jaccard, and well cut."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from workers.stories import minhash

WORDS = [f"w{i}" for i in range(5000)]


def text(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n))


def jaccard(a: str, b: str) -> float:
    sa, sb = minhash.shingles(a), minhash.shingles(b)
    return len(sa & sb) / len(sa | sb)


def test_shingles_are_lowercased_word_trigrams() -> None:
    assert minhash.shingles("The quick, brown FOX jumps") == {
        "the quick brown",
        "quick brown fox",
        "brown fox jumps",
    }
    assert minhash.shingles("Two words") == {"two words"}
    assert minhash.shingles("  ...  ") == set()


def test_estimate_is_close_to_the_true_jaccard() -> None:
    base = text(600, 1).split()
    for keep in (0.3, 0.6, 0.9):
        cut = int(len(base) * keep)
        other = " ".join(base[:cut] + text(len(base) - cut, 2).split())
        a, b = " ".join(base), other
        estimate = minhash.similarity(minhash.signature(a), minhash.signature(b))
        assert abs(estimate - jaccard(a, b)) < 0.15, (keep, estimate, jaccard(a, b))
    unrelated = minhash.similarity(minhash.signature(text(600, 3)), minhash.signature(text(600, 4)))
    assert unrelated < 0.1


def test_signatures_are_the_same_in_another_process() -> None:
    """Every worker must compute the same band keys: no per-process hash seed."""
    sample = "Harbour director Maria Lindqvist opened the terminal on Tuesday."
    code = (
        "from workers.stories import minhash;"
        f"print(minhash.banding(0.4).keys(minhash.signature({sample!r}))[0])"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123"},
    )
    assert other.stdout.strip() == minhash.banding(0.4).keys(minhash.signature(sample))[0]


def test_long_texts_are_hashed_in_chunks_to_the_same_signature() -> None:
    long = text(20_000, 5)
    whole = minhash.signature(long)
    assert len(minhash.shingles(long)) > 4096  # more than one chunk
    assert minhash.similarity(whole, minhash.signature(long)) == 1.0
    assert minhash.from_bytes(minhash.to_bytes(whole)).tolist() == whole.tolist()


@pytest.mark.parametrize("threshold", [0.3, 0.4, 0.6, 0.8])
def test_banding_finds_pairs_above_the_threshold_and_few_far_below(threshold: float) -> None:
    cut = minhash.banding(threshold)
    assert cut.bands * cut.rows <= minhash.NUM_PERM
    assert cut.chance(min(threshold + 0.1, 0.99)) >= 0.9
    assert cut.chance(threshold / 4) <= 0.2  # candidates far below: only compared, then dropped


def test_bad_threshold_and_mismatched_signatures_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        minhash.banding(1.0)
    with pytest.raises(ValueError, match="lengths"):
        minhash.similarity(minhash.signature("a b c"), minhash.signature("a b c", num_perm=8))
