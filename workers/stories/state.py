"""The story rules as pure steps over plain state, shared by the stream and the index.

The stream splits grouping into three steps, each owning its state by key
(see docs/stories.md):

1. **bands**, keyed by article: the article's signature and one band
   message per LSH band (``BandQuery``).
2. **buckets**, keyed by band: the first article seen in each band is its
   representative (``Bucket``); every later article that falls in the band
   hears of it, with their estimated similarity (``answer``).
3. **decide**, keyed by article: once every band has answered, the most
   similar representative at or above the threshold is what the article is a
   near-copy of, and its story is the article's story (``decide``). The
   decision is kept, so a record read twice gets the same story.

Two near-copies may meet each other, each in a band the other reached first;
then the earlier one (in "first seen" order) keeps its story and the later
one joins it. An answer says which bands the article and the representative
share, so that each of the two can tell, from its own answers alone, whether
the other meets it too; both come to the same decision, in whatever order
they reached the bands.

An article that becomes a band's representative tells the band its story
once decided (``Bucket.story``), so later copies join the first article's
story even when they meet a copy rather than the first article itself.

``StoryIndex`` runs the same steps in one process, in memory: for the
offline path, the benchmark and the tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from schemas.models import upgrade
from workers.stories import minhash
from workers.stories.minhash import Banding, Signature


@dataclass(frozen=True)
class Bucket:
    """A band's representative: the first article seen in it, and its story once known."""

    id: str
    order: str
    story: str | None = None


@dataclass(frozen=True)
class Answer:
    """What one band tells an article: its representative, or None when the article is it."""

    band: str
    rep: str | None = None
    story: str | None = None
    order: str = ""
    similarity: float = 0.0
    #: the indexes of the bands the article and the representative share (None: not told)
    shared: list[int] | None = None


@dataclass(frozen=True)
class Decision:
    story_id: str
    duplicate_of: str | None = None
    similarity: float | None = None


def answer(
    bucket: Bucket | None,
    band: str,
    article: str,
    order: str,
    sig: Signature,
    rep_sig: Signature | None,
    banding: Banding,
) -> tuple[Answer, Bucket | None]:
    """A band's answer to an article, and the bucket to store (None: unchanged).

    The first article in a band becomes its representative; an article that
    is the representative (read again) hears nothing, so answers repeat. Without
    the representative's signature the band still names it, with similarity 0:
    an article is never told it represents a band that another article holds.
    """
    if bucket is None:
        return Answer(band), Bucket(article, order)
    if bucket.id == article:
        return Answer(band), None
    if rep_sig is None:
        return Answer(band, bucket.id, bucket.story, bucket.order, 0.0, []), None
    similarity = minhash.similarity(sig, rep_sig)
    shared = banding.shared(sig, rep_sig)
    return Answer(band, bucket.id, bucket.story, bucket.order, similarity, shared), None


def decide(article: str, order: str, answers: Iterable[Answer], threshold: float) -> Decision:
    """The article's story: that of its most similar representative at or above
    ``threshold`` (ties to the earliest), else a story of its own.

    A representative that came later (in "first seen" order) and that meets
    this article in a band this article represents will join this article's
    story: it is passed over, so that the two do not each join the other.
    """
    answers = list(answers)
    mine = {_index(a.band) for a in answers if a.rep is None}
    best: Answer | None = None
    for a in answers:
        if a.rep is None or a.rep == article or a.similarity < threshold:
            continue
        if (a.order, a.rep) >= (order, article):
            meets_me = a.shared is None or any(i in mine for i in a.shared)
            if meets_me:
                continue  # it hears of this article, and joins this one's story
        if best is None or (-a.similarity, a.order, a.rep) < (
            -best.similarity,
            best.order,
            best.rep,
        ):
            best = a
    if best is None or best.rep is None:
        return Decision(article)
    return Decision(best.story or best.rep, best.rep, round(best.similarity, 4))


def _index(band: str) -> int:
    """A band key's index (``03-…`` is band 3)."""
    return int(band.split("-", 1)[0])


def expired(order: str, cutoff: datetime) -> bool:
    """Whether an article cleaned at ``order`` (an ISO time) is past the index's
    retention, whose start is ``cutoff``; an order that is no time is expired."""
    try:
        return datetime.fromisoformat(order) < cutoff
    except (TypeError, ValueError):
        return True


def represented(answers: Iterable[Answer]) -> list[str]:
    """The bands the article represents: those that told it nothing."""
    return [a.band for a in answers if a.rep is None]


@dataclass
class StoryIndex:
    """Story grouping in one process, by the stream's rules, in arrival order."""

    threshold: float
    num_perm: int = minhash.NUM_PERM
    buckets: dict[str, Bucket] = field(default_factory=dict)
    signatures: dict[str, Signature] = field(default_factory=dict)
    decisions: dict[str, Decision] = field(default_factory=dict)

    @property
    def banding(self) -> Banding:
        return minhash.banding(self.threshold, self.num_perm)

    def add(self, article: str, sig: Signature, order: str | None = None) -> Decision:
        if article in self.decisions:
            return self.decisions[article]
        order = order if order is not None else f"{len(self.decisions):012d}"
        answers = []
        for band in self.banding.keys(sig, article):
            bucket = self.buckets.get(band)
            rep_sig = self.signatures.get(bucket.id) if bucket else None
            reply, stored = answer(bucket, band, article, order, sig, rep_sig, self.banding)
            if stored is not None:
                self.buckets[band] = stored
                self.signatures[article] = sig
            answers.append(reply)
        decision = decide(article, order, answers, self.threshold)
        for band in represented(answers):
            kept = self.buckets[band]
            self.buckets[band] = Bucket(kept.id, kept.order, decision.story_id)
        self.decisions[article] = decision
        return decision


def with_story(value: bytes, decision: Decision) -> bytes:
    """An encoded enriched record with its story fields set."""
    record = upgrade(orjson.loads(value))  # parked by a worker of the version before
    record.update(
        story_id=decision.story_id,
        duplicate_of=decision.duplicate_of,
        similarity=decision.similarity,
    )
    return orjson.dumps(record)


def grouped(
    results: Iterable[tuple[bool, bytes]], threshold: float
) -> Iterator[tuple[bool, bytes]]:
    """(dead, value) results with story fields set on each enriched record, by the
    stream's rules, "first seen" being the order of the results (a file's order)."""
    index = StoryIndex(threshold)
    for dead, value in results:
        if dead:
            yield dead, value
            continue
        record = orjson.loads(value)
        decision = index.add(record["id"], minhash.signature(record["text"]))
        yield dead, with_story(value, decision)


def state_bytes_per_article(banding: Banding, partitions: int = 6, id_bytes: int = 36) -> int:
    """The stream's table state for a distinct article, by record size on its changelogs.

    Each band stores a bucket (key and value); the signature is stored once in
    each partition holding one of its bands; the decision once. Timestamps
    of the order are 27 bytes; JSON punctuation is counted.
    """
    bucket = 20 + (2 * id_bytes + 27 + 30)
    sig = id_bytes + 2 + 4 * minhash.NUM_PERM
    decision = id_bytes + 2 * id_bytes + 50 + 27 + 10
    return banding.bands * bucket + min(banding.bands, partitions) * sig + decision
