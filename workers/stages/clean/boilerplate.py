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

import ftfy

import workers.stages.clean.rules as rules
from workers.stages.clean.rules import Kind, classify
from workers.stages.text import PROSE_END

# What ftfy leaves as it is: printable ASCII without "&" (it repairs mojibake, which
# needs other characters, and HTML entities, which need "&").
_UNREPAIRED = re.compile(r"[^\x20-\x25\x27-\x7e\n]")


# ftfy reads a text one line at a time, at about 30 µs a line whatever its length; the
# development pages have at most 400 lines it needs to read. Past this many, the rest of
# an article is read in blocks of about _BLOCK characters, each as one segment.
LINE_BY_LINE = 5_000
_BLOCK = 65_536
_LONGEST_SEGMENT = ftfy.TextFixerConfig().max_decode_length  # as ftfy.fix_text cuts a line
_IN_BLOCKS = ftfy.TextFixerConfig(normalization="NFC", explain=False)


def repair(text: str) -> str:
    """``ftfy.fix_text`` (NFC), given only the lines it could change.

    ftfy repairs a text line by line at a fixed cost per line, so a page of a
    million one-letter lines took 40 s; lines of plain ASCII are passed over
    now. ftfy reads each line on its own but for one thing, which is kept: after
    the first "<" it unescapes no HTML entity, since the text may be markup.
    Past ``LINE_BY_LINE`` lines that need it (a million lines of "é" took
    minutes), the rest is repaired in blocks: still linear, but an encoding is
    then told apart per block, not per line.
    """
    out: list[str] = []
    done = 0  # text[:done] is in ``out``
    markup_from = text.find("<")
    lines_left = LINE_BY_LINE
    found = _UNREPAIRED.search(text)
    while found is not None:
        start = text.rfind("\n", done, found.start()) + 1 or done
        if not lines_left:
            out += [text[done:start], _in_blocks(text, start, markup_from)]
            return "".join(out)
        # the lines after it that need ftfy too go with it, in one call
        end = start
        while (
            lines_left
            and found is not None
            and (end == start or text.rfind("\n", end, found.start()) < end)
        ):
            end = text.find("\n", found.start()) + 1 or len(text)
            lines_left -= 1
            found = _UNREPAIRED.search(text, end)
        after_markup = 0 <= markup_from < start
        fixed = ftfy.fix_text(
            text[start:end],
            normalization="NFC",
            unescape_html=False if after_markup else "auto",
        )
        out += [text[done:start], fixed]
        done = end
    out.append(text[done:])
    return "".join(out)


def _in_blocks(text: str, start: int, markup_from: int) -> str:
    """``text[start:]`` repaired in blocks of whole lines, each one ftfy segment; no
    entity unescaped from the line of ``markup_from`` on (when >= 0)."""
    markup_line = text.rfind("\n", 0, markup_from) + 1 if markup_from >= 0 else len(text)
    out: list[str] = []
    pos = start
    while pos < len(text):
        end = min(text.find("\n", pos + _BLOCK) + 1 or len(text), pos + _LONGEST_SEGMENT)
        if pos < markup_line < end:
            end = markup_line  # a block before markup, and blocks from its line on
        config = _IN_BLOCKS._replace(unescape_html=False) if pos >= markup_line else _IN_BLOCKS
        out.append(ftfy.fix_and_explain(text[pos:end], config).text)
        pos = end
    return "".join(out)


def normalize(text: str) -> str:
    """Repair mojibake, NFC-normalise, drop invisible characters, tidy spaces.

    Paragraph breaks (blank lines) are kept as a single blank line.
    """
    text = repair(text)
    text = unicodedata.normalize("NFC", text).translate(rules.INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [rules.SPACES.sub(" ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def _clusters(lines: list[str], kinds: list[Kind], max_gap: int = 3) -> list[tuple[int, int, int]]:
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
            broken = broken or (
                bool(rules.COMMENTS_HEADING.match(lines[i]))
                and any(rules.COMMENT_META.match(line) for line in lines[i + 1 : i + 7])
            )
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


def _article_block(
    lines: list[str], kinds: list[Kind], share: float = 0.6, min_share: float = 0.1
) -> tuple[int, int]:
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
    articles = [
        c
        for c in found
        if sum(1 for line in lines[c[0] : c[1] + 1] if rules.COMMENT_META.match(line)) < 2
    ]
    found = articles or found
    # a list or table a cluster introduces ("Final standings:") is its text too
    found = [
        (s, e, chars + sum(len(line) for line in lines[e + 1 : _list_end(lines, kinds, e) + 1]))
        for s, e, chars in found
    ]
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
    in_a_run = (
        not lines[end].endswith(PROSE_END)
        and end > 0
        and bool(lines[end - 1])
        and j < len(lines)
        and bool(lines[j])
    )
    if not (introduces or in_a_run):
        return end
    if introduces and j < len(lines) and not lines[j]:
        j += 1
    while j < len(lines) and lines[j] and kinds[j] is Kind.OTHER:
        end = j
        j += 1
    return end


def _clear_gap(
    lines: list[str], kinds: list[Kind], lo: int, hi: int, *, before: bool, max_gap: int = 20
) -> bool:
    """Whether lines[lo:hi], between the article and a neighbouring prose cluster,
    could be inside an article: at most ``max_gap`` non-blank lines, no
    boilerplate line, no comment heading, and no end marker after the article
    (an inline "Also read:" or "Don't miss:" promo may sit inside one). Before
    the article an end marker is an inline "Related stories" box: an end
    marker ends an article, it does not start one."""
    return _filled(lines, lo, hi) <= max_gap and all(
        (before or kinds[i] is not Kind.END_MARKER or rules.INLINE_PROMO.match(lines[i]))
        and kinds[i] is not Kind.BOILERPLATE
        and not rules.COMMENTS_HEADING.match(lines[i])
        for i in range(lo, hi)
    )


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
        head = next(
            (
                h
                for h in heads.get(line[:8], ())
                if len(line) > len(h)
                and line.startswith(h)
                and rules.GLUED_START.match(line, len(h))
            ),
            None,
        )
        if head:
            out += [head, "", line[len(head) :]]
            continue
        out.append(line)
        if len(line) <= 200:
            remember(line)
            remember(rules.SITE_SUFFIX.sub("", line))  # "Title | Site" at the top of a page
    return out


def _mid_sentence_join(lines: list[str]) -> list[str]:
    """Join a line broken mid-sentence with the next one.

    A joined line is kept as its parts and its word count until it is done, so
    that a page of thousands of short lines costs linear time, not quadratic.
    """
    out: list[str] = []
    parts: list[str] = []  # the line being joined, not yet in ``out``
    words = 0
    for line in lines:
        if (
            parts
            and parts[-1]
            and line
            and not parts[-1].endswith(PROSE_END)
            and line[0].islower()
            and words >= 4
        ):
            parts.append(line)
        else:
            if parts:
                out.append(" ".join(parts))
            parts, words = [line], 0
        words += len(line.split())
    if parts:
        out.append(" ".join(parts))
    return out


def clean_text(text: str, *, title: str | None = None, extracted: bool = False) -> str:
    """The article body of a pasted page text; empty when nothing is left.

    ``extracted`` text comes from an HTML extractor that already chose the
    article block: only boilerplate lines and what follows an end marker go.
    """
    lines = _mid_sentence_join(_unglue(_lines(text), normalize(title) if title else None))
    return _body(lines, _classified(lines), title, extracted=extracted)


def pasted(text: str, *, title: str | None = None) -> tuple[str | None, str]:
    """``title``, else the paste's ``headline``, and its ``clean_text``, the text
    normalised and its lines classified once for both."""
    lines = _lines(text)
    joined = _mid_sentence_join(lines)
    kinds = _classified(joined)
    title = title or _headline(joined, kinds)
    unglued = _unglue(lines, normalize(title) if title else None)
    if len(unglued) != len(lines):  # a heading split off: lines of their own
        joined = _mid_sentence_join(unglued)
        kinds = _classified(joined)
    return title, _body(joined, kinds, title, extracted=False)


def _lines(text: str) -> list[str]:
    return normalize(text).split("\n")


def _classified(lines: list[str]) -> list[Kind]:
    return [classify(line) if line else Kind.OTHER for line in lines]


def _body(lines: list[str], kinds: list[Kind], title: str | None, *, extracted: bool) -> str:
    if Kind.PROSE not in kinds:
        # Short text (a brief or a one-liner): keep what is not boilerplate.
        keep = [
            line for line, kind in zip(lines, kinds, strict=True) if line and kind is Kind.OTHER
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
    return "\n\n".join(_drop_repeats(_join_drop_caps(kept), title))


# a paragraph's first letter set apart as a drop cap: "H ong Kong is burning."
_DROP_CAP = re.compile(r"^([A-Z]) ([a-z]{1,20})\b")
_WORDS = re.compile(r"[^\W\d_]+")


def _join_drop_caps(lines: list[str]) -> list[str]:
    """Lines whose first word a drop cap split ("H ong Kong", "T he") joined again,
    where the joined word is written elsewhere in the text ("Hong", "the"), so that
    "A man" or "I think" stay as they are."""
    if not any(_DROP_CAP.match(line) for line in lines):
        return lines
    words = {w.casefold() for line in lines for w in _WORDS.findall(line)}
    out = []
    for line in lines:
        m = _DROP_CAP.match(line)
        joined = m is not None and (m[1] + m[2]).casefold() in words
        out.append(line[0] + line[2:] if joined else line)
    return out


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


_BYLINE = re.compile(r"^(by|from|posted|written|words by|updated|published)\b", re.IGNORECASE)


def _headline(lines: list[str], kinds: list[Kind], *, near: int = 8) -> str | None:
    """The title of a pasted page when the paste starts with it: the first line, if it
    reads as a headline and either repeats at once (the title twice) or reads as a
    sentence-like headline with the article beginning within ``near`` lines after it.
    None otherwise: a page that starts with its menu gets no title rather than a wrong
    one.

    A headline is 3 to 30 words, not prose, not page furniture, not a byline, and
    does not end like a label (":", "|", "»").
    """
    if Kind.PROSE not in kinds:
        return None
    start, _ = _article_block(lines, kinds)
    filled = [(i, line) for i, line in enumerate(lines) if line]
    first_at, first = filled[0]
    words = len(first.split())
    if not (
        3 <= words <= 30
        and kinds[first_at] is Kind.OTHER
        and not _BYLINE.match(first)
        and not first.endswith((":", "|", "»", ">"))
        and first[:1].isupper()
    ):
        return None
    repeated = any(_key(line) == _key(first) for _, line in filled[1:3])
    if repeated:
        return first
    # once only: it must read as a sentence-like headline, not a menu of capitalised
    # section names ("Home News Sport World")
    reads = any(w[:1].islower() for w in first.split()[1:]) or bool(re.search(r"[,'’]", first))
    between = sum(1 for i, _ in filled if first_at < i < start)
    return first if reads and between <= near else None
