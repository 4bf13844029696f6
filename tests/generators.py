"""Generated hostile articles: valid records, under the size limit, that cost a
worker the most. Deterministic for a given seed.
"""

from __future__ import annotations

import random

import orjson

_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ren",
    "tas",
    "vi",
    "dor",
    "el",
    "sun",
    "bra",
    "quin",
    "zet",
    "ar",
    "nol",
    "pe",
    "fis",
    "gru",
    "hal",
    "jo",
    "wen",
    "ox",
    "ulm",
    "yas",
    "cer",
]
_VOCABULARY = (
    "the council said on Tuesday that a new ferry terminal would open next spring "
    "after years of delays and rising costs while residents asked for more buses "
    "and the port authority promised cleaner air along the harbour front"
)
_WORDS = _VOCABULARY.split()


def made_up_word(rng: random.Random, parts: int = 3) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts))


def made_up_name(rng: random.Random) -> str:
    return f"{made_up_word(rng, 2).capitalize()} {made_up_word(rng, 3).capitalize()}"


def prose(chars: int, seed: int = 0) -> str:
    """Ordinary English-like prose in paragraphs, about ``chars`` characters long."""
    rng = random.Random(seed)
    paragraphs, size = [], 0
    while size < chars:
        sentences = []
        for _ in range(rng.randint(3, 6)):
            words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 20))]
            sentences.append(" ".join(words).capitalize() + ".")
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    return "\n\n".join(paragraphs)


def dense_entities(sentences: int) -> str:
    """One long form and its acronym, then many tiny sentences naming it: tagging
    makes this record several times larger than its input."""
    body = " ".join("SCO met. SCO won." for _ in range(sentences // 2))
    return (
        "The Shanghai Cooperation Organization (SCO) held a summit in Astana on Monday.\n\n" + body
    )


def many_names(count: int, seed: int = 0) -> str:
    """An article listing ``count`` distinct made-up people, a few per sentence."""
    rng = random.Random(seed)
    names = sorted({made_up_name(rng) for _ in range(count * 2)})[:count]
    rng.shuffle(names)
    sentences = [
        f"{a} met {b} and {c} in the city hall on Tuesday."
        for a, b, c in zip(names[::3], names[1::3], names[2::3], strict=False)
    ]
    return "The list of delegates was published on Monday.\n\n" + "\n".join(sentences)


def punctuation_run(chars: int) -> str:
    """A sentence, then ``chars`` characters of punctuation without a space (a mangled
    page, pasted data): spaCy's tokenizer split such a run in time that grew with
    its square."""
    return "The harbour council met on Monday.\n\n" + ("!(#" * (chars // 3 + 1))[:chars]


def one_letter_words(chars: int) -> str:
    """``chars`` characters of one-letter words and punctuation: a token for every
    one or two characters, five times prose's."""
    return "The harbour council met on Monday.\n\n" + ("a - " * (chars // 4 + 1))[:chars]


def title_case_page(article_id: str, lines: int) -> tuple[bytes, bytes]:
    """(key, value) of an HTML page whose article lists ``lines`` short title-case
    headlines between two paragraphs of prose."""
    heads = [f"{_WORDS[i % len(_WORDS)].capitalize()} Harbour R{i}" for i in range(lines)]
    paragraphs = [prose(1500, seed=1), *heads, prose(1500, seed=2)]
    page = "<html><body><article>" + "".join(f"<p>{p}</p>" for p in paragraphs)
    return article_id.encode(), orjson.dumps(
        {"id": article_id, "language": "en", "html": page + "</article></body></html>"}
    )


def initials(count: int) -> str:
    """A page of initials ("A. B. C. ..."), which a model reads as people's names."""
    letters = "ABCDEFGHIJKLMNOPRSTW"
    return "The list was published on Monday.\n\n" + " ".join(
        f"{letters[i % len(letters)]}." for i in range(count)
    )


def broken_lines(count: int) -> str:
    """A sentence broken into ``count`` one-word lines, each continuing the last."""
    return "The harbour council met on Monday and the\n" + "\n".join(
        _WORDS[i % len(_WORDS)].lower() for i in range(count)
    )


def accented_lines(count: int, *, distinct: bool = True) -> str:
    """``count`` short lines, each with a letter outside ASCII: lines ftfy reads one
    at a time ("Straße 1", "Straße 2", ...; or "é" on every line)."""
    return "\n".join(f"Stra\u00dfe {i}" if distinct else "\u00e9" for i in range(count))


def new_vocabulary_article(index: int, new_words: int = 65) -> bytes:
    """A raw record whose text brings ``new_words`` words never seen before."""
    rng = random.Random(index)
    novel = [made_up_word(rng, 4) + str(index) for _ in range(new_words)]
    text = (
        f"Maria Lindqvist said on Tuesday that the port of Halden would test "
        f"{' '.join(novel[:20])}. The council agreed. "
        f"Officials listed {', '.join(novel[20:])} as the next steps."
    )
    return orjson.dumps({"id": f"vocab-{index:06d}", "title": "Port test", "text": text})


def raw(article_id: str, text: str) -> tuple[bytes, bytes]:
    """(key, value) of a raw text record."""
    return article_id.encode(), orjson.dumps(
        {"id": article_id, "title": "Hostile", "language": "en", "text": text}
    )
