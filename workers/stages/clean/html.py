"""HTML pages to article text and metadata, with trafilatura and a streaming fallback.

trafilatura (lxml underneath) finds the article block of ordinary pages.
Two kinds of page defeat it: markup nested deeper than libxml2 will go
(the story is silently dropped) and very large pages (tens of seconds).
For those, ``plain_text`` walks the markup with the standard library's
incremental parser, which keeps no tree: linear time, no depth limit. Its
text then goes through the line-level boilerplate rules like pasted text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

import trafilatura
from trafilatura.settings import Document

# Past this size trafilatura takes tens of seconds; the streaming pass is linear.
MAX_EXTRACT_CHARS = 2 * 1024 * 1024

_SKIP = frozenset(
    {"script", "style", "noscript", "template", "svg", "head", "iframe", "object", "canvas"}
)
_BLOCK = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "article",
        "section",
        "header",
        "footer",
        "nav",
        "aside",
        "main",
        "blockquote",
        "pre",
        "table",
        "tr",
        "td",
        "th",
        "figure",
        "figcaption",
        "dd",
        "dt",
        "dl",
        "form",
        "hr",
        "title",
        "body",
        "html",
    }
)


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str
    title: str | None
    published_at: str | None
    authors: list[str]
    source: str | None
    url: str | None
    language: str | None


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def plain_text(html: str) -> str:
    """All visible text of a page, a line per block element; no tree is built."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n", text).strip()


def split_authors(byline: str | None) -> list[str]:
    """'Jane Roe; John Doe' and 'Jane Roe and John Doe' are two authors."""
    if not byline:
        return []
    parts = re.split(r"\s*(?:;|,|\band\b|&|\|)\s*", byline)
    seen: list[str] = []
    for part in parts:
        name = re.sub(r"^(by|von|par|por)\s+", "", part.strip(), flags=re.IGNORECASE)
        if name and name not in seen and len(name) <= 80:
            seen.append(name)
    return seen


# trafilatura's precision mode drops more boilerplate, but now and then it cuts
# the article itself short. When it keeps under this share of what the default
# mode finds, the default mode's text is taken instead.
MIN_PRECISION_SHARE = 0.25


def extract(html: str, *, url: str | None = None) -> Extracted:
    """The main text of a page, paragraphs separated by newlines, and its metadata.

    Two trafilatura passes agree on the article: the precision pass's text,
    unless it is under ``MIN_PRECISION_SHARE`` of the default pass's.
    Returns empty text when the page has no article body. Pages over
    ``MAX_EXTRACT_CHARS`` are not given to trafilatura (see ``plain_text``).
    """
    if len(html) > MAX_EXTRACT_CHARS:
        return Extracted("", None, None, [], None, url, None)
    precise = _bare(html, url, favor_precision=True)
    full = _bare(html, url, favor_precision=False, with_metadata=precise is None)
    doc = precise if precise is not None else full
    if doc is None:
        return Extracted("", None, None, [], None, None, None)
    return Extracted(
        text=pick_text(precise.text if precise else None, full.text if full else None),
        title=doc.title or None,
        published_at=doc.date or None,
        authors=split_authors(doc.author),
        source=doc.sitename or None,
        url=doc.url or None,
        language=doc.language or None,
    )


def pick_text(precise: str | None, full: str | None) -> str:
    """The precision pass's text, unless it kept under ``MIN_PRECISION_SHARE`` of
    the default pass's: then it has cut the article short."""
    precise, full = precise or "", full or ""
    return full if len(precise) < MIN_PRECISION_SHARE * len(full) else precise


def _bare(
    html: str, url: str | None, *, favor_precision: bool, with_metadata: bool = True
) -> Document | None:
    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=with_metadata,
        include_comments=False,
        include_tables=True,
        include_images=False,
        deduplicate=False,
        favor_precision=favor_precision,
    )
    return None if doc is None or isinstance(doc, dict) else doc
