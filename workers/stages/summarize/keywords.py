"""Key phrases of an article, for search and tagging. Pure; no model.

The article's most salient entities come first (a search index wants the
names); then phrases in the manner of RAKE (Rose et al., 2010): candidates
are the runs of content words between stop words and punctuation, a phrase
scores by how often its words occur, and phrases seen more than once, early,
or in the title rank higher. A phrase that shares most of its words with a
better one is dropped, as is one ending in a verb form ("council voted"), one
after a modal or "which"/"who" (a verb: "could afford shore power"), or one
holding part of a name, or a whole name and more ("firm Fjordkraft Systems"), or
starting inside a web or mail address.
A lone word is taken only when no phrase is left.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import cache
from itertools import combinations

from workers.stages.text import opens_sentence

# a word starts at a word's start: "14th" and "8-year-old" leave no "th" or "year-old"
_WORD = re.compile(r"(?<![\w'’-])[^\W\d_](?:[\w'’-]*\w)?")
# what a page's furniture is made of, never a key phrase: "IGN Deals Newsletter",
# "Photo Credit", "Updated Nov", "BREAKING NEWS"
_FURNITURE = re.compile(
    r"\b(?:newsletters?|subscribe|subscribers?|advert|advertisement|sponsored|"
    r"(?:photo|image|picture) credits?|breaking news|fact check|sign up|read more|"
    r"updated (?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*)\b",
    re.IGNORECASE,
)
# a web or mail address, never a key phrase: "https://t.co/XPxU", "www.earbooks.net/en",
# "pic.twitter.com/x1", "@handle", "desk@example.org". Tried only where a run of
# letters or of non-spaces starts, without backtracking: linear in a page-long run
_ADDRESS = re.compile(
    r"(?:https?://|www\.)\S*+"
    r"|(?<![\w.-])[\w-]++(?:\.[\w-]++)++/\S*+"
    r"|(?<!\S)[^\s@]*+@\S*+"
)
_BREAK = re.compile(r"[\n.,;:!?()\[\]{}\"“”‘|/\\–—•·]+|\s[-']\s|'s\b|’s\b")
_VERBISH = re.compile(r"^[a-z]+(?:ed|ing)$")
# adverbs ("quickly", "particularly") but not nouns like "assembly", "monopoly"
_ADVERB = re.compile(r"^[a-z]{5,}(?<![mp]b|po|ma)ly$")
_CONTRACTION = re.compile(r"['’](?:m|s|t|re|ve|ll|d)$", re.IGNORECASE)
MAX_WORDS = 3
# after these a lowercase word is a verb: "could afford shore power", "which stores"
_VERB_CUES = frozenset(
    {"could", "would", "can", "will", "shall", "should", "may", "might", "must", "cannot"}
    | {"which", "who", "didn't", "don't", "doesn't", "won't", "can't"}
)


@cache
def stop_words(language: str | None) -> frozenset[str]:
    """spaCy's stop words for the language (English where it has none)."""
    import spacy.util

    try:
        words = spacy.util.get_lang_class(language or "en").Defaults.stop_words
    except Exception:  # noqa: BLE001 - an unknown language code
        words = set()
    if not words:
        from spacy.lang.en.stop_words import STOP_WORDS as words
    return frozenset(w.casefold() for w in words) | _EXTRA


#: A single word rarer than this in general text (Zipf scale: log10 of uses per
#: billion words, in ``wordfreq``'s lists) is topical ("earthquake" 4.2, "bailout"
#: 3.2, "inflation" 4.1, "strike" 4.7) and competes with phrases; a more common one
#: ("city" 5.6, "people" 6.3, "year" 6.0, "government" 5.6) is generic, a last resort.
TOPICAL_ZIPF = 5.0
#: How a topical single word's score weighs against a phrase's in the ranking: each
#: one taken displaces a phrase. On the SummEval proxy (bench/keywords.py) 0.3 took
#: F@10 from 25.5 to 27.2 and cost 0.85 against the proxy's multi-word phrases
#: alone (1.0 would take 29.9, and cost 4.5 there).
SINGLE_WORD_WEIGHT = 0.3
#: wordfreq's "small" lists: about 29,000 English words down to Zipf 3 (rarer ones
#: read 0, not topical), 20 MiB per process against 133 MiB for its "best" lists.
WORDLIST = "small"


@cache
def _frequencies(language: str) -> bool:
    """Whether ``wordfreq`` has a word list for the language (loaded now if so)."""
    try:
        from wordfreq import available_languages, zipf_frequency
    except ImportError:
        return False
    if language not in available_languages(wordlist=WORDLIST):
        return False
    zipf_frequency("the", language, wordlist=WORDLIST)  # loads the list once
    return True


def topical(word: str, language: str | None) -> bool:
    """Whether a single word is rare enough in general text to name a topic; False for
    a language without a word list (single words then stay a last resort)."""
    lang = language or "en"
    if not _frequencies(lang):
        return False
    from wordfreq import zipf_frequency

    return 0 < zipf_frequency(word, lang, wordlist=WORDLIST) < TOPICAL_ZIPF


_EXTRA = frozenset(
    {
        "said",
        "says",
        "told",
        "according",
        "also",
        "would",
        "could",
        "like",
        "year",
        "years",
        "day",
        "days",
        "week",
        "time",
        "people",
        "new",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mr",
        "mrs",
        "ms",
        "dr",
        "near",
        "alongside",
        "ahead",
        "outside",
        "inside",
        "away",
        "together",
        "including",
    }
)


def _candidates(text: str, stops: frozenset[str]) -> list[tuple[int, list[str]]]:
    """(offset, words) of each run of content words, up to MAX_WORDS long."""
    out: list[tuple[int, list[str]]] = []
    bounds = [0, *(x for m in _BREAK.finditer(text) for x in (m.start(), m.end())), len(text)]
    for base, stop in zip(bounds[::2], bounds[1::2], strict=True):
        part = text[base:stop]
        run: list[str] = []
        start = 0
        previous = ""
        for m in _WORD.finditer(part):
            word = m.group()
            if word.casefold() in stops or len(word) < 2:
                if run and not (run[0].islower() and previous.casefold() in _VERB_CUES):
                    out.append((base + start, run))
                run = []
                previous = word
                continue
            if not run:
                start = m.start()
            run.append(word)
        if run and not (run[0].islower() and previous.casefold() in _VERB_CUES):
            out.append((base + start, run))
    # runs longer than MAX_WORDS are rarely phrases: keep their windows
    split: list[tuple[int, list[str]]] = []
    for offset, words in out:
        if len(words) <= MAX_WORDS:
            split.append((offset, words))
        else:
            split.extend(
                (offset, words[i : i + MAX_WORDS]) for i in range(len(words) - MAX_WORDS + 1)
            )
    return split


def _outside_addresses(
    text: str, cands: list[tuple[int, list[str]]]
) -> list[tuple[int, list[str]]]:
    """The candidates that do not start inside a web or mail address."""
    found = [(m.start(), m.end()) for m in _ADDRESS.finditer(text)]
    if not found:
        return cands
    starts = [start for start, _ in found]
    out = []
    for at, words in cands:
        i = bisect_right(starts, at) - 1
        if i < 0 or at >= found[i][1]:
            out.append((at, words))
    return out


def _phrase_candidates(
    text: str, phrases: Sequence[tuple[int, int]], stops: frozenset[str]
) -> list[tuple[int, list[str]]]:
    """(offset, words) of each noun phrase, without stop words at its start ("other
    countries") and at most its last MAX_WORDS words (its head is at the end)."""
    out: list[tuple[int, list[str]]] = []
    for start, end in phrases:
        found = list(_WORD.finditer(text, start, end))
        while found and (found[0].group().casefold() in stops or len(found[0].group()) < 2):
            found.pop(0)
        found = found[-MAX_WORDS:]
        if found and found[-1].group().casefold() not in stops:
            out.append((found[0].start(), [m.group() for m in found]))
    return out


def keywords(
    text: str,
    *,
    title: str | None = None,
    language: str | None = None,
    entities: Sequence[str] = (),
    limit: int = 10,
    phrases: Sequence[tuple[int, int]] | None = None,
) -> list[str]:
    """Up to ``limit`` key phrases, best first: up to half of them from ``entities``
    (names, most salient first), the rest phrases in their most frequent written form.

    ``phrases`` are the article's noun phrases as (start, end) offsets (the tag
    stage's, from part-of-speech tags): where given, the candidates are those;
    else runs of content words between stop words, which a verb can slip into."""
    stops = stop_words(language)
    chosen: list[tuple[str, ...]] = []
    out: list[str] = []
    names = [tuple(w.casefold() for w in _WORD.findall(name)) for name in entities]
    cuts = _NameParts(names)
    for name, key in zip(entities, names, strict=True):
        if len(out) >= limit // 2:
            break
        if key and not _FURNITURE.search(name) and not any(_overlaps(key, c) for c in chosen):
            chosen.append(key)
            out.append(name)
    cands = (
        _candidates(text, stops) if phrases is None else _phrase_candidates(text, phrases, stops)
    )
    cands = [
        (at, words)
        for at, words in _outside_addresses(text, cands)
        if not _FURNITURE.search(" ".join(words))
    ]
    if not cands:
        return out
    freq: Counter[str] = Counter()
    for _, words in cands:
        for w in words:
            freq[w.casefold()] += 1
    forms: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    seen: Counter[tuple[str, ...]] = Counter()
    first: dict[tuple[str, ...], int] = {}
    named = {w for name in names for w in name}
    for offset, words in cands:
        key = tuple(w.casefold() for w in words)
        forms[key][" ".join(_sentence_case(text, offset, words, named))] += 1
        seen[key] += 1
        first.setdefault(key, offset)
    title_words = {w.casefold() for w in _WORD.findall(title or "")}
    length = max(len(text), 1)

    def score(key: tuple[str, ...]) -> float:
        base = sum(freq[w] for w in key) / len(key) ** 0.5
        boost = 1.0 + 0.5 * (seen[key] - 1)
        boost *= 1.0 + 0.5 * (1 - first[key] / length)
        if title_words and all(w in title_words for w in key):
            boost *= 1.5
        if len(key) == 1:
            boost *= SINGLE_WORD_WEIGHT  # a topical word, ranked below a phrase as frequent
        return float(base * boost)

    ranked = sorted(forms, key=lambda k: (-score(k), first[k]))
    lone: list[tuple[str, ...]] = []  # single words: only where no phrase is left
    for key in ranked:
        if len(out) >= limit:
            break
        if phrases is None and _clause(key):
            continue  # noun phrases need no such guess: "council meeting" is one
        if len(key) == 1:
            if seen[key] < 2 and key[0] not in title_words:
                continue
            if not topical(key[0], language):
                lone.append(key)  # a lone generic word ("city", "people") is a last resort
                continue
        if len(set(key)) < len(key):
            continue  # "Muto Muto": a caption run, not a phrase
        if any(_overlaps(key, c) for c in chosen) or cuts(key) or cuts.holds_name(key):
            continue
        chosen.append(key)
        out.append(forms[key].most_common(1)[0][0])
    for key in lone:
        if len(out) >= limit:
            break
        if not any(_overlaps(key, c) for c in chosen) and not cuts(key):
            chosen.append(key)
            out.append(forms[key].most_common(1)[0][0])
    return out


def _sentence_case(text: str, offset: int, words: list[str], named: set[str]) -> list[str]:
    """``words`` as written, but a common word capitalised only because it opens a
    sentence in lower case ("Opposition councillors" is "opposition councillors");
    not a word of a name, nor one in capitals ("EU")."""
    head = words[0]
    if (
        opens_sentence(text[max(0, offset - 16) : offset])  # a bounded look back
        and head[:1].isupper()
        and head[1:].islower()
        and all(w.islower() for w in words[1:])
        and head.casefold() not in named
    ):
        return [head.lower(), *words[1:]]
    return words


def _clause(key: tuple[str, ...]) -> bool:
    """Whether a run of content words gives itself away as part of a clause by word
    shape ("council voted", "quickly left", "I'm"): the guess made without tags."""
    return bool(_VERBISH.search(key[-1])) or any(
        _ADVERB.match(w) or _CONTRACTION.search(w) for w in key
    )


class _NameParts:
    """Whether a phrase holds part of a name but not all of it ("director Paul").

    Answers from word counts instead of comparing the phrase with every name:
    a name that shares a word with the phrase and is not within the phrase
    exists unless every name holding that word is a subset of the phrase's few
    words. Cost per phrase is constant, whatever the number of names.
    """

    def __init__(self, names: Sequence[tuple[str, ...]]) -> None:
        self.with_word: Counter[str] = Counter()
        self.exact: Counter[frozenset[str]] = Counter()
        for name in {frozenset(n) for n in names if n}:
            self.exact[name] += 1
            self.with_word.update(name)

    def holds_name(self, key: tuple[str, ...]) -> bool:
        """Whether the phrase holds a whole name and more ("firm Fjordkraft Systems"):
        the name alone is the keyword."""
        words = sorted(set(key))
        return any(
            self.exact[frozenset(c)] for r in range(1, len(words)) for c in combinations(words, r)
        )

    def __call__(self, key: tuple[str, ...]) -> bool:
        words = sorted(set(key))
        within = [frozenset(c) for r in range(1, len(words) + 1) for c in combinations(words, r)]
        for word in words:
            inside = sum(self.exact[s] for s in within if word in s)
            if self.with_word[word] > inside:
                return True
        return False


def _overlaps(key: tuple[str, ...], other: tuple[str, ...]) -> bool:
    """Whether ``key`` shares at least half its words with ``other``."""
    return len(set(key) & set(other)) * 2 >= len(key)
