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
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from itertools import islice
from typing import Any

from spacy.attrs import ENT_TYPE, IDX, IS_SPACE, LENGTH, SPACY, TAG
from spacy.language import Language
from spacy.tokens import Doc, Token
from spacy.tokens import Span as TokenSpan

from schemas.models import (
    CleanedArticle,
    Mention,
    ModelInfo,
    Sentence,
    Span,
    StageRun,
    TaggedArticle,
    Tagging,
    TagProvenance,
    fields_of,
)
from workers.stages.tag import entities
from workers.stages.tag.places import Places

VERSION = "1.6.0"

_NEEDED = ("tok2vec", "tagger", "senter", "ner")
# part-of-speech tags (Penn Treebank, as spaCy's English models give them) of noun
# phrases: modifiers, then a noun at the end
_NOUN_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS"})
_ADJECTIVE_TAGS = frozenset({"JJ", "JJR", "JJS", "VBG", "VBN"})
_MODIFIER_TAGS = _NOUN_TAGS | _ADJECTIVE_TAGS | {"HYPH"}


def load_model(name: str, *, part_of_speech: bool = True) -> Language:
    """Load a spaCy model with only the components tagging needs.

    ``part_of_speech=False`` leaves out the part-of-speech tagger, and the shared
    ``tok2vec`` where nothing else reads it (in the English pipelines ner and senter
    embed for themselves): no noun phrases and no tag-based sentence openers, for
    about 40% less CPU per article (docs/benchmarks.md has the figures)."""
    import spacy

    nlp = spacy.load(name, exclude=["parser", "attribute_ruler", "lemmatizer"])
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    if "senter" not in nlp.pipe_names and "parser" not in nlp.pipe_names:
        nlp.add_pipe("sentencizer")
    if not part_of_speech:
        for pos in ("tagger", "morphologizer"):
            if pos in nlp.pipe_names:
                nlp.remove_pipe(pos)
        shared: Any = nlp.get_pipe("tok2vec") if "tok2vec" in nlp.pipe_names else None
        if shared is not None and not shared.listening_components:
            nlp.remove_pipe("tok2vec")
    return nlp


# The longest run without a space that the tokenizer splits into words and punctuation.
# spaCy's tokenizer strips a run's prefixes and suffixes one at a time, each time
# searching and hashing what is left of it, so a run costs the square of its length:
# 40,000 "!" took two minutes, and the 300,000 characters a budget allows would take
# hours. No word is this long; a web address is one token anyway.
LONGEST_SPLIT_RUN = 100


def bound_tokenizer(nlp: Language) -> None:
    """Make a run of more than ``LONGEST_SPLIT_RUN`` characters without a space one
    token in ``nlp``'s tokenizer, so that tokenizing costs time linear in the text.

    The bound is a ``token_match`` (a run it matches is not split), tried before
    the model's own one if it has one. Applying it again changes nothing.
    """
    tokenizer: Any = nlp.tokenizer
    if not hasattr(tokenizer, "token_match"):
        return  # a custom tokenizer: its cost is its own
    current = tokenizer.token_match
    if current is None:
        tokenizer.token_match = _LONG_RUN.match  # a plain pattern: the tokenizer still saves
    elif getattr(current, "__self__", None) is not _LONG_RUN and not isinstance(
        current, _LongRunOr
    ):
        tokenizer.token_match = _LongRunOr(current)


_LONG_RUN = re.compile(rf"(?s:.){{{LONGEST_SPLIT_RUN + 1}}}")  # at least that many characters


@dataclass(frozen=True, slots=True)
class _LongRunOr:
    """A ``token_match``: a run too long to split, or one the model's own rule matches."""

    other: Any

    def __call__(self, string: str) -> bool:
        return len(string) > LONGEST_SPLIT_RUN or bool(self.other(string))


@dataclass(frozen=True, slots=True)
class Chunk:
    article: int
    offset: int
    text: str


_LINE = re.compile(r"[^\n]+")
# news prose has 4.7 characters per token; a chunk or batch of ``n`` characters holds
# at most ``n / 4`` tokens, so that memory, which follows tokens, stays within what
# prose of that length takes
_CHARS_PER_TOKEN = 4
# what the tagging budget counts as a token: a word, a mark, or a run too long to split
_TOKEN = re.compile(rf"(?<!\S)\S{{{LONGEST_SPLIT_RUN + 1},}}|\w+|[^\w\s]")
_CASED_WORD = re.compile(r"[^\W\d_](?:[\w'’-]|\.(?=\w))*")


_ASCII_LOWER = re.compile(r"[a-z]")


def _shouting(line: str) -> bool:
    # most lines: more than a fifth of their characters are lower-case ASCII letters,
    # so fewer than four fifths of their letters can be capitals (counted in C)
    if len(_ASCII_LOWER.findall(line)) * 5 > len(line):
        return False
    letters = [ch for ch in line if ch.isalpha()]
    words = [w for w in line.split() if sum(ch.isalpha() for ch in w) >= 2]
    return len(words) >= 2 and sum(ch.isupper() for ch in letters) >= 0.8 * len(letters)


def truecase(text: str) -> str:
    """The text with all-caps lines (headlines, banners) in ordinary case, same length.

    A small English model reads "PUTIN MEETS XI IN MOSCOW" as one organisation
    and loses the sentence after it. Each word of a shouted line takes the form
    the rest of the article writes it in ("Putin", "Moscow", "NATO"); other
    words are lower-cased, the first capitalised. Offsets are unchanged: a word
    whose case change would alter its length is left alone.
    """
    lines = [(m.start(), m.end()) for m in _LINE.finditer(text) if _shouting(m.group())]
    if not lines:
        return text
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    shouted: set[int] = set()
    for start, end in lines:
        shouted.update(range(start, end))
    for m in _CASED_WORD.finditer(text):
        if m.start() not in shouted:
            forms[m.group().casefold()][m.group()] += 1
    out = list(text)
    for start, end in lines:
        for i, m in enumerate(_CASED_WORD.finditer(text, start, end)):
            word = m.group()
            known = forms.get(word.casefold())
            if known:
                new = known.most_common(1)[0][0]
            else:
                new = word.lower()
                if i == 0:
                    new = new[:1].upper() + new[1:]
            if len(new) == len(word):
                out[m.start() : m.end()] = new
    return "".join(out)


def _piece_end(text: str, start: int, max_chars: int, max_tokens: int) -> int:
    """Where a piece of ``text`` from ``start`` ends: at most ``max_chars`` characters and
    ``max_tokens`` tokens (0: no bound) on, at a paragraph break before that where
    possible, else at a line break, a sentence's end or a space, else hard."""
    end = min(start + max_chars, len(text))
    if max_tokens and end - start > max_tokens:  # else it has fewer tokens
        past = next(islice(_TOKEN.finditer(text, start, end), max_tokens, None), None)
        if past is not None:
            end = past.start()
    if end < len(text):
        window = text[start:end]
        for sep in ("\n\n", "\n", ". ", " "):
            cut = window.rfind(sep)
            if cut > len(window) // 4:
                return start + cut + len(sep)
    return end


def chunk_text(text: str, max_chars: int, max_tokens: int = 0) -> list[tuple[int, str]]:
    """Split text into (offset, piece) of at most ``max_chars`` characters and
    ``max_tokens`` tokens (0: no bound), cut as ``_piece_end`` says."""
    pieces: list[tuple[int, str]] = []
    start = 0
    while start < len(text) or not pieces:
        end = _piece_end(text, start, max_chars, max_tokens)
        pieces.append((start, text[start:end]))
        start = end
    return pieces


def weight(text: str) -> int:
    """What ``text`` costs the model in memory, in characters of prose: its length, or
    more where it has more tokens than prose has (a text of one-letter words)."""
    if len(text) < _CHARS_PER_TOKEN:
        return len(text)
    tokens = sum(1 for _ in _TOKEN.finditer(text))
    return max(len(text), tokens * _CHARS_PER_TOKEN)


#: Strings the vocabulary may gain for good (outside memory zones, with the tokenizer
#: cache filling) before tagging runs in memory zones: about 20 MB.
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
        self.has_tags = "tagger" in nlp.pipe_names  # part-of-speech tags: noun phrases
        self.language = language
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
            return (
                f"language {article.language!r} has no entity model configured "
                f"(model {self.model.name} tags {self.language!r})"
            )
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
        end = _piece_end(text, 0, self.max_chars or len(text), self.max_tokens)
        return end if end < len(text) else None

    def tag_batch(self, articles: Sequence[CleanedArticle], *, now: str) -> list[TaggedArticle]:
        """Tag a batch of articles through ``nlp.pipe``; order is kept."""
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
                        self.chunk_chars // _CHARS_PER_TOKEN,
                    )
                )
        found: list[tuple[list[Sentence], list[entities.RawMention]]] = [([], []) for _ in articles]
        phrases: list[list[Span] | None] = [
            [] if why is None and self.has_tags else None for why in skipped
        ]
        with self._memory_zone():
            for group in self._groups(chunks):
                docs = self.nlp.pipe((c.text for c in group), batch_size=len(group))
                for chunk, doc in zip(group, docs, strict=True):
                    sents, ments = found[chunk.article]
                    sents.extend(_sentences(doc, chunk.offset))
                    ments.extend(_mentions(doc, chunk.offset, self.labels))
                    spans = phrases[chunk.article]
                    if spans is not None:
                        spans.extend(noun_phrases(doc, chunk.offset))
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
        mentions: list[Mention] = [
            m
            for m in entities.resolve(article.text, ments, name_text=name_text, places=self.places)
            if self.labels is None or m.label in self.labels  # the place rules relabel
        ]
        return TaggedArticle(
            **fields_of(article, exclude=_PIPELINE),
            sentences=sents,
            entities=mentions,
            noun_phrases=phrases,
            tagging=Tagging(skipped=skipped, truncated_at=truncated_at),
            pipeline=TagProvenance(
                clean=article.pipeline.clean,
                tag=StageRun(version=VERSION, finished_at=now),
                model=None if skipped else self.model,
            ),
        )


def _opens_next(token: Token) -> bool:
    """Whether ``token``, the last of a model's sentence, is a quotation mark that opens
    the next one: set against the word after it and apart from the word before
    ("... to bury. 'That was ...", where the model ends its sentence after the mark)."""
    doc = token.doc
    return (
        token.text in _OPENING_QUOTES
        and not token.whitespace_
        and token.i + 1 < len(doc)
        and (token.i == 0 or bool(doc[token.i - 1].whitespace_))
    )


def _sentences(doc: Doc, offset: int) -> Iterable[Sentence]:
    """Sentences, trimmed of whitespace and split at paragraph breaks and glued
    boundaries; an opening quotation mark goes with the sentence it opens."""
    text = doc.text
    tokens = _Tokens.of(doc)
    carried: int | None = None  # where a quotation mark left at the end of the last opens
    for sent in doc.sents:
        start, end = sent.start_char, sent.end_char
        if carried is not None:
            start, carried = carried, None
        if _opens_next(sent[-1]):
            end = carried = sent[-1].idx
        openers = tagged_openers(sent, tokens)  # in order
        for m in re.finditer(r"[^\n]+", text[start:end]):
            s, e = start + m.start(), start + m.end()
            piece = text[s:e]
            s += len(piece) - len(piece.lstrip())
            e -= len(piece) - len(piece.rstrip())
            inside = openers[bisect_left(openers, s) : bisect_left(openers, e)]
            for gs, ge in unglued(text, s, e, openers=inside):
                yield Sentence(start=gs + offset, end=ge + offset)


# a sentence opener glued to text that has no end punctuation: "... parking lot An FBI
# agent's rifle ...", where a caption or heading lost its line break in the page
_GLUED = re.compile(
    r"(?<=[a-z0-9%)])[ \t]+(?=(?:An?|The|He|She|They|It|His|Her|Their|This|These|Those)"
    r"\s+(?!(?:is|was|are|were|and|or|of|on|in|at|to|for|by|as|with)\b)[a-z])"
)


_GLUE_LOOKBACK = 80  # characters

# Where the tags show a sentence opening inside one the model gave, after a space:
# - after a full stop the tagger read as one ("... in Bergen on May 7. Harbour
#   officials said ..."; an abbreviation such as "Dr." or "a.m." is one token, a noun);
# - at a capitalised determiner right after a noun or a number, where a caption that
#   lost its full stop runs into the sentence after it ("... on Friday The 40-year-old
#   vessel ...", "... parking lot An FBI agent's ..."). The tags keep names whole:
#   "Serie A" is a proper noun, "Steven Covey's The 7 Habits" follows a possessive,
#   "the album Gone With The Wind" a preposition, and "equity giant The Carlyle
#   Group" opens a name the model found;
# - at another capitalised function word after a noun, before a lower-case word ("...
#   in the village As the water rose ..."), but not "I" and not before a number
#   ("the England Under 21 side").
_DETERMINERS = frozenset({"A", "An", "The"})
_NOUN_TAGS_BEFORE = _NOUN_TAGS | {"CD", "-RRB-"}  # a noun, a number or ")"
_FUNCTION_TAGS = frozenset({"DT", "EX", "IN", "PRP", "PRP$", "RB", "WP", "WRB"})
_OPENING_QUOTES = frozenset({"'", "‘", '"', "“"})
# entity types of names: a determiner inside one does not open ("A four-year-old",
# a DATE, may)
_NAME_TYPES = frozenset(
    {"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"}
)


@dataclass(frozen=True, slots=True)
class _Tokens:
    """A doc's token attributes, read once in bulk (``Doc.to_array``) instead of
    through a ``Token`` object per token and attribute."""

    text: str
    starts: list[int]
    lengths: list[int]
    spaced: list[int]  # 1 where whitespace follows the token
    tags: list[int]  # hashes
    ents: list[int]  # entity type hashes, 0 outside one
    known: _OpenerTags

    @classmethod
    def of(cls, doc: Doc) -> _Tokens:
        known = _OpenerTags.of(doc.vocab.strings)
        if not len(doc):
            return cls(doc.text, [], [], [], [], [], known)
        starts, lengths, spaced, tags, ents = doc.to_array(
            [IDX, LENGTH, SPACY, TAG, ENT_TYPE]
        ).T.tolist()
        return cls(doc.text, starts, lengths, spaced, tags, ents, known)


@dataclass(frozen=True, slots=True)
class _OpenerTags:
    """The hashes of the tags and entity types ``tagged_openers`` looks at."""

    stop: int
    determiner: int
    noun_before: frozenset[int]
    function: frozenset[int]
    names: frozenset[int]

    @classmethod
    def of(cls, strings: Any) -> _OpenerTags:
        return cls(
            strings.add("."),
            strings.add("DT"),
            frozenset(strings.add(t) for t in _NOUN_TAGS_BEFORE),
            frozenset(strings.add(t) for t in _FUNCTION_TAGS),
            frozenset(strings.add(t) for t in _NAME_TYPES),
        )


def tagged_openers(sent: TokenSpan, tokens: _Tokens | None = None) -> list[int]:
    """The offsets (in the doc's text) where the tags show a sentence opening inside
    ``sent``; empty where the model has no tagger. ``tokens``: the doc's, read once
    for all its sentences."""
    t = tokens or _Tokens.of(sent.doc)
    tags = t.known
    text, starts, lengths, spaced = t.text, t.starts, t.lengths, t.spaced
    count = len(starts)
    found = []
    for i in range(sent.start + 1, sent.end):
        at = starts[i]
        first = text[at : at + 1]
        if not first.isupper() and first not in _OPENING_QUOTES:
            continue  # most tokens: nothing to look at
        prev = i - 1
        if not spaced[prev]:
            continue
        after = text[starts[i + 1] : starts[i + 1] + 1] if i + 1 < count else ""
        word = text[at : at + lengths[i]]
        if t.tags[prev] == tags.stop and text[starts[prev] + lengths[prev] - 1] in ".!?":
            # a quotation mark opens only where it is set against the word after it: the
            # page's "... my contract. ' Filipe Luis insists ..." closes one
            opens = word in _OPENING_QUOTES and not spaced[i] and after.isupper()
            if first.isupper() or opens:
                found.append(at)
        elif (
            first.isupper()
            and word != "I"
            and t.tags[prev] in tags.noun_before
            and t.ents[i] not in tags.names
            and (
                (word in _DETERMINERS and t.tags[i] == tags.determiner)
                or (t.tags[i] in tags.function and after.islower())
            )
        ):
            found.append(at)
    return found


def _words_before(text: str, start: int, end: int) -> list[str]:
    """The words of ``text[start:end]`` within a bounded look back from ``end``, so
    that a long line with many rejected openers is read in linear time."""
    return text[max(start, end - _GLUE_LOOKBACK) : end].split()


def unglued(
    text: str, start: int, end: int, *, openers: Iterable[int] = ()
) -> Iterator[tuple[int, int]]:
    """``text[start:end]`` split where a sentence opener is glued to the words before it.

    Openers are found by pattern ("... parking lot An agent's ...": a determiner or
    pronoun before a lower-case word) and, where the tagger has read the text, at
    the offsets ``openers`` (from :func:`tagged_openers`).
    Not inside a title-case line ("... Sell It as Fertilizer"), not after fewer than
    three words, not before a verb or function word ("plan A was"), and a lone "A"
    found by pattern only after a lower-case word ("Serie A champions").
    """
    found = {m.end(): (m.start(), True) for m in _GLUED.finditer(text, start, end)}
    for at_opener in openers:  # the tagger's reading stands over the lone-"A" guard
        gap = at_opener
        while gap > start and text[gap - 1] in " \t":
            gap -= 1
        if start < gap < at_opener < end:
            found[at_opener] = (gap, False)
    at = start
    for opener in sorted(found):
        gap, by_pattern = found[opener]
        if gap <= at:
            continue
        before = _words_before(text, at, gap)
        if len(before) < 3 or sum(w[:1].isupper() for w in before) * 2 > len(before):
            continue
        if by_pattern and text.startswith("A ", opener) and not before[-1].islower():
            continue
        yield at, gap
        at = opener
    if end > at:
        yield at, end


# A sentence by punctuation: up to a run of ".", "!" or "?" (and closing marks) that a
# space or the end follows, or to the end of its line. Each character is read once:
# a mark inside a word ("3.5", "!(#!(#") ends nothing, and a line without one is a
# sentence of its own.
_RULE_SENT = re.compile(r"(?:[^\n.!?]++|[.!?]++(?![\"'”’)]*+(?:\s|$)))*+(?:[.!?]++[\"'”’)]*+)?")


def rule_sentences(text: str, start: int = 0) -> list[Sentence]:
    """Sentence boundaries by punctuation, line breaks and glued openers (no model),
    from ``start``."""
    out: list[Sentence] = []
    for m in _RULE_SENT.finditer(text, start):
        piece = m.group()
        if not piece.strip():
            continue
        s = m.start() + len(piece) - len(piece.lstrip())
        e = m.end() - (len(piece) - len(piece.rstrip()))
        out.extend(Sentence(start=gs, end=ge) for gs, ge in unglued(text, s, e))
    return out


def noun_phrases(doc: Doc, offset: int = 0) -> Iterator[Span]:
    """Runs of modifiers ending in a noun ("electric ferries", "solar-powered ferry
    terminal"), from the part-of-speech tags; a verb, a determiner or punctuation
    ends a run, and so does an adjective after a noun or a noun after a plural one
    ("the basement stores surplus power" gives "basement stores" and "surplus
    power"). The tags are read in bulk (``Doc.to_array``), not token by token."""
    if not len(doc):
        return
    kinds = _tag_kinds(doc.vocab.strings)
    tags, starts, spaces, lengths = doc.to_array([TAG, IDX, IS_SPACE, LENGTH]).T.tolist()
    kind = [None if space else kinds.get(tag) for tag, space in zip(tags, spaces, strict=True)]
    run: list[int] = []
    for i in range(len(kind) + 1):
        k = kind[i] if i < len(kind) else None
        # a new phrase starts at an adjective after a noun (English puts them before
        # it) and at a noun after a plural one (a noun modifying another is singular:
        # "ferry terminal"); so "the basement stores surplus power", where a small
        # model takes "stores" for a plural noun, does not become one phrase
        if k is not None and not (
            run
            and (
                (k == _ADJECTIVE and kind[run[-1]] in _NOUNS)
                or (k in _NOUNS and kind[run[-1]] == _PLURAL)
            )
        ):
            run.append(i)
            continue
        while run and kind[run[-1]] not in _NOUNS:
            run.pop()
        while run and kind[run[0]] == _HYPHEN:
            run.pop(0)
        if run:
            last = run[-1]
            yield Span(start=starts[run[0]] + offset, end=starts[last] + lengths[last] + offset)
        run = [i] if k is not None else []


# what a tag is to a noun phrase
_NOUN, _PLURAL, _ADJECTIVE, _HYPHEN = "noun", "plural", "adjective", "hyphen"
_NOUNS = frozenset({_NOUN, _PLURAL})
_TAG_KINDS = {t: _ADJECTIVE for t in _ADJECTIVE_TAGS} | {t: _NOUN for t in _NOUN_TAGS}
_TAG_KINDS |= {"NNS": _PLURAL, "HYPH": _HYPHEN}


def _tag_kinds(strings: Any) -> dict[int, str]:
    """Each modifier tag's hash (as ``Doc.to_array`` gives it) and what it is to a
    noun phrase."""
    return {strings.add(tag): kind for tag, kind in _TAG_KINDS.items()}


def _mentions(
    doc: Doc, offset: int, labels: frozenset[str] | None
) -> Iterable[entities.RawMention]:
    for ent in doc.ents:
        if labels is not None and ent.label_ not in labels:
            continue
        yield entities.RawMention(ent.start_char + offset, ent.end_char + offset, ent.label_)
