"""Near-duplicate detection: MinHash signatures and LSH bands over word shingles. Pure.

An article's signature is ``num_perm`` minimum hashes of its word shingles
(``shingle`` words, lower-cased); the fraction of equal positions in two
signatures estimates the Jaccard similarity of their shingle sets. LSH cuts
the signature into ``bands`` bands of ``rows`` values: two articles that
share any band are candidates, and a candidate is a near-copy when its
estimated similarity reaches the threshold.

Hashes are stable across processes and machines (CRC-32 of each shingle,
then a multiply-shift family with fixed seeds), so every worker computes the
same signature and band keys for the same text.
"""

from __future__ import annotations

import hashlib
import math
import re
import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

Signature = npt.NDArray[np.uint32]

NUM_PERM = 64
SHINGLE = 3
_SEED = 20260901
_CHUNK = 4096  # shingles hashed at a time: bounds the temporary matrix
_WORD = re.compile(r"\w+", re.UNICODE)
_EMPTY = np.uint32(0xFFFFFFFF)


@cache
def _family(num_perm: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """Odd multipliers and offsets of the multiply-shift hashes, fixed by seed."""
    rng = np.random.default_rng(_SEED)
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    return a, b


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    """The word ``size``-grams of a text, lower-cased; a short text is one shingle."""
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def signature(text: str, num_perm: int = NUM_PERM, size: int = SHINGLE) -> Signature:
    """The MinHash signature of a text's shingles (all ``0xFFFFFFFF`` for no words)."""
    hashed = np.fromiter(
        (zlib.crc32(s.encode("utf-8")) for s in shingles(text, size)), dtype=np.uint64
    )
    a, b = _family(num_perm)
    out = np.full(num_perm, _EMPTY, dtype=np.uint32)
    with np.errstate(over="ignore"):
        for start in range(0, len(hashed), _CHUNK):
            chunk = hashed[start : start + _CHUNK]
            values = ((a[:, None] * chunk[None, :] + b[:, None]) >> np.uint64(32)).astype(np.uint32)
            np.minimum(out, values.min(axis=1), out=out)
    return out


def is_empty(sig: Signature) -> bool:
    """Whether a signature is that of a text without words."""
    return bool(np.all(sig == _EMPTY))


def similarity(first: Signature, second: Signature) -> float:
    """Estimated Jaccard similarity: the fraction of equal signature values."""
    if len(first) != len(second):
        raise ValueError("signatures of different lengths")
    return float(np.count_nonzero(first == second)) / len(first)


def _digest(values: Signature) -> str:
    return hashlib.blake2b(values.tobytes(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Banding:
    """How a signature is cut for LSH: ``bands`` bands of ``rows`` values each."""

    bands: int
    rows: int

    def keys(self, sig: Signature, article: str | None = None) -> list[str]:
        """One key per band: its index and a digest of its values.

        A text without words (emoji, symbols) has the empty signature, which every
        such text shares; given its ``article`` id, its keys are the article's own,
        so it meets no other article and is a story of its own."""
        if article is not None and is_empty(sig):
            alone = hashlib.blake2b(article.encode("utf-8"), digest_size=8).hexdigest()
            return [f"{i:02d}-alone-{alone}" for i in range(self.bands)]
        return [
            f"{i:02d}-{_digest(sig[i * self.rows : (i + 1) * self.rows])}"
            for i in range(self.bands)
        ]

    def shared(self, a: Signature, b: Signature) -> list[int]:
        """The indexes of the bands two signatures share (equal in every row)."""
        cut = self.bands * self.rows
        equal = (a[:cut] == b[:cut]).reshape(self.bands, self.rows).all(axis=1)
        return [int(i) for i in np.flatnonzero(equal)]

    def chance(self, s: float) -> float:
        """The chance that two articles of similarity ``s`` share at least one band."""
        return float(1.0 - (1.0 - s**self.rows) ** self.bands)


@cache
def banding(threshold: float, num_perm: int = NUM_PERM) -> Banding:
    """The banding that best separates pairs above ``threshold`` from those below.

    As datasketch's ``MinHashLSH`` does: the weighted areas of false candidates
    (below the threshold) and missed pairs (above it) under the S-curve, with a
    miss weighted four times a false candidate, since a false candidate is only
    compared and dropped while a miss is a duplicate lost.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError("threshold must be between 0 and 1")
    steps = 200
    below = [threshold * (i + 0.5) / steps for i in range(steps)]
    above = [threshold + (1 - threshold) * (i + 0.5) / steps for i in range(steps)]
    best: tuple[float, Banding] = (math.inf, Banding(num_perm, 1))
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        cut = Banding(bands, rows)
        false = sum(cut.chance(s) for s in below) * threshold / steps
        missed = sum(1 - cut.chance(s) for s in above) * (1 - threshold) / steps
        cost = 0.2 * false + 0.8 * missed
        if cost < best[0]:
            best = (cost, cut)
    return best[1]


def to_bytes(sig: Signature) -> bytes:
    return sig.astype("<u4").tobytes()


def from_bytes(data: bytes) -> Signature:
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)
