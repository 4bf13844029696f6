"""Line-level cleaning of pasted page text: normalise, then keep the article.

Pure functions of strings. The approach:

1. Repair the text: mojibake, unicode normal form (NFC), invisible
   characters, stray whitespace.
2. Classify every line: a known boilerplate family (share prompts, "Join
   ... group", newsletter and cookie prompts, comment counters, photo
   credits, navigation crumbs), an end-of-article marker ("Related News",
   "Also read", "Related Tags"), prose (sentence-like), or other (short lines:
   menus, headlines, headings).
3. Keep the article's block of prose lines (the first holding most of the
   text, grown over neighbouring blocks across gaps free of page furniture),
   with the short lines sandwiched between prose (subheadings, list items);
   drop what follows an end marker until the next prose line, and drop lines
   repeated from earlier in the text (the title twice).
4. Join lines broken mid-sentence; split a heading glued to the sentence
   after it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

import ftfy

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")

_BOILERPLATE = re.compile(
    r"""^(
        (share|share\ this|share\ on|share\ article|share\ this\ article|share\ via)\b.{0,40}
      | (tweet|email|print|whatsapp|facebook|twitter|linkedin|telegram|pinterest|reddit|copy\ link)
      | (join|follow|subscribe\ to)\b.{0,80}\b(group|channel|us|newsletter|whatsapp|telegram|page)\b.{0,40}
      | follow\ us\b.{0,60}
      | (sign\ up|subscribe)\b.{0,60}(newsletter|updates|inbox|alerts)\b.{0,40}
      | (download|get)\ (our|the)\ .{0,30}\bapp\b.{0,40}
      | .{0,80}\b(uses|use)\ cookies\b.*
      | (accept|reject)\ (all\ )?cookies.*
      | (\d+\s*)?(comments?|post\ comment|leave\ a\ comment|view\ comments)\b.{0,20}
      | (photo|image|picture|file\ photo|photograph)\s*(credit)?s?\s*[:\-|/].{0,80}
      | (advertisement|sponsored|promoted|ad)
      | (home|news)\s*(>|»|/|›)\s*.{0,80}
      | (skip\ to\ (main\ )?content|back\ to\ top|scroll\ to\ top|log\ ?in|sign\ in|register|menu|search|close)
      | (all\ rights\ reserved|copyright|©).{0,120}
      | .{0,80}\ball\ rights\ reserved\b.{0,40}
      | (click\ here|tap\ here)\b.{0,80}
      | click\ to\ (share|email|print|tweet|pin|post)\b.{0,80}
      | .{0,80}\(opens\ in\ (a\ )?new\ window\)
      | (first\ published|last\ updated|updated|published)\s*(on|:)?\s*:?.{0,60}\d{4}.{0,20}
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)

_END_MARKER = re.compile(
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
_INLINE_PROMO = re.compile(
    r"^(also\ read|read\ also|read\ more|don'?t\ miss)\s*[:\-–—]?\s*$",
    re.IGNORECASE | re.VERBOSE,
)
_INLINE_READ_MORE = re.compile(
    r"^(also\ read|read\ also|read\ more|related|see\ also|watch)\s*[:\-–—|]\s*\S.{0,200}$",
    re.IGNORECASE | re.VERBOSE,
)

_TERMINAL = ('.', '!', '?', '"', '”', '’', "'", '…', ':', ')', '»', '。', '！', '？', '」', '』')

# Lines that mark a comment thread: "Jane on May 1, 2019 at 4:47 pm said:",
# "thelastfan says:" (a dated line, or a name of up to four words and "says:";
# "Mr Smith said:" before a quote is the article's),
# "2 days ago at 07:47 am", "Rating: 36 Votes", "Reply".
_COMMENT_META = re.compile(
    r"""^(
        .{1,60}\b(\d{1,2}:\d\d|\d{4})\b.{0,30}\b(said|says|wrote|replied)\s*:
      | (?!(the|a|an|he|she|they|it|we|i|his|her|their|our|this|that|one)\b)
        \S+(\ \S+){0,3}\ says\s*:
      | (about\ )?\d+\ (seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\ ago\b.{0,40}
      | rating:?\ [-+]?\d+\ votes?
      | [-+]?\d+\ (votes?|likes?|points?)
      | (reply|report|quote|like|upvote|downvote|flag|permalink|report\ abuse)(\ \d+)?
      | (leave\ a\ (reply|comment)|join\ the\ (conversation|discussion)|add\ a\ comment)\b.{0,40}
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_COMMENTS_HEADING = re.compile(
    r"^(\d+\s+)?(comments?|responses?|replies)(\s*\(\d+\))?\s*:?$"
    r"|^(\d+|one)\s+(comments?|responses?|replies|thoughts)\s+(to|on)\s"
    r"|^(leave\ a\ (reply|comment)|join\ the\ (conversation|discussion)"
    r"|(show|view|load|read)\ (all\ |more\ )?comments?)\b",
    re.IGNORECASE | re.VERBOSE,
)
# "Week 12 power rankings (133)": a count closing a headline is not a sentence end
_COUNT = re.compile(r"\(\d[\d,.]*\)$")
# A long line with no punctuation at all is a tag cloud or a menu, not a sentence;
# Thai, Lao and Khmer text is written without it, so there the rule does not apply.
_PUNCT = re.compile("[.,;:!?\u0589\u060c\u061b\u061f\u06d4\u0964\u0965\u104b\u1362"
                    "\u3001\u3002\uff0c\uff0e\uff01\uff1f\uff1b]|[\u0e00-\u0eff\u1780-\u17ff]")
# what a sentence glued to a heading starts with: a capital, a digit or a quote,
# then at least three more words
_GLUED_START = re.compile(r"[\"“‘'(]?[A-Z0-9][^ ]*( +\S+){3}")
_SITE_SUFFIX = re.compile(r"\s+[|–—-]\s+[^|–—-]{1,60}$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


class Kind(Enum):
    BOILERPLATE = "boilerplate"
    END_MARKER = "end_marker"
    PROSE = "prose"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    kind: Kind


def normalize(text: str) -> str:
    """Repair mojibake, NFC-normalise, drop invisible characters, tidy spaces.

    Paragraph breaks (blank lines) are kept as a single blank line.
    """
    text = ftfy.fix_text(text, normalization="NFC")
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def classify(line: str) -> Kind:
    if _END_MARKER.match(line):
        return Kind.END_MARKER
    if _BOILERPLATE.match(line) or _INLINE_READ_MORE.match(line) or _COMMENT_META.match(line):
        return Kind.BOILERPLATE
    if _COMMENTS_HEADING.match(line):
        return Kind.OTHER  # "12 thoughts on “Title”" reads like a sentence
    words = _word_count(line)
    digits = sum(ch.isdigit() for ch in line)
    if digits > 0.3 * len(line):
        return Kind.OTHER  # dates, scores, archive lists
    if (words >= 15 and _PUNCT.search(line)) or (
            words >= 7 and line.endswith(_TERMINAL) and not _COUNT.search(line)):
        return Kind.PROSE
    return Kind.OTHER


def _word_count(line: str) -> int:
    """Words, counting two CJK characters as one (those scripts use no spaces)."""
    cjk = len(_CJK.findall(line))
    if not cjk:
        return len(line.split())
    return len(_CJK.sub(" ", line).split()) + cjk // 2


def _clusters(lines: list[str], kinds: list[Kind], max_gap: int = 3
              ) -> list[tuple[int, int, int]]:
    """(start, end, prose characters) of each cluster of prose lines; prose lines
    separated by more than ``max_gap`` non-blank, non-prose lines, or by the
    heading of a comment thread ("12 Comments" followed by "Jane ... said:"),
    start a new cluster."""
    out: list[tuple[int, int, int]] = []
    start = last = -1
    chars = 0
    broken = False  # a comments heading ends a cluster: the article stops there
    for i, kind in enumerate(kinds):
        if kind is not Kind.PROSE:
            broken = broken or (bool(_COMMENTS_HEADING.match(lines[i])) and any(
                _COMMENT_META.match(line) for line in lines[i + 1:i + 7]))
            continue
        if start < 0 or _filled(lines, last + 1, i) > max_gap or broken:
            broken = False
            if start >= 0:
                out.append((start, last, chars))
            start, chars = i, 0
        chars += len(lines[i])
        last = i
    if start >= 0:
        out.append((start, last, chars))
    return out


def _filled(lines: list[str], lo: int, hi: int) -> int:
    """Non-blank lines in lines[lo:hi]."""
    return sum(1 for line in lines[lo:hi] if line)


def _article_block(lines: list[str], kinds: list[Kind], share: float = 0.6,
                   min_share: float = 0.1) -> tuple[int, int]:
    """Index range [start, end] of the article: the first cluster of prose holding at
    least ``share`` of the largest cluster's text, grown over its neighbours.

    Comment threads and "more stories" columns after an article are often
    longer than it; the article comes first. A photo, a gallery or a list
    splits an article into clusters further apart than the clustering allows;
    a neighbouring cluster holding at least ``min_share`` of the article's text
    joins it when nothing between them looks like page furniture (see
    ``_clear_gap``). A list or table a cluster's last line introduces belongs
    to the cluster.
    """
    found = _clusters(lines, kinds)
    if not found:
        return (0, -1)
    # a cluster studded with comment metadata is a comment thread, not the article
    articles = [c for c in found
                if sum(1 for line in lines[c[0]:c[1] + 1] if _COMMENT_META.match(line)) < 2]
    found = articles or found
    # a list or table a cluster introduces ("Final standings:") is its text too
    found = [(s, e, chars + sum(len(line) for line in lines[e + 1:_list_end(
        lines, kinds, e) + 1])) for s, e, chars in found]
    largest = max(chars for _, _, chars in found)
    k, (start, end, chars) = next((i, c) for i, c in enumerate(found) if c[2] >= share * largest)
    for step in (1, -1):
        j = k + step
        while 0 <= j < len(found):
            s, e, size = found[j]
            lo, hi = (end + 1, s) if step == 1 else (e + 1, start)
            if not _clear_gap(lines, kinds, lo, hi, before=step == -1):
                break
            if size >= min_share * chars:  # a smaller one (a caption) is passed over
                start, end = min(start, s), max(end, e)
            j += step
    return (start, _list_end(lines, kinds, end))


def _list_end(lines: list[str], kinds: list[Kind], end: int) -> int:
    """The cluster's last line, ``end``, or the end of the list after it.

    A last line ending in a colon ("Tour dates:") introduces a run of short
    lines (after at most one blank line); a last line that does not end like a
    sentence, with no blank line before or after it, is an item of a list (a
    long one counts as prose) and the rest of that run follows it.
    """
    j = end + 1
    introduces = lines[end].endswith(":")
    in_a_run = (not lines[end].endswith(_TERMINAL) and end > 0 and bool(lines[end - 1])
                and j < len(lines) and bool(lines[j]))
    if not (introduces or in_a_run):
        return end
    if introduces and j < len(lines) and not lines[j]:
        j += 1
    while j < len(lines) and lines[j] and kinds[j] is Kind.OTHER:
        end = j
        j += 1
    return end


def _clear_gap(lines: list[str], kinds: list[Kind], lo: int, hi: int, *, before: bool,
               max_gap: int = 20) -> bool:
    """Whether lines[lo:hi], between the article and a neighbouring prose cluster,
    could be inside an article: at most ``max_gap`` non-blank lines, no
    boilerplate line, no comment heading, and no end marker after the article
    (an inline "Also read:" or "Don't miss:" promo may sit inside one). Before
    the article an end marker is an inline "Related stories" box: an end
    marker ends an article, it does not start one."""
    return _filled(lines, lo, hi) <= max_gap and all(
        (before or kinds[i] is not Kind.END_MARKER or _INLINE_PROMO.match(lines[i]))
        and kinds[i] is not Kind.BOILERPLATE
        and not _COMMENTS_HEADING.match(lines[i]) for i in range(lo, hi))


def _unglue(lines: list[str], title: str | None) -> list[str]:
    """Split a heading glued to the sentence after it ("Tram line extendedThe
    council voted ..."), where the heading is the title or a short line seen
    earlier in the text. Only known headings are split off: a lower-case letter
    before a capital is as often a name ("WeWork", "McDonald")."""
    heads: dict[str, list[str]] = {}  # first 8 characters -> headings

    def remember(head: str) -> None:
        head = head.strip()
        if not 8 <= len(head) <= 150:
            return
        same_start = heads.setdefault(head[:8], [])
        if len(same_start) < 16 and head not in same_start and len(head.split()) <= 15:
            same_start.append(head)  # bounded: a page of lines alike stays linear

    if title:
        remember(title)
    out: list[str] = []
    for line in lines:
        head = next((h for h in heads.get(line[:8], ()) if len(line) > len(h)
                     and line.startswith(h) and _GLUED_START.match(line, len(h))), None)
        if head:
            out += [head, "", line[len(head):]]
            continue
        out.append(line)
        if len(line) <= 200:
            remember(line)
            remember(_SITE_SUFFIX.sub("", line))  # "Title | Site" at the top of a page
    return out


def _mid_sentence_join(lines: list[str]) -> list[str]:
    """Join a line broken mid-sentence with the next one."""
    out: list[str] = []
    for line in lines:
        if (
            out
            and out[-1]
            and line
            and not out[-1].endswith(_TERMINAL)
            and line[0].islower()
            and len(out[-1].split()) >= 4
        ):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return out


def clean_text(text: str, *, title: str | None = None, extracted: bool = False) -> str:
    """The article body of a pasted page text; empty when nothing is left.

    ``extracted`` text comes from an HTML extractor that already chose the
    article block: only boilerplate lines and what follows an end marker go.
    """
    lines = normalize(text).split("\n")
    lines = _mid_sentence_join(_unglue(lines, normalize(title) if title else None))
    kinds = [classify(line) if line else Kind.OTHER for line in lines]
    if Kind.PROSE not in kinds:
        # Short text (a brief or a one-liner): keep what is not boilerplate.
        keep = [
            line
            for line, kind in zip(lines, kinds, strict=True)
            if line and kind is Kind.OTHER
        ]
        return "\n\n".join(_drop_repeats(keep, title))
    start, end = (0, len(lines) - 1) if extracted else _article_block(lines, kinds)
    kept: list[str] = []
    after_marker = False
    for line, kind in zip(lines[start : end + 1], kinds[start : end + 1], strict=True):
        if not line:
            continue
        if kind is Kind.END_MARKER:
            after_marker = True
            continue
        if kind is Kind.PROSE:
            after_marker = False
            kept.append(line)
        elif kind is Kind.OTHER and not after_marker:
            kept.append(line)
    return "\n\n".join(_drop_repeats(kept, title))


def _drop_repeats(lines: list[str], title: str | None) -> list[str]:
    """Drop a line seen before (and the title itself where it leads the text)."""
    seen: set[str] = set()
    if title:
        seen.add(_key(title))
    out = []
    for line in lines:
        key = _key(line)
        if key in seen:
            continue
        seen.add(key)
        out.append(line)
    return out


def _key(line: str) -> str:
    return re.sub(r"\W+", " ", line.casefold()).strip()
