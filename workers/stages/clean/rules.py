"""The cleaner's rules: patterns for page furniture and the kinds of line they mark.

What a line is (boilerplate, an end-of-article marker, prose, or other) is
decided here, line by line; how the article is then found among the lines is
the algorithm in ``boilerplate.py``. New families of furniture go here.
"""

from __future__ import annotations

import re
from enum import Enum

from workers.stages.text import INVISIBLE as INVISIBLE  # the cleaner drops them
from workers.stages.text import PROSE_END

SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")

BOILERPLATE = re.compile(
    r"""^(
        (share|share\ this|share\ on|share\ article|share\ this\ article|share\ via)\b.{0,40}
      | (tweet|email|print|whatsapp|facebook|twitter|linkedin|telegram|pinterest|reddit|copy\ link)
      | (join|follow|subscribe\ to)\b.{0,80}
        \b(group|channel|us|newsletter|whatsapp|telegram|page)\b.{0,40}
      | follow\ us\b.{0,60}
      | (sign\ up|subscribe)\b.{0,60}(newsletter|updates|inbox|alerts)\b.{0,40}
      | (download|get)\ (our|the)\ .{0,30}\bapp\b.{0,40}
      | .{0,80}\b(uses|use)\ cookies\b.*
      | (accept|reject)\ (all\ )?cookies.*
      | (\d+\s*)?(comments?|post\ comment|leave\ a\ comment|view\ comments)\b.{0,20}
      | (photo|image|picture|file\ photo|photograph)\s*(credit)?s?\s*[:\-|/].{0,80}
      | (advertisement|sponsored|promoted|ad)
      | (home|news)\s*(>|»|/|›)\s*.{0,80}
      | (skip\ to\ (main\ )?content|back\ to\ top|scroll\ to\ top|log\ ?in|sign\ in
         |register|menu|search|close)
      | (all\ rights\ reserved|copyright|©).{0,120}
      | .{0,80}\ball\ rights\ reserved\b.{0,40}
      | (click\ here|tap\ here)\b.{0,80}
      | click\ to\ (share|email|print|tweet|pin|post)\b.{0,80}
      | .{0,80}\(opens\ in\ (a\ )?new\ window\)
      | (first\ published|last\ updated|updated|published)\s*(on|:)?\s*:?.{0,60}\d{4}.{0,20}
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)

END_MARKER = re.compile(
    r"""^(
        related(\ news|\ stories|\ articles|\ posts|\ tags|\ topics|\ coverage|\ content)?
      | (also\ read|read\ also|read\ more|more\ from|more\ stories|more\ news|you\ may\ also\ like
         |you\ might\ also\ like|recommended(\ for\ you|\ stories)?|trending(\ now|\ news)?
         |most\ (read|popular|viewed)|popular\ (stories|now)|latest\ news|top\ stories
         |don'?t\ miss|what\ to\ read\ next|tags|topics)
    )\s*[:\-–—]?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
# end markers that also introduce a promo in the middle of an article
INLINE_PROMO = re.compile(
    r"^(also\ read|read\ also|read\ more|don'?t\ miss)\s*[:\-–—]?\s*$",
    re.IGNORECASE | re.VERBOSE,
)
INLINE_READ_MORE = re.compile(
    r"^(also\ read|read\ also|read\ more|related|see\ also|watch)\s*[:\-–—|]\s*\S.{0,200}$",
    re.IGNORECASE | re.VERBOSE,
)


# Lines that mark a comment thread: "Jane on May 1, 2019 at 4:47 pm said:",
# "thelastfan says:" (a dated line, or a name of up to four words and "says:";
# "Mr Smith said:" before a quote is the article's),
# "2 days ago at 07:47 am", "Rating: 36 Votes", "Reply".
COMMENT_META = re.compile(
    r"""^(
        .{1,60}\b(\d{1,2}:\d\d|\d{4})\b.{0,30}\b(said|says|wrote|replied)\s*:
      | (?!(the|a|an|he|she|they|it|we|i|his|her|their|our|this|that|one)\b)
        \S+(\ \S+){0,3}\ says\s*:
      | (about\ )?\d+\ (seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)
        \ ago\b.{0,40}
      | rating:?\ [-+]?\d+\ votes?
      | [-+]?\d+\ (votes?|likes?|points?)
      | (reply|report|quote|like|upvote|downvote|flag|permalink|report\ abuse)(\ \d+)?
      | (leave\ a\ (reply|comment)|join\ the\ (conversation|discussion)|add\ a\ comment)\b.{0,40}
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
COMMENTS_HEADING = re.compile(
    r"^(\d+\s+)?(comments?|responses?|replies)(\s*\(\d+\))?\s*:?$"
    r"|^(\d+|one)\s+(comments?|responses?|replies|thoughts)\s+(to|on)\s"
    r"|^(leave\ a\ (reply|comment)|join\ the\ (conversation|discussion)"
    r"|(show|view|load|read)\ (all\ |more\ )?comments?)\b",
    re.IGNORECASE | re.VERBOSE,
)
# "Week 12 power rankings (133)": a count closing a headline is not a sentence end
COUNT = re.compile(r"\(\d[\d,.]*\)$")
# A long line with no punctuation at all is a tag cloud or a menu, not a sentence;
# Thai, Lao and Khmer text is written without it, so there the rule does not apply.
PUNCT = re.compile(
    "[.,;:!?\u0589\u060c\u061b\u061f\u06d4\u0964\u0965\u104b\u1362"
    "\u3001\u3002\uff0c\uff0e\uff01\uff1f\uff1b]|[\u0e00-\u0eff\u1780-\u17ff]"
)
# what a sentence glued to a heading starts with: a capital, a digit or a quote,
# then at least three more words
GLUED_START = re.compile(r"[\"“‘'(]?[A-Z0-9][^ ]*( +\S+){3}")
SITE_SUFFIX = re.compile(r"\s+[|–—-]\s+[^|–—-]{1,60}$")
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


class Kind(Enum):
    BOILERPLATE = "boilerplate"
    END_MARKER = "end_marker"
    PROSE = "prose"
    OTHER = "other"


def classify(line: str) -> Kind:
    if END_MARKER.match(line):
        return Kind.END_MARKER
    if BOILERPLATE.match(line) or INLINE_READ_MORE.match(line) or COMMENT_META.match(line):
        return Kind.BOILERPLATE
    if COMMENTS_HEADING.match(line):
        return Kind.OTHER  # "12 thoughts on “Title”" reads like a sentence
    words = word_count(line)
    digits = sum(ch.isdigit() for ch in line)
    if digits > 0.3 * len(line):
        return Kind.OTHER  # dates, scores, archive lists
    if (words >= 15 and PUNCT.search(line)) or (
        words >= 7 and line.endswith(PROSE_END) and not COUNT.search(line)
    ):
        return Kind.PROSE
    return Kind.OTHER


def word_count(line: str) -> int:
    """Words, counting two CJK characters as one (those scripts use no spaces)."""
    cjk = len(CJK.findall(line))
    if not cjk:
        return len(line.split())
    return len(CJK.sub(" ", line).split()) + cjk // 2
