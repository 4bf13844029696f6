"""The tag stage: sentences and entity mentions with offsets into the clean text.

``Tagger`` holds one spaCy pipeline (loaded once per process and injected)
and tags a batch of articles through ``nlp.pipe``. Only the components the
stage needs run: tok2vec, the part-of-speech tagger (for noun phrases and for
sentence openers the splitter missed, which costs next to nothing beside ner), a
sentence splitter and ner. Long texts are parsed
in chunks cut at paragraph breaks, and every offset is mapped back to the
whole text.

Cost is bounded per article and per batch: an article is tagged up to
``max_chars`` characters and ``max_tokens`` words and punctuation marks, whichever
comes first (the rest gets sentences by punctuation and no entities, and
``tagging.truncated_at`` says where tagging stopped), and chunks
go through ``nlp.pipe`` in groups of at most ``batch_chars`` characters, so
peak memory follows the batch's characters, not its record count. Tagging runs
in a spaCy memory zone: strings a batch adds to the vocabulary are freed after
it, so memory stays flat however many new words the stream brings. A run of
more than ``LONGEST_SPLIT_RUN`` characters without a space is one token (see
``bound_tokenizer``), so the tokenizer's cost is linear in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from schemas.models import (
    CleanedArticle,
    Mention,
    ModelInfo,
    Sentence,
    Span,
    StageRun,
    TaggedArticle,
    Tagging,
    fields_of,
)
from workers.stages.tag import basic, entities
from workers.stages.tag.chunks import (
    CHARS_PER_TOKEN,
    Chunk,
    chunk_text,
    piece_end,
    truecase,
    weight,
)
from workers.stages.tag.model import LONGEST_SPLIT_RUN, bound_tokenizer, load_model
from workers.stages.tag.phrases import noun_phrases, universal_noun_phrases
from workers.stages.tag.places import Places
from workers.stages.tag.sentences import model_sentences, rule_sentences, tagged_openers, unglued

__all__ = [
    "LONGEST_SPLIT_RUN",
    "VERSION",
    "Tagger",
    "bound_tokenizer",
    "chunk_text",
    "load_model",
    "model_sentences",
    "noun_phrases",
    "rule_sentences",
    "tagged_openers",
    "truecase",
    "unglued",
    "weight",
]


VERSION = "1.6.0"

VOCAB_GROWTH = 100_000
_PIPELINE = frozenset({"pipeline"})
#: A detected language less sure than this is a guess the text may overrule.
UNSURE_LANGUAGE = 0.9
#: The share of the model language's stop words that makes a text read as its own:
#: news prose in a language has 35-50% of its words in that language's list, a
#: list names from elsewhere 15-30%, another language's prose mostly under 10%.
MIN_STOP_WORD_SHARE = 0.15
_WORDS = re.compile(r"\w+")


class Tagger:
    """Tags articles with one spaCy pipeline. Not thread-safe: one caller at a time."""

    def __init__(
        self,
        nlp: Language,
        *,
        language: str = "en",
        labels: frozenset[str] | None = None,
        batch_size: int = 64,
        chunk_chars: int = 100_000,
        batch_chars: int = 200_000,
        max_chars: int = 0,
        max_tokens: int = 0,
        places: Places | None = None,
        vocab_growth: int = VOCAB_GROWTH,
    ) -> None:
        """``vocab_growth``: how many strings the vocabulary may gain for good before
        each batch is tagged in a memory zone (``_memory_zone``)."""
        bound_tokenizer(nlp)
        self.nlp = nlp
        self.zone_from = len(nlp.vocab.strings) + vocab_growth
        self.places = places
        # part-of-speech tags for noun phrases: Penn Treebank ones (English's tagger),
        # or universal ones (a morphologizer, as French's)
        self.has_tags = "tagger" in nlp.pipe_names or "morphologizer" in nlp.pipe_names
        self.universal_tags = "tagger" not in nlp.pipe_names
        self.language = language
        self.others: dict[str, Tagger] = {}  # the taggers of other languages
        #: English runs its own rules (``entities``); another language those that
        #: hold in any (``basic``), with its lexicon where the package has one
        self.vocabulary = (
            None
            if language == "en"
            else basic.Vocabulary.of(language) or basic.Vocabulary(frozenset(), (), {})
        )
        self.labels = labels
        self.batch_size = batch_size
        self.chunk_chars = min(chunk_chars, nlp.max_length)
        self.batch_chars = max(batch_chars, 1)
        self.max_chars = max_chars  # 0: no budget
        self.max_tokens = max_tokens  # 0: no budget
        meta = nlp.meta
        self.model = ModelInfo(
            name=f"{meta.get('lang', language)}_{meta.get('name', 'unknown')}",
            version=str(meta.get("version", "0")),
            language=language,
        )

    def add_language(self, other: Tagger) -> None:
        """Tag the articles of ``other``'s language with it (``tag_batch``)."""
        if other.language == self.language:
            raise ValueError(f"{self.language!r} is tagged by this tagger already")
        self.others[other.language] = other

    def skip_reason(self, article: CleanedArticle) -> str | None:
        """Why entities are not tagged for this article, or None.

        An article in another language is not tagged, unless that language was only
        the detector's unsure guess (below ``UNSURE_LANGUAGE``) and the text reads
        as the model's own language: at least ``MIN_STOP_WORD_SHARE`` of its words
        are the model language's stop words. Text made mostly of unfamiliar names
        (an English article about people from elsewhere) fools the detector, not
        the tagger."""
        if article.language and article.language != self.language:
            if article.language_confidence < UNSURE_LANGUAGE and self.reads_as_own(article.text):
                return None
            tagged = ", ".join(
                f"model {t.model.name} tags {t.language!r}" for t in (self, *self.others.values())
            )
            return f"language {article.language!r} has no entity model configured ({tagged})"
        return None

    def reads_as_own(self, text: str) -> bool:
        """Whether ``text`` is made of the model language's words: the share of its
        stop words (the model's own list) among the first 2,000 characters' words."""
        words = _WORDS.findall(text[:2000].lower())
        stop: frozenset[str] | set[str] = getattr(self.nlp.Defaults, "stop_words", set())
        if not words or not stop:
            return False
        return sum(w in stop for w in words) / len(words) >= MIN_STOP_WORD_SHARE

    def budget(self, text: str) -> int | None:
        """Where tagging of ``text`` stops, or None when it is tagged whole.

        The budget is in characters and in tokens: the model's cost follows its
        tokens, and a text of punctuation or one-letter words has a token for every
        character or two, five times prose's. Tokens are counted as words and
        punctuation marks, which is within 1% of spaCy's count on news and costs a
        tenth of tokenizing. The cut is at a paragraph, line or sentence break
        before the budget where one is near, so that no sentence is tagged in half.
        """
        end = piece_end(text, 0, self.max_chars or len(text), self.max_tokens)
        return end if end < len(text) else None

    def tag_batch(self, articles: Sequence[CleanedArticle], *, now: str) -> list[TaggedArticle]:
        """Tag a batch of articles through ``nlp.pipe``; order is kept. An article in
        a language another tagger was added for (``add_language``) goes to that one."""
        if not self.others:
            return self._tag_own(articles, now=now)
        by_language: dict[str, list[int]] = {}
        for i, article in enumerate(articles):
            language = article.language if article.language in self.others else self.language
            by_language.setdefault(language or self.language, []).append(i)
        out: list[TaggedArticle | None] = [None] * len(articles)
        for language, indexes in by_language.items():
            tagger = self.others.get(language, self)
            done = tagger._tag_own([articles[i] for i in indexes], now=now)
            for i, tagged in zip(indexes, done, strict=True):
                out[i] = tagged
        return [t for t in out if t is not None]

    def _tag_own(self, articles: Sequence[CleanedArticle], *, now: str) -> list[TaggedArticle]:
        chunks: list[Chunk] = []
        skipped = [self.skip_reason(a) for a in articles]
        cuts = [
            None if why else self.budget(a.text) for a, why in zip(articles, skipped, strict=True)
        ]
        # names are read from truecased text; only articles that are tagged need it
        cased = [
            a.text if why else truecase(a.text) for a, why in zip(articles, skipped, strict=True)
        ]
        for i, why in enumerate(skipped):
            if why is None:
                chunks.extend(
                    Chunk(i, off, piece)
                    for off, piece in chunk_text(
                        cased[i][: cuts[i]],
                        self.chunk_chars,
                        self.chunk_chars // CHARS_PER_TOKEN,
                    )
                )
        found: list[tuple[list[Sentence], list[entities.RawMention]]] = [([], []) for _ in articles]
        phrases: list[list[Span] | None] = [
            [] if why is None and self.has_tags else None for why in skipped
        ]
        names = self.vocabulary.labels if self.vocabulary is not None else None
        with self._memory_zone():
            for group in self._groups(chunks):
                docs = self.nlp.pipe((c.text for c in group), batch_size=len(group))
                for chunk, doc in zip(group, docs, strict=True):
                    sents, ments = found[chunk.article]
                    sents.extend(model_sentences(doc, chunk.offset))
                    ments.extend(_mentions(doc, chunk.offset, self.labels, names))
                    spans = phrases[chunk.article]
                    if spans is not None:
                        find = universal_noun_phrases if self.universal_tags else noun_phrases
                        spans.extend(find(doc, chunk.offset))
        for i, cut in enumerate(cuts):
            if cut is not None:
                found[i][0].extend(rule_sentences(articles[i].text, start=cut))
        return [
            self._tagged(article, sents, ments, now, name_text, why, cut, spans)
            for article, (sents, ments), name_text, why, cut, spans in zip(
                articles, found, cased, skipped, cuts, phrases, strict=True
            )
        ]

    def _groups(self, chunks: list[Chunk]) -> Iterator[list[Chunk]]:
        """Chunks in groups of at most ``batch_chars`` characters (by ``weight``: a chunk
        dense in tokens counts for more) and ``batch_size`` chunks (a chunk larger than
        that alone)."""
        group: list[Chunk] = []
        size = 0
        for chunk in chunks:
            cost = weight(chunk.text)
            if group and (size + cost > self.batch_chars or len(group) >= self.batch_size):
                yield group
                group, size = [], 0
            group.append(chunk)
            size += cost
        if group:
            yield group

    def _memory_zone(self) -> AbstractContextManager[Any]:
        """A spaCy memory zone once the vocabulary has grown by ``vocab_growth``
        strings; none before. In a zone the strings a batch adds are freed after it,
        but spaCy's tokenizer saves nothing to its cache either (``_save_cached``
        returns early), so every word is split again in every batch: 2.4 ms of
        tokenizing per article became 5.8. Outside a zone the cache fills with the
        words a feed uses most, which stay cached once zones begin: memory is bounded
        by the growth allowed, and the common words are split once."""
        zone = getattr(self.nlp, "memory_zone", None)  # spaCy 3.8 and later
        if zone is None or len(self.nlp.vocab.strings) < self.zone_from:
            return nullcontext()
        return zone()  # type: ignore[no-any-return]

    def _tagged(
        self,
        article: CleanedArticle,
        sents: list[Sentence],
        ments: list[entities.RawMention],
        now: str,
        name_text: str,
        skipped: str | None,
        truncated_at: int | None = None,
        phrases: list[Span] | None = None,
    ) -> TaggedArticle:
        if skipped is not None:
            sents = rule_sentences(article.text)
        if self.vocabulary is None:
            found = entities.resolve(article.text, ments, name_text=name_text, places=self.places)
        else:
            found = basic.resolve(
                article.text, ments, self.vocabulary, name_text=name_text, places=self.places
            )
        mentions: list[Mention] = [
            m
            for m in found
            if self.labels is None or m.label in self.labels  # the rules relabel
        ]
        return TaggedArticle(
            **fields_of(article, exclude=_PIPELINE),
            sentences=sents,
            entities=mentions,
            noun_phrases=phrases,
            tagging=Tagging(skipped=skipped, truncated_at=truncated_at),
            pipeline={
                **article.pipeline,
                "tag": StageRun(
                    version=VERSION, finished_at=now, model=None if skipped else self.model
                ),
            },
        )


def _mentions(
    doc: Doc,
    offset: int,
    labels: frozenset[str] | None,
    names: Mapping[str, str] | None = None,
) -> Iterable[entities.RawMention]:
    """The model's entities, their labels named as English's (``names``: French PER
    is PERSON), those of ``labels`` only."""
    for ent in doc.ents:
        label = names.get(ent.label_, ent.label_) if names else ent.label_
        if labels is not None and label not in labels:
            continue
        yield entities.RawMention(ent.start_char + offset, ent.end_char + offset, label)
