"""The summarize stage: summary, entity list and keywords from what the tagger found. Pure.

The summary is whole sentences of the clean text, in their original order,
never cut (but for a first sentence over twice the budget): the leading
sentences that read as sentences (not headings, page furniture such as bylines,
"PUBLISHED:" stamps, captions or "Scroll down for video"), without a dateline
ahead of the first ("LONDON (Reuters) - "), and never opening with a pronoun or
connective whose referent it would leave out.
Lead-3 is hard to beat on news; scoring sentences by entity salience, word
coverage or length was measured below it (see bench/summaries.py).
"""

from __future__ import annotations

import re

from schemas.models import (
    EnrichedArticle,
    Sentence,
    StageRun,
    TaggedArticle,
    fields_of,
)
from workers.stages.summarize.keywords import keywords
from workers.stages.summarize.salience import entity_list
from workers.stages.text import SENTENCE_END

VERSION = "1.8.0"
_PIPELINE = frozenset({"pipeline"})

_WORD = re.compile(r"\w+", re.UNICODE)


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


# what a stamp or credit in brackets opens with
_CREDITED = r"(?:Published|Updated|Posted|Image|Photo|Picture|Credit|Source)"
# what a page invites its readers to sign up for or join
_INVITED = r"(?i:newsletters?|alerts|group|channel)\b"
# page furniture that can read like a sentence: stamps, bylines, captions, prompts
_FURNITURE = re.compile(
    r"^(?:(?:PUBLISHED|UPDATED|Published|Updated|Last updated)\s*:"
    r"|\("
    + _CREDITED
    + r"s?\b"  # "(Published Monday, Nov. 18)", "(Image: Getty Images)"
    + r"|By\s+\.?\s*[A-Z][\w.'’ -]{0,60}(?:\s\.|\|)"
    # "By Louis Jacobson on Monday, November 18th, 2019 at 11:04 a.m."
    r"|By\s+[A-Z][\w.'’-]*(?:,?\s+(?:and\s+|&\s+)?[A-Z][\w.'’-]*){0,7}\s+on\s+[A-Z]"
    r"|Opinions expressed\b"
    r"|.*\bfile (?:photo|image|picture)\b"
    r"|(?:Pictured|Picture|Photo|Photograph|Image|Caption|Video)s?\s*:"
    r"|[A-Z][\w'’-]*(?:\s[\w'’-]+){0,2}:\s"  # a caption: "Devastated: Dawn, who ..."
    r"|.*\b(?:[Ss]croll down for|[Cc]lick here (?:to|for)|[Ww]atch the video)\b"
    # invitations: "Sign up for the free daily newsletter", "Join our WhatsApp group",
    # "Join the IGN Deals Newsletter", "... subscribe to our newsletter" (not "Britain
    # voted to join the group of nations")
    r"|(?:[Ss]ign up|[Ss]ubscribe|[Jj]oin|SIGN UP|SUBSCRIBE|JOIN)\b.{0,60}\b"
    + _INVITED
    + r"|.*\b(?:sign up|subscribe|join)\b.{0,20}\b(?:our|us|this|the free|for free)\b.{0,40}\b"
    + _INVITED
    + r"|(?:[Ff]ollow|FOLLOW) (?:us|US|@)"  # "Follow us at Twitter @igndeals."
    + r"|.*\b(?:[Bb]reaking news alerts|delivered (?:daily|weekly|weekday|every|to your inbox))"
    r"|.*\bRead [Mm]ore\s*»"
    r"|[^\n»›>]{1,60}\s[»›>]\s[^\n»›>]{1,60}\s[»›>]\s)"  # a breadcrumb: "Home » News » ..."
)
# a news photo's caption ends in its date after a comma: "A cyclist rides next to a
# blocked plant in La Paz, Bolivia, November 19, 2019.", "A ship leaves Miami, on Aug.
# 31, 2019." (prose says "on November 19, 2019" without the comma)
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATED_CAPTION = re.compile(r",\s+(?:on\s+)?" + _MONTH + r"\s+\d{1,2},\s+\d{4}\.$")
# a picture caption that names where someone stands and has no full stop:
# "Brazil star Neymar (centre) takes a selfie with team-mate Dani Alves (right)"
_CAPTION = re.compile(
    r"\((?:(?:second |far )?(?:left|right|centre|center)|pictured|above|below|top|bottom|"
    r"inset)\)(?![^.!?]*[.!?][\"'”’)]*$)",
    re.IGNORECASE,
)
# a first sentence opening with one of these leaves out what it refers to, in a
# quotation or not ("'He was ...,' she said.")
_DANGLING = re.compile(
    r"^[\"'‘“]?(?:He|She|They|His|Her|Their|Its|Him|Them|But|And|Or|However|Yet|So|Also|"
    # "It has been revealed that ...": an "it" that stands for the clause after it
    r"It(?!(?:'s|’s|\s+is|\s+was|\s+has|\s+had)(?:\s+(?:now|also|been|being|widely))*\s+"
    r"(?:revealed|claimed|reported|thought|believed|understood|announced|confirmed|emerged|"
    r"feared|alleged|expected|estimated|said|known|likely|unclear|not\s+clear)\b)|"
    r"Meanwhile|Instead|Still|Then|Besides|Moreover|Furthermore|Nevertheless|These|Those|"
    r"That|This(?!\s+(?:is|was|week|year|month|morning|afternoon|evening|weekend)\b))\b"
)
# Datelines, not part of the sentence: "LONDON (Reuters) - ", "HANOI, Vietnam (AP) — ",
# "(CNN) ", "BUFFALO, N.Y. — ", "MADRID — ", "Dekalb, Ill. — " (or an en dash).
_REGION = r"(?:,\s*[A-Z][\w.]*(?:\s[A-Z][\w.]*){0,2})?"
_CAPS_PLACE = r"[A-Z][A-Z.'’ -]{1,40}" + _REGION
_DASH = r"(?:—|–|-{1,2})"
# a place in title case only before a news agency's name: "Rome (CNN) ", "Kyiv
# (Reuters) - " (not "Apple (AAPL) ")
_NEWS_AGENCIES = r"(?:CNN|AP|Reuters|AFP|UPI|Bloomberg|dpa|Xinhua|EFE|ANSA|Kyodo|Yonhap|PTI)"
_AGENCY = (
    r"(?:"
    + _CAPS_PLACE
    + r"\s*|[A-Z][\w.'’-]*(?:\s[A-Z][\w.'’-]*){0,2}"
    + _REGION
    + r"\s*(?=\("
    + _NEWS_AGENCIES
    + r"\)))?\([A-Z][\w ]{1,20}\)\s*"
)
_WIRE = _CAPS_PLACE + r"\s+" + _DASH + r"\s+"
# a place in title case, only before a long dash: "Dekalb, Ill. — " (not "The Queen — ")
_TITLE_PLACE = (
    r"(?!(?:The|A|An|This|That|Our|His|Her|Their|My|Its)\b)"
    r"[A-Z][\w.'’-]*(?:\s[A-Z][\w.'’-]*){0,2}" + _REGION + r"\s+[—–]\s+"
)
_CREDIT = r"\(" + _CREDITED + r"s?\b[^()]{0,80}\)"
_FURNITURE_LEAD = (
    r"(?:Scroll down for (?:video|videos?)|Click here for (?:video|more))\s*[.:]?\s+|"
    + _CREDIT
    + r"\s*"
    # a time stamp: "Monday, November 18, 2019, 04:05 pm PT (07:05 pm ET) "
    r"|(?:[A-Z][a-z]+day,\s+)?[A-Z][a-z]+\.?\s+\d{1,2}(?:st|nd|rd|th)?,\s+\d{4}"
    r"(?:,?\s+\d{1,2}:\d{2}\s*(?:[ap]\.?m\.?)?(?:\s+[A-Z]{2,4})?(?:\s+\([^()]{0,30}\))?)\s+"
)
# where a wire story starts, which a page can put after captions and teasers
_WIRE_DATELINE = re.compile(r"(?:" + _WIRE + "|" + _AGENCY + _DASH + r"\s*)(?=[A-Z])")
# (matched at a sentence's start: no "^", which only matches at the text's start)
_DATELINE = re.compile(
    "|".join((_AGENCY + r"(?:[-—–:]+\s*)?", _WIRE, _TITLE_PLACE, _FURNITURE_LEAD))
)
# a stamp or credit at a sentence's end: "... on Monday. (Published Monday, Nov. 18)"
_STAMP_END = re.compile(r"\s*" + _CREDIT + "$")


# Other languages' furniture and dangling openers, beside English's (which apply to
# every language, as page furniture in English is common on any site)
_FURNITURE_IN = {
    "fr": re.compile(
        r"^(?:(?:Publié|Mis à jour|Modifié|Actualisé)\s+le\b"
        r"|(?:[ÀA] lire aussi|Lire aussi|Voir aussi|En savoir plus)\b"
        r"|(?:Photo|Crédits?(?: photo)?|Légende|Vidéo)\s*:"
        # invitations: "Abonnez-vous à notre newsletter", "Rejoignez notre groupe WhatsApp"
        r"|(?:[Aa]bonnez-vous|[Ii]nscrivez-vous|[Rr]ejoignez|[Ss]uivez-nous|[Tt]éléchargez)\b"
        # a byline: "Par Jean Dupont, envoyé spécial à Kiev" (not "Par ailleurs, ...")
        r"|Par\s+[A-ZÀ-Ý][\w.'’-]+\s+[A-ZÀ-Ý][\w.'’-]+(?:\s+[A-ZÀ-Ý][\w.'’-]+){0,2}\s*(?:,|\||$))"
    ),
}
_DANGLING_IN = {
    # a pronoun, a possessive or a connective that leaves out what it refers to
    "fr": re.compile(
        r"^[«\"'‘“]?\s*(?:Il|Elle|Ils|Elles|Lui|Eux|Son|Sa|Ses|Leur|Leurs|Mais|Et|Ou|Or|"
        r"Cependant|Pourtant|Toutefois|Ainsi|Aussi|Puis|Ensuite|Néanmoins|Cela|Ça|"
        r"En outre|Par ailleurs|De plus|Celui-ci|Celle-ci|Ceux-ci|Celles-ci|"
        r"Ce dernier|Cette dernière|Ces derniers|Ces dernières)\b"
    ),
}


def _reads_as_sentence(text: str, language: str | None = None) -> bool:
    words = text.split()
    if len(words) < 5 or not text.rstrip().endswith(SENTENCE_END) or _FURNITURE.match(text):
        return False
    other = _FURNITURE_IN.get(language or "")
    if other is not None and other.match(text):
        return False
    if _CAPTION.search(text) or _DATED_CAPTION.search(text):
        return False
    if text[:1].islower() and not text[1:2].isupper():
        return False  # a fragment the splitter cut off ("awareness campaign has ..."), not "iPhone"
    letters = [ch for ch in text if ch.isalpha()]
    return not letters or sum(ch.isupper() for ch in letters) / len(letters) < 0.6


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _without_dateline(text: str, sent: Sentence) -> Sentence:
    """The sentence without a dateline ahead of it or a stamp after it."""
    start, end = sent.start, sent.end
    stamp = _STAMP_END.search(text, start, end)
    if stamp is not None and stamp.start() > start:
        end = stamp.start()
    m = _DATELINE.match(text, start, end)
    if m is not None and m.end() < end and text[m.end() : end][:1].isupper():
        start = m.end()
    return sent if (start, end) == (sent.start, sent.end) else Sentence(start=start, end=end)


def _article_start(text: str, sentences: list[Sentence], *, within: int = 6) -> int:
    """The index of the first sentence when one of the first ``within`` opens with a
    wire dateline ("BUFFALO, N.Y. — Hours before ..."): what comes before it on a page
    is captions and teasers. 0 otherwise."""
    for i, sent in enumerate(sentences[:within]):
        if _WIRE_DATELINE.match(text, sent.start, sent.end):
            return i
    return 0


def choose(
    text: str,
    sentences: list[Sentence],
    *,
    count: int,
    max_chars: int = 0,
    language: str | None = None,
) -> list[Sentence]:
    """Up to ``count`` whole sentences, in order, within ``max_chars`` when > 0.

    The first sentence that reads as one is taken even where it alone exceeds
    the budget, up to twice the budget: one longer (a text without sentence
    marks, a run-on of thousands of words) is cut at its last word break within
    the budget. A sentence that mostly repeats one already taken is skipped.
    Never empty when ``text`` is not: falls back to the first sentence (or the
    first line). ``language`` adds that language's furniture and dangling openers
    to English's.
    """
    return _choose(text, sentences, count=count, max_chars=max_chars, language=language)[0]


# ends a summary whose only sentence was cut to the budget
ELLIPSIS = "…"
# where a sentence cut to the budget may end: at a space, or at a comma in text
# without spaces; the break and what trails before it (_TRAILING) are left out
_BREAKS = (" ", "\n", "\t", "，", "、", "；")
_TRAILING = ",;:-–—，、；"


def _cut(text: str, sent: Sentence, max_chars: int) -> Sentence:
    """The sentence, or where it is over twice ``max_chars`` its first ``max_chars``
    characters to the last word break after their middle (else all of them)."""
    if sent.end - sent.start <= 2 * max_chars:
        return sent
    limit = sent.start + max_chars
    at = max(text.rfind(mark, sent.start + max_chars // 2, limit + 1) for mark in _BREAKS)
    end = at if at > sent.start else limit
    while end > sent.start + 1 and (text[end - 1].isspace() or text[end - 1] in _TRAILING):
        end -= 1
    return Sentence(start=sent.start, end=end)


def _choose(
    text: str,
    sentences: list[Sentence],
    *,
    count: int,
    max_chars: int,
    language: str | None = None,
) -> tuple[list[Sentence], bool]:
    """``choose``'s sentences, and whether the first was cut to the budget."""
    dangling = _DANGLING_IN.get(language or "")
    chosen: list[Sentence] = []
    seen: list[set[str]] = []
    used = 0
    for found in sentences[_article_start(text, sentences) :]:
        if len(chosen) >= count:
            break
        sent = _without_dateline(text, found)
        piece = text[sent.start : sent.end]
        if not _reads_as_sentence(piece, language) or (
            not chosen and (_DANGLING.match(piece) or (dangling and dangling.match(piece)))
        ):
            continue
        words = _words(piece)
        if any(len(words & other) >= 0.7 * len(words) for other in seen):
            continue  # mostly repeats one taken: a caption or standfirst the body repeats
        cost = len(piece) + (1 if chosen else 0)
        if max_chars and chosen and used + cost > max_chars:
            break
        chosen.append(sent)
        seen.append(words)
        used += cost
    if not chosen and sentences:
        chosen = [sentences[0]]
    if not chosen and text.strip():
        start = len(text) - len(text.lstrip())
        line = text[start:].split("\n", 1)[0].rstrip()
        chosen = [Sentence(start=start, end=start + len(line))]
    if max_chars and chosen and (first := _cut(text, chosen[0], max_chars)) != chosen[0]:
        return [first], True  # the only one: the budget is spent
    return chosen, False


def select(
    text: str,
    sentences: list[Sentence],
    *,
    count: int,
    max_chars: int = 0,
    language: str | None = None,
) -> str:
    """The summary text: the chosen sentences joined by spaces."""
    chosen = _choose(text, sentences, count=count, max_chars=max_chars, language=language)
    return _joined(text, *chosen)


def _joined(text: str, sentences: list[Sentence], cut: bool = False) -> str:
    return " ".join(text[s.start : s.end] for s in sentences) + (ELLIPSIS if cut else "")


def summarize(
    article: TaggedArticle, *, now: str, count: int = 3, max_chars: int = 0
) -> EnrichedArticle:
    """The enriched record: the tagged article with its summary, entity list,
    keywords and word count."""
    text = article.text
    chosen, cut = _choose(
        text, list(article.sentences), count=count, max_chars=max_chars, language=article.language
    )
    ranked = entity_list(text, article.entities, title=article.title, summary=chosen)
    return EnrichedArticle(
        **fields_of(article, exclude=_PIPELINE),
        word_count=word_count(text),
        summary=_joined(text, chosen, cut),
        summary_sentences=chosen,
        entity_list=ranked,
        keywords=keywords(
            text,
            title=article.title,
            language=article.language,
            entities=[e.name for e in ranked],
            phrases=None
            if article.noun_phrases is None
            else [(p.start, p.end) for p in article.noun_phrases],
        ),
        pipeline={**article.pipeline, "summarize": StageRun(version=VERSION, finished_at=now)},
    )
