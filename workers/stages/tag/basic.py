"""The entity rules that hold in any language: what a language other than English
gets (``workers.stages.tag.entities`` has English's, most of them English word
lists and patterns).

The model's spans are trimmed (edge punctuation and whitespace, a leading article
of the language), its labels named as the English models name them (French PER
is PERSON), a place the gazetteer knows is GPE, a person's short name takes the
full name the article gives ("Macron" is "Emmanuel Macron"), and every mention
of one name takes the label the article gives it most often.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from schemas.models import Mention
from workers.stages.tag.entities import person_canonical
from workers.stages.tag.names import RawMention, name_words
from workers.stages.tag.places import Places

#: labels whose mentions of one name vote for one label
_VOTING = frozenset({"PERSON", "ORG", "GPE", "LOC"})
_LEAD = re.compile(r"[\s\"'“”«»‘’(\[,.;:!?-]*")
_TAIL = re.compile(r"[\s\"'“”«»‘’)\],.;:!?-]*$")


@dataclass(frozen=True)
class Vocabulary:
    """What the rules need of a language: its titles, its leading articles, and how
    its model's labels are named in the records."""

    titles: frozenset[str]
    articles: tuple[str, ...]
    labels: Mapping[str, str]
    function_words: tuple[str, ...] = ()

    @classmethod
    def of(cls, language: str) -> Vocabulary | None:
        """The language's vocabulary, or None where the package has no lexicon for it."""
        if language == "fr":
            from workers.stages.tag.lexicon import fr

            return cls(fr.TITLES, fr.LEADING_ARTICLES, fr.LABELS, fr.FUNCTION_WORDS)
        return None


def trim(text: str, start: int, end: int, articles: tuple[str, ...]) -> tuple[int, int] | None:
    """The span without edge punctuation or a leading article; its first line."""
    newline = text.find("\n", start, end)
    if newline >= 0:
        end = newline
    start, end = _edges(text, start, end)
    lower = text[start:end].lower()
    for article in articles:  # then punctuation again: «la BCE»
        lead = article if article.endswith(("'", "’")) else article + " "
        if lower.startswith(lead) and len(lower) > len(lead):
            start, end = _edges(text, start + len(lead), end)
            break
    if not any(ch.isalnum() for ch in text[start:end]):
        return None
    return start, end


def _edges(text: str, start: int, end: int) -> tuple[int, int]:
    """``start:end`` without the punctuation and spaces at its edges."""
    lead = _LEAD.match(text, start, end)  # both match, if only the empty string
    start = lead.end() if lead is not None else start
    tail = _TAIL.search(text, start, end)
    return start, tail.start() if tail is not None else end


_WORD = re.compile(r"[\w'’-]+")


def tail_cut(text: str, start: int, end: int, function_words: tuple[str, ...]) -> int:
    """Where a name ends that the model ran on into a function word ("tribunal de"
    ends before "de"). Lower-case words inside a name stay: French institutions
    are named so ("Organisation mondiale de la santé", "Palais des festivals")."""
    words = list(_WORD.finditer(text, start, end))
    while words and words[-1].group().lower() in function_words:
        end = words.pop().start()
        while end > start and text[end - 1].isspace():
            end -= 1
    return end


def only_titles(name: str, titles: frozenset[str]) -> bool:
    """Whether every word of ``name`` is a title ("Premier ministre", "Première")."""
    words = [w.lower().rstrip(".") for w in _WORD.findall(name)]
    return bool(words) and all(w in titles for w in words)


def title_cut(text: str, start: int, end: int, titles: frozenset[str]) -> int:
    """Where a person's name starts after the titles before it ("Maître Éric
    Dupond-Moretti" is "Éric Dupond-Moretti"); ``start`` when no name would be left."""
    at = start
    for w in _WORD.finditer(text, start, end):
        if w.group().lower() not in titles:
            return at if w.group()[0].isupper() else start
        at = w.end()
        if at < end and text[at] == ".":
            at += 1
        while at < end and text[at].isspace():
            at += 1
    return start


def strip_titles(name: str, titles: frozenset[str]) -> str:
    """'Mme Borne' is 'Borne'; a name that is only a title stays as it is."""
    tokens = name_words(name)
    while len(tokens) > 1 and tokens[0].rstrip(".").lower() in titles:
        tokens.pop(0)
    return " ".join(tokens)


def resolve(
    text: str,
    raw: list[RawMention],
    vocabulary: Vocabulary,
    *,
    name_text: str | None = None,
    places: Places | None = None,
) -> list[Mention]:
    """Trim, name, canonicalise and vote on an article's mentions; sorted by offset."""
    names = name_text if name_text is not None and len(name_text) == len(text) else text
    spans: list[tuple[int, int, str, str]] = []
    seen: set[tuple[int, int]] = set()
    for m in sorted(raw):
        span = trim(text, m.start, m.end, vocabulary.articles)
        label = vocabulary.labels.get(m.label, m.label)
        if span is not None:
            cut = tail_cut(text, *span, vocabulary.function_words)
            span = trim(text, span[0], cut, vocabulary.articles) if cut < span[1] else span
        if span is not None and label == "PERSON":
            span = (title_cut(text, *span, vocabulary.titles), span[1])
        if (
            span is None
            or span in seen
            or not any(ch.isupper() for ch in text[slice(*span)])
            or only_titles(text[slice(*span)], vocabulary.titles)
        ):
            continue  # nothing left, seen, no capital letter or only titles: not a name
        seen.add(span)
        surface = names[span[0] : span[1]]
        if label == "LOC" and places is not None and surface in places:
            label = "GPE"  # a city or a country, as the English models label them
        spans.append((span[0], span[1], label, surface))
    base = {
        s[3]: strip_titles(s[3], vocabulary.titles) if s[2] == "PERSON" else s[3] for s in spans
    }
    persons = person_canonical([base[s[3]] for s in spans if s[2] == "PERSON"])

    # a surname the model labels otherwise is the person the article named in full
    # ("M. de Meo" after "Luca de Meo")
    tails = {name_words(full)[-1]: full for full in persons.values() if len(name_words(full)) > 1}

    def named(surface: str, label: str) -> tuple[str, str]:
        name = base[surface]
        if label == "PERSON":
            return "PERSON", persons.get(name, name)
        if label in _VOTING and name in tails:
            return "PERSON", tails[name]
        return label, name

    resolved = [(s, e, *named(surface, label)) for s, e, label, surface in spans]
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    first: dict[str, str] = {}
    for _, _, label, canon in resolved:
        if label in _VOTING:
            votes[canon][label] += 1
            first.setdefault(canon, label)

    def final(label: str, canon: str) -> str:
        if label not in _VOTING:
            return label
        counts = votes[canon]
        top = max(counts.values())
        return first[canon] if counts[first[canon]] == top else counts.most_common(1)[0][0]

    return [
        Mention(text=text[s:e], label=final(label, canon), start=s, end=e, canonical=canon)
        for s, e, label, canon in resolved
    ]
