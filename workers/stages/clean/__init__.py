"""The clean stage: a raw article in, a clean article out. Pure and synchronous."""

from __future__ import annotations

import re

from schemas.models import (
    MAX_AUTHOR_CHARS,
    MAX_AUTHORS,
    MAX_SOURCE_CHARS,
    MAX_TITLE_CHARS,
    MAX_URL_CHARS,
    CleanedArticle,
    RawArticle,
    StageRun,
)
from workers.errors import StageFailed
from workers.stages.clean import boilerplate, dates, html, language
from workers.stages.text import visible

VERSION = "1.4.1"


_WARM_PAGE = """<html lang="en"><head><title>Ferry terminal plan agreed</title>
<meta name="author" content="Maria Lindqvist"></head><body><article>
<h1>Ferry terminal plan agreed</h1><p class="date">Published 3 March 2026</p>
<p>The harbour council met on Monday and agreed a plan for the new ferry terminal.</p>
<p>Maria Lindqvist said the work would start in the spring and end next year.</p>
</article></body></html>"""


def warm() -> None:
    """Load what the stage loads lazily (the language identifier, the date parser
    behind the page-date search) now, not inside the first record."""
    clean(RawArticle(id="warm-up", html=_WARM_PAGE), now="")
    dates.warm()


def visible_text_article(page: str, *, title: str | None = None) -> str:
    """The article among a page's visible lines, by the pasted-text rules: the
    path for pages trafilatura cannot read (too deep, too large)."""
    return boilerplate.clean_text(html.plain_text(page), title=title)


def clean(
    raw: RawArticle,
    *,
    now: str,
    fallback_language: str | None = None,
    min_language_confidence: float = 0.0,
) -> CleanedArticle:
    """Extract, de-boilerplate and normalise the article; detect its language.

    ``raw.id`` must be set (the codec fills it in). Raises StageFailed with
    code ``empty_text`` when no article text is left. The language is the
    producer's when given; else the detected one, unless detection is less sure
    than ``min_language_confidence`` (short texts): then ``fallback_language``,
    with the detector's confidence. ``published_at`` is ISO 8601 UTC (a date stays
    a date); a value that cannot be read is kept in ``published_at_raw``.
    """
    if raw.id is None:
        raise ValueError("raw article without id; decode it with workers.codec.decode_raw")
    title, published_at, source, url = raw.title, raw.published_at, raw.source, raw.url
    authors = [a.strip() for a in raw.authors or [] if a.strip()]
    if raw.html is not None and raw.html.strip():
        stated = published_at or dates.page_time(raw.html)
        page = html.extract(raw.html, url=raw.url, page_date=stated)
        title = title or page.title
        published_at = stated or page.published_at
        authors = authors or page.authors
        source = source or page.source
        url = url or page.url
        body = boilerplate.clean_text(page.text, title=title, extracted=True)
        if not body or html.tabular(page.text):
            # too deep or too large for the extractor, or what it found is still the
            # page's layout table: every visible line, then the same rules as pasted
            # text find the article among them
            body = visible_text_article(raw.html, title=title) or body
        if not body and raw.text:
            body = boilerplate.clean_text(raw.text, title=title)
    else:
        title, body = boilerplate.pasted(raw.text or "", title=title)
    if not body.strip():
        raise StageFailed("no article text left after cleaning", code="empty_text")
    if raw.language:
        lang: str | None = raw.language.strip().lower()
        confidence = 1.0
    else:
        lang, confidence = language.detect(body)
        if fallback_language and confidence < min_language_confidence:
            lang = fallback_language
    stated_at, unread_at = dates.normalize(published_at)
    return CleanedArticle(
        id=raw.id,
        url=url if url is None or len(url) <= MAX_URL_CHARS else None,
        source=_cut(source, MAX_SOURCE_CHARS),
        title=_cut(_without_markup(boilerplate.normalize(title)), MAX_TITLE_CHARS)
        if title
        else None,
        published_at=stated_at,
        published_at_raw=_cut(unread_at, MAX_SOURCE_CHARS),
        authors=[a for a in (_cut(a, MAX_AUTHOR_CHARS) for a in authors[:MAX_AUTHORS]) if a],
        language=lang,
        language_confidence=confidence,
        text=body,
        pipeline={"clean": StageRun(version=VERSION, finished_at=now)},
    )


def _cut(text: str | None, limit: int) -> str | None:
    """``text`` without invisible characters (a producer's field is not normalised as
    the body is), cut to ``limit`` characters, at a space where one is near, with an
    ellipsis marking the cut."""
    if text is None:
        return None
    text = visible(text)
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit * 3 // 4:
        head = head[:space]
    return head.rstrip() + "…"


_SCRIPT = re.compile(r"<\s*(?:script|style)\b", re.IGNORECASE)
_TAG = re.compile(r"<\s*/?\s*[A-Za-z!][^<>]*>?")


def _without_markup(title: str) -> str | None:
    """A title with no markup in it: a broken ``<title>`` runs on into the page (a
    script, the body's tags), and what follows a script or style tag is never
    title; other tags are dropped, their words kept. None when nothing is left."""
    found = _SCRIPT.search(title)
    if found is not None:
        title = title[: found.start()]
    return " ".join(_TAG.sub(" ", title).split()) or None
